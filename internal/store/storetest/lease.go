package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// The delivery queue and its leases: every Tx method the delivery worker
// relies on, on every driver.

type queueWorld struct {
	s        store.Store
	org      *shiplog.Org
	chA, chB *shiplog.Channel
}

func newQueueWorld(t *testing.T, open OpenFunc) *queueWorld {
	t.Helper()
	w := &queueWorld{s: open(t)}
	w.org = createOrg(t, w.s, "acme")
	mk := func(name string) *shiplog.Channel {
		return &shiplog.Channel{ID: shiplog.NewID(), OrgID: w.org.ID, Kind: shiplog.ChannelWebhook, Name: name, Enabled: true,
			URL: "https://hooks.example.com/" + name, Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
	}
	w.chA, w.chB = mk("a"), mk("b")
	write(t, w.s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.ChannelCreate(ctx, w.chA); err != nil {
			return err
		}
		return tx.ChannelCreate(ctx, w.chB)
	})
	return w
}

// add stores a delivery of c due at next, leased until lease (nil: not leased).
func (w *queueWorld) add(t *testing.T, c *shiplog.Channel, next time.Time, lease *time.Time, state shiplog.DeliveryState) *shiplog.Delivery {
	t.Helper()
	d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: w.org.ID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: shiplog.NewID(),
		EventType: "deployment.completed", State: state, MaxAttempts: 3, NextAttempt: next, LeaseUntil: lease,
		CreatedAt: at(-60), UpdatedAt: at(-60)}
	write(t, w.s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryInsert(ctx, d) })
	return d
}

func (w *queueWorld) get(t *testing.T, id string) *shiplog.Delivery {
	t.Helper()
	d, err := w.s.DeliveryGet(t.Context(), w.org.ID, id)
	ok(t, "DeliveryGet", err)
	return d
}

func (w *queueWorld) claim(t *testing.T, p store.DeliveryClaimParams) []*shiplog.Delivery {
	t.Helper()
	return writeGet(t, w.s, func(ctx context.Context, tx store.Tx) ([]*shiplog.Delivery, error) {
		return tx.DeliveryClaim(ctx, &p)
	})
}

func deliveryIDs(ds []*shiplog.Delivery) []string {
	out := make([]string, 0, len(ds))
	for _, d := range ds {
		out = append(out, d.ID)
	}
	slices.Sort(out)
	return out
}

func sortedIDs(ds ...*shiplog.Delivery) []string { return deliveryIDs(ds) }

