// Package retention prunes history that grows without bound: events,
// finished deliveries with their attempts, and expired idempotency keys.
// Deployments, builds, versions, deployment requests, approvals, users,
// rules and channels are the audit record and are never pruned.
package retention

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/store"
)

// Defaults for the serve flags and for a Pruner's zero fields.
const (
	// DefaultEvents keeps two quarters of raw event history: enough to
	// answer "what happened during last quarter's incident" and to audit a
	// release cycle, while the deployments and builds themselves (the
	// status matrix, every listing) stay forever.
	DefaultEvents = 180 * 24 * time.Hour
	// DefaultDeliveries keeps a month of notification logs: long enough to
	// see why a channel failed and to redeliver or recover it, about what
	// hosted webhook services show.
	DefaultDeliveries = 30 * 24 * time.Hour
	// DefaultInterval: pruning is cheap when little is due, and an hour's
	// worth of history is never much to delete at once.
	DefaultInterval = time.Hour
	// DefaultBatch rows per write transaction keep each one to a few
	// milliseconds (about 4 ms for 250 events or deliveries on a
	// 1.3 GB SQLite database; docs/operations.md has the figures), so a
	// write that shares or follows a batch on SQLite's single writer waits
	// little longer than usual.
	DefaultBatch = 250
	// MinAge is the shortest retention ParseAge accepts: anything shorter
	// is far more likely a typo ("30m" for thirty days) than an intention.
	MinAge = time.Hour
)

// Clock is the pruner's time source, timers included, so tests can move
// time instead of waiting. delivery.SystemClock and fakeclock.Clock fit.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// SystemClock is the real clock.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return shiplog.SystemClock{}.Now() }

func (SystemClock) AfterFunc(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }

