package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// day is t0 moved by n days; the retention tests prune before day(0).
func day(n int) time.Time { return t0.Add(time.Duration(n) * 24 * time.Hour) }

// pruneAll calls prune until a batch comes back short, returning every
// batch's count. It fails the test if a batch exceeds limit.
func pruneAll(t *testing.T, s store.Store, limit int, prune func(ctx context.Context, tx store.Tx) (int, error)) []int {
	t.Helper()
	var batches []int
	for range 100 {
		n := writeGet(t, s, prune)
		if n > limit {
			t.Fatalf("a batch deleted %d rows, limit %d", n, limit)
		}
		batches = append(batches, n)
		if n < limit {
			return batches
		}
	}
	t.Fatalf("pruning did not finish: %v", batches)
	return nil
}

// retentionWorld is two orgs with a webhook channel each, for deliveries.
type retentionWorld struct {
	a, b       *catalog
	chA, chB   *shiplog.Channel
	depA, depB *shiplog.Deployment
}

func newRetentionWorld(t *testing.T, s store.Store) *retentionWorld {
	t.Helper()
	w := &retentionWorld{
		a: ensureCatalog(t, s, createOrg(t, s, "a"), "api", "prod", "1.0"),
		b: ensureCatalog(t, s, createOrg(t, s, "b"), "api", "prod", "1.0"),
	}
	w.depA, w.depB = w.a.deployment(shiplog.StatusCompleted, day(-30)), w.b.deployment(shiplog.StatusCompleted, day(-30))
	insertDeployments(t, s, w.depA, w.depB)
	w.chA, w.chB = w.channel(t, s, w.a.org), w.channel(t, s, w.b.org)
	return w
}

func (w *retentionWorld) channel(t *testing.T, s store.Store, org *shiplog.Org) *shiplog.Channel {
	t.Helper()
	c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: shiplog.ChannelWebhook, Name: "hook-" + shiplog.NewID()[:8],
		Enabled: true, URL: "https://example.com/hook", Events: []shiplog.EventType{"deployment.completed"},
		CreatedAt: day(-100), UpdatedAt: day(-100)}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) })
	return c
}

// event stores an event of d's at when.
func (w *retentionWorld) event(t *testing.T, s store.Store, d *shiplog.Deployment, when time.Time) *shiplog.Event {
	t.Helper()
	e := deploymentEvent(d, d.OrgID, shiplog.StatusCompleted, 0)
	e.OccurredAt = when
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, e) })
	return e
}

// delivery stores a delivery of e to c, created at created, then records
// attempts attempts at one-minute intervals; the last one leaves it in
// state final, completed at the last attempt (unless final is queued).
func (w *retentionWorld) delivery(t *testing.T, s store.Store, c *shiplog.Channel, e *shiplog.Event, created time.Time,
	attempts int, final shiplog.DeliveryState) *shiplog.Delivery {
	t.Helper()
	d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: c.OrgID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: e.ID,
		EventType: e.Type, State: shiplog.DeliveryQueued, MaxAttempts: attempts + 1, NextAttempt: created,
		CreatedAt: created, UpdatedAt: created}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryInsert(ctx, d) })
	for i := 1; i <= attempts; i++ {
		when := created.Add(time.Duration(i) * time.Minute)
		d.Attempts, d.UpdatedAt, d.NextAttempt = i, when, when.Add(time.Minute)
		outcome := "retry"
		if i == attempts && final != shiplog.DeliveryQueued {
			d.State, d.CompletedAt, outcome = final, &when, string(final)
		}
		a := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: i, StartedAt: when, StatusCode: 500,
			ResponseHeaders: map[string]string{}, Outcome: outcome}
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.DeliveryRecord(ctx, d, a) })
	}
	return d
}

func testRetention(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"Events":          func(t *testing.T) { testEventPrune(t, open(t)) },
		"Deliveries":      func(t *testing.T) { testDeliveryPrune(t, open(t)) },
		"IdempotencyKeys": func(t *testing.T) { testIdempotencyPrune(t, open(t)) },
		"AuditUntouched":  func(t *testing.T) { testPruneKeepsAudit(t, open(t)) },
		"LimitRequired": func(t *testing.T) {
			s := open(t)
			p := &store.PruneParams{Before: day(0)}
			for name, fn := range map[string]func(ctx context.Context, tx store.Tx) error{
				"EventPrune":       func(ctx context.Context, tx store.Tx) error { _, err := tx.EventPrune(ctx, p); return err },
				"DeliveryPrune":    func(ctx context.Context, tx store.Tx) error { _, err := tx.DeliveryPrune(ctx, p); return err },
				"IdempotencyPrune": func(ctx context.Context, tx store.Tx) error { _, err := tx.IdempotencyPrune(ctx, p); return err },
			} {
				if err := s.Write(t.Context(), fn); err == nil {
					t.Errorf("%s with limit 0: no error; want one (an unbounded delete is never meant)", name)
				}
			}
		},
	})
}

