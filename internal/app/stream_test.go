package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/ssetest"
)

// sse is one client connection to GET /events/stream.
type sse struct {
	t *testing.T
	*ssetest.Stream
}

// stream connects to /events/stream with key and the given headers.
func (s *server) stream(key, query string, header ...string) *sse {
	s.t.Helper()
	st, err := ssetest.Open(s.t.Context(), s.url+"/events/stream"+query, append([]string{"Authorization", "Bearer " + key}, header...)...)
	if err != nil {
		s.t.Fatalf("open stream: %v", err)
	}
	s.t.Cleanup(st.Close)
	return &sse{t: s.t, Stream: st}
}

// frame returns the next frame; two minutes without one fails the test (a
// guard against hangs).
func (c *sse) frame() ssetest.Frame {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Minute)
	defer cancel()
	f, err := c.Next(ctx)
	if err != nil {
		c.t.Fatalf("stream: %v", err)
	}
	return f
}

// streamed is an event frame, decoded.
type streamed struct {
	id, event, version, product string
}

// event returns the next frame that carries an event.
func (c *sse) event() streamed {
	c.t.Helper()
	for {
		f := c.frame()
		if f.Data == "" {
			continue
		}
		var body struct {
			Version     string `json:"version"`
			ProductName string `json:"product_name"`
			DRName      string `json:"dr_name"`
		}
		if err := json.Unmarshal([]byte(f.Data), &body); err != nil {
			c.t.Fatalf("frame data is not JSON: %q", f.Data)
		}
		return streamed{id: f.ID, event: f.Event, version: body.Version + body.DRName, product: body.ProductName}
	}
}

// events reads n event frames and returns their versions.
func (c *sse) events(n int) ([]string, string) {
	c.t.Helper()
	var versions []string
	last := ""
	for range n {
		e := c.event()
		versions = append(versions, e.version)
		last = e.id
	}
	return versions, last
}

func after(t *testing.T, a, b string) bool {
	t.Helper()
	ca, err := store.ParseCursor(a)
	if err != nil {
		t.Fatalf("event id %q: %v", a, err)
	}
	cb, err := store.ParseCursor(b)
	if err != nil {
		t.Fatalf("event id %q: %v", b, err)
	}
	return ca.Tx > cb.Tx || ca.Tx == cb.Tx && ca.Seq > cb.Seq
}

// A client reads, disconnects, and on reconnecting with Last-Event-ID gets
// exactly the events it missed, in order, then the live ones.
func TestStreamResume(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		dev := s.user("acme", "dev@example.com", "Dee Dev", "developer")
		c := s.stream(key, "")
		if f := c.frame(); f.Retry == "" || !f.HasID || f.Data != "" {
			t.Fatalf("first frame %+v: want retry and the id of the end of the stream", f)
		}
		mustOK(t, s.post("/deployment-events", key, dep("api", "v1", "production", "started")))
		mustOK(t, s.post("/build-events", key, build("api", "v2", "success")))
		got, last := c.events(2)
		if strings.Join(got, ",") != "v1,v2" {
			t.Fatalf("live events %v", got)
		}
		c.Close()

		// Missed while away: two deployment events and a governance event
		// (written by the approval service, not ingest).
		mustOK(t, s.post("/deployment-events", key, dep("api", "v3", "staging", "success")))
		if r := s.post("/deployment-requests", dev, map[string]any{"name": "v4", "environment_names": []string{"production"}}); r.status != 201 {
			t.Fatalf("create DR: %d %s", r.status, r.body)
		}
		mustOK(t, s.post("/deployment-events", key, dep("api", "v5", "staging", "failed")))

		c = s.stream(key, "", "Last-Event-ID", last)
		want := []streamed{{event: "deployment.completed", version: "v3"}, {event: "dr.created", version: "v4"},
			{event: "deployment.failed", version: "v5"}}
		prev := last
		for i, w := range want {
			e := c.event()
			if e.event != w.event || e.version != w.version {
				t.Fatalf("missed event %d: got %s %s, want %s %s", i, e.event, e.version, w.event, w.version)
			}
			if !after(t, e.id, prev) {
				t.Errorf("event id %s does not follow %s", e.id, prev)
			}
			prev = e.id
		}
		// Nothing repeated: the next event is the next one posted.
		mustOK(t, s.post("/build-events", key, build("api", "v6", "started")))
		if e := c.event(); e.version != "v6" || e.event != "build.started" {
			t.Errorf("after the missed events: %s %s, want build.started v6", e.event, e.version)
		}
	})
}