// Pruner deletes old history every Interval, in batches of Batch rows,
// each batch its own short write.
type Pruner struct {
	Store store.Store
	Clock Clock
	Log   *slog.Logger
	// Events and Deliveries are how long events and finished deliveries
	// (with their attempts) are kept; 0 keeps them forever. Expired
	// idempotency keys are pruned whatever these say.
	Events     time.Duration
	Deliveries time.Duration
	Interval   time.Duration // 0: DefaultInterval
	Batch      int           // 0: DefaultBatch

	stop     chan struct{}
	wake     chan struct{}
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// Result counts what one pass deleted.
type Result struct {
	Events, Deliveries, Attempts, IdempotencyKeys int
}

func (r Result) total() int { return r.Events + r.Deliveries + r.Attempts + r.IdempotencyKeys }

// The getters apply the defaults without writing to p, so Prune may be
// called while the loop runs.

func (p *Pruner) interval() time.Duration { return cmp.Or(max(p.Interval, 0), DefaultInterval) }

func (p *Pruner) batch() int { return cmp.Or(max(p.Batch, 0), DefaultBatch) }

func (p *Pruner) log() *slog.Logger {
	if p.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Log
}

func (p *Pruner) clock() Clock {
	if p.Clock == nil {
		return SystemClock{}
	}
	return p.Clock
}

// Start runs a pass now and then one every Interval, until Stop.
func (p *Pruner) Start() {
	p.log().Info("retention", "events", describe(p.Events), "deliveries", describe(p.Deliveries),
		"interval", p.interval(), "batch", p.batch())
	p.stop = make(chan struct{})
	p.wake = make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go p.loop(ctx)
}

// Stop ends the pruner; a pass in progress stops after its current batch.
func (p *Pruner) Stop() {
	p.stopOnce.Do(func() {
		if p.stop == nil { // never started
			return
		}
		close(p.stop)
		p.cancel()
		p.wg.Wait()
	})
}

func (p *Pruner) loop(ctx context.Context) {
	defer p.wg.Done()
	for {
		start := time.Now()
		r, err := p.Prune(ctx)
		switch {
		case errors.Is(err, context.Canceled):
			return
		case err != nil:
			// Whatever was deleted stays deleted; the next pass goes on.
			p.log().Warn("retention pass failed", "err", err, "events", r.Events, "deliveries", r.Deliveries)
		case r.total() > 0:
			p.log().Info("retention pass", "events", r.Events, "deliveries", r.Deliveries, "attempts", r.Attempts,
				"idempotency_keys", r.IdempotencyKeys, "took", time.Since(start).Round(time.Millisecond))
		}
		stopTimer := p.clock().AfterFunc(p.interval(), func() {
			select {
			case p.wake <- struct{}{}:
			default:
			}
		})
		select {
		case <-p.stop:
			stopTimer()
			return
		case <-p.wake:
		}
	}
}

// Prune runs one pass: everything due at the clock's now, batch by batch.
// It returns what it deleted even when it fails part way.
func (p *Pruner) Prune(ctx context.Context) (Result, error) {
	now, limit := p.clock().Now(), p.batch()
	var r Result
	if p.Deliveries > 0 {
		// Deliveries first: the events they held on to may go in this pass.
		err := p.batches(ctx, limit, &r, func(ctx context.Context, tx store.Tx) (Result, int, error) {
			d, err := tx.DeliveryPrune(ctx, &store.PruneParams{Before: now.Add(-p.Deliveries), Limit: limit})
			if err != nil {
				return Result{}, 0, err
			}
			return Result{Deliveries: d.Deliveries, Attempts: d.Attempts}, d.Deliveries, nil
		})
		if err != nil {
			return r, fmt.Errorf("prune deliveries: %w", err)
		}
	}
	if p.Events > 0 {
		err := p.batches(ctx, limit, &r, func(ctx context.Context, tx store.Tx) (Result, int, error) {
			n, err := tx.EventPrune(ctx, &store.PruneParams{Before: now.Add(-p.Events), Limit: limit})
			return Result{Events: n}, n, err
		})
		if err != nil {
			return r, fmt.Errorf("prune events: %w", err)
		}
	}
	// A key older than the window is never replayed (ingest treats it as
	// stale), so it is only dead weight.
	err := p.batches(ctx, limit, &r, func(ctx context.Context, tx store.Tx) (Result, int, error) {
		n, err := tx.IdempotencyPrune(ctx, &store.PruneParams{Before: now.Add(-ingest.IdempotencyWindow), Limit: limit})
		return Result{IdempotencyKeys: n}, n, err
	})
	if err != nil {
		return r, fmt.Errorf("prune idempotency keys: %w", err)
	}
	return r, nil
}

// batches runs fn, each time in its own write, until a batch deletes fewer
// than limit rows, adding what each committed batch deleted to total. fn
// returns that and the count of rows its limit applies to.
func (p *Pruner) batches(ctx context.Context, limit int, total *Result, fn func(ctx context.Context, tx store.Tx) (Result, int, error)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		var got Result
		var n int
		// The store may run fn again (a retried transaction), so fn's
		// counts are kept only once the write has committed.
		if err := p.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
			var err error
			got, n, err = fn(ctx, tx)
			return err
		}); err != nil {
			return err
		}
		total.Events += got.Events
		total.Deliveries += got.Deliveries
		total.Attempts += got.Attempts
		total.IdempotencyKeys += got.IdempotencyKeys
		if n < limit {
			return nil
		}
	}
}

// ParseAge reads a retention age: "0" (keep forever), a number of days
// ("180d"), weeks ("4w"), or a Go duration ("36h", "90m"). Anything but 0
// must be at least MinAge.
func ParseAge(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	var d time.Duration
	if n, days, ok := cutUnit(s); ok {
		v, err := strconv.ParseUint(n, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("invalid age %q: want a whole number of days or weeks such as 180d or 4w, a duration such as 36h, or 0 to keep forever", s)
		}
		if v > maxAgeDays/days {
			return 0, fmt.Errorf("invalid age %q: at most %d days", s, maxAgeDays)
		}
		d = time.Duration(v*days) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("invalid age %q: want days (180d), weeks (4w), a duration (36h), or 0 to keep forever", s)
		}
	}
	if d < MinAge {
		return 0, fmt.Errorf("invalid age %q: at least 1h, or 0 to keep forever", s)
	}
	return d, nil
}

// maxAgeDays (100 years) keeps an age far from overflowing a Duration.
const maxAgeDays = 36500

// cutUnit splits "180d" into "180" and 1 day, "4w" into "4" and 7 days.
func cutUnit(s string) (number string, days uint64, ok bool) {
	if n, found := strings.CutSuffix(s, "d"); found {
		return n, 1, true
	}
	if n, found := strings.CutSuffix(s, "w"); found {
		return n, 7, true
	}
	return "", 0, false
}

func describe(d time.Duration) string {
	if d == 0 {
		return "kept forever"
	}
	return FormatAge(d)
}

// FormatAge writes an age the way ParseAge reads it, in days when whole.
func FormatAge(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return "0"
	case d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	return d.String()
}
