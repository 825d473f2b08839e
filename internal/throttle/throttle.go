// Package throttle limits password checks (sign-in, password change) per
// key and window. The counts live in the database, so replicas share
// them, and a check takes its slot before the password is compared
// (store.ThrottleTake), so a burst of concurrent attempts is checked no
// more often than a sequence would be.
package throttle

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Window is how long failures count; a window starts with the first one.
const Window = 15 * time.Minute

// Key is one thing attempts are counted against.
type Key struct {
	hash  []byte
	limit int
	// sticky failures survive a success: a right password clears an
	// account's failures, not an address's, so one good password does
	// not reset guessing at other accounts.
	sticky bool
}

// NewKey hashes the parts into a key, so the table holds no addresses or
// emails and any byte a client sends fits it. Parts are compared
// case-insensitively and trimmed.
func NewKey(limit int, parts ...string) Key {
	for i, p := range parts {
		parts[i] = strings.ToLower(strings.TrimSpace(p))
	}
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return Key{hash: h[:], limit: limit}
}

// Sticky returns k with failures that a success does not clear.
func (k Key) Sticky() Key { k.sticky = true; return k }

// Limiter takes and settles attempts.
type Limiter struct {
	Store store.Store
	Clock shiplog.Clock
}

type throttled struct{ until time.Time }

func (throttled) Error() string { return "throttled" }

// Take claims a check against every key at once (when one is over its
// limit the others' slots are given back by the rollback). It returns how
// long to wait, 0 to go ahead.
func (l *Limiter) Take(ctx context.Context, keys ...Key) (time.Duration, error) {
	now := l.Clock.Now()
	err := l.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, k := range keys {
			until, err := tx.ThrottleTake(ctx, &store.ThrottleTakeParams{Key: k.hash, Now: now, Window: Window, Limit: k.limit})
			if err != nil {
				return err
			}
			if !until.IsZero() {
				return throttled{until}
			}
		}
		return nil
	})
	var th throttled
	if errors.As(err, &th) {
		return max(th.until.Sub(now), time.Second), nil
	}
	return 0, err
}

// Settle ends a check Take allowed: failed counts it against the keys, a
// success clears the keys' failures unless they are sticky. It runs even
// when the client has gone.
func (l *Limiter) Settle(ctx context.Context, failed bool, keys ...Key) error {
	ctx = context.WithoutCancel(ctx)
	now := l.Clock.Now()
	return l.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, k := range keys {
			if err := tx.ThrottleSettle(ctx, &store.ThrottleSettleParams{Key: k.hash, Failed: failed, Forget: !failed && !k.sticky}); err != nil {
				return err
			}
		}
		if failed {
			// Failures are what fill the table; sweep where they happen.
			_, err := tx.ThrottleDeleteBefore(ctx, now.Add(-Window))
			return err
		}
		return nil
	})
}

// Words says a wait to people: "a minute", "12 minutes".
func Words(d time.Duration) string {
	if m := int((d + time.Minute - 1) / time.Minute); m > 1 {
		return fmt.Sprintf("%d minutes", m)
	}
	return "a minute"
}

// RetryAfter is a wait as a Retry-After header value, in whole seconds.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}
