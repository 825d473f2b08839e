package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/shiplog/shiplog"
)

// A Kind is one kind of notification channel (slack, email, webhook, teams,
// discord): everything that differs between kinds lives behind this
// interface, in the kind's own package, so the API, the console's forms,
// the sender and metrics read the registry instead of switching on kinds.
type Kind interface {
	// Spec describes the kind: its name, label, settings and events.
	Spec() Spec
	// Validate checks and normalises a channel's kind-specific settings
	// (URL, secret, Config), given the channel's common fields already
	// checked. It returns a secret it generated, if any, to show once.
	Validate(c *shiplog.Channel) (generated string, err error)
	// Render turns an event into the payload this channel sends. It
	// returns ErrUnsupportedEvent for events the kind does not carry.
	Render(m Message, c *shiplog.Channel) (json.RawMessage, error)
	// Variant names what Render depends on besides the event (e.g. the
	// webhook's format), so one rendering serves channels that share it.
	Variant(c *shiplog.Channel) string
	// Send delivers a rendered payload and classifies the answer.
	Send(ctx context.Context, env Env, t Target) Outcome
}

// Spec is a kind's static description: what the API documents, the
// console's form shows and metrics label.
type Spec struct {
	Name  shiplog.ChannelKind // "slack"
	Label string              // "Slack"
	// Events lists the event types the kind accepts, for a channel with
	// the given settings (a Qovery-format webhook takes fewer).
	Events func(c *shiplog.Channel) []shiplog.EventType
	// Fields are the kind's own settings, in form order.
	Fields []Field
	// URLIsSecret marks kinds whose URL is itself the credential (Slack,
	// Teams, Discord): masked in answers, sealed at rest.
	URLIsSecret bool
	// Help is one line for the console's form.
	Help string
	// MinInterval, when set, is the least time between two messages to one
	// channel (Slack: one a second per incoming webhook); the worker defers
	// a delivery to the next free slot without spending an attempt.
	MinInterval time.Duration
}

// Addressed is implemented by kinds that write to people (email): the
// worker resolves the channel's recipients against the org's people when
// it sends, and passes them in Target.Recipients.
type Addressed interface {
	Recipients(c *shiplog.Channel, p People) []string
}

// Readier is implemented by kinds that can tell, before anything is
// rendered, that every attempt would fail (email without an SMTP relay):
// the reason, or "" when ready.
type Readier interface {
	Unready(env Env) string
}

// People are the addresses the recipient words stand for in an org.
type People struct {
	Owners  []string // owners and admins, and the org's owner addresses
	Members []string // every active person
}

// FieldType says how a setting is entered and shown.
type FieldType string

const (
	FieldURL    FieldType = "url"
	FieldText   FieldType = "text"
	FieldSecret FieldType = "secret" // write-only: masked in answers
	FieldList   FieldType = "list"   // one value per line / JSON array
	FieldChoice FieldType = "choice" // one of Choices
)

// Field is one setting of a kind.
type Field struct {
	Key      string // the API field and form input name: "url", "secret", "format", "recipients"
	Label    string
	Type     FieldType
	Required bool
	Choices  []Choice
	Help     string
	// Placeholder is an example value for the console's empty input.
	Placeholder string
}

// Choice is one value of a FieldChoice.
type Choice struct{ Value, Label string }

// Env is what the server lends a kind to send with.
type Env struct {
	HTTP  *http.Client // outbound, SSRF-guarded
	Clock shiplog.Clock
	Mail  Mailer // nil when no SMTP relay is configured
}

// SpecOf returns a registered kind's Spec, ok false for an unknown kind.
func SpecOf(name shiplog.ChannelKind) (Spec, bool) {
	k, ok := Lookup(name)
	if !ok {
		return Spec{}, false
	}
	return k.Spec(), true
}

// Mailer sends a rendered email (the SMTP relay's *email.Sender).
type Mailer interface {
	Send(ctx context.Context, m Mail, to []string) error
}

// Mail is a rendered email.
type Mail struct {
	Subject string
	Text    string
	HTML    string
}

// Target is one delivery to send.
type Target struct {
	DeliveryID string // stable across retries (the webhook-id)
	EventType  shiplog.EventType
	Channel    *shiplog.Channel
	Payload    json.RawMessage
	Recipients []string // email: the resolved addresses
}

// Outcome is what one attempt learned.
type Outcome struct {
	OK         bool
	Retryable  bool          // a network error, timeout, 5xx, 408, 429, SMTP 4xx
	RetryAfter time.Duration // from the receiver, 0 if none
	// Disable marks answers that mean the destination is gone (Slack's
	// no_service / channel_is_archived, HTTP 410).
	Disable    bool
	StatusCode int
	Headers    map[string]string
	Body       string
	Err        string
}

var registry struct {
	sync.RWMutex
	kinds map[shiplog.ChannelKind]Kind
	order []shiplog.ChannelKind
}

// Register adds a kind; registering a name twice panics (a wiring bug).
func Register(k Kind) {
	registry.Lock()
	defer registry.Unlock()
	name := k.Spec().Name
	if registry.kinds == nil {
		registry.kinds = map[shiplog.ChannelKind]Kind{}
	}
	if _, dup := registry.kinds[name]; dup {
		panic("notify: kind " + string(name) + " registered twice")
	}
	registry.kinds[name] = k
	registry.order = append(registry.order, name)
}

// Lookup returns the registered kind, or false.
func Lookup(name shiplog.ChannelKind) (Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.kinds[name]
	return k, ok
}

// Kinds lists the registered kinds in registration order.
func Kinds() []Kind {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Kind, 0, len(registry.order))
	for _, n := range registry.order {
		out = append(out, registry.kinds[n])
	}
	return out
}

// KindNames lists the registered kinds' names.
func KindNames() []shiplog.ChannelKind {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Clone(registry.order)
}
