package delivery

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Clock is the worker's time source, timers included, so tests can move
// time instead of sleeping.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return shiplog.SystemClock{}.Now() }

func (SystemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Defaults for Worker.
const (
	DefaultLease        = 30 * time.Second
	DefaultPollInterval = time.Second
	DefaultConcurrency  = 64
	DefaultTimeout      = 10 * time.Second
	// FailingDisableAfter: a channel whose deliveries only fail this long is disabled.
	FailingDisableAfter = 5 * 24 * time.Hour
	// SlackInterval is Slack's limit per incoming webhook: one message a second.
	SlackInterval = time.Second
)

// Worker sends deliveries handed to it (Dispatch) and rescues those whose
// lease expired (its poller).
type Worker struct {
	Store   store.Store
	Clock   Clock
	Log     *slog.Logger
	Senders map[shiplog.ChannelKind]Sender
	// Notice emails the org's owners that a channel was disabled; optional.
	Notice       func(ctx context.Context, orgID string, c *shiplog.Channel, reason string)
	BaseURL      string // for links in rendered messages
	Lease        time.Duration
	PollInterval time.Duration
	Concurrency  int
	Timeout      time.Duration // per attempt
	// Observe is told of every attempt finished (metrics); optional.
	Observe func(Attempted)

	queue    chan *shiplog.Delivery
	wake     chan struct{}
	stop     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	timers   map[string]func() bool
	slackAt  map[string]time.Time       // next free slot per Slack channel
	held     map[string]time.Time       // slot already reserved by a deferred delivery
	rendered map[string]json.RawMessage // event id + kind → payload, for fan-outs
	stopOnce sync.Once
}

func (w *Worker) defaults() {
	if w.Lease == 0 {
		w.Lease = DefaultLease
	}
	if w.PollInterval == 0 {
		w.PollInterval = DefaultPollInterval
	}
	if w.Concurrency == 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.Timeout == 0 {
		w.Timeout = DefaultTimeout
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
}

// Start runs the senders and the poller until Stop.
func (w *Worker) Start() {
	w.defaults()
	w.queue = make(chan *shiplog.Delivery, 65536)
	w.wake = make(chan struct{}, 1)
	w.stop = make(chan struct{})
	w.timers = map[string]func() bool{}
	w.slackAt = map[string]time.Time{}
	w.held = map[string]time.Time{}
	w.rendered = map[string]json.RawMessage{}
	for range w.Concurrency {
		w.wg.Add(1)
		go w.sendLoop()
	}
	w.wg.Add(1)
	go w.pollLoop()
}

// Stop ends the worker after the attempts in flight. Deliveries not yet
// sent keep their lease and are taken over when it expires.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() {
		close(w.stop)
		w.mu.Lock()
		for _, stop := range w.timers {
			stop()
		}
		w.mu.Unlock()
		w.wg.Wait()
	})
}

// Wake makes the poller look for due deliveries now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Dispatch takes deliveries leased to this process: due ones go to the
// senders, later ones wait on a timer. If the queue is full they are left to
// their lease: the poller (here or on another replica) takes them when it
// expires, so nothing is lost.
func (w *Worker) Dispatch(ds []*shiplog.Delivery) {
	now := w.Clock.Now()
	for _, orig := range ds {
		// The worker mutates what it sends; the caller keeps its own.
		cp := *orig
		d := &cp
		if wait := d.NextAttempt.Sub(now); wait > 0 {
			w.after(d, wait)
			continue
		}
		w.enqueue(d)
	}
}

func (w *Worker) enqueue(d *shiplog.Delivery) {
	select {
	case <-w.stop:
	case w.queue <- d:
	default:
		w.release(d)
	}
}

// release hands a delivery this process cannot take now back to every
// replica's poller (and wakes them), rather than holding it for a lease.
func (w *Worker) release(d *shiplog.Delivery) {
	w.Log.Warn("delivery queue full; delivery released to other workers", "delivery_id", d.ID)
	go func() {
		err := w.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			return tx.DeliveryRelease(ctx, []string{d.ID})
		})
		if err != nil {
			w.Log.Error("release delivery", "delivery_id", d.ID, "err", err)
		}
	}()
}

func (w *Worker) after(d *shiplog.Delivery, wait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	select {
	case <-w.stop:
		return
	default:
	}
	if stop, ok := w.timers[d.ID]; ok {
		stop()
	}
	w.timers[d.ID] = w.Clock.AfterFunc(wait, func() {
		w.mu.Lock()
		delete(w.timers, d.ID)
		w.mu.Unlock()
		w.enqueue(d)
	})
}

