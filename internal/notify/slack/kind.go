package slack

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
)

// Kind is the Slack channel kind: an incoming webhook, whose URL is itself
// the credential.
type Kind struct{}

// Interval is Slack's limit per incoming webhook: one message a second.
const Interval = time.Second

func (Kind) Spec() notify.Spec {
	return notify.Spec{
		Name:   shiplog.ChannelSlack,
		Label:  "Slack",
		Events: func(*shiplog.Channel) []shiplog.EventType { return notify.CICDEvents },
		Fields: []notify.Field{{Key: "url", Label: "Incoming-webhook URL", Type: notify.FieldURL, Required: true,
			Placeholder: "https://hooks.slack.com/services/…",
			Help:        "From api.slack.com/apps → Incoming Webhooks."}},
		URLIsSecret: true,
		Help:        "Create an incoming webhook at api.slack.com/apps, then add a channel with its URL.",
		MinInterval: Interval,
	}
}

func (Kind) Validate(c *shiplog.Channel) (string, error) {
	if c.URL == "" {
		return "", shiplog.Errorf(shiplog.EINVALID, "Field 'url' is required for Slack channels: the incoming-webhook URL from api.slack.com/apps")
	}
	if c.Secret != "" || len(c.Config) > 0 {
		return "", shiplog.Errorf(shiplog.EINVALID, "Slack channels take 'url' only, not 'secret' or 'recipients'")
	}
	return "", nil
}

func (Kind) Render(m notify.Message, _ *shiplog.Channel) (json.RawMessage, error) { return Render(m) }

func (Kind) Variant(*shiplog.Channel) string { return "" }

func (Kind) Send(ctx context.Context, env notify.Env, t notify.Target) notify.Outcome {
	hdr := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"shiplog-slack/1"}}
	return outbound.Post(ctx, env.HTTP, t.Channel.URL, hdr, t.Payload, env.Clock.Now(), ClassifyResponse)
}
