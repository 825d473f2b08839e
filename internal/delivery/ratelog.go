package delivery

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultLogInterval is how often a repeated condition (a database error
// on every poll, a channel paused again) is logged at most.
const DefaultLogInterval = time.Minute

// rateLog writes a repeated condition once per interval, with the count of
// lines it left out since, so a condition that repeats a thousand times a
// second costs one line a minute rather than gigabytes an hour.
type rateLog struct {
	log   *slog.Logger
	clock Clock
	every time.Duration

	mu    sync.Mutex
	slots map[string]*rateSlot
}

type rateSlot struct {
	last       time.Time
	suppressed int
}

// maxRateSlots bounds the keys remembered; keys name conditions (and at
// most a channel), so reaching it only makes some lines come early.
const maxRateSlots = 4096

// allow says whether the condition key may be logged now and how many
// times it was left out since it last was.
func (r *rateLog) allow(key string) (bool, int) {
	now := r.clock.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.slots == nil || len(r.slots) >= maxRateSlots {
		r.slots = map[string]*rateSlot{}
	}
	s := r.slots[key]
	if s == nil {
		r.slots[key] = &rateSlot{last: now}
		return true, 0
	}
	if now.Sub(s.last) < r.every {
		s.suppressed++
		return false, 0
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	return true, n
}

// Warn and Error log msg under key at most once per interval; a line
// after others were left out says how many ("repeated").
func (r *rateLog) Warn(key, msg string, args ...any)  { r.write(slog.LevelWarn, key, msg, args) }
func (r *rateLog) Error(key, msg string, args ...any) { r.write(slog.LevelError, key, msg, args) }

func (r *rateLog) write(level slog.Level, key, msg string, args []any) {
	ok, n := r.allow(key)
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "repeated", n)
	}
	r.log.Log(context.Background(), level, msg, args...)
}
