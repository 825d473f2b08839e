package delivery

import (
	"context"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Scheduling: every channel (endpoint) has its own queue in memory and its
// own limits, so a slow or dead receiver occupies its share of the senders
// and no more. Senders are taken round-robin over the channels that have
// something to send, within three bounds: senders in all, per org, per
// channel. A channel whose attempts keep failing is paused by its circuit
// breaker; while it is paused its deliveries stay in the database.

// Defaults for the scheduler's limits and the circuit breaker.
const (
	DefaultConcurrency      = 256 // senders in all
	DefaultOrgConcurrency   = 128 // senders one org may occupy
	DefaultChannelSenders   = 64  // senders one channel may occupy
	DefaultBreakerThreshold = 5   // consecutive failed attempts that pause a channel
	DefaultBreakerBackoff   = 5 * time.Second
	DefaultBreakerMax       = 5 * time.Minute
)

// heldPerSender bounds what one channel holds in memory (sending or
// queued) to this many times its senders; beyond it deliveries wait in the
// database, and claims leave the channel out.
const heldPerSender = 4

// maxPending bounds the deliveries queued in memory over all channels.
const maxPending = 8192

type breakerState int

const (
	breakerClosed  breakerState = iota // sending
	breakerOpen                        // paused until openUntil
	breakerProbing                     // one probe allowed; its outcome decides
)

func (s breakerState) String() string {
	return [...]string{"closed", "open", "probing"}[s]
}

// endpoint is one channel's queue, counters and circuit breaker. All its
// fields are guarded by Worker.mu.
type endpoint struct {
	id, org string
	pending []*shiplog.Delivery // FIFO, not yet sending
	active  int                 // sending now
	queued  bool                // in Worker.runq
	waiting bool                // in Worker.orgWait: its org's senders are all busy
	// backlog: deliveries of this channel were left in the database
	// (queue full or paused), so the poller should look when there is room.
	backlog bool

	state     breakerState
	fails     int // consecutive failed attempts
	backoff   time.Duration
	openUntil time.Time
	probing   bool // the probe is sending
}

func (e *endpoint) held() int { return len(e.pending) + e.active }

// runnable: something to send and room to send it.
func (w *Worker) runnable(e *endpoint) bool {
	if len(e.pending) == 0 || e.active >= w.ChannelSenders {
		return false
	}
	switch e.state {
	case breakerOpen:
		return false
	case breakerProbing:
		return e.active == 0 && !e.probing
	}
	return true
}

func (w *Worker) endpointFor(d *shiplog.Delivery) *endpoint {
	e := w.eps[d.ChannelID]
	if e == nil {
		e = &endpoint{id: d.ChannelID, org: d.OrgID}
		w.eps[d.ChannelID] = e
	}
	return e
}

// admit queues d for sending, or leaves it in the database when its
// channel is paused or holds its share already (park). probe admits a
// paused channel's probe. Called with w.mu held.
func (w *Worker) admit(d *shiplog.Delivery, probe bool) {
	e := w.endpointFor(d)
	full := e.held() >= heldPerSender*w.ChannelSenders || w.pending >= maxPending
	if !probe && (e.state != breakerClosed || full) {
		e.backlog = true
		w.park = append(w.park, d.ID)
		w.kickRelease()
		w.forgetLocked(e)
		return
	}
	e.pending = append(e.pending, d)
	w.pending++
	w.held[d.ID] = struct{}{}
	w.schedule(e)
	w.pump()
}

// schedule puts e in the run queue if it can send.
func (w *Worker) schedule(e *endpoint) {
	if !e.queued && !e.waiting && w.runnable(e) {
		e.queued = true
		w.runq = append(w.runq, e)
	}
}

// pump starts senders while there are free ones and channels that can use
// them, taking channels round-robin. Called with w.mu held.
func (w *Worker) pump() {
	if w.stopped {
		return
	}
	for w.active < w.Concurrency && len(w.runq) > 0 {
		e := w.runq[0]
		w.runq[0] = nil
		w.runq = w.runq[1:]
		e.queued = false
		if !w.runnable(e) {
			continue
		}
		if w.orgActive[e.org] >= w.OrgConcurrency {
			e.waiting = true
			w.orgWait[e.org] = append(w.orgWait[e.org], e)
			continue
		}
		d := e.pending[0]
		e.pending[0] = nil
		e.pending = e.pending[1:]
		w.pending--
		e.active++
		w.active++
		w.orgActive[e.org]++
		if e.state == breakerProbing {
			e.probing = true
		}
		w.schedule(e) // to the back of the queue: round-robin
		w.wg.Add(1)
		go w.run(e, d)
	}
}

// run sends one delivery on a sender of its own.
func (w *Worker) run(e *endpoint, d *shiplog.Delivery) {
	defer w.wg.Done()
	w.process(d)
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.held, d.ID)
	e.active--
	w.active--
	if w.orgActive[e.org]--; w.orgActive[e.org] <= 0 {
		delete(w.orgActive, e.org)
	}
	// A sender of the org is free: its channels waiting for one may run.
	if waiting := w.orgWait[e.org]; len(waiting) > 0 {
		delete(w.orgWait, e.org)
		for _, o := range waiting {
			o.waiting = false
			w.schedule(o)
		}
	}
	w.schedule(e)
	if e.backlog && e.state == breakerClosed && e.held() <= heldPerSender*w.ChannelSenders/2 {
		w.Wake() // room again: fetch what waits in the database
	}
	w.pump()
	w.forgetLocked(e)
}

