package delivery

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
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
	DefaultTimeout      = 10 * time.Second
	// LeaseMargin is how much longer than an attempt's timeout a lease
	// lasts at least, so a slow send cannot outlive its lease.
	LeaseMargin = 5 * time.Second
	// FailingDisableAfter: a channel whose deliveries only fail this long is disabled.
	FailingDisableAfter = 5 * 24 * time.Hour
)

// Worker sends deliveries handed to it (Dispatch) and rescues those whose
// lease expired (its poller). See sched.go for how senders are shared.
type Worker struct {
	Store store.Store
	Clock Clock
	Log   *slog.Logger
	// Env is what the kinds send with (HTTP client, clock, SMTP relay).
	Env notify.Env
	// Notice emails the org's owners that a channel was disabled; optional.
	Notice       func(ctx context.Context, orgID string, c *shiplog.Channel, reason string)
	BaseURL      string // for links in rendered messages
	Lease        time.Duration
	PollInterval time.Duration
	Timeout      time.Duration // per attempt
	// Concurrency is the senders in all; OrgConcurrency those one org may
	// occupy, ChannelSenders those one channel may.
	Concurrency    int
	OrgConcurrency int
	ChannelSenders int
	// The circuit breaker: after BreakerThreshold consecutive failed
	// attempts a channel is paused for BreakerBackoff, then probed with one
	// delivery; each failed probe doubles the pause, up to BreakerMax.
	BreakerThreshold int
	BreakerBackoff   time.Duration
	BreakerMax       time.Duration
	// LogInterval: a repeated condition is logged at most this often.
	LogInterval time.Duration
	// Observe is told of every attempt finished (metrics); optional.
	Observe func(Attempted)
	// Polled is told after every poll round, with the time it started on
	// Clock; optional (tests wait on it).
	Polled func(now time.Time)

	wake      chan struct{}
	stop      chan struct{}
	releaseCh chan struct{}
	wg        sync.WaitGroup
	rlog      *rateLog
	stopOnce  sync.Once

	claimed, released, polls atomic.Int64

	mu        sync.Mutex
	stopped   bool
	eps       map[string]*endpoint
	runq      []*endpoint
	orgWait   map[string][]*endpoint
	orgActive map[string]int
	active    int                 // senders running
	pending   int                 // deliveries queued in memory
	held      map[string]struct{} // ids queued or sending: their leases are renewed
	park      []string            // ids to release to the database
	beat      time.Time           // last lease renewal
	timers    map[string]func() bool
	slotAt    map[string]time.Time       // next free slot per channel of a kind with a MinInterval
	slotHeld  map[string]time.Time       // slot already reserved by a deferred delivery
	rendered  map[string]json.RawMessage // event id + kind + variant → payload, for fan-outs
}

// LeaseFor is the lease a worker with this configured lease and attempt
// timeout (zero: the defaults) uses, and the one deliveries written for it
// must carry. A lease shorter than a send would let a poller take a
// delivery that is still being sent: the heartbeat renews leases, and this
// keeps a margin even between renewals.
func LeaseFor(lease, timeout time.Duration) time.Duration {
	return max(cmp.Or(lease, DefaultLease), cmp.Or(timeout, DefaultTimeout)+LeaseMargin)
}

func (w *Worker) defaults() {
	w.Timeout = cmp.Or(w.Timeout, DefaultTimeout)
	w.Lease = LeaseFor(w.Lease, w.Timeout)
	w.PollInterval = cmp.Or(w.PollInterval, DefaultPollInterval)
	w.Concurrency = cmp.Or(w.Concurrency, DefaultConcurrency)
	w.OrgConcurrency = min(cmp.Or(w.OrgConcurrency, DefaultOrgConcurrency), w.Concurrency)
	w.ChannelSenders = min(cmp.Or(w.ChannelSenders, DefaultChannelSenders), w.OrgConcurrency)
	w.BreakerThreshold = cmp.Or(w.BreakerThreshold, DefaultBreakerThreshold)
	w.BreakerBackoff = cmp.Or(w.BreakerBackoff, DefaultBreakerBackoff)
	w.BreakerMax = max(cmp.Or(w.BreakerMax, DefaultBreakerMax), w.BreakerBackoff)
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
	w.rlog = &rateLog{log: w.Log, clock: w.Clock, every: cmp.Or(w.LogInterval, DefaultLogInterval)}
}

