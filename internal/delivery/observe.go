package delivery

import (
	"time"

	"github.com/shiplog/shiplog"
)

// Attempted describes one attempt the worker finished, for metrics. It
// names no org, channel or delivery: only what is safe as a metric label.
type Attempted struct {
	Kind shiplog.ChannelKind
	// Outcome is the attempt log's word: succeeded, retry, failed or
	// cancelled (the channel was disabled or deleted first).
	Outcome string
	// Sent: the sender was called (not so for a disabled channel, an
	// unconfigured sender or a pruned event). Took is then its duration.
	Sent bool
	Took time.Duration
	// Latency, on success, is from the delivery's creation (its event's
	// commit) to now: what a receiver waited, retries included.
	Latency time.Duration
	// Test marks the Test button's sends, which have no event.
	Test bool
}

// attemptKind is how an attempt went before finish records it.
type attemptKind int

const (
	attemptSkipped   attemptKind = iota // nothing sent: the outcome explains why
	attemptSent                         // the sender was called
	attemptCancelled                    // the channel is disabled: nothing sent, delivery cancelled
)

func (w *Worker) observe(d *shiplog.Delivery, c *shiplog.Channel, outcome string, how attemptKind, took time.Duration, now time.Time) {
	if w.Observe == nil {
		return
	}
	a := Attempted{Kind: c.Kind, Outcome: outcome, Sent: how == attemptSent, Test: d.Test}
	if a.Sent {
		a.Took = took
	}
	if outcome == "succeeded" {
		a.Latency = now.Sub(d.CreatedAt)
	}
	w.Observe(a)
}
