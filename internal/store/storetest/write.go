package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Write's fn runs on the store's own goroutine: the functions it calls in
// these tests report with t.Errorf and return errors, never t.Fatal.

func testWrite(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"FailedFnRollsBackOnlyItself": func(t *testing.T) { testFailedFnRollsBackOnlyItself(t, open) },
		"VisibleWhenWriteReturns":     func(t *testing.T) { testVisibleWhenWriteReturns(t, open(t)) },
		"WriteKeyedSerialises":        func(t *testing.T) { testWriteKeyedSerialises(t, open(t)) },
		"ConcurrentEnsure":            func(t *testing.T) { testConcurrentEnsure(t, open(t)) },
		"CancelledBeforeQueued":       func(t *testing.T) { testCancelledBeforeQueued(t, open(t)) },
		"CancelledWhileRunning":       func(t *testing.T) { testCancelledWhileRunning(t, open(t)) },
		"CloseUnderLoad":              func(t *testing.T) { testCloseUnderLoad(t, open) },
		"Reopen":                      func(t *testing.T) { testReopen(t, open) },
		"ReadOwnRowsInOneWrite":       func(t *testing.T) { testReadOwnRows(t, open(t)) },
		"FailedInsertStaysFailed":     func(t *testing.T) { testFailedInsertStaysFailed(t, open(t)) },
	})
}

// testFailedInsertStaysFailed: a write whose insert violates a key learns
// it at the insert or, when the store writes the rows late, at a later
// statement, and from then on every statement reports that same failure;
// the write fails with it and stores nothing.
func testFailedInsertStaysFailed(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	id := shiplog.NewID()
	var after []error
	err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		after = nil // the store may run a write again
		for range 2 {
			if err := tx.EventInsert(ctx, batchEvent(org.ID, id)); err != nil {
				return err
			}
		}
		for range 2 {
			_, err := tx.EventGet(ctx, org.ID, id)
			after = append(after, err)
		}
		return nil
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("write inserting one event id twice: %v, want a conflict", err)
	}
	for i, e := range after {
		if !errors.Is(e, store.ErrConflict) {
			t.Errorf("statement %d after the failed insert: %v, want the conflict again", i+1, e)
		}
	}
	if _, err := s.EventGet(t.Context(), org.ID, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("event of the failed write: %v, want not found", err)
	}
}

// testReadOwnRows: rows a write inserts are there for its own later
// statements as they were inserted, even when the caller changes the
// struct afterwards — the store may write event and delivery rows late,
// but never with values they did not have at the insert.
func testReadOwnRows(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: shiplog.ChannelWebhook, Name: "hook", Enabled: true,
		URL: "https://example.com/hook", Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) })
	e := batchEvent(org.ID, shiplog.NewID())
	d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: org.ID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: e.ID,
		EventType: e.Type, State: shiplog.DeliveryQueued, MaxAttempts: 3, NextAttempt: t0, CreatedAt: t0, UpdatedAt: t0}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.EventInsert(ctx, e); err != nil {
			return err
		}
		e.Version = "changed after the insert"
		got, err := tx.EventGet(ctx, org.ID, e.ID)
		if err != nil {
			return fmt.Errorf("EventGet of its own event: %w", err)
		}
		if got.Version != "fail" || got.Seq == 0 || got.Seq != e.Seq {
			t.Errorf("own event read back: version %q seq %d, inserted %q, struct's seq %d", got.Version, got.Seq, "fail", e.Seq)
		}
		if err := tx.DeliveryInsert(ctx, d); err != nil {
			return err
		}
		at := at(1)
		d.State, d.Attempts, d.UpdatedAt, d.CompletedAt = shiplog.DeliverySucceeded, 1, at, &at
		return tx.DeliveryRecord(ctx, d, &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: 1, StartedAt: at,
			StatusCode: 200, ResponseHeaders: map[string]string{}, Outcome: "delivered"})
	})
	got, err := s.DeliveryGet(t.Context(), org.ID, d.ID)
	ok(t, "DeliveryGet", err)
	if got.State != shiplog.DeliverySucceeded || got.Attempts != 1 {
		t.Errorf("delivery inserted then recorded in one write: state %s, %d attempts", got.State, got.Attempts)
	}

	// Attempts recorded in a write are there for its later statements, in
	// order, with the values they had when recorded.
	d2 := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: org.ID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: e.ID,
		EventType: e.Type, State: shiplog.DeliveryQueued, MaxAttempts: 3, NextAttempt: t0, CreatedAt: t0, UpdatedAt: t0}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeliveryInsert(ctx, d2); err != nil {
			return err
		}
		for n := 1; n <= 3; n++ {
			d2.Attempts = n
			a := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d2.ID, Number: n, StartedAt: at(n), StatusCode: 500,
				ResponseHeaders: map[string]string{"n": fmt.Sprint(n)}, Outcome: "failed"}
			if err := tx.DeliveryRecord(ctx, d2, a); err != nil {
				return err
			}
			a.StatusCode = 999 // changed after the record: not what was recorded
		}
		as, err := tx.AttemptList(ctx, org.ID, d2.ID)
		if err != nil {
			return fmt.Errorf("AttemptList of its own attempts: %w", err)
		}
		if len(as) != 3 {
			return fmt.Errorf("own attempts read back: %d, want 3", len(as)) // not t.Fatal: fn runs on the committer
		}
		for i, a := range as {
			if a.Number != i+1 || a.StatusCode != 500 || a.ResponseHeaders["n"] != fmt.Sprint(i+1) {
				t.Errorf("own attempt %d read back: number %d, status %d, headers %v", i, a.Number, a.StatusCode, a.ResponseHeaders)
			}
		}
		// Deleting the channel takes its deliveries and their attempts,
		// the ones this write recorded included.
		return tx.ChannelDelete(ctx, org.ID, c.ID)
	})
	if _, err := s.DeliveryGet(t.Context(), org.ID, d2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("delivery of a deleted channel: %v, want not found", err)
	}
	as, err := s.AttemptList(t.Context(), org.ID, d2.ID)
	ok(t, "AttemptList", err)
	if len(as) != 0 {
		t.Errorf("attempts of a deleted channel's delivery: %d left", len(as))
	}
}

