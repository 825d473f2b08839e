package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shiplog/shiplog/internal/app"
)

// scrape fetches /metrics and parses it.
func (s *server) scrape(hdr ...string) (map[string]*dto.MetricFamily, string) {
	s.t.Helper()
	r := s.do(http.MethodGet, "/metrics", "", nil, hdr...)
	if r.status != http.StatusOK {
		s.t.Fatalf("GET /metrics: %d %s", r.status, r.body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		s.t.Fatalf("parse /metrics: %v\n%s", err, r.body)
	}
	return fams, string(r.body)
}

// sample is the value of the series of name with exactly these labels: a
// counter's or gauge's value, a histogram's sample count; -1 when absent.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	fam := fams[name]
	if fam == nil {
		return -1
	}
next:
	for _, m := range fam.Metric {
		if len(m.Label)*2 != len(labels) {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return -1
}

// TestMetrics posts events, lets them be delivered to webhook receivers,
// and checks that the scrape moved as docs/metrics.md defines.
func TestMetrics(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme-metrics")
		fast := newReceiver(t, http.StatusServiceUnavailable) // one 503, then 200s
		slow := newReceiver(t, 503, 503, 503)                 // 503s; its next attempt is an hour away
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "fast", "url": fast.URL,
			"events": []string{"deployment.completed"}, "retry_schedule": []string{"1s"}})
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "slow", "url": slow.URL,
			"events": []string{"build.completed"}, "retry_schedule": []string{"1h"}})

		mustOK(t, s.post("/deployment-events/", key, dep("web", "1", "production", "success"), "Idempotency-Key", "run-1"))
		mustOK(t, s.post("/deployment-events/", key, dep("web", "1", "production", "success"), "Idempotency-Key", "run-1")) // replay
		mustOK(t, s.post("/deployment-events/", key, dep("api", "2", "staging", "success")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "3", "staging", "started")))
		mustOK(t, s.post("/build-events/", key, build("api", "3", "completed")))
		if r := s.post("/deployment-events/", key, map[string]any{"product_name": "x"}); r.status != http.StatusBadRequest {
			t.Fatalf("bad event: %d", r.status)
		}
		for range 3 { // 503 + retry + the other deployment
			fast.next(t)
		}
		slow.next(t)

		// The worker records an attempt after the receiver answered: poll.
		var fams map[string]*dto.MetricFamily
		var body string
		deadline := time.Now().Add(30 * time.Second)
		for {
			fams, body = s.scrape()
			if sample(fams, "shiplog_delivery_attempts_total", "kind", "webhook", "outcome", "succeeded") == 2 &&
				sample(fams, "shiplog_delivery_attempts_total", "kind", "webhook", "outcome", "retry") == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("attempts never recorded:\n%s", grep(body, "shiplog_delivery_attempts_total"))
			}
			time.Sleep(20 * time.Millisecond) // polling an API, not synchronising goroutines
		}
		// A scrape collects in parallel: its queue read may predate the
		// commits its counters already count. The worker counts after the
		// commit, so the next scrape's read sees them all.
		fams, body = s.scrape()
		tests := []struct {
			name   string
			labels []string
			want   float64
		}{
			// The replay is not a new event; the refused one was never recorded.
			{"shiplog_events_ingested_total", []string{"type", "deployment.completed"}, 2},
			{"shiplog_events_ingested_total", []string{"type", "deployment.started"}, 1},
			{"shiplog_events_ingested_total", []string{"type", "build.completed"}, 1},
			{"shiplog_delivery_attempts_total", []string{"kind", "webhook", "outcome", "failed"}, -1},
			{"shiplog_delivery_attempt_duration_seconds", []string{"kind", "webhook"}, 4},
			{"shiplog_delivery_latency_seconds", []string{"kind", "webhook"}, 2},
			// The slow receiver's delivery waits an hour for its retry:
			// queued, but not yet due.
			{"shiplog_delivery_queue_depth", []string{"kind", "webhook"}, 1},
			{"shiplog_delivery_queue_depth", []string{"kind", "slack"}, 0},
			{"shiplog_delivery_queue_depth_saturated", nil, 0},
			{"shiplog_delivery_oldest_pending_seconds", nil, 0},
			{"shiplog_http_request_duration_seconds", []string{"method", "POST", "route", "/deployment-events", "code", "200"}, 4},
			{"shiplog_http_request_duration_seconds", []string{"method", "POST", "route", "/deployment-events", "code", "400"}, 1},
			{"shiplog_http_request_duration_seconds", []string{"method", "POST", "route", "/build-events", "code", "200"}, 1},
			{"shiplog_http_request_duration_seconds", []string{"method", "POST", "route", "/notification-channels", "code", "201"}, 2},
		}
		for _, tt := range tests {
			if got := sample(fams, tt.name, tt.labels...); got != tt.want {
				t.Errorf("%s%v = %v, want %v\n%s", tt.name, tt.labels, got, tt.want, grep(body, tt.name))
			}
		}
		// The retried delivery waited at least its 1 s schedule.
		for _, m := range fams["shiplog_delivery_latency_seconds"].Metric {
			if m.Histogram.GetSampleSum() < 1 {
				t.Errorf("latency sum %v s: the retried delivery waited ≥ 1 s", m.Histogram.GetSampleSum())
			}
		}
		// Bounded labels: no org, product, path or id in any series.
		for _, leak := range []string{`"acme-metrics"`, `"web"`, `"api"`, `"production"`, `"/deliveries/0`, `"/builds/0`} {
			for _, line := range strings.Split(body, "\n") {
				if !strings.HasPrefix(line, "#") && strings.Contains(line, leak) {
					t.Errorf("label value %q in %s", leak, line)
				}
			}
		}
		for _, std := range []string{"go_goroutines", "go_memstats_alloc_bytes", "process_cpu_seconds_total"} {
			if fams[std] == nil {
				t.Errorf("no %s", std)
			}
		}
	})
}

