package shiplog

import (
	"encoding/json"
	"time"
)

// ChannelKind is where a notification channel delivers.
type ChannelKind string

const (
	ChannelSlack   ChannelKind = "slack"
	ChannelEmail   ChannelKind = "email"
	ChannelWebhook ChannelKind = "webhook"
)

// Channel is an org's notification destination with its subscriptions and
// filters. Secret material (the Slack URL, the webhook secret) is held
// encrypted by the store; the plain values exist only in memory.
type Channel struct {
	ID          string      `json:"id"`
	OrgID       string      `json:"-"`
	Kind        ChannelKind `json:"kind"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Enabled     bool        `json:"enabled"`
	// Events are the subscribed event types (the channel's subscriptions).
	Events                 []EventType `json:"events"`
	EnvironmentTypesFilter []string    `json:"environment_types_filter"` // PRODUCTION, STAGING, DEVELOPMENT, PREVIEW, TEST
	ProductNamesFilter     []string    `json:"product_names_filter"`
	// URL is where the channel delivers (webhook, Slack…); sealed at rest,
	// and for kinds whose URL is the credential, masked in answers.
	URL string `json:"-"`
	// Secret is the signing secret; empty for none.
	Secret        string          `json:"-"`
	RetrySchedule []time.Duration `json:"-"`
	// Config holds the kind's own settings (the webhook's signature_scheme
	// and format, the email channel's recipients…), as its notify.Kind
	// validated them; stored as JSON.
	Config         map[string]any `json:"config"`
	DisabledReason string         `json:"disabled_reason"`
	DisabledAt     *time.Time     `json:"disabled_at"`
	// FailingSince is when deliveries started to only fail; nil while healthy.
	FailingSince *time.Time `json:"failing_since"`
	// System channels are the org's own plumbing (DR approval emails): not
	// listed, not editable, never subscribed.
	System    bool      `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Subscription is one event type a channel receives (the seed's
// notification preference).
type Subscription struct {
	ID        string    `json:"id"`
	ChannelID string    `json:"channel_id"`
	EventType EventType `json:"event_type"`
	CreatedAt time.Time `json:"created_at"`
}

// DeliveryState is where a delivery stands.
type DeliveryState string

const (
	DeliveryQueued    DeliveryState = "queued"    // waiting for its next attempt
	DeliverySucceeded DeliveryState = "succeeded" // the receiver accepted it
	DeliveryFailed    DeliveryState = "failed"    // attempts exhausted or a terminal answer
	DeliveryCancelled DeliveryState = "cancelled" // its channel was disabled or deleted first
)

// Delivery is one event to one channel: the outbox row, written in the
// event's own transaction.
type Delivery struct {
	ID          string        `json:"id"` // also the webhook-id header: stable across retries
	OrgID       string        `json:"-"`
	ChannelID   string        `json:"channel_id"`
	ChannelKind ChannelKind   `json:"channel_kind"`
	EventID     string        `json:"event_id"`
	EventType   EventType     `json:"event_type"`
	State       DeliveryState `json:"state"`
	Attempts    int           `json:"attempts"`
	MaxAttempts int           `json:"max_attempts"`
	NextAttempt time.Time     `json:"next_attempt_at"`
	LeaseUntil  *time.Time    `json:"-"`
	LastError   string        `json:"last_error"`
	Test        bool          `json:"test"`
	// Payload is what is sent. Empty for event deliveries, which are rendered
	// from their event when sent (off the ingest transaction); set for test
	// sends, which have no stored event.
	Payload     json.RawMessage `json:"payload"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	CompletedAt *time.Time      `json:"completed_at"`
}

// Attempt is one try of a delivery, kept for the delivery log.
type Attempt struct {
	ID              string            `json:"id"`
	DeliveryID      string            `json:"delivery_id"`
	Number          int               `json:"number"`
	StartedAt       time.Time         `json:"started_at"`
	DurationMS      int64             `json:"duration_ms"`
	StatusCode      int               `json:"status_code"` // HTTP status, SMTP reply code, or 0
	ResponseHeaders map[string]string `json:"response_headers"`
	ResponseBody    string            `json:"response_body"` // first 4 KiB
	Error           string            `json:"error"`
	Outcome         string            `json:"outcome"` // succeeded, retry, failed
}

// Setting returns a string setting of the channel's Config, "" if unset.
func (c *Channel) Setting(key string) string {
	s, _ := c.Config[key].(string)
	return s
}

// Settings returns a list setting of the channel's Config: a JSON array of
// strings (as decoded from storage) or a []string (as set in code).
func (c *Channel) Settings(key string) []string {
	switch v := c.Config[key].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Set stores a setting in the channel's Config.
func (c *Channel) Set(key string, v any) {
	if c.Config == nil {
		c.Config = map[string]any{}
	}
	c.Config[key] = v
}