// waitFor fails the test if done is not closed within a minute: a guard
// against hangs, not a synchronisation.
func waitFor(t *testing.T, what string, done <-chan struct{}) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: still waiting after a minute", what)
	}
}

// goWait runs fns concurrently and closes the returned channel when all
// have returned.
func goWait(n int, fn func(i int)) <-chan struct{} {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { fn(i) })
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	return done
}

func productNames(t *testing.T, s store.Store, orgID string) map[string]bool {
	t.Helper()
	ps, err := s.ProductList(t.Context(), orgID, store.Page{Limit: store.MaxLimit})
	ok(t, "ProductList", err)
	names := map[string]bool{}
	for _, p := range ps {
		names[p.Name] = true
	}
	return names
}

// testFailedFnRollsBackOnlyItself runs many concurrent Writes, every other
// one failing after it wrote: the failures store nothing and see nothing of
// each other, the others commit, whichever batches they share.
func testFailedFnRollsBackOnlyItself(t *testing.T, open OpenFunc) {
	tests := []struct {
		name string
		fail func(ctx context.Context, tx store.Tx, orgID string) error // runs after the failing fn wrote its product and event
		want error
	}{
		{"fn returns an error", func(context.Context, store.Tx, string) error { return fmt.Errorf("wrapped: %w", errBoom) }, errBoom},
		{"fn hits a unique violation", func(ctx context.Context, tx store.Tx, _ string) error {
			_, err := tx.OrgCreate(ctx, "acme", t0)
			return err
		}, store.ErrConflict},
		// The store may write event rows late, as one statement for a batch
		// (a violation then shows at that statement, not at the insert):
		// the failure must still be this write's alone.
		{"fn's event rows violate a key", func(ctx context.Context, tx store.Tx, orgID string) error {
			id := shiplog.NewID()
			for range 2 {
				if err := tx.EventInsert(ctx, batchEvent(orgID, id)); err != nil {
					return err
				}
			}
			return nil
		}, store.ErrConflict},
		// Delivery attempts may be written late too: a retryable failure
		// recorded twice under one attempt id violates its key at the end.
		{"fn's attempt rows violate a key", func(ctx context.Context, tx store.Tx, orgID string) error {
			c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: orgID, Kind: shiplog.ChannelWebhook, Name: "hook-" + shiplog.NewID(),
				Enabled: true, URL: "https://example.com/hook", CreatedAt: t0, UpdatedAt: t0}
			if err := tx.ChannelCreate(ctx, c); err != nil {
				return err
			}
			d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: orgID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: shiplog.NewID(),
				EventType: "deployment.completed", State: shiplog.DeliveryQueued, MaxAttempts: 3, NextAttempt: t0, CreatedAt: t0, UpdatedAt: t0}
			if err := tx.DeliveryInsert(ctx, d); err != nil {
				return err
			}
			a := &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: 1, StartedAt: t0, StatusCode: 500,
				ResponseHeaders: map[string]string{}, Outcome: "failed"}
			for range 2 {
				d.Attempts++
				if err := tx.DeliveryRecord(ctx, d, a); err != nil {
					return err
				}
			}
			return nil
		}, store.ErrConflict},
	}
	for _, tt := range tests {
		for _, keyed := range []bool{false, true} {
			name := tt.name + ", Write"
			if keyed {
				name = tt.name + ", WriteKeyed"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				testRollbackBatch(t, open(t), keyed, tt.fail, tt.want)
			})
		}
	}
}