func (w *Worker) pollLoop() {
	defer w.wg.Done()
	for {
		w.poll()
		t := time.NewTimer(w.PollInterval)
		select {
		case <-w.stop:
			t.Stop()
			return
		case <-w.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

const claimBatch = 256

// poll claims due deliveries that nobody holds: those whose lease expired
// (their process died or dropped them) and those written without one.
func (w *Worker) poll() {
	for {
		now := w.Clock.Now()
		var claimed []*shiplog.Delivery
		err := w.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			var err error
			claimed, err = tx.DeliveryClaim(ctx, now, now.Add(w.Lease), claimBatch)
			return err
		})
		if err != nil {
			w.Log.Error("claim deliveries", "err", err)
			return
		}
		if len(claimed) > 0 {
			w.Log.Debug("claimed deliveries", "count", len(claimed))
		}
		w.Dispatch(claimed)
		if len(claimed) < claimBatch {
			return
		}
	}
}

func (w *Worker) sendLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			return
		case d := <-w.queue:
			w.process(d)
		}
	}
}

// slackSlot reserves the next one-per-second slot of a Slack channel for a
// delivery; a delivery deferred to a slot it already holds keeps that slot.
func (w *Worker) slackSlot(channelID, deliveryID string, now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.held[deliveryID]; ok {
		delete(w.held, deliveryID)
		return at
	}
	at := w.slackAt[channelID]
	if at.Before(now) {
		at = now
	}
	w.slackAt[channelID] = at.Add(SlackInterval)
	return at
}

func (w *Worker) process(d *shiplog.Delivery) {
	ctx := context.Background()
	c, err := w.Store.ChannelGet(ctx, d.OrgID, d.ChannelID)
	if errors.Is(err, store.ErrNotFound) {
		return // deleted with its deliveries
	}
	if err != nil {
		w.Log.Error("load channel for delivery", "delivery_id", d.ID, "err", err)
		return // the lease expires and it is tried again
	}
	if !c.Enabled && !d.Test {
		w.finish(ctx, d, c, Outcome{Err: "channel is disabled"}, w.Clock.Now(), 0, attemptCancelled)
		return
	}
	now := w.Clock.Now()
	if c.Kind == shiplog.ChannelSlack {
		if at := w.slackSlot(c.ID, d.ID, now); at.After(now) {
			// Over Slack's rate: move the attempt (without spending one)
			// and extend the lease past it, so no poller steals it.
			err := w.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
				return tx.DeliveryDefer(ctx, d.ID, at, at.Add(w.Lease))
			})
			if err != nil {
				w.Log.Error("defer delivery", "delivery_id", d.ID, "err", err)
				return
			}
			d.NextAttempt = at
			w.mu.Lock()
			w.held[d.ID] = at
			w.mu.Unlock()
			w.after(d, at.Sub(now))
			return
		}
	}
	if u, ok := w.Senders[c.Kind].(unready); ok {
		if reason := u.Unready(); reason != "" {
			w.finish(ctx, d, c, Outcome{Err: reason}, now, 0, attemptSkipped)
			return
		}
	}
	var recipients []string
	if c.Kind == shiplog.ChannelEmail {
		people, err := Audience(ctx, w.Store, d.OrgID)
		if err != nil {
			w.Log.Error("load recipients", "org_id", d.OrgID, "err", err)
			return
		}
		recipients = Recipients(c, people)
	}
	payload, err := w.payload(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		w.finish(ctx, d, c, Outcome{Err: "the event no longer exists (pruned by retention)"}, now, 0, attemptSkipped)
		return
	}
	if err != nil {
		w.Log.Error("render delivery", "delivery_id", d.ID, "err", err)
		return // the lease expires and it is tried again
	}
	d.Payload = payload
	o := w.SendNow(ctx, d, c, recipients)
	w.finish(ctx, d, c, o, now, w.Clock.Now().Sub(now), attemptSent)
}

// maxRendered bounds the render cache; a fan-out's deliveries arrive
// together, so a small cache serves them all.
const maxRendered = 4096

func (w *Worker) payload(ctx context.Context, d *shiplog.Delivery) (json.RawMessage, error) {
	if len(d.Payload) > 0 {
		return d.Payload, nil
	}
	key := d.EventID + "/" + string(d.ChannelKind)
	w.mu.Lock()
	p, ok := w.rendered[key]
	w.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := Payload(ctx, w.Store, d, w.BaseURL)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	if len(w.rendered) >= maxRendered {
		clear(w.rendered)
	}
	w.rendered[key] = p
	w.mu.Unlock()
	return p, nil
}