// Start runs the poller and the releaser until Stop; senders start as
// deliveries come.
func (w *Worker) Start() {
	w.defaults()
	w.wake = make(chan struct{}, 1)
	w.stop = make(chan struct{})
	w.releaseCh = make(chan struct{}, 1)
	w.eps = map[string]*endpoint{}
	w.orgWait = map[string][]*endpoint{}
	w.orgActive = map[string]int{}
	w.held = map[string]struct{}{}
	w.timers = map[string]func() bool{}
	w.slotAt = map[string]time.Time{}
	w.slotHeld = map[string]time.Time{}
	w.rendered = map[string]json.RawMessage{}
	w.beat = w.Clock.Now()
	w.wg.Add(2)
	go w.pollLoop()
	go w.releaseLoop()
}

// Stop ends the worker after the attempts in flight. Deliveries queued in
// memory are released to the database, so any replica (or the next
// process) takes them at once; the rest keep their lease.
func (w *Worker) Stop() {
	w.stopOnce.Do(func() {
		w.mu.Lock()
		w.stopped = true
		for _, stop := range w.timers {
			stop()
		}
		for _, e := range w.eps {
			for _, d := range e.pending {
				w.park = append(w.park, d.ID)
			}
			w.pending -= len(e.pending)
			e.pending = nil
		}
		w.mu.Unlock()
		close(w.stop)
		w.wg.Wait()
	})
}

// Stats are the worker's counters, for tests and the benchmark.
type Stats struct {
	Claimed  int64 // deliveries the poller claimed
	Released int64 // deliveries handed back to the database
	Polls    int64 // claim rounds
	Active   int   // sending now
	Pending  int   // queued in memory
	Paused   int   // channels whose circuit is open
	Probing  int   // channels whose circuit waits for a probe's outcome
}

// Stats returns the worker's counters now.
func (w *Worker) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := Stats{Claimed: w.claimed.Load(), Released: w.released.Load(), Polls: w.polls.Load(), Active: w.active,
		Pending: w.pending}
	for _, e := range w.eps {
		switch e.state {
		case breakerOpen:
			s.Paused++
		case breakerProbing:
			s.Probing++
		}
	}
	return s
}

// Wake makes the poller look for due deliveries now.
func (w *Worker) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Dispatch takes deliveries leased to this process: due ones go to their
// channel's queue, later ones wait on a timer. A delivery whose channel is
// paused or holds its share already is released to the database, where
// the poller finds it when the channel has room.
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
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.admit(d, false)
}

