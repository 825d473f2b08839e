package metrics_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/httpobs"
	"github.com/shiplog/shiplog/internal/metrics"
	_ "github.com/shiplog/shiplog/internal/notify/kinds" // the channel kinds
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/store/storetest"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// scrape serves one scrape of m and parses it.
func scrape(t *testing.T, m *metrics.Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse scrape: %v", err)
	}
	return fams
}

// find returns the metric of fam whose labels are exactly labels, or nil.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	fam := fams[name]
	if fam == nil {
		return nil
	}
	for _, m := range fam.Metric {
		if len(m.Label)*2 != len(labels) {
			continue
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.Label {
				found = found || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			match = match && found
		}
		if match {
			return m
		}
	}
	return nil
}

func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m := find(fams, name, labels...)
	switch {
	case m == nil:
		return -1
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -2
}

func TestHooks(t *testing.T) {
	t.Parallel()
	m := metrics.New(metrics.Options{})
	m.EventRecorded(&shiplog.Event{Type: "deployment.completed"})
	m.EventRecorded(&shiplog.Event{Type: "deployment.completed"})
	m.EventRecorded(&shiplog.Event{Type: "build.failed"})
	for _, a := range []delivery.Attempted{
		{Kind: "webhook", Outcome: "retry", Sent: true, Took: 20 * time.Millisecond},
		{Kind: "webhook", Outcome: "succeeded", Sent: true, Took: 10 * time.Millisecond, Latency: 3 * time.Second},
		{Kind: "slack", Outcome: "failed", Sent: true, Took: time.Second},
		{Kind: "email", Outcome: "failed"},                                          // not sent: SMTP not configured
		{Kind: "webhook", Outcome: "cancelled"},                                     // channel disabled
		{Kind: "webhook", Outcome: "succeeded", Sent: true, Test: true, Latency: 1}, // the Test button: ignored
	} {
		m.DeliveryAttempted(a)
	}
	m.HTTPRequest(httpobs.Record{Method: "GET", Route: "/builds/{id}", Status: 200, Duration: time.Millisecond})
	m.HTTPRequest(httpobs.Record{Method: "GET", Route: "/builds/{id}", Status: 200, Duration: 2 * time.Millisecond})
	m.HTTPRequest(httpobs.Record{Method: "POST", Route: "/deployment-events", Status: 400})

	fams := scrape(t, m)
	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"shiplog_events_ingested_total", []string{"type", "deployment.completed"}, 2},
		{"shiplog_events_ingested_total", []string{"type", "build.failed"}, 1},
		{"shiplog_delivery_attempts_total", []string{"kind", "webhook", "outcome", "retry"}, 1},
		{"shiplog_delivery_attempts_total", []string{"kind", "webhook", "outcome", "succeeded"}, 1},
		{"shiplog_delivery_attempts_total", []string{"kind", "webhook", "outcome", "cancelled"}, 1},
		{"shiplog_delivery_attempts_total", []string{"kind", "slack", "outcome", "failed"}, 1},
		{"shiplog_delivery_attempts_total", []string{"kind", "email", "outcome", "failed"}, 1},
		{"shiplog_delivery_attempt_duration_seconds", []string{"kind", "webhook"}, 2}, // sent ones only
		{"shiplog_delivery_attempt_duration_seconds", []string{"kind", "email"}, -1},
		{"shiplog_delivery_latency_seconds", []string{"kind", "webhook"}, 1}, // successes only
		{"shiplog_delivery_latency_seconds", []string{"kind", "slack"}, -1},
		{"shiplog_http_request_duration_seconds", []string{"method", "GET", "route", "/builds/{id}", "code", "200"}, 2},
		{"shiplog_http_request_duration_seconds", []string{"method", "POST", "route", "/deployment-events", "code", "400"}, 1},
	}
	for _, tt := range tests {
		if got := value(fams, tt.name, tt.labels...); got != tt.want {
			t.Errorf("%s%v = %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	if h := find(fams, "shiplog_delivery_latency_seconds", "kind", "webhook").Histogram; h.GetSampleSum() != 3 {
		t.Errorf("latency sum %v, want 3 (seconds)", h.GetSampleSum())
	}
	for _, std := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_requests_total"} {
		// The process collector reads /proc: Linux only.
		if fams[std] == nil && (std != "process_start_time_seconds" || runtime.GOOS == "linux") {
			t.Errorf("missing %s", std)
		}
	}
	if fams["shiplog_delivery_queue_depth"] != nil {
		t.Error("queue gauges without a queue reader")
	}
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shiplog.db"), nil, sqlstore.WithCipher(storetest.Cipher))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestQueueGauges(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := fakeclock.New(t0)
	var logs bytes.Buffer
	m := metrics.New(metrics.Options{Queue: st, Clock: clock, Log: slog.New(slog.NewTextHandler(&logs, nil))})

	fams := scrape(t, m)
	for _, k := range []string{"webhook", "slack", "email"} {
		if got := value(fams, "shiplog_delivery_queue_depth", "kind", k); got != 0 {
			t.Errorf("empty queue: depth{%s} = %v", k, got)
		}
	}
	if value(fams, "shiplog_delivery_oldest_pending_seconds") != 0 || value(fams, "shiplog_delivery_queue_depth_saturated") != 0 {
		t.Errorf("empty queue: age %v saturated %v", value(fams, "shiplog_delivery_oldest_pending_seconds"),
			value(fams, "shiplog_delivery_queue_depth_saturated"))
	}

	err := st.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		org, err := tx.OrgCreate(ctx, "acme", t0)
		if err != nil {
			return err
		}
		c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: "webhook", Name: "w", Enabled: true,
			URL: "https://hooks.example.com", Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
		if err := tx.ChannelCreate(ctx, c); err != nil {
			return err
		}
		for _, d := range []struct {
			state shiplog.DeliveryState
			due   time.Duration
		}{{shiplog.DeliveryQueued, -90 * time.Second}, {shiplog.DeliveryQueued, time.Minute},
			{shiplog.DeliverySucceeded, -time.Hour}} {
			if err := tx.DeliveryInsert(ctx, &shiplog.Delivery{ID: shiplog.NewID(), OrgID: org.ID, ChannelID: c.ID,
				ChannelKind: "webhook", EventID: shiplog.NewID(), EventType: "deployment.completed", State: d.state,
				MaxAttempts: 3, NextAttempt: t0.Add(d.due), CreatedAt: t0, UpdatedAt: t0}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		advance time.Duration
		age     float64
	}{
		{0, 90},                 // the queued delivery due 90 s ago
		{30 * time.Second, 120}, // it waits on
	}
	for _, tt := range tests {
		clock.Advance(tt.advance)
		fams = scrape(t, m)
		if got := value(fams, "shiplog_delivery_queue_depth", "kind", "webhook"); got != 2 {
			t.Errorf("depth{webhook} = %v, want 2 (the succeeded one is not queued)", got)
		}
		if got := value(fams, "shiplog_delivery_oldest_pending_seconds"); got != tt.age {
			t.Errorf("oldest pending = %v s, want %v", got, tt.age)
		}
	}

	// A failing read leaves the gauges out; the rest is still served.
	st.Close()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "go_goroutines") ||
		strings.Contains(rec.Body.String(), "shiplog_delivery_oldest_pending_seconds ") {
		t.Errorf("scrape with the store closed: %d\n%s", rec.Code, rec.Body)
	}
	if !strings.Contains(logs.String(), "read delivery queue") {
		t.Errorf("the failure is not logged: %s", logs.String())
	}
}