// forgetLocked drops an endpoint that holds nothing and remembers nothing.
func (w *Worker) forgetLocked(e *endpoint) {
	if e.held() == 0 && !e.queued && !e.waiting && !e.backlog && e.state == breakerClosed && e.fails == 0 {
		delete(w.eps, e.id)
	}
}

// attempted feeds an attempt's outcome to the channel's circuit breaker.
// Only answers that say the receiver is unwell count (network errors,
// timeouts, 5xx, 408, 429): a 4xx is about one message.
func (w *Worker) attempted(channelID string, o Outcome, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	e := w.eps[channelID]
	if e == nil {
		return
	}
	if e.state == breakerProbing {
		e.probing = false
	}
	if !o.Retryable {
		if e.state != breakerClosed {
			w.Log.Info("channel answers again; circuit closed", "channel_id", channelID)
		}
		e.fails, e.state, e.backoff = 0, breakerClosed, 0
		w.schedule(e)
		if e.backlog {
			w.Wake()
		}
		return
	}
	e.fails++
	switch {
	case e.state == breakerProbing:
		e.backoff = min(2*e.backoff, w.BreakerMax)
	case e.state == breakerClosed && e.fails >= w.BreakerThreshold:
		e.backoff = w.BreakerBackoff
	default:
		return
	}
	e.state, e.openUntil = breakerOpen, now.Add(e.backoff)
	w.rlog.Warn("open:"+channelID, "channel keeps failing; circuit open, deliveries wait in the database",
		"channel_id", channelID, "org_id", e.org, "consecutive_failures", e.fails, "retry_in", e.backoff.String(),
		"last_error", o.Err)
	// What it queued in memory waits in the database instead.
	for _, d := range e.pending {
		delete(w.held, d.ID)
		w.park = append(w.park, d.ID)
	}
	w.pending -= len(e.pending)
	e.pending, e.backlog = nil, true
	w.kickRelease()
}

// kickRelease makes the releaser write what was parked. Called with w.mu held.
func (w *Worker) kickRelease() {
	select {
	case w.releaseCh <- struct{}{}:
	default:
	}
}

// releaseLoop clears the lease of parked deliveries in batches, so the
// database (and other replicas) know nobody holds them; claims leave their
// channels out while they are paused or full, so they are not taken back
// and parked again in a loop.
func (w *Worker) releaseLoop() {
	defer w.wg.Done()
	for {
		select {
		case <-w.stop:
			w.releaseParked()
			return
		case <-w.releaseCh:
			w.releaseParked()
		}
	}
}

func (w *Worker) releaseParked() {
	w.mu.Lock()
	ids := w.park
	w.park = nil
	w.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	w.released.Add(int64(len(ids)))
	err := w.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.DeliveryRelease(ctx, ids)
	})
	if err != nil {
		// They keep their lease; the poller takes them when it expires.
		w.rlog.Error("release", "release deliveries", "count", len(ids), "err", err)
	}
}

// probes turns channels whose pause ended into probing ones and returns
// those that need a delivery from the database for their probe.
func (w *Worker) probes(now time.Time) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, e := range w.eps {
		if e.state != breakerOpen || now.Before(e.openUntil) {
			continue
		}
		e.state, e.probing = breakerProbing, false
		if len(e.pending) > 0 {
			w.schedule(e)
			continue
		}
		if e.active == 0 {
			out = append(out, e.id)
		}
	}
	w.pump()
	return out
}

// claimShape says how much the poller may claim now and which channels it
// must leave out: paused ones and those holding their share.
func (w *Worker) claimShape() (limit int, exclude []string, held []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	limit = min(claimBatch, 2*w.Concurrency-w.active-w.pending, maxPending-w.pending)
	for _, e := range w.eps {
		// A claim may bring a channel a full share (ChannelSenders): one
		// without room for that is left out, so nothing claimed is parked.
		if e.state != breakerClosed || e.held()+w.ChannelSenders > heldPerSender*w.ChannelSenders {
			exclude = append(exclude, e.id)
		}
	}
	held = make([]string, 0, len(w.held))
	for id := range w.held {
		held = append(held, id)
	}
	return limit, exclude, held
}