func (w *Worker) after(d *shiplog.Delivery, wait time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
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

// poll renews the leases this process holds, probes paused channels whose
// pause ended, and claims due deliveries nobody holds (a lease expired, or
// a delivery was released), as many as there is room for, leaving out the
// channels that are paused or full.
func (w *Worker) poll() {
	now := w.Clock.Now()
	defer func() {
		w.polls.Add(1)
		if w.Polled != nil {
			w.Polled(now)
		}
	}()
	limit, exclude, held := w.claimShape()
	w.heartbeat(now, held)
	for _, id := range w.probes(now) {
		ds := w.claim(&store.DeliveryClaimParams{Now: now, LeaseUntil: now.Add(w.Lease), Limit: 1, ChannelID: id})
		w.mu.Lock()
		if e := w.eps[id]; e != nil && len(ds) == 0 && e.state == breakerProbing && e.active == 0 {
			// Nothing waits for it: nothing to protect.
			e.state, e.fails, e.backlog = breakerClosed, 0, false
			w.forgetLocked(e)
		}
		for _, d := range ds {
			w.admit(d, true)
		}
		w.mu.Unlock()
	}
	for limit > 0 {
		now := w.Clock.Now()
		ds := w.claim(&store.DeliveryClaimParams{Now: now, LeaseUntil: now.Add(w.Lease), Limit: limit,
			PerChannel: w.ChannelSenders, ExcludeChannels: exclude})
		if len(ds) == 0 {
			return
		}
		per := map[string]int{}
		w.mu.Lock()
		for _, d := range ds {
			per[d.ChannelID]++
		}
		// A channel that gave less than its share has nothing more waiting.
		for _, e := range w.eps {
			if e.backlog && e.state == breakerClosed && per[e.id] < w.ChannelSenders && !slices.Contains(exclude, e.id) {
				e.backlog = false
			}
		}
		for _, d := range ds {
			if wait := d.NextAttempt.Sub(now); wait > 0 {
				continue // not due: cannot happen, the claim takes due ones
			}
			w.admit(d, false)
		}
		w.mu.Unlock()
		if len(ds) < limit {
			return
		}
		limit, exclude, _ = w.claimShape()
	}
}

func (w *Worker) claim(p *store.DeliveryClaimParams) []*shiplog.Delivery {
	var claimed []*shiplog.Delivery
	err := w.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		var err error
		claimed, err = tx.DeliveryClaim(ctx, p)
		return err
	})
	if err != nil {
		w.rlog.Error("claim", "claim deliveries", "err", err)
		return nil
	}
	w.claimed.Add(int64(len(claimed)))
	return claimed
}

// heartbeat renews, every third of a lease, the lease of every delivery
// this process is sending or has queued in memory, so a slow receiver (or
// a long queue) never lets a lease expire under a live process: nobody
// else sends a delivery this process still holds.
func (w *Worker) heartbeat(now time.Time, held []string) {
	w.mu.Lock()
	due := now.Sub(w.beat) >= w.Lease/3
	if due {
		w.beat = now
	}
	w.mu.Unlock()
	if !due || len(held) == 0 {
		return
	}
	err := w.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		_, err := tx.DeliveryExtendLease(ctx, held, now.Add(w.Lease))
		return err
	})
	if err != nil {
		w.rlog.Error("heartbeat", "renew delivery leases", "count", len(held), "err", err)
	}
}

// slot reserves the next free slot of a channel whose kind sends at most
// one message per interval (Slack); a delivery deferred to a slot it
// already holds keeps that slot.
func (w *Worker) slot(channelID, deliveryID string, interval time.Duration, now time.Time) time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	if at, ok := w.slotHeld[deliveryID]; ok {
		delete(w.slotHeld, deliveryID)
		return at
	}
	at := w.slotAt[channelID]
	if at.Before(now) {
		at = now
	}
	w.slotAt[channelID] = at.Add(interval)
	return at
}

// channel returns d's channel: from the org's configuration in memory when
// it is enabled there (one query for the generation instead of two), else
// read. Shared: not to be modified.
func (w *Worker) channel(ctx context.Context, d *shiplog.Delivery) (*shiplog.Channel, error) {
	if cfg, err := w.Store.OrgConfig(ctx, d.OrgID); err == nil {
		for _, c := range cfg.Channels {
			if c.ID == d.ChannelID {
				return c, nil
			}
		}
	}
	return w.Store.ChannelGet(ctx, d.OrgID, d.ChannelID)
}

