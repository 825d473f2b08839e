package stream

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
	"github.com/shiplog/shiplog/internal/testutil/ssetest"
)

// fixture is a SQLite store with one org, a Hub and an HTTP server that
// streams that org's events the way the API does.
type fixture struct {
	t   *testing.T
	st  store.Store
	org *shiplog.Org
	hub *Hub
	srv *httptest.Server
}

// setup starts a fixture; adjust tunes the Hub and server before they start.
func setup(t *testing.T, adjust func(h *Hub, s *http.Server)) *fixture {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shiplog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return newFixture(t, st, adjust)
}

func newFixture(t *testing.T, st store.Store, adjust func(h *Hub, s *http.Server)) *fixture {
	t.Helper()
	t.Cleanup(func() { st.Close() })
	fx := &fixture{t: t, st: st}
	var err error
	if err := st.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		fx.org, err = tx.OrgCreate(ctx, "acme", time.Unix(0, 0))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	fx.hub = &Hub{Store: st, BaseURL: "https://shiplog.example"}
	fx.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := ParseFilter(r.URL.Query().Get("types"))
		if err == nil {
			err = fx.hub.Serve(w, r, fx.org.ID, LastEventID(r), f)
		}
		if err != nil {
			http.Error(w, shiplog.ErrorMessage(err), http.StatusBadRequest)
		}
	}))
	if adjust != nil {
		adjust(fx.hub, fx.srv.Config)
	}
	fx.srv.Start()
	t.Cleanup(fx.srv.Close)
	t.Cleanup(fx.hub.Close) // before srv.Close, which waits for handlers
	return fx
}

// emit records one event per version, each in its own transaction, and
// announces them as ingest does.
func (fx *fixture) emit(t shiplog.EventType, versions ...string) {
	fx.t.Helper()
	for _, v := range versions {
		kind, _, _ := strings.Cut(string(t), ".")
		e := &shiplog.Event{ID: shiplog.NewID(), OrgID: fx.org.ID, Type: t, Kind: shiplog.Kind(kind), SubjectID: shiplog.NewID(),
			ProductName: "api", Version: v, Status: shiplog.StatusCompleted, OccurredAt: time.Unix(1700000000, 0)}
		if kind == "deployment" {
			e.EnvironmentName, e.EnvironmentType = "prod", shiplog.EnvProduction
		}
		if err := fx.st.Write(fx.t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, e) }); err != nil {
			fx.t.Fatal(err)
		}
	}
	fx.hub.Notify(fx.org.ID)
}

func (fx *fixture) open(query string, header ...string) *ssetest.Stream {
	fx.t.Helper()
	s, err := ssetest.Open(fx.t.Context(), fx.srv.URL+"/"+query, header...)
	if err != nil {
		fx.t.Fatalf("open stream: %v", err)
	}
	fx.t.Cleanup(s.Close)
	return s
}

// next returns the next frame, failing the test if none comes within two
// minutes (a guard against hangs, not a timing assertion).
func next(t *testing.T, s *ssetest.Stream) ssetest.Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	f, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("next frame: %v", err)
	}
	return f
}

// nextEvent skips heartbeats and returns the next frame with data.
func nextEvent(t *testing.T, s *ssetest.Stream) ssetest.Frame {
	t.Helper()
	for {
		if f := next(t, s); f.Data != "" {
			return f
		}
	}
}

func version(t *testing.T, f ssetest.Frame) string {
	t.Helper()
	var body struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(f.Data), &body); err != nil {
		t.Fatalf("frame data is not JSON: %q", f.Data)
	}
	return body.Version
}

func TestFrames(t *testing.T) {
	t.Parallel()
	fx := setup(t, nil)
	fx.emit("build.completed", "1.0")
	fx.emit("deployment.failed", "1.1")
	s := fx.open("?last_event_id=0")
	if ct := s.Header.Get("Content-Type"); ct != "text/event-stream; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if f := next(t, s); f.Retry != "3000" || f.HasID || f.Data != "" {
		t.Errorf("first frame %+v, want only retry: 3000", f)
	}
	for i, want := range []struct{ id, event, version string }{
		{"1", "build.completed", "1.0"},
		{"2", "deployment.failed", "1.1"},
	} {
		f := next(t, s)
		if f.ID != want.id || f.Event != want.event || version(t, f) != want.version {
			t.Errorf("frame %d: id %q event %q data %s; want id %q event %q version %q", i, f.ID, f.Event, f.Data, want.id, want.event, want.version)
		}
		// The data is the webhook body of the event.
		var body map[string]any
		_ = json.Unmarshal([]byte(f.Data), &body)
		for _, k := range []string{"id", "deployed_at", "event_type", "environment", "is_successful", "deployer",
			"product_name", "version", "repo_name", "commit_sha", "preflight_status", "source_url"} {
			if _, ok := body[k]; !ok {
				t.Errorf("frame %d data lacks %q: %s", i, k, f.Data)
			}
		}
		if body["event_type"] != want.event || !strings.HasPrefix(fmt.Sprint(body["source_url"]), "https://shiplog.example/") {
			t.Errorf("frame %d data %s", i, f.Data)
		}
	}
}

