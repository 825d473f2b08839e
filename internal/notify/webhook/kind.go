package webhook

import (
	"context"
	"encoding/json"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
)

// Kind is the webhook channel kind: signed JSON POSTed to the org's
// endpoint, the only kind that carries governance events.
type Kind struct{}

func (Kind) Spec() notify.Spec {
	return notify.Spec{
		Name:   shiplog.ChannelWebhook,
		Label:  "Webhook",
		Events: func(*shiplog.Channel) []shiplog.EventType { return notify.AllEvents },
		Fields: []notify.Field{
			{Key: "url", Label: "Endpoint URL", Type: notify.FieldURL, Required: true, Placeholder: "https://example.com/hooks/shiplog"},
			{Key: "signature_scheme", Label: "Signature scheme", Type: notify.FieldChoice,
				Choices: []notify.Choice{{Value: string(SchemeVersioner), Label: "versioner"}, {Value: string(SchemeStandard), Label: "standard-webhooks"}},
				Help:    "versioner: X-Versioner-Signature: sha256=<hex HMAC> when there is a secret. standard-webhooks: webhook-signature with a whsec_… secret, generated and shown once if you leave it empty."},
			{Key: "secret", Label: "Signing secret", Type: notify.FieldSecret,
				Help: "Write-only: shiplog never shows a secret back."},
		},
		Help: "Add a channel with your endpoint's URL; an HMAC secret lets it verify each request.",
	}
}

func (Kind) Validate(c *shiplog.Channel) (generated string, err error) {
	bad := func(format string, args ...any) error { return shiplog.Errorf(shiplog.EINVALID, format, args...) }
	if c.URL == "" {
		return "", bad("Field 'url' is required for webhook channels")
	}
	if len(c.Settings("recipients")) > 0 {
		return "", bad("Webhook channels take no 'recipients'")
	}
	scheme := Scheme(c.Setting("signature_scheme"))
	if scheme == "" {
		scheme = SchemeVersioner
	}
	if scheme != SchemeVersioner && scheme != SchemeStandard {
		return "", bad("Field 'signature_scheme' must be versioner or standard-webhooks")
	}
	c.Set("signature_scheme", string(scheme))
	if scheme == SchemeStandard && c.Secret == "" {
		generated = NewStandardSecret()
		c.Secret = generated
	}
	if c.Secret != "" {
		if err := ValidateSecret(scheme, c.Secret); err != nil {
			return "", bad("Field 'secret': %s", err)
		}
	}
	return generated, nil
}

// Body is the webhook body for an event: the Versioner payload for CI/CD
// events; governance events carry their rendered body as their payload.
// The event stream sends the same bodies.
func Body(m notify.Message) (json.RawMessage, error) {
	if m.Event.Kind != shiplog.KindDeployment && m.Event.Kind != shiplog.KindBuild {
		return m.Event.Payload, nil
	}
	return RenderEvent(m)
}

func (Kind) Render(m notify.Message, _ *shiplog.Channel) (json.RawMessage, error) { return Body(m) }

func (Kind) Variant(*shiplog.Channel) string { return "" }

func (Kind) Send(ctx context.Context, env notify.Env, t notify.Target) notify.Outcome {
	now := env.Clock.Now()
	c := t.Channel
	hdr, err := Headers(string(t.EventType), t.DeliveryID, Scheme(c.Setting("signature_scheme")), c.Secret, t.Payload, now)
	if err != nil {
		return notify.Outcome{Err: "cannot sign: " + err.Error()}
	}
	return outbound.Post(ctx, env.HTTP, c.URL, hdr, t.Payload, now, outbound.ClassifyHTTP)
}