// SendNow makes one attempt without recording it.
func (w *Worker) SendNow(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, recipients []string) Outcome {
	s := w.Senders[c.Kind]
	if s == nil {
		return Outcome{Err: "no sender for channel kind " + string(c.Kind)}
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	return s.Send(ctx, d, c, recipients)
}

// finish records an attempt, applies the retry policy and the channel's
// health rules, and schedules the next attempt if there is one.
func (w *Worker) finish(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, o Outcome, started time.Time,
	took time.Duration, how attemptKind) *shiplog.Attempt {
	now := w.Clock.Now()
	d.Attempts++
	Decide(d, Schedule(c), o, now)
	if how == attemptCancelled {
		d.State = shiplog.DeliveryCancelled
	}
	if d.State == shiplog.DeliveryQueued {
		lease := d.NextAttempt.Add(w.Lease)
		d.LeaseUntil = &lease
	}
	a := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: d.Attempts, StartedAt: started,
		DurationMS: took.Milliseconds(), StatusCode: o.StatusCode, ResponseHeaders: o.Headers, ResponseBody: o.Body,
		Error: o.Err, Outcome: outcomeWord(d)}
	if how == attemptCancelled {
		a.Outcome = "cancelled"
	}
	if a.ResponseHeaders == nil {
		a.ResponseHeaders = map[string]string{}
	}
	health := w.health(c, d, o, now)
	err := w.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeliveryRecord(ctx, d, a); err != nil {
			return err
		}
		if health == nil {
			return nil
		}
		if err := tx.ChannelSetHealth(ctx, health); err != nil {
			return err
		}
		if health.Disable {
			return tx.DeliveryCancelChannel(ctx, c.ID, "channel disabled: "+health.DisabledReason, now)
		}
		return nil
	})
	if errors.Is(err, store.ErrNotFound) {
		// Cancelled or deleted meanwhile; nothing to record.
		w.observe(d, c, "cancelled", how, took, now)
		return a
	}
	if err != nil {
		w.Log.ErrorContext(ctx, "record delivery attempt", "delivery_id", d.ID, "err", err)
		return a
	}
	w.observe(d, c, a.Outcome, how, took, now)
	if d.State == shiplog.DeliveryQueued {
		w.after(d, d.NextAttempt.Sub(now))
	}
	if health != nil && health.Disable {
		w.Log.WarnContext(ctx, "channel disabled", "channel_id", c.ID, "reason", health.DisabledReason)
		if w.Notice != nil {
			w.Notice(ctx, c.OrgID, c, health.DisabledReason)
		}
	}
	return a
}

// health decides a channel's health change after an attempt, nil for none:
// success clears "failing since"; a final failure starts it, and disables
// the channel once it has only failed for FailingDisableAfter; answers that
// say the destination is gone disable it at once. Test sends never count.
func (w *Worker) health(c *shiplog.Channel, d *shiplog.Delivery, o Outcome, now time.Time) *store.ChannelHealthParams {
	if d.Test {
		return nil
	}
	switch {
	case o.Disable:
		return &store.ChannelHealthParams{ChannelID: c.ID, FailingSince: c.FailingSince, Disable: true,
			DisabledReason: "the receiver says the destination is gone: " + o.Err, Now: now}
	case d.State == shiplog.DeliverySucceeded && c.FailingSince != nil:
		return &store.ChannelHealthParams{ChannelID: c.ID, Now: now}
	case d.State == shiplog.DeliveryFailed:
		if c.FailingSince == nil {
			return &store.ChannelHealthParams{ChannelID: c.ID, FailingSince: &now, Now: now}
		}
		if now.Sub(*c.FailingSince) >= FailingDisableAfter {
			return &store.ChannelHealthParams{ChannelID: c.ID, FailingSince: c.FailingSince, Disable: true,
				DisabledReason: "every delivery has failed since " + c.FailingSince.Format(time.RFC3339) + "; last error: " + o.Err, Now: now}
		}
	}
	return nil
}

// Record stores the outcome of an attempt made outside the queue (the
// channel's Test button).
func (w *Worker) Record(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, o Outcome, started time.Time, took time.Duration) *shiplog.Attempt {
	return w.finish(ctx, d, c, o, started, took, attemptSent)
}
