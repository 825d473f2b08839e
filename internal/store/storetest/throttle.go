package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/store"
)

// testSignInThrottle: the sign-in throttle's count is taken in one
// conditional statement, so a burst of concurrent attempts gets exactly
// Limit slots, and a success in the middle of a burst frees no more.
func testSignInThrottle(t *testing.T, open OpenFunc) {
	s := open(t)
	const limit, window = 5, 15 * time.Minute
	take := func(key string, now time.Time) time.Time {
		t.Helper()
		return writeGet(t, s, func(ctx context.Context, tx store.Tx) (time.Time, error) {
			return tx.ThrottleTake(ctx, &store.ThrottleTakeParams{Key: []byte(key), Now: now, Window: window, Limit: limit})
		})
	}
	settle := func(key string, failed, forget bool) {
		t.Helper()
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.ThrottleSettle(ctx, &store.ThrottleSettleParams{Key: []byte(key), Failed: failed, Forget: forget})
		})
	}

	// TestSignInThrottle24ConcurrentAttempts (store level): 24 takes at
	// once, 5 slots.
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken := 0
	for range 24 {
		wg.Go(func() {
			until, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (time.Time, error) {
				return tx.ThrottleTake(ctx, &store.ThrottleTakeParams{Key: []byte("burst"), Now: at(0), Window: window, Limit: limit})
			})
			if err != nil {
				t.Errorf("ThrottleTake: %v", err)
				return
			}
			if until.IsZero() {
				mu.Lock()
				taken++
				mu.Unlock()
			} else if !until.Equal(at(15)) {
				t.Errorf("refused take says retry at %v, want the window's end %v", until, at(15))
			}
		})
	}
	wg.Wait()
	same(t, "slots taken by 24 concurrent attempts", taken, limit)

	// A success while other checks are in flight gives back its own slot
	// only: the failures that follow still count.
	settle("burst", false, true)
	for range limit - 1 {
		settle("burst", true, false)
	}
	same(t, "take after the success's slot came back", take("burst", at(1)).IsZero(), true)
	same(t, "take once 5 failures are counted", take("burst", at(2)), at(15))
	settle("burst", true, false)

	// The window ends 15 minutes after its first attempt; then all is new.
	same(t, "take when the window ended", take("burst", at(15)).IsZero(), true)
	settle("burst", true, false)

	// A success with nothing else in flight clears the failures (the
	// account's owner signing in after typos).
	for range limit - 1 {
		same(t, "take for a typo", take("typo", at(0)).IsZero(), true)
		settle("typo", true, false)
	}
	same(t, "take for the right password", take("typo", at(1)).IsZero(), true)
	settle("typo", false, true)
	for range limit {
		same(t, "take after a success cleared the failures", take("typo", at(2)).IsZero(), true)
		settle("typo", true, false)
	}
	same(t, "take after 5 new failures", take("typo", at(3)), at(15))

	// A success without Forget (a client address) keeps the failures.
	for range limit - 1 {
		take("ip", at(0))
		settle("ip", true, false)
	}
	take("ip", at(0))
	settle("ip", false, false)
	same(t, "address take after 4 failures and a success", take("ip", at(1)).IsZero(), true)
	settle("ip", true, false)
	same(t, "address take after 5 failures", take("ip", at(1)), at(15))

	n := writeGet(t, s, func(ctx context.Context, tx store.Tx) (int64, error) { return tx.ThrottleDeleteBefore(ctx, at(10)) })
	same(t, "keys whose window started before the sweep", n, int64(2)) // typo, ip; burst restarted at 15
	same(t, "a swept key starts afresh", take("ip", at(11)).IsZero(), true)
}
