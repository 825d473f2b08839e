package web

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Sign-in throttling: an account (org + email) gets limitPerAccount
// password checks, and a client address limitPerIP, per window; a window
// starts with the first attempt. The counts live in the database, so
// replicas share them, and an attempt takes its slot before its password
// is checked (store.SignInThrottle), so a burst of concurrent attempts is
// checked no more often than a sequence would be.
const (
	limitWindow     = 15 * time.Minute
	limitPerAccount = 5
	limitPerIP      = 20
)

type limiter struct {
	store store.Store
	clock shiplog.Clock
}

func newLimiter(s store.Store, c shiplog.Clock) *limiter { return &limiter{store: s, clock: c} }

// attempt is one sign-in's claim on the throttle.
type attempt struct{ ip, account []byte }

// throttleKeys hashes the keys, so the table holds no addresses or emails
// and any byte a client sends fits it.
func throttleKeys(ip, org, email string) attempt {
	acct := sha256.Sum256([]byte("account\x00" + strings.ToLower(strings.TrimSpace(org)) + "\x00" + strings.ToLower(strings.TrimSpace(email))))
	addr := sha256.Sum256([]byte("ip\x00" + ip))
	return attempt{ip: addr[:], account: acct[:]}
}

type throttled struct{ until time.Time }

func (throttled) Error() string { return "throttled" }

// take claims a check for a (account and address together: when the
// address is over its limit the account's slot is given back by the
// savepoint's rollback). It returns how long to wait, 0 to go ahead.
func (l *limiter) take(ctx context.Context, a attempt) (time.Duration, error) {
	now := l.clock.Now()
	err := l.store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		for _, k := range []struct {
			key   []byte
			limit int
		}{{a.account, limitPerAccount}, {a.ip, limitPerIP}} {
			until, err := tx.ThrottleTake(ctx, &store.ThrottleTakeParams{Key: k.key, Now: now, Window: limitWindow, Limit: k.limit})
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

// settle ends a check take allowed. A wrong password counts against the
// account and the address; a right one clears the account's failures but
// not the address's, so one good password does not reset guessing at
// other accounts. It runs even when the client has gone.
func (l *limiter) settle(ctx context.Context, a attempt, failed bool) error {
	ctx = context.WithoutCancel(ctx)
	now := l.clock.Now()
	return l.store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.ThrottleSettle(ctx, &store.ThrottleSettleParams{Key: a.account, Failed: failed, Forget: !failed}); err != nil {
			return err
		}
		if err := tx.ThrottleSettle(ctx, &store.ThrottleSettleParams{Key: a.ip, Failed: failed}); err != nil {
			return err
		}
		if failed {
			// Failures are what fill the table; sweep where they happen.
			_, err := tx.ThrottleDeleteBefore(ctx, now.Add(-limitWindow))
			return err
		}
		return nil
	})
}

// clientIP is the peer address. Forwarded headers are not trusted: any
// client could set them to dodge the limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func retryAfter(d time.Duration) string {
	return strconv.Itoa(int((d + time.Second - 1) / time.Second))
}

func humanWait(d time.Duration) string {
	if m := int((d + time.Minute - 1) / time.Minute); m > 1 {
		return fmt.Sprintf("%d minutes", m)
	}
	return "a minute"
}