func testEventPrune(t *testing.T, s store.Store) {
	w := newRetentionWorld(t, s)
	var old []*shiplog.Event
	for i := range 4 {
		old = append(old, w.event(t, s, w.depA, day(-10).Add(time.Duration(i)*time.Minute)))
	}
	for i := range 3 {
		old = append(old, w.event(t, s, w.depB, day(-20).Add(time.Duration(i)*time.Minute)))
	}
	young := w.event(t, s, w.depA, day(1))
	boundary := w.event(t, s, w.depA, day(0)) // not strictly older: kept
	// Old events that deliveries still need.
	forQueued := w.event(t, s, w.depA, day(-10))
	w.delivery(t, s, w.chA, forQueued, day(-10), 1, shiplog.DeliveryQueued)
	forFinished := w.event(t, s, w.depB, day(-10))
	w.delivery(t, s, w.chB, forFinished, day(-10), 2, shiplog.DeliverySucceeded)

	const limit = 3
	batches := pruneAll(t, s, limit, func(ctx context.Context, tx store.Tx) (int, error) {
		return tx.EventPrune(ctx, &store.PruneParams{Before: day(0), Limit: limit})
	})
	if fmt.Sprint(batches) != "[3 3 1]" {
		t.Errorf("batches deleted %v events; want [3 3 1] (7 old events without deliveries, 3 at a time)", batches)
	}
	for _, e := range old {
		_, err := s.EventGet(t.Context(), e.OrgID, e.ID)
		wantErr(t, "EventGet of a pruned event", err, store.ErrNotFound)
	}
	for what, e := range map[string]*shiplog.Event{"young": young, "at the cutoff": boundary,
		"of a queued delivery": forQueued, "of a finished delivery": forFinished} {
		if _, err := s.EventGet(t.Context(), e.OrgID, e.ID); err != nil {
			t.Errorf("event %s: %v; want it kept", what, err)
		}
	}
	// org b's deployment lost all its events but one; the deployment stays.
	got, err := s.EventListBySubject(t.Context(), w.b.org.ID, w.depB.ID)
	ok(t, "EventListBySubject", err)
	same(t, "org b's remaining events", ids(got, func(e *shiplog.Event) string { return e.ID }), []string{forFinished.ID})
	if _, err := s.DeploymentGet(t.Context(), w.b.org.ID, w.depB.ID); err != nil {
		t.Errorf("DeploymentGet after its events were pruned: %v", err)
	}
}

