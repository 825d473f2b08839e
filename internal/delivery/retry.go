// Package delivery sends notification deliveries: the outbox rows that
// ingest writes in the event's transaction. Deliveries are leased to the
// process that created them and sent at once; a lease that expires (the
// process died) lets any replica's poller take the delivery over.
package delivery

import (
	"encoding/json"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

// DefaultSchedule is the seed's retry behaviour: 3 attempts in all, 1 s then
// 2 s apart.
var DefaultSchedule = []time.Duration{time.Second, 2 * time.Second}

// MaxRetryAfter bounds how long a receiver's Retry-After may hold a delivery.
const MaxRetryAfter = time.Hour

// Outcome is what one attempt learned (the kinds' word for it).
type Outcome = notify.Outcome

// Schedule is a channel's retry schedule, or the default: the one source
// of retry policy for every delivery row.
func Schedule(c *shiplog.Channel) []time.Duration {
	if len(c.RetrySchedule) > 0 {
		return c.RetrySchedule
	}
	return DefaultSchedule
}

// MaxAttempts is how many attempts a delivery to c may make: one plus a
// retry per delay of its schedule; a Test send makes exactly one, so its
// answer is the receiver's first.
func MaxAttempts(c *shiplog.Channel, test bool) int {
	if test {
		return 1
	}
	return len(Schedule(c)) + 1
}

// Row is what a new delivery carries besides its channel.
type Row struct {
	EventID   string
	EventType shiplog.EventType
	// Payload is set for deliveries without a stored event (Test, the DR
	// approval emails); event deliveries render when sent.
	Payload json.RawMessage
	Test    bool
}

// New is the one place delivery rows are made (fan-out, DR approval
// emails, Test): queued, due now, leased to this process until lease.
func New(c *shiplog.Channel, r Row, now, lease time.Time) *shiplog.Delivery {
	return &shiplog.Delivery{ID: shiplog.NewID(), OrgID: c.OrgID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: r.EventID,
		EventType: r.EventType, State: shiplog.DeliveryQueued, MaxAttempts: MaxAttempts(c, r.Test), NextAttempt: now,
		LeaseUntil: &lease, Test: r.Test, Payload: r.Payload, CreatedAt: now, UpdatedAt: now}
}

// Decide applies an attempt's outcome to a delivery whose Attempts already
// counts this attempt: succeeded, failed, or queued again at the next time
// the schedule (or the receiver's Retry-After, if later and bounded) allows.
func Decide(d *shiplog.Delivery, schedule []time.Duration, o Outcome, now time.Time) {
	d.UpdatedAt = now
	switch {
	case o.OK:
		d.State, d.LastError = shiplog.DeliverySucceeded, ""
	case o.Retryable && d.Attempts < d.MaxAttempts:
		// The receiver's Retry-After may only postpone (never advance) the
		// schedule, and only by a bounded amount.
		delay := max(schedule[min(max(d.Attempts-1, 0), len(schedule)-1)], min(o.RetryAfter, MaxRetryAfter))
		d.State, d.NextAttempt, d.LastError = shiplog.DeliveryQueued, now.Add(delay), o.Err
		return
	default:
		d.State, d.LastError = shiplog.DeliveryFailed, o.Err
	}
	d.CompletedAt, d.LeaseUntil = &now, nil
}

// outcomeWord is the attempt log's summary of an outcome after Decide.
func outcomeWord(d *shiplog.Delivery) string {
	switch d.State {
	case shiplog.DeliverySucceeded:
		return "succeeded"
	case shiplog.DeliveryQueued:
		return "retry"
	}
	return "failed"
}
