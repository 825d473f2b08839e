package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testDeploymentRequest(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"RoundTrip":       func(t *testing.T) { testDRRoundTrip(t, open(t)) },
		"Transition":      func(t *testing.T) { testDRTransition(t, open(t)) },
		"ConcurrentSlots": func(t *testing.T) { testDRConcurrentSlots(t, open(t)) },
	})
}

// newDR stores a DR of org in status with n required qa slots, created by
// a new user, and returns it as read back.
func newDR(t *testing.T, s store.Store, org *shiplog.Org, status shiplog.DRStatus, n int) (*shiplog.DeploymentRequest, *shiplog.User) {
	t.Helper()
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: shiplog.NewID() + "@example.com", Name: "Ann", Roles: []string{"qa"}, CreatedAt: t0}
	d := &shiplog.DeploymentRequest{ID: shiplog.NewID(), OrgID: org.ID, Name: "release", Description: "notes", Links: []string{"https://x"},
		Items: []shiplog.DRItem{{ProductName: "api", Version: "1.0"}}, EnvironmentNames: []string{"prod"}, Status: status,
		Slots: []*shiplog.Slot{}, CreatedBy: &u.ID, CreatedAt: t0, UpdatedAt: t0}
	for range n {
		d.Slots = append(d.Slots, &shiplog.Slot{ID: shiplog.NewID(), ApprovalType: "qa", Required: true, Status: shiplog.SlotPending})
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		return tx.DRCreate(ctx, d)
	})
	got, err := s.DRGet(t.Context(), org.ID, d.ID)
	ok(t, "DRGet", err)
	return got, u
}

func testDRRoundTrip(t *testing.T, s store.Store) {
	org, other := createOrg(t, s, "acme"), createOrg(t, s, "other")
	d, _ := newDR(t, s, org, shiplog.DRInProgress, 2)
	if d.Revision != 0 || d.Status != shiplog.DRInProgress || len(d.Slots) != 2 || d.CreatedByName != "Ann" || d.Links[0] != "https://x" {
		t.Errorf("DR read back: %+v", d)
	}
	got := writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.DeploymentRequest, error) {
		return tx.DRGetForUpdate(ctx, org.ID, d.ID)
	})
	same(t, "DRGetForUpdate", got, d)
	for what, fn := range map[string]func(ctx context.Context, tx store.Tx) error{
		"DRGetForUpdate of another org's DR": func(ctx context.Context, tx store.Tx) error {
			_, err := tx.DRGetForUpdate(ctx, other.ID, d.ID)
			return err
		},
		"DRGetForUpdate of no DR": func(ctx context.Context, tx store.Tx) error {
			_, err := tx.DRGetForUpdate(ctx, org.ID, shiplog.NewID())
			return err
		},
		"DRTransition of another org's DR": func(ctx context.Context, tx store.Tx) error {
			return tx.DRTransition(ctx, &store.DRTransitionParams{OrgID: other.ID, ID: d.ID, From: d.Status, To: shiplog.DRCancelled, Now: at(1)})
		},
	} {
		wantErr(t, what, s.Write(t.Context(), fn), store.ErrNotFound)
	}
}

