package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/store"
)

// Fanout writes an event's deliveries in the event's own transaction (the
// outbox), each already leased to this process so it is sent right after
// commit without a claim round trip.
type Fanout struct {
	BaseURL string
	Clock   shiplog.Clock
	Lease   time.Duration
}

// Message builds what renderers take from a stored event, reading the few
// extra fields (display name, run URL, error) from the request it came from.
func Message(e *shiplog.Event, baseURL string) notify.Message {
	var p struct {
		DeployedByName  string          `json:"deployed_by_name"`
		DeployedByEmail string          `json:"deployed_by_email"`
		BuiltByName     string          `json:"built_by_name"`
		BuiltByEmail    string          `json:"built_by_email"`
		DeployURL       string          `json:"deploy_url"`
		BuildURL        string          `json:"build_url"`
		ErrorMessage    string          `json:"error_message"`
		ExtraMetadata   json.RawMessage `json:"extra_metadata"`
	}
	// The payload was validated at ingest; fields of other types are
	// simply left empty.
	_ = json.Unmarshal(e.Payload, &p)
	m := notify.Message{Event: *e, BaseURL: baseURL}
	m.ActorName = first(p.DeployedByName, p.BuiltByName)
	// The event carries the run's deployer when this request did not name one.
	m.ActorEmail = first(p.DeployedByEmail, p.BuiltByEmail, e.ActorEmail)
	m.RunURL = first(p.DeployURL, p.BuildURL)
	m.ErrorMessage = p.ErrorMessage
	if m.ErrorMessage == "" && len(p.ExtraMetadata) > 0 {
		var meta struct {
			Error any `json:"error"`
		}
		if json.Unmarshal(p.ExtraMetadata, &meta) == nil {
			if s, ok := meta.Error.(string); ok {
				m.ErrorMessage = s
			}
		}
	}
	return m
}

// WithOrg adds the org's name, which some formats carry (Qovery's
// organization.name); a failed lookup leaves it out, as renderers allow.
func WithOrg(ctx context.Context, r store.Reader, m notify.Message) notify.Message {
	if o, err := r.OrgGet(ctx, m.Event.OrgID); err == nil {
		m.OrgName = o.Name
	}
	return m
}

func first(vals ...string) string {
	for _, v := range vals {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

// Render turns an event into the payload channel c sends, by its kind.
func Render(c *shiplog.Channel, m notify.Message) (json.RawMessage, error) {
	k, ok := notify.Lookup(c.Kind)
	if !ok {
		return nil, fmt.Errorf("unknown channel kind %q", c.Kind)
	}
	return k.Render(m, c)
}

// Fanout implements ingest.Fanout. It only decides who gets the event and
// writes the rows; rendering happens when sending, outside the transaction.
func (f *Fanout) Fanout(ctx context.Context, tx store.Tx, e *shiplog.Event) ([]*shiplog.Delivery, error) {
	channels, err := tx.ChannelsForEvent(ctx, e.OrgID, e.Type)
	if err != nil || len(channels) == 0 {
		return nil, err
	}
	now := f.Clock.Now()
	lease := now.Add(f.Lease)
	var out []*shiplog.Delivery
	for _, c := range channels {
		if !notify.Match(c, e) {
			continue
		}
		d := New(c, Row{EventID: e.ID, EventType: e.Type}, now, lease)
		if err := tx.DeliveryInsert(ctx, d); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// Payload returns what a delivery to c sends: its stored payload, or its
// event rendered for the channel.
func Payload(ctx context.Context, r store.Reader, d *shiplog.Delivery, c *shiplog.Channel, baseURL string) (json.RawMessage, error) {
	if len(d.Payload) > 0 {
		return d.Payload, nil
	}
	e, err := r.EventGet(ctx, d.OrgID, d.EventID)
	if err != nil {
		return nil, err
	}
	return Render(c, WithOrg(ctx, r, Message(e, baseURL)))
}