// No poll: the commit's Notify alone wakes the stream.
func TestStartsAtTheEnd(t *testing.T) {
	t.Parallel()
	fx := setup(t, func(h *Hub, _ *http.Server) { h.Poll = time.Hour })
	fx.emit("build.completed", "old")
	s := fx.open("")
	if f := next(t, s); !f.HasID || f.ID != "1" || f.Data != "" {
		t.Fatalf("first frame %+v, want the end of the stream (id 1) and no data", f)
	}
	fx.emit("build.completed", "new")
	if f := nextEvent(t, s); f.ID != "2" || version(t, f) != "new" {
		t.Errorf("got %s %s, want the new event (2)", f.ID, f.Data)
	}
}

func TestResumeHeaderWinsOverQuery(t *testing.T) {
	t.Parallel()
	fx := setup(t, nil)
	fx.emit("build.completed", "a", "b", "c")
	s := fx.open("?last_event_id=0", "Last-Event-ID", "2")
	if f := nextEvent(t, s); f.ID != "3" || version(t, f) != "c" {
		t.Errorf("got %s %s, want event 3 (after the header's id 2)", f.ID, f.Data)
	}
}

func TestPagesAfterALongGap(t *testing.T) {
	t.Parallel()
	fx := setup(t, func(h *Hub, _ *http.Server) { h.PageSize = 2 })
	var want []string
	for i := range 7 {
		want = append(want, fmt.Sprint(i))
	}
	fx.emit("build.completed", want...)
	s := fx.open("?last_event_id=0")
	for i, v := range want {
		if f := nextEvent(t, s); f.ID != fmt.Sprint(i+1) || version(t, f) != v {
			t.Fatalf("event %d: got %s %s", i, f.ID, f.Data)
		}
	}
}

// Events the filter drops still move the client's resume point, on the
// next heartbeat, so a reconnect does not read them again.
func TestFilterAndHeartbeat(t *testing.T) {
	t.Parallel()
	fx := setup(t, func(h *Hub, _ *http.Server) { h.Heartbeat = 5 * time.Millisecond })
	s := fx.open("?types=deployment.*,version.approved")
	if f := next(t, s); f.ID != "0" {
		t.Fatalf("first frame %+v, want id 0 (an empty log)", f)
	}
	fx.emit("build.completed", "b1", "b2")
	for f := next(t, s); !f.HasID; f = next(t, s) {
		if f.Data != "" || len(f.Comments) != 1 || f.Comments[0] != "heartbeat" {
			t.Fatalf("frame %+v, want a heartbeat", f)
		}
	} // a heartbeat carrying id 2 ended the loop
	fx.emit("build.started", "b3")
	fx.emit("deployment.completed", "d1")
	if f := nextEvent(t, s); f.ID != "4" || f.Event != "deployment.completed" {
		t.Errorf("got %+v, want deployment.completed with id 4", f)
	}
}

func TestBadFilter(t *testing.T) {
	t.Parallel()
	fx := setup(t, nil)
	_, err := ssetest.Open(t.Context(), fx.srv.URL+"/?types=deployment.complete")
	var he *ssetest.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusBadRequest || !strings.Contains(string(he.Body), `"deployment.complete"`) {
		t.Errorf("got %v, want 400 naming the type", err)
	}
}

// The server's ReadTimeout (60 s in the app) must not cut a stream; net/http
// lifts the read deadline while a handler without a body runs.
func TestOutlivesReadTimeout(t *testing.T) {
	t.Parallel()
	fx := setup(t, func(h *Hub, s *http.Server) {
		h.Heartbeat = 5 * time.Millisecond
		s.ReadTimeout = 20 * time.Millisecond
	})
	s := fx.open("")
	// 40 heartbeats, 5 ms apart at the soonest: well past the ReadTimeout.
	for range 40 {
		next(t, s)
	}
	fx.emit("build.completed", "late")
	if f := nextEvent(t, s); version(t, f) != "late" {
		t.Errorf("got %s", f.Data)
	}
}

