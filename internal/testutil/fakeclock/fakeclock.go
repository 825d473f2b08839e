// Package fakeclock is a manual clock for tests: time moves only when the test
// calls Advance, and timers fire, in deadline order, as Advance passes them.
// It implements shiplog.Clock (Now) and delivery.Clock (Now, AfterFunc).
//
// Callbacks run synchronously, on the goroutine that calls Advance, with no
// lock of the clock held, so a callback may call the clock again (schedule,
// stop, read Now). Callbacks must not block on work that itself waits for the
// clock to move. The exception is AfterFunc with a non-positive duration: like
// time.AfterFunc it runs f at once, in its own goroutine (the caller may hold
// locks that f takes).
//
// A Clock is safe for concurrent use. Tests synchronise with code that
// schedules timers through BlockUntil (or Changed) instead of sleeping.
package fakeclock

import (
	"context"
	"sync"
	"time"
)

// Epoch is a convenient start time: whole seconds (so HTTP dates are exact)
// and whole microseconds (so it survives a database round trip unchanged).
var Epoch = time.Date(2026, 5, 24, 14, 0, 0, 0, time.UTC)

// Clock is a fake clock. Create one with New.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	seq     uint64
	timers  map[*timer]struct{}
	changed chan struct{} // closed, and replaced, whenever the pending set changes
}

type timer struct {
	when time.Time
	seq  uint64 // creation order, to fire timers due at the same time in order
	f    func()
}

// New returns a clock that reads start until Advance moves it.
func New(start time.Time) *Clock {
	return &Clock{now: start, timers: map[*timer]struct{}{}, changed: make(chan struct{})}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f to run when the clock has advanced d past now. stop
// cancels it and reports whether it did so before f was started.
func (c *Clock) AfterFunc(d time.Duration, f func()) (stop func() bool) {
	if d <= 0 {
		go f()
		return func() bool { return false }
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &timer{when: c.now.Add(d), seq: c.seq, f: f}
	c.timers[t] = struct{}{}
	c.notifyLocked()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.timers[t]; !ok {
			return false
		}
		delete(c.timers, t)
		c.notifyLocked()
		return true
	}
}

// Advance moves the clock forward by d, firing every timer that falls due on
// the way in deadline order (creation order for equal deadlines). While a
// callback runs, Now reads that timer's deadline; timers scheduled by a
// callback fire in the same Advance if they fall due within it. Advance
// returns once every due callback has returned.
func (c *Clock) Advance(d time.Duration) {
	if d < 0 {
		panic("fakeclock: Advance with a negative duration")
	}
	c.mu.Lock()
	target := c.now.Add(d)
	for {
		t := c.nextLocked()
		if t == nil || t.when.After(target) {
			break
		}
		delete(c.timers, t)
		if t.when.After(c.now) {
			c.now = t.when
		}
		c.notifyLocked()
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	if target.After(c.now) {
		c.now = target
	}
	c.mu.Unlock()
}

// Pending returns the number of timers scheduled and neither fired nor
// stopped.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// Next returns how long after now the earliest pending timer is due; ok is
// false when none is pending.
func (c *Clock) Next() (d time.Duration, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.nextLocked()
	if t == nil {
		return 0, false
	}
	return t.when.Sub(c.now), true
}

// BlockUntil blocks until at least n timers are pending.
func (c *Clock) BlockUntil(n int) {
	_ = c.BlockUntilContext(context.Background(), n)
}

// BlockUntilContext blocks until at least n timers are pending or ctx ends,
// returning ctx's error in that case.
func (c *Clock) BlockUntilContext(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		if len(c.timers) >= n {
			c.mu.Unlock()
			return nil
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Changed returns a channel that is closed the next time a timer is
// scheduled, stopped or fired. Take it before checking a condition, then wait
// on it, and no change is missed.
func (c *Clock) Changed() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

func (c *Clock) nextLocked() *timer {
	var next *timer
	for t := range c.timers {
		if next == nil || t.when.Before(next.when) || t.when.Equal(next.when) && t.seq < next.seq {
			next = t
		}
	}
	return next
}

func (c *Clock) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