// batchSubject is the rollback tests' events' subject (ids are UUIDs on PostgreSQL).
const batchSubject = "01900000-0000-7000-8000-0000000000b1"

// batchEvent is an event of the rollback tests, all on one subject.
func batchEvent(orgID, id string) *shiplog.Event {
	return &shiplog.Event{ID: id, OrgID: orgID, Type: "deployment.completed", Kind: shiplog.KindDeployment,
		SubjectID: batchSubject, ProductName: "p", Version: "fail", Status: shiplog.StatusCompleted, OccurredAt: t0}
}

// testRollbackBatch runs n concurrent writes, every other one calling fail
// after it wrote a product. keyed spreads them over a few write keys, which
// the store may run side by side.
func testRollbackBatch(t *testing.T, s store.Store, keyed bool, fail func(context.Context, store.Tx, string) error, want error) {
	org := createOrg(t, s, "acme")
	const n = 50
	var (
		mu      sync.Mutex
		batches = map[store.Tx]bool{}
		called  sync.WaitGroup // counts writers about to call Write
		allIn   = make(chan struct{})
		hold    sync.Once
		saw     = map[int][]string{}
	)
	called.Add(n)
	errs := make([]error, n)
	done := goWait(n, func(i int) {
		called.Done()
		fn := func(ctx context.Context, tx store.Tx) error {
			mu.Lock()
			batches[tx] = true
			mu.Unlock()
			if i == 0 {
				// Hold the first transaction until every writer has
				// called Write, so that most queue up and share batches.
				hold.Do(func() { <-allIn })
			}
			if i%2 == 1 {
				if _, err := tx.ProductEnsure(ctx, org.ID, fmt.Sprintf("fail-%02d", i), t0); err != nil {
					return err
				}
				if err := tx.EventInsert(ctx, batchEvent(org.ID, shiplog.NewID())); err != nil {
					return err
				}
				return fail(ctx, tx, org.ID)
			}
			if _, err := tx.ProductEnsure(ctx, org.ID, fmt.Sprintf("ok-%02d", i), t0); err != nil {
				return err
			}
			e := batchEvent(org.ID, shiplog.NewID())
			e.Version = fmt.Sprintf("ok-%02d", i)
			if err := tx.EventInsert(ctx, e); err != nil {
				return err
			}
			ps, err := tx.ProductList(ctx, org.ID, store.Page{Limit: store.MaxLimit})
			if err != nil {
				return err
			}
			// A batch may run more than once (the store runs it again when
			// one of its writes fails): what counts is what the run that
			// committed saw, so each run replaces the last one's record.
			var failed []string
			for _, p := range ps {
				if strings.HasPrefix(p.Name, "fail-") {
					failed = append(failed, p.Name)
				}
			}
			mu.Lock()
			saw[i] = failed
			mu.Unlock()
			return nil
		}
		if keyed {
			errs[i] = s.WriteKeyed(t.Context(), fmt.Sprint("key-", i%4), fn)
		} else {
			errs[i] = s.Write(t.Context(), fn)
		}
	})
	called.Wait()
	close(allIn)
	waitFor(t, "concurrent writes", done)
	t.Logf("%d writes ran in %d transactions", n, len(batches))

	for i, names := range saw {
		if errs[i] == nil && len(names) > 0 {
			t.Errorf("write %d committed having seen %v, written by failed fns", i, names)
		}
	}
	wantStored := map[string]bool{}
	for i, err := range errs {
		if i%2 == 0 {
			wantStored[fmt.Sprintf("ok-%02d", i)] = true
			if err != nil {
				t.Errorf("write %d: %v", i, err)
			}
		} else if !errors.Is(err, want) {
			t.Errorf("failing write %d: got error %v, want %v", i, err, want)
		}
	}
	events, err := s.EventListBySubject(t.Context(), org.ID, batchSubject)
	ok(t, "EventListBySubject", err)
	seqs := map[int64]bool{}
	for _, e := range events {
		if !wantStored[e.Version] {
			t.Errorf("event %q of a failed write exists", e.Version)
		}
		if seqs[e.Seq] {
			t.Errorf("two events with seq %d", e.Seq)
		}
		seqs[e.Seq] = true
	}
	if len(events) != len(wantStored) {
		t.Errorf("%d events stored, want %d (one per successful write)", len(events), len(wantStored))
	}
	got := productNames(t, s, org.ID)
	for name := range got {
		if !wantStored[name] {
			t.Errorf("product %s exists", name)
		}
	}
	for name := range wantStored {
		if !got[name] {
			t.Errorf("product %s is missing", name)
		}
	}
}