func TestCloseEndsStreams(t *testing.T) {
	t.Parallel()
	fx := setup(t, nil)
	a, b := fx.open(""), fx.open("?last_event_id=0")
	next(t, a)
	next(t, b)
	fx.hub.Close()
	for _, s := range []*ssetest.Stream{a, b} {
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		_, err := s.Next(ctx)
		cancel()
		if err != io.EOF {
			t.Errorf("after Close: %v, want the end of the stream", err)
		}
	}
	c := fx.open("")
	next(t, c)
	if _, err := c.Next(t.Context()); err != io.EOF {
		t.Errorf("a stream opened after Close: %v, want it ended at once", err)
	}
}

// subscribers counts the org's open streams.
func (h *Hub) subscribers(orgID string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.orgs[orgID])
}

func TestDisconnectUnsubscribes(t *testing.T) {
	t.Parallel()
	fx := setup(t, nil)
	s := fx.open("")
	next(t, s)
	if n := fx.hub.subscribers(fx.org.ID); n != 1 {
		t.Fatalf("%d subscribers, want 1", n)
	}
	s.Close()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(time.Minute)
	for fx.hub.subscribers(fx.org.ID) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the stream stayed subscribed after its client left")
		}
		<-tick.C
	}
}

func TestBadLastEventID(t *testing.T) {
	t.Parallel()
	fx := setup(t, nil)
	for _, id := range []string{"abc", "01", "-1", "1.5", "5-1" /* a PostgreSQL id, given to SQLite */, strings.Repeat("9", 100)} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Last-Event-ID", id)
		w := httptest.NewRecorder()
		err := fx.hub.Serve(w, r, fx.org.ID, LastEventID(r), Filter{})
		if shiplog.ErrorCode(err) != shiplog.EINVALID || !strings.Contains(shiplog.ErrorMessage(err), `"`+id[:min(len(id), 64)]) {
			t.Errorf("id %q: got %v, want invalid naming the id", id, err)
		}
		if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
			t.Errorf("id %q: Serve wrote %q before failing", id, w.Body.String())
		}
	}
}

// On PostgreSQL an event committed while an older shiplog write transaction
// runs (another replica's) is held back (pending). With no poll, the stream still gets it once that
// transaction ends: by its short retry when nothing in this process
// commits, or at once when another org's commit here wakes it.
func TestHeldBackEventsArrive(t *testing.T) {
	t.Parallel()
	for _, wakeBy := range []string{"retry", "other org's commit"} {
		t.Run(wakeBy, func(t *testing.T) {
			t.Parallel()
			url := pgtest.URL(t)
			st, err := postgres.Open(t.Context(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			fx := newFixture(t, st, func(h *Hub, _ *http.Server) { h.Poll = time.Hour })
			s := fx.open("")
			next(t, s)

			// An open transaction that has taken a transaction id.
			db, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			old, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Rollback()
			// Another replica's write transaction: a writer of this schema.
			if err := sqlstore.MarkWriter(t.Context(), old); err != nil {
				t.Fatal(err)
			}
			if _, err := old.ExecContext(t.Context(), "SELECT pg_current_xact_id()"); err != nil {
				t.Fatal(err)
			}
			fx.emit("build.completed", "held")
			// Until old ends, the event is held back whatever wakes the stream.
			page, err := st.EventStream(t.Context(), fx.org.ID, store.Cursor{}, 10)
			if err != nil || len(page.Events) != 0 || !page.Pending {
				t.Fatalf("with an older transaction open: %v, %v; want no events, pending", page, err)
			}
			if err := old.Commit(); err != nil {
				t.Fatal(err)
			}
			if wakeBy != "retry" {
				fx.hub.Notify(shiplog.NewID())
			}
			if f := nextEvent(t, s); version(t, f) != "held" {
				t.Errorf("got %s", f.Data)
			}
		})
	}
}

// An org's open streams are bounded; other orgs are not affected, and a
// closed stream frees its place.
func TestStreamsPerOrgBounded(t *testing.T) {
	t.Parallel()
	fx := setup(t, func(h *Hub, _ *http.Server) { h.MaxPerOrg = 2 })
	a := fx.open("")
	next(t, a)
	next(t, fx.open(""))
	_, err := ssetest.Open(t.Context(), fx.srv.URL+"/")
	var he *ssetest.HTTPError
	if !errors.As(err, &he) || !strings.Contains(string(he.Body), "Too many open event streams") {
		t.Fatalf("third stream: got %v, want refused", err)
	}
	if other, err := fx.hub.subscribe("another-org"); err != nil {
		t.Errorf("another org refused: %v", err)
	} else {
		fx.hub.unsubscribe(other)
	}
	a.Close()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for fx.hub.subscribers(fx.org.ID) != 1 {
		<-tick.C
	}
	next(t, fx.open(""))
}
