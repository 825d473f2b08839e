package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// testStream checks the commit-ordered cursor the live stream resumes from.
// On PostgreSQL a committed event joins the stream only once every older
// transaction in the cluster has ended (other tests' too), so reads poll
// until what was written shows up.
func testStream(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"OrderAndIsolation": func(t *testing.T) { testStreamOrder(t, open(t)) },
		"Pages":             func(t *testing.T) { testStreamPages(t, open(t)) },
		"HeadSkipsHistory":  func(t *testing.T) { testStreamHead(t, open(t)) },
		"RolledBackUnseen":  func(t *testing.T) { testStreamRolledBack(t, open(t)) },
		"ForeignCursor":     func(t *testing.T) { testStreamForeignCursor(t, open(t)) },
	})
}

// streamEvent returns a new event of org with only the required fields set.
func streamEvent(orgID, version string) *shiplog.Event {
	return &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: shiplog.TypeOf(shiplog.KindBuild, shiplog.StatusCompleted),
		Kind: shiplog.KindBuild, SubjectID: shiplog.NewID(), ProductName: "api", Version: version,
		Status: shiplog.StatusCompleted, OccurredAt: t0}
}

// insertEvents writes es in one transaction, in order.
func insertEvents(t *testing.T, s store.Store, es ...*shiplog.Event) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, e := range es {
			if err := tx.EventInsert(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
}

func cursorLess(a, b store.Cursor) bool {
	return a.Tx < b.Tx || a.Tx == b.Tx && a.Seq < b.Seq
}

// readStream reads the org's stream after `after`, limit events a read,
// until it has n events, then checks that nothing more follows. It checks
// that positions only grow and that each round-trips through its string.
func readStream(t *testing.T, s store.Store, orgID string, after store.Cursor, limit, n int) []store.StreamEvent {
	t.Helper()
	var got []store.StreamEvent
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(2 * time.Minute)
	for len(got) < n {
		page, err := s.EventStream(t.Context(), orgID, after, limit)
		ok(t, "EventStream", err)
		if len(page.Events) > limit {
			t.Fatalf("EventStream(limit %d) returned %d events", limit, len(page.Events))
		}
		for _, se := range page.Events {
			if !cursorLess(after, se.Cursor) {
				t.Fatalf("position %v follows %v", se.Cursor, after)
			}
			back, err := store.ParseCursor(se.Cursor.String())
			if err != nil || back != se.Cursor {
				t.Fatalf("cursor %v as %q parses back as %v, %v", se.Cursor, se.Cursor.String(), back, err)
			}
			after = se.Cursor
			got = append(got, se)
		}
		if len(page.Events) > 0 {
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("stream has %d of %d events after 2 minutes (pending %v)", len(got), n, page.Pending)
		}
		<-tick.C // poll: on PostgreSQL the horizon may lag behind other tests' transactions
	}
	if len(got) > n {
		t.Fatalf("stream has %d events, want %d", len(got), n)
	}
	page, err := s.EventStream(t.Context(), orgID, after, limit)
	ok(t, "EventStream at the end", err)
	if len(page.Events) != 0 || page.Pending {
		t.Fatalf("after the last event: %d more events, pending %v; want none", len(page.Events), page.Pending)
	}
	return got
}

func streamEvents(ses []store.StreamEvent) []*shiplog.Event {
	out := make([]*shiplog.Event, 0, len(ses))
	for _, se := range ses {
		out = append(out, se.Event)
	}
	return out
}

func testStreamOrder(t *testing.T, s store.Store) {
	a, b := createOrg(t, s, "a"), createOrg(t, s, "b")
	head, err := s.EventStreamHead(t.Context(), a.ID)
	ok(t, "EventStreamHead", err)
	e1, e2 := streamEvent(a.ID, "1"), streamEvent(a.ID, "2")
	e1.Actor, e1.ScmSHA, e1.Payload = "alice", "abc", []byte(`{"status":"success"}`)
	other := streamEvent(b.ID, "1")
	e3 := streamEvent(a.ID, "3")
	insertEvents(t, s, e1, e2) // one transaction
	insertEvents(t, s, other)
	insertEvents(t, s, e3)

	got := readStream(t, s, a.ID, head, 10, 3)
	same(t, "org a's stream", streamEvents(got), []*shiplog.Event{e1, e2, e3})
	same(t, "org a's stream after e2", streamEvents(readStream(t, s, a.ID, got[1].Cursor, 10, 1)), []*shiplog.Event{e3})
	same(t, "org b's stream", streamEvents(readStream(t, s, b.ID, store.Cursor{}, 10, 1)), []*shiplog.Event{other})
}

func testStreamPages(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	var want []*shiplog.Event
	for i := range 7 {
		e := streamEvent(org.ID, fmt.Sprint(i))
		insertEvents(t, s, e)
		want = append(want, e)
	}
	for _, limit := range []int{1, 3, 7, 100} {
		same(t, fmt.Sprintf("stream read %d at a time", limit), streamEvents(readStream(t, s, org.ID, store.Cursor{}, limit, 7)), want)
	}
}

func testStreamHead(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	old := streamEvent(org.ID, "old")
	insertEvents(t, s, old)
	readStream(t, s, org.ID, store.Cursor{}, 10, 1) // committed and in the stream
	head, err := s.EventStreamHead(t.Context(), org.ID)
	ok(t, "EventStreamHead", err)
	if !cursorLess(store.Cursor{}, head) {
		t.Errorf("head %v after an event is the start of the log", head)
	}
	fresh := streamEvent(org.ID, "new")
	insertEvents(t, s, fresh)
	same(t, "stream after the head", streamEvents(readStream(t, s, org.ID, head, 10, 1)), []*shiplog.Event{fresh})
}

func testStreamRolledBack(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	lost, kept := streamEvent(org.ID, "lost"), streamEvent(org.ID, "kept")
	err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		if err := tx.EventInsert(ctx, lost); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "Write that fails after an insert", err, errBoom)
	insertEvents(t, s, kept)
	same(t, "stream", streamEvents(readStream(t, s, org.ID, store.Cursor{}, 10, 1)), []*shiplog.Event{kept})
}

func testStreamForeignCursor(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	insertEvents(t, s, streamEvent(org.ID, "1"))
	head, err := s.EventStreamHead(t.Context(), org.ID)
	ok(t, "EventStreamHead", err)
	// A store uses one of the two forms; the other form is refused.
	foreign := store.Cursor{Tx: 7, Seq: 1}
	if head.Tx != 0 {
		foreign = store.Cursor{Seq: 1}
	}
	_, err = s.EventStream(t.Context(), org.ID, foreign, 10)
	wantErr(t, fmt.Sprintf("EventStream after %q (head %q)", foreign, head), err, store.ErrCursor)
	if _, err := s.EventStream(t.Context(), org.ID, store.Cursor{}, 10); err != nil {
		t.Errorf("EventStream from the start: %v", err)
	}
}