// testVisibleWhenWriteReturns checks that Write and WriteKeyed return only
// after commit:
// a read straight after it, outside any transaction, sees the row.
func testVisibleWhenWriteReturns(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	const n = 40
	waitFor(t, "concurrent writes", goWait(n, func(i int) {
		var env *shiplog.Environment
		fn := func(ctx context.Context, tx store.Tx) error {
			var err error
			env, err = tx.EnvironmentEnsure(ctx, org.ID, fmt.Sprintf("env-%02d", i), shiplog.EnvTest, t0)
			return err
		}
		var err error
		if i%2 == 0 {
			err = s.Write(t.Context(), fn)
		} else {
			err = s.WriteKeyed(t.Context(), fmt.Sprint("key-", i), fn)
		}
		if err != nil {
			t.Errorf("write %d: %v", i, err)
			return
		}
		got, err := s.EnvironmentGet(t.Context(), org.ID, env.ID)
		if err != nil {
			t.Errorf("write %d returned, but its environment cannot be read: %v", i, err)
			return
		}
		same(t, fmt.Sprintf("environment %d", i), got, env)
	}))
}

// testWriteKeyedSerialises checks that writes with equal keys never run at
// the same time: the first of each key holds its transaction until every
// writer has called WriteKeyed, and no other fn of that key may start meanwhile.
func testWriteKeyedSerialises(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	const n, keys = 30, 3
	var running [keys]atomic.Int32
	var called sync.WaitGroup
	called.Add(n)
	allIn := make(chan struct{})
	var hold [keys]sync.Once
	done := goWait(n, func(i int) {
		called.Done()
		k := i % keys
		err := s.WriteKeyed(t.Context(), fmt.Sprint("key-", k), func(ctx context.Context, tx store.Tx) error {
			if r := running[k].Add(1); r != 1 {
				t.Errorf("write %d runs while %d other(s) with key %d run", i, r-1, k)
			}
			defer running[k].Add(-1)
			if i < keys {
				hold[k].Do(func() { <-allIn })
			}
			_, err := tx.ProductEnsure(ctx, org.ID, fmt.Sprintf("p%02d", i), t0)
			return err
		})
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	})
	called.Wait()
	close(allIn)
	waitFor(t, "keyed writes", done)
	if got := productNames(t, s, org.ID); len(got) != n {
		t.Errorf("%d products stored, want %d", len(got), n)
	}
}