func testDeliveryPrune(t *testing.T, s store.Store) {
	w := newRetentionWorld(t, s)
	eA, eB := w.event(t, s, w.depA, day(-40)), w.event(t, s, w.depB, day(-40))
	pruned := []*shiplog.Delivery{
		w.delivery(t, s, w.chA, eA, day(-10), 2, shiplog.DeliverySucceeded),
		w.delivery(t, s, w.chA, eA, day(-10), 3, shiplog.DeliveryFailed),
		w.delivery(t, s, w.chB, eB, day(-12), 1, shiplog.DeliverySucceeded),
	}
	// A delivery cancelled (no attempts) when its channel was disabled.
	chC := w.channel(t, s, w.a.org)
	cancelled := w.delivery(t, s, chC, eA, day(-10), 0, shiplog.DeliveryQueued)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.DeliveryCancelChannel(ctx, chC.ID, "channel disabled", day(-9))
	})
	pruned = append(pruned, cancelled)
	eKept := w.event(t, s, w.depA, day(-40))
	kept := map[string]*shiplog.Delivery{
		// Retrying for days: old, but still queued.
		"queued with attempts": w.delivery(t, s, w.chA, eKept, day(-10), 2, shiplog.DeliveryQueued),
		"queued, never tried":  w.delivery(t, s, w.chB, eKept, day(-10), 0, shiplog.DeliveryQueued),
		"finished recently":    w.delivery(t, s, w.chA, eKept, day(0), 2, shiplog.DeliveryFailed),
	}
	// Completed exactly at the cutoff: not strictly older, kept.
	kept["completed at the cutoff"] = w.delivery(t, s, w.chA, eKept, day(0).Add(-time.Minute), 1, shiplog.DeliverySucceeded)
	attemptsBefore := map[string]int{}
	for name, d := range kept {
		as, err := s.AttemptList(t.Context(), d.OrgID, d.ID)
		ok(t, "AttemptList", err)
		attemptsBefore[name] = len(as)
	}

	const limit = 2
	var deliveries, attempts int
	batches := pruneAll(t, s, limit, func(ctx context.Context, tx store.Tx) (int, error) {
		r, err := tx.DeliveryPrune(ctx, &store.PruneParams{Before: day(0), Limit: limit})
		if err != nil {
			return 0, err
		}
		deliveries += r.Deliveries
		attempts += r.Attempts
		return r.Deliveries, nil
	})
	if deliveries != 4 || attempts != 6 || fmt.Sprint(batches) != "[2 2 0]" {
		t.Errorf("pruned %d deliveries with %d attempts in batches %v; want 4 with 6 attempts in [2 2 0]", deliveries, attempts, batches)
	}
	for _, d := range pruned {
		_, err := s.DeliveryGet(t.Context(), d.OrgID, d.ID)
		wantErr(t, "DeliveryGet of a pruned delivery", err, store.ErrNotFound)
		as, err := s.AttemptList(t.Context(), d.OrgID, d.ID)
		if err != nil || len(as) != 0 {
			t.Errorf("pruned delivery %s still has %d attempts (error %v)", d.ID, len(as), err)
		}
	}
	for name, d := range kept {
		got, err := s.DeliveryGet(t.Context(), d.OrgID, d.ID)
		if err != nil {
			t.Errorf("delivery %s: %v; want it kept", name, err)
			continue
		}
		if got.State != d.State {
			t.Errorf("delivery %s: state %s, want %s", name, got.State, d.State)
		}
		as, err := s.AttemptList(t.Context(), d.OrgID, d.ID)
		ok(t, "AttemptList", err)
		if len(as) != attemptsBefore[name] {
			t.Errorf("delivery %s: %d attempts after pruning, want %d", name, len(as), attemptsBefore[name])
		}
	}
	// The pruned deliveries' events are free to go now; the kept ones' stay.
	n := writeGet(t, s, func(ctx context.Context, tx store.Tx) (int, error) {
		return tx.EventPrune(ctx, &store.PruneParams{Before: day(0), Limit: 100})
	})
	if n != 2 {
		t.Errorf("EventPrune after DeliveryPrune deleted %d events; want 2 (those whose deliveries went)", n)
	}
	if _, err := s.EventGet(t.Context(), eKept.OrgID, eKept.ID); err != nil {
		t.Errorf("event of kept deliveries: %v", err)
	}
}

func testIdempotencyPrune(t *testing.T, s store.Store) {
	a, b := createOrg(t, s, "a"), createOrg(t, s, "b")
	claim := func(org *shiplog.Org, key string, when time.Time) {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.IdempotencyClaim(ctx, org.ID, key, when, when.Add(-24*time.Hour)); err != nil {
				return err
			}
			return tx.IdempotencyComplete(ctx, org.ID, key, &store.IdempotentResponse{StatusCode: 200, Body: json.RawMessage(`{}`)})
		})
	}
	claim(a, "old-1", day(-2))
	claim(a, "old-2", day(-3))
	claim(b, "old-1", day(-2))
	claim(a, "fresh", day(1))
	claim(b, "fresh", day(0)) // at the cutoff: kept
	const limit = 2
	batches := pruneAll(t, s, limit, func(ctx context.Context, tx store.Tx) (int, error) {
		return tx.IdempotencyPrune(ctx, &store.PruneParams{Before: day(0), Limit: limit})
	})
	if fmt.Sprint(batches) != "[2 1]" {
		t.Errorf("batches deleted %v keys; want [2 1]", batches)
	}
	for _, tc := range []struct {
		org  *shiplog.Org
		key  string
		kept bool
	}{{a, "old-1", false}, {a, "old-2", false}, {b, "old-1", false}, {a, "fresh", true}, {b, "fresh", true}} {
		_, err := s.IdempotencyGet(t.Context(), tc.org.ID, tc.key, day(-1000))
		if tc.kept && err != nil || !tc.kept && err == nil {
			t.Errorf("org %s key %s: IdempotencyGet error %v; want kept=%v", tc.org.Name, tc.key, err, tc.kept)
		}
	}
}

