package httpobs_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/shiplog/shiplog/internal/httpobs"
	"github.com/shiplog/shiplog/internal/reqid"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	tests := []struct{ pattern, want string }{
		{"", "unmatched"},
		{"/", "/"},
		{"GET /builds/{id}", "/builds/{id}"},
		{"POST /deployment-events/{$}", "/deployment-events"},
		{"POST /deployment-events", "/deployment-events"},
		{"GET /{$}", "/{$}"},
		{"/static/", "/static/"},
		{"GET  /spaced", "/spaced"},
	}
	for _, tt := range tests {
		if got := httpobs.Route(tt.pattern); got != tt.want {
			t.Errorf("Route(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestMethod(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"GET": "GET", "PATCH": "PATCH", "get": "OTHER", "BREW": "OTHER", "": "OTHER"} {
		if got := httpobs.Method(in); got != want {
			t.Errorf("Method(%q) = %q, want %q", in, got, want)
		}
	}
}

// lockedBuffer is a log sink the server's goroutines share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "item "+r.PathValue("id")) })
	mux.HandleFunc("POST /items/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: 1\n\n")
		w.(http.Flusher).Flush() // handlers that assert Flusher keep working
	})
	mux.HandleFunc("POST /panic", func(w http.ResponseWriter, r *http.Request) { panic(http.ErrAbortHandler) })

	var logs lockedBuffer
	var mu sync.Mutex
	var recs []httpobs.Record
	log := slog.New(reqid.LogHandler(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	srv := httptest.NewServer(reqid.Middleware(httpobs.Middleware(mux, httpobs.Options{Log: log, Quiet: []string{"/healthz"},
		Observe: func(r httpobs.Record) {
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
		}})))
	t.Cleanup(srv.Close)

	tests := []struct {
		method, path string
		want         httpobs.Record
		logged       bool
	}{
		{"GET", "/items/42?token=secret", httpobs.Record{Method: "GET", Route: "/items/{id}", Path: "/items/42", Status: 200, Bytes: 7}, true},
		{"POST", "/items/", httpobs.Record{Method: "POST", Route: "/items", Path: "/items/", Status: 201, Bytes: 4}, true},
		{"GET", "/nowhere", httpobs.Record{Method: "GET", Route: "unmatched", Path: "/nowhere", Status: 404, Bytes: 19}, true},
		{"BREW", "/items/1", httpobs.Record{Method: "OTHER", Route: "unmatched", Path: "/items/1", Status: 405, Bytes: 19}, true},
		{"GET", "/healthz", httpobs.Record{Method: "GET", Route: "/healthz", Path: "/healthz", Status: 200}, false},
		{"GET", "/stream", httpobs.Record{Method: "GET", Route: "/stream", Path: "/stream", Status: 200, Bytes: 9}, true},
		// POST: the client does not retry it on the dropped connection.
		{"POST", "/panic", httpobs.Record{Method: "POST", Route: "/panic", Path: "/panic", Status: 500}, true},
	}
	ids := map[string]string{} // path → X-Request-Id answered
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer sk_acme_k1_topsecret")
		res, err := srv.Client().Do(req)
		if tt.path == "/panic" {
			if err == nil {
				res.Body.Close()
			}
			continue // the connection is dropped; the record says 500
		}
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		ids[tt.want.Path] = res.Header.Get(reqid.Header)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recs) != len(tests) {
		t.Fatalf("%d records for %d requests: %+v", len(recs), len(tests), recs)
	}
	for i, tt := range tests {
		got := recs[i]
		got.Duration = 0
		if got != tt.want {
			t.Errorf("%s %s: record %+v, want %+v", tt.method, tt.path, got, tt.want)
		}
	}
	lines := logs.lines(t)
	n := 0
	for _, tt := range tests {
		if !tt.logged {
			continue
		}
		if n >= len(lines) {
			t.Fatalf("missing log line for %s %s; lines: %v", tt.method, tt.path, lines)
		}
		l := lines[n]
		n++
		if l["msg"] != "http request" || l["route"] != tt.want.Route || l["path"] != tt.want.Path ||
			l["status"] != float64(tt.want.Status) || l["bytes"] != float64(tt.want.Bytes) || l["duration_ms"] == nil {
			t.Errorf("log line %v, want %+v", l, tt.want)
		}
		if id, ok := ids[tt.want.Path]; ok && l["request_id"] != id {
			t.Errorf("log line request_id %v, response X-Request-Id %q", l["request_id"], id)
		}
	}
	if n != len(lines) {
		t.Errorf("%d log lines, want %d (the health check at Debug): %v", len(lines), n, lines)
	}
	all := logs.b.String()
	if strings.Contains(all, "topsecret") || strings.Contains(all, "token=") {
		t.Errorf("credentials or query strings logged: %s", all)
	}
}

// FuzzRoute: any pattern gives a non-empty label without the method, and
// the label is stable (labelling a label changes nothing but twins).
func FuzzRoute(f *testing.F) {
	for _, s := range []string{"", "/", "GET /x/{$}", "POST /a/{id}/b", "host.example/x", "GET  /y", "{$}", " /"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		got := httpobs.Route(pattern)
		if got == "" {
			t.Fatalf("Route(%q) is empty", pattern)
		}
		if strings.HasSuffix(got, "/{$}") && got != "/{$}" {
			t.Fatalf("Route(%q) = %q keeps the /{$} twin", pattern, got)
		}
		if strings.HasPrefix(pattern, "GET /") && !strings.HasPrefix(got, "/") {
			t.Fatalf("Route(%q) = %q keeps the method", pattern, got)
		}
	})
}
