package postgres_test

import (
	"context"
	"database/sql"
	"strconv"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// The hazard the stream's (txid, seq) cursor exists for: transaction A
// inserts an event (inside a savepoint, as the group committer does) and
// stays open; B inserts a later event and commits. B's event is visible
// with a higher seq than A's, so a reader resuming "after seq N" would move
// past A's event before it commits and never see it. The stream must hold
// B back until A ends, then give A's event and B's, in that order.
func TestStreamWaitsForOlderTransactions(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := t.Context()
	st, err := postgres.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var org *shiplog.Org
	if err := st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		org, err = tx.OrgCreate(ctx, "acme", time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	head, err := st.EventStreamHead(ctx, org.ID)
	if err != nil {
		t.Fatal(err)
	}

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Rollback()
	// A writes as the committers do: marked a writer first, then inside a
	// savepoint.
	if err := sqlstore.MarkWriter(ctx, a); err != nil {
		t.Fatal(err)
	}
	evA := event(org.ID, "a")
	var seqA int64
	for _, stmt := range []string{"SAVEPOINT w", insertEvent, "RELEASE SAVEPOINT w"} {
		if stmt != insertEvent {
			if _, err := a.ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := a.QueryRowContext(ctx, stmt, evA.ID, org.ID, evA.SubjectID).Scan(&seqA); err != nil {
			t.Fatal(err)
		}
	}

	evB := event(org.ID, "b")
	if err := st.Write(ctx, func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, evB) }); err != nil {
		t.Fatal(err)
	}
	if evB.Seq <= seqA {
		t.Fatalf("B's seq %d is not after A's %d", evB.Seq, seqA)
	}
	var visible []int64
	rows, err := db.QueryContext(ctx, `SELECT seq FROM events WHERE org_id = $1 ORDER BY seq`, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s int64
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		visible = append(visible, s)
	}
	if rows.Close(); len(visible) != 1 || visible[0] != evB.Seq {
		t.Fatalf("visible seqs %v, want only B's %d: the test does not set up the hazard", visible, evB.Seq)
	}

	page, err := st.EventStream(ctx, org.ID, head, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 0 || !page.Pending {
		t.Fatalf("while A is open: %d events, pending %v; want none, pending", len(page.Events), page.Pending)
	}

	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	// Write transactions of other tests on the server may hold the horizon
	// longer (it is cluster-wide).
	var got []store.StreamEvent
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for len(got) < 2 && time.Now().Before(deadline) {
		page, err := st.EventStream(ctx, org.ID, head, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got = page.Events; len(got) < 2 {
			<-tick.C
		}
	}
	if len(got) != 2 || got[0].Event.ID != evA.ID || got[1].Event.ID != evB.ID {
		t.Fatalf("after A commits the stream has %d events (%v); want A's then B's", len(got), got)
	}
	if got[0].Cursor.Tx >= got[1].Cursor.Tx {
		t.Errorf("A's cursor %v is not before B's %v", got[0].Cursor, got[1].Cursor)
	}
}

const insertEvent = `INSERT INTO events (id, org_id, type, kind, subject_id, product_name, version, environment_name,
	environment_type, status, actor, scm_sha, scm_repository, preflight_status, occurred_at)
	VALUES ($1, $2, 'build.completed', 'build', $3, 'api', 'a', '', '', 'completed', '', '', '', '', 0) RETURNING seq`

func event(orgID, version string) *shiplog.Event {
	return &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: "build.completed", Kind: shiplog.KindBuild,
		SubjectID: shiplog.NewID(), ProductName: "api", Version: version, Status: shiplog.StatusCompleted, OccurredAt: time.Now()}
}

// A long write transaction that is not a shiplog writer of this schema (a
// migration or batch job in another schema or database of the cluster)
// does not hold the stream back, though it holds the cluster's horizon.
func TestStreamIgnoresForeignTransactions(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	ctx := t.Context()
	st, err := postgres.Open(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var org *shiplog.Org
	if err := st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		org, err = tx.OrgCreate(ctx, "acme", time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	foreign, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Rollback()
	var xid string
	if err := foreign.QueryRowContext(ctx, `SELECT pg_current_xact_id()::text`).Scan(&xid); err != nil {
		t.Fatal(err)
	}
	ev := event(org.ID, "b")
	if err := st.Write(ctx, func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, ev) }); err != nil {
		t.Fatal(err)
	}
	// Other tests' writers are in other schemas: nothing holds ev back for
	// long, though the open transaction holds the cluster-wide horizon.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		page, err := st.EventStream(ctx, org.ID, store.Cursor{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Events) == 1 && page.Events[0].Event.ID == ev.ID {
			if page.Events[0].Cursor.Tx <= mustUint(t, xid) {
				t.Fatalf("the event's transaction %v is not after the open one's %s", page.Events[0].Cursor, xid)
			}
			break
		}
		if len(page.Events) > 1 || time.Now().After(deadline) {
			t.Fatalf("stream %v (pending %v): want the one event", page.Events, page.Pending)
		}
		<-tick.C
	}
	var stillOpen bool
	if err := foreign.QueryRowContext(ctx, `SELECT pg_current_xact_id_if_assigned() IS NOT NULL`).Scan(&stillOpen); err != nil || !stillOpen {
		t.Fatalf("the foreign transaction ended early: %v", err)
	}
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