// auditRecord is everything retention must leave alone, read through the
// store's own queries.
type auditRecord struct {
	Deployment *shiplog.Deployment
	Build      *shiplog.Build
	Version    *shiplog.Version
	DR         *shiplog.DeploymentRequest
	Approvals  []*shiplog.VersionApproval
	Users      []*shiplog.User
	Rules      []*shiplog.Rule
	Channels   []*shiplog.Channel
	APIKeys    []*shiplog.APIKey
}

func testPruneKeepsAudit(t *testing.T, s store.Store) {
	w := newRetentionWorld(t, s)
	c, long := w.a, day(-1000)
	b := c.build(shiplog.StatusCompleted, long)
	insertBuilds(t, s, b)
	e := w.event(t, s, w.depA, long)
	w.delivery(t, s, w.chA, e, long, 1, shiplog.DeliverySucceeded)
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: c.org.ID, Email: "ann@example.com", Name: "Ann", Roles: []string{"qa"}, CreatedAt: long}
	dr := &shiplog.DeploymentRequest{ID: shiplog.NewID(), OrgID: c.org.ID, Name: "release", Links: []string{},
		Items: []shiplog.DRItem{{ProductName: "api", Version: "1.0"}}, EnvironmentNames: []string{"prod"}, Status: shiplog.DRDraft,
		Slots:     []*shiplog.Slot{{ID: shiplog.NewID(), ApprovalType: "qa", Required: true, Status: shiplog.SlotPending}},
		CreatedBy: &u.ID, CreatedAt: long, UpdatedAt: long}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		if err := tx.DRCreate(ctx, dr); err != nil {
			return err
		}
		if err := tx.VersionApprovalCreate(ctx, c.org.ID, &shiplog.VersionApproval{ID: shiplog.NewID(), VersionID: c.version.ID,
			ApprovalType: "qa", UserID: u.ID, ApproverRole: "qa", CreatedAt: long}); err != nil {
			return err
		}
		if err := tx.RuleCreate(ctx, &shiplog.Rule{ID: shiplog.NewID(), OrgID: c.org.ID, Name: "freeze", Type: "deployment_freeze",
			Status: "enabled", Config: json.RawMessage(`{}`), CreatedAt: long, UpdatedAt: long}); err != nil {
			return err
		}
		_, err := tx.APIKeyCreate(ctx, &store.APIKeyCreateParams{OrgID: c.org.ID, Name: "ci", Hash: []byte("h"), Hint: "abcd", Now: long})
		return err
	})
	read := func() *auditRecord {
		t.Helper()
		var r auditRecord
		var err error
		ctx, org := t.Context(), c.org.ID
		r.Deployment, err = s.DeploymentGet(ctx, org, w.depA.ID)
		ok(t, "DeploymentGet", err)
		r.Build, err = s.BuildGet(ctx, org, b.ID)
		ok(t, "BuildGet", err)
		r.Version, err = s.VersionGet(ctx, org, c.version.ID)
		ok(t, "VersionGet", err)
		r.DR, err = s.DRGet(ctx, org, dr.ID)
		ok(t, "DRGet", err)
		r.Approvals, err = s.VersionApprovalList(ctx, org, c.version.ID)
		ok(t, "VersionApprovalList", err)
		r.Users, err = s.UserList(ctx, org)
		ok(t, "UserList", err)
		r.Rules, err = s.RuleList(ctx, org)
		ok(t, "RuleList", err)
		r.Channels, err = s.ChannelList(ctx, org)
		ok(t, "ChannelList", err)
		r.APIKeys, err = s.APIKeyList(ctx, org)
		ok(t, "APIKeyList", err)
		return &r
	}
	before := read()
	// Everything prunable goes: all of it is older than this cutoff.
	p := &store.PruneParams{Before: day(1000), Limit: 1000}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		r, err := tx.DeliveryPrune(ctx, p)
		if err != nil {
			return err
		}
		n, err := tx.EventPrune(ctx, p)
		if err != nil {
			return err
		}
		if r.Deliveries != 1 || n != 1 {
			t.Errorf("pruned %d deliveries and %d events; want 1 and 1", r.Deliveries, n)
		}
		_, err = tx.IdempotencyPrune(ctx, p)
		return err
	})
	same(t, "audit records after pruning", read(), before)
}