func TestStreamOrgIsolation(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		a, b := s.org("a"), s.org("b")
		pat := s.user("a", "viewer@example.com", "Vi Ewer", "viewer") // a person's token works too
		ca, cb, cp := s.stream(a, ""), s.stream(b, "?last_event_id=0"), s.stream(pat, "")
		ca.frame()
		cp.frame()
		mustOK(t, s.post("/build-events", b, build("api", "b-only", "started")))
		mustOK(t, s.post("/build-events", a, build("api", "a-only", "started")))
		for _, c := range []*sse{ca, cp} {
			if e := c.event(); e.version != "a-only" {
				t.Errorf("org a's stream got %s", e.version)
			}
		}
		if e := cb.event(); e.version != "b-only" {
			t.Errorf("org b's stream got %s", e.version)
		}
	})
}

func TestStreamRefusals(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		// Each driver issues one form of id; the other is as bad as junk.
		foreign := "7-1"
		if s.app.Store.Driver() == "postgres" {
			foreign = "7"
		}
		for _, c := range []struct {
			name, key, query string
			header           []string
			status           int
			detail           string
		}{
			{"no credentials", "", "", nil, 401, ""},
			{"bad key", "sl_nope", "", nil, 401, ""},
			{"junk id", key, "", []string{"Last-Event-ID", "yesterday"}, 400, `"yesterday"`},
			{"junk id in the query", key, "?last_event_id=-3", nil, 400, `"-3"`},
			{"the other driver's id", key, "", []string{"Last-Event-ID", foreign}, 400, `"` + foreign + `"`},
			{"unknown type", key, "?types=deploy.*", nil, 400, `"deploy.*"`},
		} {
			hdr := append([]string{"Authorization", "Bearer " + c.key}, c.header...)
			if c.key == "" {
				hdr = c.header
			}
			_, err := ssetest.Open(t.Context(), s.url+"/events/stream/"+c.query, hdr...)
			var he *ssetest.HTTPError
			if !errors.As(err, &he) || he.Status != c.status {
				t.Errorf("%s: got %v, want status %d", c.name, err, c.status)
				continue
			}
			var body struct{ Detail string }
			if json.Unmarshal(he.Body, &body) != nil || body.Detail == "" || !strings.Contains(body.Detail, c.detail) {
				t.Errorf("%s: body %s, want a detail containing %s", c.name, he.Body, c.detail)
			}
		}
	})
}

// Shutdown ends open streams at once, so serve exits promptly on SIGTERM
// rather than after the shutdown timeout.
func TestStreamEndsOnShutdown(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		c := s.stream(key, "")
		c.frame()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.stop() // fails the test if Shutdown ran out of time
		}()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		for {
			_, err := c.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("stream after shutdown: %v, want its end", err)
			}
		}
		<-done
	})
}

// Many concurrent posts (on PostgreSQL spread over its concurrent
// committers, where seq order is not commit order) and a reader that keeps
// dropping the connection and resuming: every event arrives exactly once,
// ids only grow, and each writer's events keep their order.
func TestStreamConcurrentResume(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		const writers, each = 6, 25
		s := start(t, db)
		key := s.org("acme")
		c := s.stream(key, "")
		last := c.frame().ID

		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					body := dep(fmt.Sprintf("svc-%d", w), fmt.Sprintf("%d.%d", w, i), "production", "success")
					if r := s.post("/deployment-events", key, body); r.status != http.StatusOK {
						t.Errorf("post: %d %s", r.status, r.body)
					}
				}
			})
		}
		defer wg.Wait()

		seen := map[string]bool{}
		next := make([]int, writers) // each writer's next expected index
		conn := 0
		for ; len(seen) < writers*each; conn++ {
			// Read 1 to 7 events, then reconnect, alternating header and query.
			for range 1 + conn%7 {
				if len(seen) == writers*each {
					break
				}
				e := c.event()
				if !after(t, e.id, last) {
					t.Fatalf("event id %s after %s", e.id, last)
				}
				last = e.id
				if seen[e.version] {
					t.Fatalf("event %s arrived twice", e.version)
				}
				seen[e.version] = true
				var w, i int
				if _, err := fmt.Sscanf(e.version, "%d.%d", &w, &i); err != nil || i != next[w] {
					t.Fatalf("writer %d: got its event %s, want %d.%d", w, e.version, w, next[w])
				}
				next[w]++
			}
			c.Close()
			if conn%2 == 0 {
				c = s.stream(key, "", "Last-Event-ID", last)
			} else {
				c = s.stream(key, "?last_event_id="+last)
			}
		}
		t.Logf("%d events over %d connections", len(seen), conn+1)
	})
}
