package webhook

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
)

// Kind is the webhook channel kind: signed JSON POSTed to the org's
// endpoint, the only kind that carries governance events.
type Kind struct{}

func (Kind) Spec() notify.Spec {
	return notify.Spec{
		Name:  shiplog.ChannelWebhook,
		Label: "Webhook",
		Events: func(c *shiplog.Channel) []shiplog.EventType {
			switch FormatOf(c) {
			case FormatQovery:
				return slices.Clone(QoveryEventTypes)
			case FormatClever:
				return slices.Clone(CleverEventTypes)
			}
			return notify.AllEvents
		},
		Fields: []notify.Field{
			{Key: "url", Label: "Endpoint URL", Type: notify.FieldURL, Required: true, Placeholder: "https://example.com/hooks/shiplog"},
			{Key: "format", Label: "Format", Type: notify.FieldChoice, Choices: formatChoices,
				Help: "The body's shape: versioner (Versioner's payloads), qovery (Qovery's STANDARD webhook: the four deployment events), clever (Clever Cloud's raw events: deployments), standard-webhooks (type, timestamp, data)."},
			{Key: "signature_scheme", Label: "Signature scheme", Type: notify.FieldChoice,
				Choices: []notify.Choice{{Value: string(SchemeVersioner), Label: "versioner"}, {Value: string(SchemeStandard), Label: "standard-webhooks"}},
				Help:    "versioner: X-Versioner-Signature: sha256=<hex HMAC> when there is a secret. standard-webhooks: webhook-signature with a whsec_… secret, generated and shown once if you leave it empty."},
			{Key: "secret", Label: "Signing secret", Type: notify.FieldSecret,
				Help: "Write-only: shiplog never shows a secret back."},
		},
		Help: "Add a channel with your endpoint's URL; an HMAC secret lets it verify each request.",
	}
}

// Formats of a webhook's body (its Config "format").
const (
	FormatVersioner = "versioner"
	FormatQovery    = "qovery"
	FormatClever    = "clever"
	FormatStandard  = "standard-webhooks"
)

// Formats lists the formats, the default first.
var Formats = []string{FormatVersioner, FormatQovery, FormatClever, FormatStandard}

var formatChoices = []notify.Choice{
	{Value: FormatVersioner, Label: "versioner (default)"}, {Value: FormatQovery, Label: "Qovery"},
	{Value: FormatClever, Label: "Clever Cloud (raw)"}, {Value: FormatStandard, Label: "Standard Webhooks"},
}

// FormatOf is a channel's format as stored, normalised; versioner when
// none is set.
func FormatOf(c *shiplog.Channel) string {
	f, _ := c.Config["format"].(string)
	switch f = strings.ToLower(strings.TrimSpace(f)); f {
	case "":
		return FormatVersioner
	case "raw":
		return FormatClever // Clever Cloud's name for it
	}
	return f
}

// validateFormat checks and normalises Config["format"]; the default is
// not stored, so channels that never chose a format keep none.
func validateFormat(c *shiplog.Channel) error {
	if v, ok := c.Config["format"]; ok {
		if _, isString := v.(string); !isString {
			return shiplog.Errorf(shiplog.EINVALID, "Field 'format' must be a string: one of %s", strings.Join(Formats, ", "))
		}
	}
	f := FormatOf(c)
	switch {
	case f == "flowdock":
		return shiplog.Errorf(shiplog.EINVALID, "Field 'format': Flowdock shut down in 2023 and no longer accepts messages; use a slack, teams or discord channel instead")
	case !slices.Contains(Formats, f):
		return shiplog.Errorf(shiplog.EINVALID, "Field 'format' must be one of %s", strings.Join(Formats, ", "))
	}
	if f == FormatVersioner {
		delete(c.Config, "format")
		return nil
	}
	c.Set("format", f)
	return nil
}

func (k Kind) Validate(c *shiplog.Channel) (generated string, err error) {
	bad := func(format string, args ...any) error { return shiplog.Errorf(shiplog.EINVALID, format, args...) }
	if len(c.Settings("recipients")) > 0 {
		return "", bad("Webhook channels take no 'recipients'")
	}
	if err := notify.CheckSettings(c, k.Spec()); err != nil {
		return "", err
	}
	if err := validateFormat(c); err != nil {
		return "", err
	}
	if c.URL == "" {
		return "", bad("Field 'url' is required for webhook channels")
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

// Render renders the event in the channel's format.
func (Kind) Render(m notify.Message, c *shiplog.Channel) (json.RawMessage, error) {
	switch FormatOf(c) {
	case FormatQovery:
		return RenderQovery(m)
	case FormatClever:
		return RenderClever(m)
	case FormatStandard:
		body, err := Body(m)
		if err != nil {
			return nil, err
		}
		return WrapStandard(m.Event.Type, m.Event.OccurredAt, body)
	}
	return Body(m)
}

// Variant is the format: channels of one format share a rendering.
func (Kind) Variant(c *shiplog.Channel) string {
	if f := FormatOf(c); f != FormatVersioner {
		return f
	}
	return ""
}

func (Kind) Send(ctx context.Context, env notify.Env, t notify.Target) notify.Outcome {
	now := env.Clock.Now()
	c := t.Channel
	hdr, err := Headers(string(t.EventType), t.DeliveryID, Scheme(c.Setting("signature_scheme")), c.Secret, t.Payload, now)
	if err != nil {
		return notify.Outcome{Err: "cannot sign: " + err.Error()}
	}
	if FormatOf(c) == FormatQovery && c.Secret != "" {
		// Qovery sends the webhook's secret as is, in this header; receivers
		// written for Qovery compare it.
		hdr.Set("qovery-secret", c.Secret)
	}
	return outbound.Post(ctx, env.HTTP, c.URL, hdr, t.Payload, now, outbound.ClassifyHTTP)
}