func (w *Worker) process(d *shiplog.Delivery) {
	ctx := context.Background()
	c, err := w.channel(ctx, d)
	if errors.Is(err, store.ErrNotFound) {
		return // deleted with its deliveries
	}
	if err != nil {
		w.rlog.Error("load channel", "load channel for delivery", "delivery_id", d.ID, "err", err)
		return // the lease expires and it is tried again
	}
	if !c.Enabled && !d.Test {
		w.finish(ctx, d, c, Outcome{Err: "channel is disabled"}, w.Clock.Now(), 0, attemptCancelled)
		return
	}
	now := w.Clock.Now()
	kind, ok := notify.Lookup(c.Kind)
	if !ok {
		w.finish(ctx, d, c, Outcome{Err: "unknown channel kind " + string(c.Kind)}, now, 0, attemptSkipped)
		return
	}
	if iv := kind.Spec().MinInterval; iv > 0 {
		if at := w.slot(c.ID, d.ID, iv, now); at.After(now) {
			// Over the receiver's rate: move the attempt (without spending
			// one) and extend the lease past it, so no poller steals it.
			err := w.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
				return tx.DeliveryDefer(ctx, d.ID, at, at.Add(w.Lease))
			})
			if err != nil {
				w.rlog.Error("defer", "defer delivery", "delivery_id", d.ID, "err", err)
				return
			}
			d.NextAttempt = at
			w.mu.Lock()
			w.slotHeld[d.ID] = at
			w.mu.Unlock()
			w.after(d, at.Sub(now))
			return
		}
	}
	if u, ok := kind.(notify.Readier); ok {
		if reason := u.Unready(w.Env); reason != "" {
			w.finish(ctx, d, c, Outcome{Err: reason}, now, 0, attemptSkipped)
			return
		}
	}
	recipients, err := w.Recipients(ctx, c)
	if err != nil {
		w.rlog.Error("recipients", "load recipients", "org_id", d.OrgID, "err", err)
		return // the lease expires and it is tried again
	}
	payload, err := w.payload(ctx, d, c, kind)
	if errors.Is(err, store.ErrNotFound) {
		w.finish(ctx, d, c, Outcome{Err: "the event no longer exists (pruned by retention)"}, now, 0, attemptSkipped)
		return
	}
	if err != nil {
		w.rlog.Error("render", "render delivery", "delivery_id", d.ID, "err", err)
		return // the lease expires and it is tried again
	}
	d.Payload = payload
	o := w.SendNow(ctx, d, c, recipients)
	w.finish(ctx, d, c, o, now, w.Clock.Now().Sub(now), attemptSent)
}

// maxRendered bounds the render cache; a fan-out's deliveries arrive
// together, so a small cache serves them all.
const maxRendered = 4096

func (w *Worker) payload(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, kind notify.Kind) (json.RawMessage, error) {
	if len(d.Payload) > 0 {
		return d.Payload, nil
	}
	key := d.EventID + "/" + string(c.Kind) + "/" + kind.Variant(c)
	w.mu.Lock()
	p, ok := w.rendered[key]
	w.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := Payload(ctx, w.Store, d, c, w.BaseURL)
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

// SendNow makes one attempt without recording it. recipients are the
// resolved addresses for kinds that write to people (see Recipients).
func (w *Worker) SendNow(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, recipients []string) Outcome {
	kind, ok := notify.Lookup(c.Kind)
	if !ok {
		return Outcome{Err: "unknown channel kind " + string(c.Kind)}
	}
	if u, ok := kind.(notify.Readier); ok {
		if reason := u.Unready(w.Env); reason != "" {
			return Outcome{Err: reason}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	return kind.Send(ctx, w.Env, notify.Target{DeliveryID: d.ID, EventType: d.EventType, Channel: c, Payload: d.Payload,
		Recipients: recipients})
}

// Recipients resolves the addresses a channel of a kind that writes to
// people (email) sends to now; nil for other kinds.
func (w *Worker) Recipients(ctx context.Context, c *shiplog.Channel) ([]string, error) {
	kind, ok := notify.Lookup(c.Kind)
	if !ok {
		return nil, nil
	}
	a, ok := kind.(notify.Addressed)
	if !ok {
		return nil, nil
	}
	people, err := Audience(ctx, w.Store, c.OrgID)
	if err != nil {
		return nil, err
	}
	return a.Recipients(c, people), nil
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
		w.rlog.Error("record", "record delivery attempt", "delivery_id", d.ID, "err", err)
		return a
	}
	if how == attemptSent && !d.Test {
		w.attempted(c.ID, o, now)
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
