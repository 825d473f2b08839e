package httpapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/httpobs"
	"github.com/shiplog/shiplog/internal/reqid"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// TestHandlerLogLinesCarryRequestID: a handler's own log line (readiness
// failing on a closed database) and the access line both carry the id.
func TestHandlerLogLinesCarryRequestID(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close() // readiness fails, and says so in the log
	var logs syncBuffer
	var mu sync.Mutex
	var recs []httpobs.Record
	s := &httpapi.Server{Store: st, Log: slog.New(reqid.LogHandler(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		ObserveHTTP: func(r httpobs.Record) {
			mu.Lock()
			recs = append(recs, r)
			mu.Unlock()
		}}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/readyz", nil)
	req.Header.Set(reqid.Header, "probe-1")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get(reqid.Header) != "probe-1" {
		t.Fatalf("GET /readyz: %d %v", res.StatusCode, res.Header)
	}
	msgs := map[string]bool{}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	mu.Lock()
	defer mu.Unlock()
	sc := bufio.NewScanner(bytes.NewReader(logs.b.Bytes()))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l["request_id"] != "probe-1" {
			t.Errorf("line without the request id: %s", sc.Text())
		}
		msgs[l["msg"].(string)] = true
	}
	if !msgs["readiness check failed"] || !msgs["http request"] {
		t.Errorf("log lines: %v", msgs)
	}
	if len(recs) != 1 || recs[0].Route != "/readyz" || recs[0].Status != 503 {
		t.Errorf("observed %+v", recs)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	t.Parallel()
	scrape := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("up 1\n")) })
	tests := []struct {
		name    string
		metrics http.Handler
		token   string
		auth    string
		want    int
	}{
		{"disabled", nil, "", "", http.StatusNotFound},
		{"open", scrape, "", "", http.StatusOK},
		{"open ignores credentials", scrape, "", "Bearer whatever", http.StatusOK},
		{"token missing", scrape, "t0k", "", http.StatusUnauthorized},
		{"token wrong", scrape, "t0k", "Bearer t0K", http.StatusUnauthorized},
		{"token without Bearer", scrape, "t0k", "t0k", http.StatusUnauthorized},
		{"token right", scrape, "t0k", "Bearer t0k", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := (&httpapi.Server{Metrics: tt.metrics, MetricsToken: tt.token, Log: slog.New(slog.DiscardHandler)}).Handler()
			req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("%d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want != http.StatusOK {
				var e struct{ Detail string }
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Detail == "" {
					t.Errorf("error body %s", rec.Body)
				}
			}
		})
	}
}