// testConcurrentEnsure checks that racing ensures of the same names agree on
// one row each, and that the first SHA recorded for a version wins for all.
func testConcurrentEnsure(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	// A version that exists without a SHA: the racers each offer one.
	pre := ensureCatalog(t, s, org, "pre", "pre", "0.9")
	const n = 20
	type result struct {
		p   *shiplog.Product
		e   *shiplog.Environment
		v   *shiplog.Version // created by the race, with a SHA
		old *shiplog.Version // pre's 0.9, whose SHA the race records
	}
	res := make([]result, n)
	waitFor(t, "concurrent ensures", goWait(n, func(i int) {
		err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
			var r result
			var err error
			if r.p, err = tx.ProductEnsure(ctx, org.ID, "shared", at(i)); err != nil {
				return err
			}
			if r.e, err = tx.EnvironmentEnsure(ctx, org.ID, "shared", shiplog.EnvTest, at(i)); err != nil {
				return err
			}
			sha := ptr(fmt.Sprintf("sha-%02d", i))
			if r.v, err = tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: r.p.ID,
				Version: "1.0", ScmSHA: sha, Now: at(i)}); err != nil {
				return err
			}
			if r.old, err = tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: pre.product.ID,
				Version: "0.9", ScmSHA: sha, Now: at(i)}); err != nil {
				return err
			}
			res[i] = r
			return nil
		})
		if err != nil {
			t.Errorf("ensure %d: %v", i, err)
		}
	}))
	if t.Failed() {
		return
	}
	ps, err := s.ProductList(t.Context(), org.ID, store.Page{})
	ok(t, "ProductList", err)
	envs, err := s.EnvironmentList(t.Context(), org.ID, store.Page{})
	ok(t, "EnvironmentList", err)
	vs, err := s.VersionList(t.Context(), org.ID, store.VersionFilter{}, store.Page{})
	ok(t, "VersionList", err)
	if len(ps) != 2 || len(envs) != 2 || len(vs) != 2 {
		t.Fatalf("stored %d products, %d environments, %d versions; want 2 of each", len(ps), len(envs), len(vs))
	}
	shared, sharedEnv, v1, v09 := ps[0], envs[0], vs[0], vs[1]
	if shared.Name != "shared" || sharedEnv.Name != "shared" || v1.Version != "1.0" || v09.ID != pre.version.ID {
		t.Fatalf("stored %+v, %+v, %+v, %+v: want the shared product, environment and version 1.0, and pre's 0.9",
			shared, sharedEnv, v1, v09)
	}
	if v1.ScmSHA == nil || v09.ScmSHA == nil {
		t.Fatalf("stored SHAs %v and %v: want both recorded", v1.ScmSHA, v09.ScmSHA)
	}
	for i, r := range res {
		same(t, fmt.Sprintf("ensure %d: product", i), r.p, shared)
		same(t, fmt.Sprintf("ensure %d: environment", i), r.e, sharedEnv)
		same(t, fmt.Sprintf("ensure %d: version 1.0", i), r.v, v1)
		same(t, fmt.Sprintf("ensure %d: version 0.9", i), r.old, v09)
	}
}

func testCancelledBeforeQueued(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var ran atomic.Bool
	err := s.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		ran.Store(true)
		_, err := tx.ProductEnsure(ctx, org.ID, "api", t0)
		return err
	})
	wantErr(t, "Write with a cancelled context", err, context.Canceled)
	if ran.Load() {
		t.Errorf("fn ran for a Write whose context was cancelled")
	}
	if names := productNames(t, s, org.ID); len(names) != 0 {
		t.Errorf("products after the cancelled Write: %v", names)
	}
}

// testCancelledWhileRunning checks that once fn runs, the caller giving up
// does not stop it: the write commits and Write reports success.
func testCancelledWhileRunning(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := s.Write(ctx, func(fctx context.Context, tx store.Tx) error {
		cancel()
		if fctx.Err() != nil {
			t.Errorf("fn's context ended with the caller's: %v", fctx.Err())
		}
		_, err := tx.ProductEnsure(fctx, org.ID, "api", t0)
		return err
	})
	ok(t, "Write whose caller gave up while fn ran", err)
	if names := productNames(t, s, org.ID); !names["api"] || len(names) != 1 {
		t.Errorf("products: %v, want api", names)
	}
}