// grep returns the lines of a scrape about name, for failure messages.
func grep(body, name string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, name) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestMetricsToken(t *testing.T) {
	t.Parallel()
	s := startWith(t, app.Config{DB: "sqlite://" + filepath.Join(t.TempDir(), "s.db"), MetricsToken: "scrape-s3cret"})
	tests := []struct {
		auth string
		want int
	}{
		{"", http.StatusUnauthorized},
		{"Bearer wrong", http.StatusUnauthorized},
		{"Bearer scrape-s3cre", http.StatusUnauthorized},
		{"scrape-s3cret", http.StatusUnauthorized},
		{"Bearer scrape-s3cret", http.StatusOK},
	}
	for _, tt := range tests {
		var hdr []string
		if tt.auth != "" {
			hdr = []string{"Authorization", tt.auth}
		}
		r := s.do(http.MethodGet, "/metrics", "", nil, hdr...)
		if r.status != tt.want {
			t.Errorf("Authorization %q: %d, want %d", tt.auth, r.status, tt.want)
		}
		if tt.want == http.StatusUnauthorized && (!strings.Contains(r.detail(t), "metrics token") || r.header.Get("WWW-Authenticate") == "") {
			t.Errorf("401 body %s, headers %v", r.body, r.header)
		}
		if tt.want == http.StatusOK && !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
			t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
		}
	}
}

// syncBuffer is a log sink shared with the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestRequestLogs checks the JSON log of a running server: one access
// line per request carrying the id the response carries (a client's own
// valid id kept), health checks only at Debug, and no credentials.
func TestRequestLogs(t *testing.T) {
	t.Parallel()
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		t.Run(level.String(), func(t *testing.T) {
			t.Parallel()
			var logs syncBuffer
			db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
			cfg := app.Config{DB: db, Addr: "127.0.0.1:0", SecretKey: testKey,
				Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: level}))}
			ctx, cancel := context.WithCancel(context.Background())
			a, err := app.Start(ctx, cfg)
			if err != nil {
				cancel()
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() { errc <- a.Serve(ctx) }()
			s := &server{t: t, app: a, db: db, url: a.URL()}
			key := s.org("acme")

			type call struct {
				method, path string
				hdr          []string
				route        string
				status       int
				quiet        bool
			}
			calls := []call{
				{"POST", "/deployment-events/", nil, "/deployment-events", 200, false},
				{"GET", "/deployments/?product_name=web", []string{"X-Request-Id", "ci-run-77:step-3"}, "/deployments", 200, false},
				{"GET", "/builds/0192f0c6-7b1a-7c3e-9d2f-000000000000", nil, "/builds/{id}", 404, false},
				{"GET", "/no-such-thing", []string{"X-Request-Id", "bad id with spaces"}, "/", 404, false},
				{"GET", "/healthz", nil, "/healthz", 200, true},
				{"GET", "/metrics", nil, "/metrics", 200, true},
			}
			ids := make([]string, len(calls))
			for i, c := range calls {
				var body any
				if c.method == "POST" {
					body = dep("web", "1", "prod", "success")
				}
				r := s.do(c.method, c.path, key, body, c.hdr...)
				if r.status != c.status {
					t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
				}
				ids[i] = r.header.Get("X-Request-Id")
				if ids[i] == "" {
					t.Fatalf("%s %s: no X-Request-Id", c.method, c.path)
				}
			}
			if ids[1] != "ci-run-77:step-3" || ids[3] == "bad id with spaces" {
				t.Errorf("client ids: kept %q, replaced %q", ids[1], ids[3])
			}
			cancel()
			if err := <-errc; err != nil {
				t.Fatal(err)
			}

			var access []map[string]any
			sc := bufio.NewScanner(strings.NewReader(logs.String()))
			for sc.Scan() {
				var l map[string]any
				if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
					t.Fatalf("not a JSON log line: %s", sc.Text())
				}
				if l["msg"] == "http request" {
					access = append(access, l)
				}
				if l["path"] != nil && l["request_id"] == nil {
					t.Errorf("a request's log line without request_id: %s", sc.Text())
				}
			}
			var want []int
			for i, c := range calls {
				if !c.quiet || level == slog.LevelDebug {
					want = append(want, i)
				}
			}
			if len(access) != len(want) {
				t.Fatalf("%d access lines, want %d:\n%s", len(access), len(want), logs.String())
			}
			for j, i := range want {
				l, c := access[j], calls[i]
				if l["request_id"] != ids[i] || l["method"] != c.method || l["route"] != c.route ||
					l["status"] != float64(c.status) || l["bytes"] == nil || l["duration_ms"] == nil {
					t.Errorf("access line %v\nwant id %s, %s %s %d", l, ids[i], c.method, c.route, c.status)
				}
				if wantLevel := map[bool]string{true: "DEBUG", false: "INFO"}[c.quiet]; l["level"] != wantLevel {
					t.Errorf("%s logged at %v, want %s", c.path, l["level"], wantLevel)
				}
			}
			secret := key[strings.LastIndexByte(key, '_')+1:]
			if all := logs.String(); strings.Contains(all, secret) || strings.Contains(all, "Bearer") ||
				strings.Contains(all, "product_name=web") {
				t.Errorf("credentials or query strings in the log:\n%s", all)
			}
		})
	}
}
