package web

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/shiplog/shiplog"
)

// Sign-in throttling: after too many failures within the window, an
// account (org + email) or a client address must wait until the oldest
// failure leaves the window. The counts live in memory: each replica
// throttles on its own, which still bounds guessing to a few dozen
// passwords per window per replica.
const (
	limitWindow     = 15 * time.Minute
	limitPerAccount = 5
	limitPerIP      = 20
)

type limiter struct {
	clock shiplog.Clock
	mu    sync.Mutex
	fails map[string][]time.Time // key → failure times, oldest first
	swept time.Time
}

func newLimiter(c shiplog.Clock) *limiter {
	return &limiter{clock: c, fails: map[string][]time.Time{}}
}

// blocked returns how long ip or account must still wait (0: go ahead).
func (l *limiter) blocked(ip, account string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	return max(l.wait("ip:"+ip, limitPerIP, now), l.wait("acct:"+account, limitPerAccount, now))
}

func (l *limiter) wait(key string, limit int, now time.Time) time.Duration {
	ts := l.recent(key, now)
	if len(ts) < limit {
		return 0
	}
	return ts[len(ts)-limit].Add(limitWindow).Sub(now)
}

// recent drops failures older than the window and returns the rest.
func (l *limiter) recent(key string, now time.Time) []time.Time {
	ts := l.fails[key]
	i := 0
	for i < len(ts) && !ts[i].After(now.Add(-limitWindow)) {
		i++
	}
	ts = ts[i:]
	if len(ts) == 0 {
		delete(l.fails, key)
	} else {
		l.fails[key] = ts
	}
	return ts
}

func (l *limiter) fail(ip, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	for _, k := range []string{"ip:" + ip, "acct:" + account} {
		l.fails[k] = append(l.recent(k, now), now)
	}
	if now.Sub(l.swept) > limitWindow {
		l.swept = now
		for k := range l.fails {
			l.recent(k, now)
		}
	}
}

// succeed forgets an account's failures; the address keeps its count, so
// one good password does not reset guessing at other accounts.
func (l *limiter) succeed(account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.fails, "acct:"+account)
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