// testCloseUnderLoad closes the store while writes (plain and keyed) are
// queued and arriving:
// every Write returns, those that returned nil are stored, the others not.
func testCloseUnderLoad(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	const n = 300
	errs := make([]error, n)
	entered, release := make(chan struct{}), make(chan struct{})
	var hold sync.Once
	writeProduct := func(i int) {
		fn := func(ctx context.Context, tx store.Tx) error {
			if i == 0 {
				hold.Do(func() {
					close(entered)
					<-release
				})
			}
			_, err := tx.ProductEnsure(ctx, org.ID, fmt.Sprintf("p%03d", i), t0)
			return err
		}
		if i%2 == 0 {
			errs[i] = s.Write(t.Context(), fn)
		} else {
			errs[i] = s.WriteKeyed(t.Context(), fmt.Sprint("key-", i%5), fn)
		}
	}
	first := goWait(1, writeProduct)
	waitFor(t, "first write to start", entered)
	queued := goWait(n/2-1, func(i int) { writeProduct(1 + i) })
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	late := goWait(n-n/2, func(i int) { writeProduct(n/2 + i) })
	close(release)
	waitFor(t, "writes while closing", first)
	waitFor(t, "writes while closing", queued)
	waitFor(t, "writes while closing", late)
	select {
	case err := <-closed:
		ok(t, "Close", err)
	case <-time.After(time.Minute):
		t.Fatal("Close: still waiting after a minute")
	}
	var ran atomic.Bool
	fn := func(context.Context, store.Tx) error {
		ran.Store(true)
		return nil
	}
	if err := s.Write(t.Context(), fn); err == nil {
		t.Errorf("Write after Close returned nil")
	}
	if err := s.WriteKeyed(t.Context(), "key-1", fn); err == nil {
		t.Errorf("WriteKeyed after Close returned nil")
	}
	if ran.Load() {
		t.Errorf("fn ran after Close")
	}

	s = open(t)
	got := productNames(t, s, org.ID)
	stored := 0
	for i, err := range errs {
		name := fmt.Sprintf("p%03d", i)
		switch {
		case err == nil && !got[name]:
			t.Errorf("write %d returned nil but %s is not stored", i, name)
		case err != nil && got[name]:
			t.Errorf("write %d returned %v but %s is stored", i, err, name)
		}
		if err == nil {
			stored++
		}
	}
	if errs[0] != nil {
		t.Errorf("the write queued before Close failed: %v", errs[0])
	}
	t.Logf("%d of %d writes racing Close were stored", stored, n)
}

// testReopen checks that what a store committed is there after Close and
// Open of the same database, and that counters carry on.
func testReopen(t *testing.T, open OpenFunc) {
	s := open(t)
	tn := newTenant(t, s, "acme")
	ok(t, "Close", s.Close())

	s = open(t)
	ctx := t.Context()
	org, err := s.OrgGetByName(ctx, "acme")
	ok(t, "OrgGetByName", err)
	same(t, "org", org, tn.org)
	env, err := s.EnvironmentGet(ctx, org.ID, tn.env.ID)
	ok(t, "EnvironmentGet", err)
	same(t, "environment", env, tn.env)
	v, err := s.VersionGet(ctx, org.ID, tn.version.ID)
	ok(t, "VersionGet", err)
	same(t, "version", v, tn.version)
	d, err := s.DeploymentGet(ctx, org.ID, tn.deployment.ID)
	ok(t, "DeploymentGet", err)
	same(t, "deployment", d, tn.deployment)
	b, err := s.BuildGet(ctx, org.ID, tn.build.ID)
	ok(t, "BuildGet", err)
	same(t, "build", b, tn.build)
	events, err := s.EventListBySubject(ctx, org.ID, tn.deployment.ID)
	ok(t, "EventListBySubject", err)
	same(t, "events", events, []*shiplog.Event{tn.event})
	key, err := s.APIKeyAuthLookup(ctx, "acme", "k1")
	ok(t, "APIKeyAuthLookup", err)
	if string(key.Hash) != "acme" {
		t.Errorf("key hash after reopen: %q, want %q", key.Hash, "acme")
	}
	_, err = s.IdempotencyGet(ctx, org.ID, "key-acme", at(-60))
	ok(t, "IdempotencyGet", err)

	next := deploymentEvent(tn.deployment, org.ID, shiplog.StatusCompleted, 5)
	k2 := writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.APIKey, error) {
		if err := tx.EventInsert(ctx, next); err != nil {
			return nil, err
		}
		return tx.APIKeyCreate(ctx, &store.APIKeyCreateParams{OrgID: org.ID, Name: "second", Hash: []byte("x"),
			Hint: "abcd", Now: t0})
	})
	if next.Seq <= tn.event.Seq {
		t.Errorf("event seq after reopen: %d, want more than %d", next.Seq, tn.event.Seq)
	}
	if k2.KeyID != "k2" {
		t.Errorf("key id after reopen: %s, want k2", k2.KeyID)
	}
}
