package webhook

// The standard-webhooks format: the payload structure the Standard Webhooks
// specification recommends, {"type", "timestamp", "data"}, around the
// payload the versioner format sends. Signing (webhook-id,
// webhook-timestamp, webhook-signature) is sign.go's; the format and the
// signature scheme are chosen separately.

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

// StandardEnvelope is the Standard Webhooks payload structure.
type StandardEnvelope struct {
	// Type is the event type, full-stop delimited ("deployment.completed").
	Type string `json:"type"`
	// Timestamp is when the event occurred (not when it was sent: that is
	// the webhook-timestamp header), RFC 3339 in UTC.
	Timestamp string          `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// WrapStandard puts an already rendered payload (any of the versioner
// format's bodies: deployment, build, DR, version.approved) in the
// envelope.
func WrapStandard(t shiplog.EventType, occurredAt time.Time, data []byte) ([]byte, error) {
	if t == "" || occurredAt.IsZero() {
		return nil, fmt.Errorf("webhook: standard-webhooks envelope needs a type and a time")
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("webhook: standard-webhooks data is not JSON")
	}
	return marshal(StandardEnvelope{
		Type:      string(t),
		Timestamp: occurredAt.UTC().Format("2006-01-02T15:04:05.000000Z"),
		Data:      data,
	})
}

// RenderStandardEvent returns the standard-webhooks body for a deployment
// or build event: the versioner payload as data.
func RenderStandardEvent(m notify.Message) ([]byte, error) {
	data, err := RenderEvent(m)
	if err != nil {
		return nil, err
	}
	return WrapStandard(m.Event.Type, m.Event.OccurredAt, data)
}
