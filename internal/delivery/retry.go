// Package delivery sends notification deliveries: the outbox rows that
// ingest writes in the event's transaction. Deliveries are leased to the
// process that created them and sent at once; a lease that expires (the
// process died) lets any replica's poller take the delivery over.
package delivery

import (
	"time"

	"github.com/shiplog/shiplog"
)

// DefaultSchedule is the seed's retry behaviour: 3 attempts in all, 1 s then
// 2 s apart.
var DefaultSchedule = []time.Duration{time.Second, 2 * time.Second}

// MaxRetryAfter bounds how long a receiver's Retry-After may hold a delivery.
const MaxRetryAfter = time.Hour

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

// Schedule is a channel's retry schedule, or the default.
func Schedule(c *shiplog.Channel) []time.Duration {
	if len(c.RetrySchedule) > 0 {
		return c.RetrySchedule
	}
	return DefaultSchedule
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