func testDeliveryLease(t *testing.T, open OpenFunc) {
	now := at(0)
	parallel(t, map[string]func(t *testing.T){
		"InsertGet": func(t *testing.T) {
			w := newQueueWorld(t, open)
			lease := at(5)
			d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: w.org.ID, ChannelID: w.chA.ID, ChannelKind: shiplog.ChannelWebhook,
				EventID: shiplog.NewID(), EventType: "deployment.failed", State: shiplog.DeliveryQueued, MaxAttempts: 4,
				NextAttempt: at(1), LeaseUntil: &lease, Test: true, Payload: []byte(`{"a":1}`), CreatedAt: at(-1), UpdatedAt: at(-1)}
			write(t, w.s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryInsert(ctx, d) })
			same(t, "DeliveryGet", w.get(t, d.ID), d)
			other := createOrg(t, w.s, "globex")
			_, err := w.s.DeliveryGet(t.Context(), other.ID, d.ID)
			wantErr(t, "DeliveryGet from another org", err, store.ErrNotFound)
			_, err = tryWrite(t, w.s, func(ctx context.Context, tx store.Tx) (any, error) { return nil, tx.DeliveryInsert(ctx, d) })
			wantErr(t, "DeliveryInsert of an existing id", err, store.ErrConflict)
		},
		"ClaimTakesOnlyDueAndFree": func(t *testing.T) {
			w := newQueueWorld(t, open)
			unleased := w.add(t, w.chA, at(-2), nil, shiplog.DeliveryQueued)
			expired := w.add(t, w.chA, at(-1), ptr(now), shiplog.DeliveryQueued) // a lease ending now has ended
			w.add(t, w.chA, at(-3), ptr(at(1)), shiplog.DeliveryQueued)          // held by a live process
			w.add(t, w.chA, at(1), nil, shiplog.DeliveryQueued)                  // not due
			w.add(t, w.chA, at(-5), nil, shiplog.DeliverySucceeded)
			w.add(t, w.chA, at(-5), nil, shiplog.DeliveryCancelled)
			got := w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 10})
			same(t, "claimed", deliveryIDs(got), sortedIDs(unleased, expired))
			for _, d := range got {
				if d.LeaseUntil == nil || !d.LeaseUntil.Equal(at(10)) {
					t.Errorf("claimed %s: lease %v, want %v", d.ID, d.LeaseUntil, at(10))
				}
				if got := w.get(t, d.ID).LeaseUntil; got == nil || !got.Equal(at(10)) {
					t.Errorf("stored lease of %s: %v, want %v", d.ID, got, at(10))
				}
			}
			if again := w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 10}); len(again) != 0 {
				t.Errorf("second claim took %d leased deliveries", len(again))
			}
			if none := w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10)}); len(none) != 0 {
				t.Errorf("claim with limit 0 took %d", len(none))
			}
		},
		"ClaimOldestFirstWithinLimit": func(t *testing.T) {
			w := newQueueWorld(t, open)
			var all []*shiplog.Delivery
			for _, m := range []int{-1, -5, -3, -4, -2} {
				all = append(all, w.add(t, w.chA, at(m), nil, shiplog.DeliveryQueued))
			}
			got := w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 3})
			same(t, "claimed", deliveryIDs(got), sortedIDs(all[1], all[3], all[2])) // -5, -4, -3
		},
		"ClaimPerChannelShare": func(t *testing.T) {
			w := newQueueWorld(t, open)
			var a []*shiplog.Delivery
			for i := range 10 {
				a = append(a, w.add(t, w.chA, at(-20+i), nil, shiplog.DeliveryQueued))
			}
			b1, b2 := w.add(t, w.chB, at(-1), nil, shiplog.DeliveryQueued), w.add(t, w.chB, at(0), nil, shiplog.DeliveryQueued)
			got := w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 100, PerChannel: 3})
			same(t, "claimed", deliveryIDs(got), sortedIDs(a[0], a[1], a[2], b1, b2))
		},
		"ClaimLimitWithinShares": func(t *testing.T) {
			// Within the per-channel share, the limit still takes the oldest.
			w2 := newQueueWorld(t, open)
			x := w2.add(t, w2.chA, at(-9), nil, shiplog.DeliveryQueued)
			w2.add(t, w2.chA, at(-8), nil, shiplog.DeliveryQueued)
			y := w2.add(t, w2.chB, at(-7), nil, shiplog.DeliveryQueued)
			got := w2.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 2, PerChannel: 1})
			same(t, "claimed with limit 2, 1 per channel", deliveryIDs(got), sortedIDs(x, y))
		},
		"ClaimOneChannelOrExcluded": func(t *testing.T) {
			w := newQueueWorld(t, open)
			a := w.add(t, w.chA, at(-2), nil, shiplog.DeliveryQueued)
			b := w.add(t, w.chB, at(-1), nil, shiplog.DeliveryQueued)
			got := w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 10, ChannelID: w.chB.ID})
			same(t, "claimed of channel B", deliveryIDs(got), sortedIDs(b))
			write(t, w.s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryRelease(ctx, []string{b.ID}) })
			got = w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 10,
				ExcludeChannels: []string{w.chA.ID, shiplog.NewID()}})
			same(t, "claimed without channel A", deliveryIDs(got), sortedIDs(b))
			got = w.claim(t, store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 10})
			same(t, "claimed after", deliveryIDs(got), sortedIDs(a))
		},
		"ClaimRacesTakeEachOnce": func(t *testing.T) {
			w := newQueueWorld(t, open)
			var all []*shiplog.Delivery
			for i := range 60 {
				all = append(all, w.add(t, []*shiplog.Channel{w.chA, w.chB}[i%2], at(-i), nil, shiplog.DeliveryQueued))
			}
			var mu sync.Mutex
			var got []*shiplog.Delivery
			var wg sync.WaitGroup
			for range 6 {
				wg.Go(func() {
					for {
						var ds []*shiplog.Delivery
						err := w.s.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
							var err error
							ds, err = tx.DeliveryClaim(ctx, &store.DeliveryClaimParams{Now: now, LeaseUntil: at(10), Limit: 7})
							return err
						})
						if err != nil {
							t.Errorf("DeliveryClaim: %v", err)
							return
						}
						if len(ds) == 0 {
							return
						}
						mu.Lock()
						got = append(got, ds...)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			same(t, "claimed by 6 racing claimers", deliveryIDs(got), deliveryIDs(all))
		},
		"ExtendLease": func(t *testing.T) {
			w := newQueueWorld(t, open)
			a := w.add(t, w.chA, at(-1), ptr(at(1)), shiplog.DeliveryQueued)
			b := w.add(t, w.chB, at(-1), ptr(at(1)), shiplog.DeliveryQueued)
			done := w.add(t, w.chA, at(-1), nil, shiplog.DeliverySucceeded)
			n := writeGet(t, w.s, func(ctx context.Context, tx store.Tx) (int, error) {
				return tx.DeliveryExtendLease(ctx, []string{a.ID, b.ID, done.ID, shiplog.NewID()}, at(30))
			})
			if n != 2 {
				t.Errorf("DeliveryExtendLease extended %d, want 2", n)
			}
			for _, d := range []*shiplog.Delivery{a, b} {
				if got := w.get(t, d.ID).LeaseUntil; got == nil || !got.Equal(at(30)) {
					t.Errorf("lease of %s: %v, want %v", d.ID, got, at(30))
				}
			}
			if got := w.get(t, done.ID).LeaseUntil; got != nil {
				t.Errorf("a finished delivery was leased: %v", got)
			}
			// An extended lease keeps pollers away past the old one.
			if got := w.claim(t, store.DeliveryClaimParams{Now: at(2), LeaseUntil: at(40), Limit: 10}); len(got) != 0 {
				t.Errorf("claim after the old lease took %d renewed deliveries", len(got))
			}
			n = writeGet(t, w.s, func(ctx context.Context, tx store.Tx) (int, error) { return tx.DeliveryExtendLease(ctx, nil, at(30)) })
			if n != 0 {
				t.Errorf("extending no ids: %d", n)
			}
		},
		"ReleaseAndReleaseAll": func(t *testing.T) {
			w := newQueueWorld(t, open)
			a := w.add(t, w.chA, at(-1), ptr(at(30)), shiplog.DeliveryQueued)
			b := w.add(t, w.chB, at(-1), ptr(at(30)), shiplog.DeliveryQueued)
			c := w.add(t, w.chB, at(5), ptr(at(30)), shiplog.DeliveryQueued)
			w.add(t, w.chB, at(-1), nil, shiplog.DeliveryQueued)
			done := w.add(t, w.chA, at(-1), ptr(at(30)), shiplog.DeliveryFailed)
			write(t, w.s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryRelease(ctx, []string{a.ID, done.ID}) })
			if got := w.get(t, a.ID).LeaseUntil; got != nil {
				t.Errorf("released delivery still leased until %v", got)
			}
			if got := w.get(t, done.ID).LeaseUntil; got == nil {
				t.Error("DeliveryRelease touched a finished delivery")
			}
			n := writeGet(t, w.s, func(ctx context.Context, tx store.Tx) (int, error) { return tx.DeliveryReleaseAll(ctx) })
			if n != 2 {
				t.Errorf("DeliveryReleaseAll released %d, want the 2 still leased and queued", n)
			}
			for _, d := range []*shiplog.Delivery{b, c} {
				if got := w.get(t, d.ID).LeaseUntil; got != nil {
					t.Errorf("%s still leased until %v", d.ID, got)
				}
			}
			if got := w.get(t, done.ID).LeaseUntil; got == nil {
				t.Error("DeliveryReleaseAll touched a finished delivery")
			}
		},
		"RecordAttempts": func(t *testing.T) {
			w := newQueueWorld(t, open)
			d := w.add(t, w.chA, at(-1), ptr(at(1)), shiplog.DeliveryQueued)
			d.Attempts, d.NextAttempt, d.LeaseUntil, d.LastError, d.UpdatedAt = 1, at(1), ptr(at(31)), "HTTP 500", at(0)
			a1 := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: 1, StartedAt: at(0), DurationMS: 12,
				StatusCode: 500, ResponseHeaders: map[string]string{"Retry-After": "5"}, ResponseBody: "boom", Error: "HTTP 500",
				Outcome: "retry"}
			write(t, w.s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryRecord(ctx, d, a1) })
			same(t, "after a retry", w.get(t, d.ID), d)
			d.Attempts, d.State, d.LastError, d.LeaseUntil, d.CompletedAt, d.UpdatedAt = 2, shiplog.DeliverySucceeded, "", nil, ptr(at(2)), at(2)
			a2 := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: 2, StartedAt: at(2), StatusCode: 200,
				ResponseHeaders: map[string]string{}, Outcome: "succeeded"}
			write(t, w.s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryRecord(ctx, d, a2) })
			same(t, "after success", w.get(t, d.ID), d)
			as, err := w.s.AttemptList(t.Context(), w.org.ID, d.ID)
			ok(t, "AttemptList", err)
			same(t, "attempts", as, []*shiplog.Attempt{a1, a2})
			// A delivery no longer queued (finished, cancelled) records nothing.
			a3 := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: 3, StartedAt: at(3),
				ResponseHeaders: map[string]string{}, Outcome: "failed"}
			_, err = tryWrite(t, w.s, func(ctx context.Context, tx store.Tx) (any, error) { return nil, tx.DeliveryRecord(ctx, d, a3) })
			wantErr(t, "DeliveryRecord on a finished delivery", err, store.ErrNotFound)
			as, _ = w.s.AttemptList(t.Context(), w.org.ID, d.ID)
			if len(as) != 2 {
				t.Errorf("%d attempts after a refused record, want 2", len(as))
			}
		},
		"Defer": func(t *testing.T) {
			w := newQueueWorld(t, open)
			d := w.add(t, w.chA, at(-1), ptr(at(1)), shiplog.DeliveryQueued)
			done := w.add(t, w.chA, at(-1), nil, shiplog.DeliverySucceeded)
			write(t, w.s, func(ctx context.Context, tx store.Tx) error {
				if err := tx.DeliveryDefer(ctx, d.ID, at(3), at(33)); err != nil {
					return err
				}
				return tx.DeliveryDefer(ctx, done.ID, at(3), at(33))
			})
			got := w.get(t, d.ID)
			if !got.NextAttempt.Equal(at(3)) || got.LeaseUntil == nil || !got.LeaseUntil.Equal(at(33)) || got.Attempts != 0 {
				t.Errorf("deferred: %+v", got)
			}
			if got := w.get(t, done.ID); !got.NextAttempt.Equal(at(-1)) || got.LeaseUntil != nil {
				t.Errorf("DeliveryDefer moved a finished delivery: %+v", got)
			}
		},
		"Requeue": func(t *testing.T) {
			w := newQueueWorld(t, open)
			d := w.add(t, w.chA, at(-1), nil, shiplog.DeliveryFailed)
			got := writeGet(t, w.s, func(ctx context.Context, tx store.Tx) (*shiplog.Delivery, error) {
				return tx.DeliveryRequeue(ctx, w.org.ID, d.ID, at(0), at(30), 3)
			})
			if got.State != shiplog.DeliveryQueued || got.MaxAttempts != got.Attempts+3 || !got.NextAttempt.Equal(at(0)) ||
				got.LeaseUntil == nil || !got.LeaseUntil.Equal(at(30)) || got.CompletedAt != nil {
				t.Errorf("requeued: %+v", got)
			}
			_, err := tryWrite(t, w.s, func(ctx context.Context, tx store.Tx) (*shiplog.Delivery, error) {
				return tx.DeliveryRequeue(ctx, w.org.ID, d.ID, at(0), at(30), 3)
			})
			wantErr(t, "DeliveryRequeue of a queued delivery", err, store.ErrConflict)
			_, err = tryWrite(t, w.s, func(ctx context.Context, tx store.Tx) (*shiplog.Delivery, error) {
				return tx.DeliveryRequeue(ctx, w.org.ID, shiplog.NewID(), at(0), at(30), 3)
			})
			wantErr(t, "DeliveryRequeue of an unknown delivery", err, store.ErrNotFound)
			other := createOrg(t, w.s, "globex")
			_, err = tryWrite(t, w.s, func(ctx context.Context, tx store.Tx) (*shiplog.Delivery, error) {
				return tx.DeliveryRequeue(ctx, other.ID, d.ID, at(0), at(30), 3)
			})
			wantErr(t, "DeliveryRequeue from another org", err, store.ErrNotFound)
		},
		"CancelChannel": func(t *testing.T) {
			w := newQueueWorld(t, open)
			a1 := w.add(t, w.chA, at(-1), ptr(at(1)), shiplog.DeliveryQueued)
			a2 := w.add(t, w.chA, at(5), nil, shiplog.DeliveryQueued)
			aDone := w.add(t, w.chA, at(-1), nil, shiplog.DeliverySucceeded)
			b := w.add(t, w.chB, at(-1), nil, shiplog.DeliveryQueued)
			write(t, w.s, func(ctx context.Context, tx store.Tx) error {
				return tx.DeliveryCancelChannel(ctx, w.chA.ID, "channel disabled: gone", at(0))
			})
			for _, d := range []*shiplog.Delivery{a1, a2} {
				got := w.get(t, d.ID)
				if got.State != shiplog.DeliveryCancelled || got.LastError != "channel disabled: gone" || got.LeaseUntil != nil ||
					got.CompletedAt == nil || !got.CompletedAt.Equal(at(0)) {
					t.Errorf("cancelled: %+v", got)
				}
			}
			if got := w.get(t, aDone.ID).State; got != shiplog.DeliverySucceeded {
				t.Errorf("a finished delivery became %s", got)
			}
			if got := w.get(t, b.ID).State; got != shiplog.DeliveryQueued {
				t.Errorf("another channel's delivery became %s", got)
			}
			if got := w.claim(t, store.DeliveryClaimParams{Now: at(10), LeaseUntil: at(40), Limit: 10}); len(got) != 1 || got[0].ID != b.ID {
				t.Errorf("claim after cancelling took %v, want only %s", deliveryIDs(got), b.ID)
			}
		},
		"ListFailedSinceStats": func(t *testing.T) {
			w := newQueueWorld(t, open)
			var all []*shiplog.Delivery
			for i := range 5 {
				all = append(all, w.add(t, w.chA, at(-i), nil, shiplog.DeliveryQueued))
			}
			failed := w.add(t, w.chA, at(-1), nil, shiplog.DeliveryFailed)
			all = append(all, failed)
			w.add(t, w.chB, at(-1), nil, shiplog.DeliveryFailed)
			var seen []*shiplog.Delivery
			p := store.Page{Limit: 4}
			for {
				page, err := w.s.DeliveryList(t.Context(), w.org.ID, w.chA.ID, nil, p)
				ok(t, "DeliveryList", err)
				seen = append(seen, page...)
				if len(page) < p.Limit {
					break
				}
				p.Cursor = page[len(page)-1].ID
			}
			same(t, "listed over pages", deliveryIDs(seen), deliveryIDs(all))
			only, err := w.s.DeliveryList(t.Context(), w.org.ID, w.chA.ID, []shiplog.DeliveryState{shiplog.DeliveryFailed}, store.Page{Limit: 10})
			ok(t, "DeliveryList failed", err)
			same(t, "listed by state", deliveryIDs(only), []string{failed.ID})
			both, err := w.s.DeliveryList(t.Context(), w.org.ID, w.chA.ID,
				[]shiplog.DeliveryState{shiplog.DeliveryFailed, shiplog.DeliverySucceeded}, store.Page{Limit: 10})
			ok(t, "DeliveryList finished", err)
			same(t, "listed by states", deliveryIDs(both), []string{failed.ID})
			fs, err := w.s.DeliveryFailedSince(t.Context(), w.org.ID, w.chA.ID, at(-61))
			ok(t, "DeliveryFailedSince", err)
			same(t, "failed since", fs, []string{failed.ID})
			fs, err = w.s.DeliveryFailedSince(t.Context(), w.org.ID, w.chA.ID, at(-59))
			ok(t, "DeliveryFailedSince", err)
			if len(fs) != 0 {
				t.Errorf("failed since after their creation: %v", fs)
			}
			st, err := w.s.DeliveryStats(t.Context())
			ok(t, "DeliveryStats", err)
			same(t, "DeliveryStats", st, map[shiplog.DeliveryState]int{shiplog.DeliveryQueued: 5, shiplog.DeliveryFailed: 2})
		},
	})
}