func testDRTransition(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	d, u := newDR(t, s, org, shiplog.DRInProgress, 2)
	transition := func(p store.DRTransitionParams) error {
		p.OrgID, p.ID = org.ID, d.ID
		return s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.DRTransition(ctx, &p) })
	}
	decide := func(slot int, st shiplog.SlotStatus) *store.SlotDecision {
		return &store.SlotDecision{SlotID: d.Slots[slot].ID, Status: st, UserID: u.ID, Role: "qa", Comments: ptr("fine")}
	}
	ok(t, "DRTransition deciding slot 0", transition(store.DRTransitionParams{From: shiplog.DRInProgress, Revision: 0,
		To: shiplog.DRInProgress, Now: at(1), Decision: decide(0, shiplog.SlotApproved)}))
	want := *d
	want.Revision, want.UpdatedAt = 1, at(1)
	s0 := *d.Slots[0]
	s0.Status, s0.DecidedBy, s0.DecidedName, s0.DecidedRole, s0.DecidedAt, s0.Comments = shiplog.SlotApproved, &u.ID, ptr("Ann"), ptr("qa"), ptr(at(1)), ptr("fine")
	want.Slots = []*shiplog.Slot{&s0, d.Slots[1]}
	got, err := s.DRGet(t.Context(), org.ID, d.ID)
	ok(t, "DRGet", err)
	same(t, "DR after a decision", got, &want)

	// Every stale or impossible write is refused and changes nothing.
	for what, p := range map[string]store.DRTransitionParams{
		"a stale revision": {From: shiplog.DRInProgress, Revision: 0, To: shiplog.DRRejected, Now: at(2), Decision: decide(1, shiplog.SlotRejected)},
		"a stale status":   {From: shiplog.DRApproved, Revision: 1, To: shiplog.DRCompleted, Now: at(2)},
		"a decided slot":   {From: shiplog.DRInProgress, Revision: 1, To: shiplog.DRRejected, Now: at(2), Decision: decide(0, shiplog.SlotRejected)},
		"another DR's slot": {From: shiplog.DRInProgress, Revision: 1, To: shiplog.DRRejected, Now: at(2),
			Decision: &store.SlotDecision{SlotID: shiplog.NewID(), Status: shiplog.SlotRejected, UserID: u.ID, Role: "qa"}},
	} {
		wantErr(t, "DRTransition with "+what, transition(p), store.ErrConflict)
	}
	got, err = s.DRGet(t.Context(), org.ID, d.ID)
	ok(t, "DRGet", err)
	same(t, "DR after refused writes", got, &want)

	ok(t, "DRTransition settling", transition(store.DRTransitionParams{From: shiplog.DRInProgress, Revision: 1,
		To: shiplog.DRApproved, Now: at(3), Decision: decide(1, shiplog.SlotApproved)}))
	ok(t, "DRTransition without a decision", transition(store.DRTransitionParams{From: shiplog.DRApproved, Revision: 2,
		To: shiplog.DRCompleted, Now: at(4)}))
	got, err = s.DRGet(t.Context(), org.ID, d.ID)
	ok(t, "DRGet", err)
	if got.Status != shiplog.DRCompleted || got.Revision != 3 || !got.UpdatedAt.Equal(at(4)) || got.Slots[1].Status != shiplog.SlotApproved {
		t.Errorf("DR after completion: %+v, slots %+v %+v", got, got.Slots[0], got.Slots[1])
	}
}

// testDRConcurrentSlots decides each slot of one DR in its own concurrent
// write, each reading the DR with DRGetForUpdate and writing with
// DRTransition. Under the row lock every write sees its predecessors', so
// none is refused and the last one settles the DR; without the lock they
// would read the same revision and all but one would be refused.
func testDRConcurrentSlots(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	const n = 8
	d, u := newDR(t, s, org, shiplog.DRInProgress, n)
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			// Distinct keys: on PostgreSQL, distinct committers, so the
			// transactions really run at once.
			errs[i] = s.WriteKeyed(t.Context(), fmt.Sprint("slot-", i), func(ctx context.Context, tx store.Tx) error {
				cur, err := tx.DRGetForUpdate(ctx, org.ID, d.ID)
				if err != nil {
					return err
				}
				cur.Slots[i].Status = shiplog.SlotApproved
				return tx.DRTransition(ctx, &store.DRTransitionParams{OrgID: org.ID, ID: d.ID, From: cur.Status, Revision: cur.Revision,
					To: cur.Settled(), Now: at(i), Decision: &store.SlotDecision{SlotID: d.Slots[i].ID, Status: shiplog.SlotApproved,
						UserID: u.ID, Role: "qa"}})
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("deciding slot %d: %v", i, err)
		}
	}
	got, err := s.DRGet(t.Context(), org.ID, d.ID)
	ok(t, "DRGet", err)
	if got.Status != shiplog.DRApproved || got.Revision != n {
		t.Errorf("after %d concurrent decisions: status %s, revision %d; want approved, %d", n, got.Status, got.Revision, n)
	}
}
