// Package metrics is shiplog's Prometheus instrumentation: its own
// registry (no global state), the Go and process collectors, counters and
// histograms fed by hooks that ingest, the delivery worker and the HTTP
// layer call, and queue gauges read from the store at scrape time.
//
// No label carries an org, a channel, a product or an id: label values come
// from small fixed sets (event types, channel kinds, outcomes, methods,
// route patterns, status codes), so the series count stays bounded.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/httpobs"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/store"
)

const namespace = "shiplog"

// Bucket bounds, in seconds.
var (
	// HTTPBuckets spans a cached read (~1 ms) to a slow group commit.
	HTTPBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	// AttemptBuckets spans one send, up to the 10 s attempt timeout.
	AttemptBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	// LatencyBuckets spans a first-attempt success (milliseconds) to one
	// after retries or a receiver's Retry-After (up to an hour).
	LatencyBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
)

// Metrics holds the collectors. Its methods are safe for concurrent use
// and match the hooks they are wired to (ingest.Service.Recorded,
// delivery.Worker.Observe, httpobs.Options.Observe).
type Metrics struct {
	reg        *prometheus.Registry
	events     *prometheus.CounterVec
	attempts   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	attemptDur *prometheus.HistogramVec
	http       *prometheus.HistogramVec
	log        *slog.Logger
}

// Options configure New.
type Options struct {
	// Queue reads the outbox at scrape time; nil leaves the queue gauges out.
	Queue store.MetricsReader
	// Clock dates the queue's age gauge (the delivery worker's clock).
	Clock shiplog.Clock
	Log   *slog.Logger
}

// New registers every collector on a new registry.
func New(o Options) *Metrics {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = shiplog.SystemClock{}
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		log: o.Log,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "events_ingested_total",
			Help: "Deployment and build events recorded (committed), by event type. Idempotent replays are not counted."},
			[]string{"type"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "delivery_attempts_total",
			Help: "Notification delivery attempts finished, by channel kind and outcome (succeeded, retry, failed, cancelled). " +
				"succeeded + failed + cancelled counts deliveries finished by the worker; retry counts attempts that will be retried."},
			[]string{"kind", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "delivery_latency_seconds",
			Help:    "From a delivery's creation (its event's commit) to its successful attempt, retries included, by channel kind.",
			Buckets: LatencyBuckets}, []string{"kind"}),
		attemptDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "delivery_attempt_duration_seconds",
			Help:    "Duration of one send to a receiver (HTTP request or SMTP session), whatever its outcome, by channel kind.",
			Buckets: AttemptBuckets}, []string{"kind"}),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "http_request_duration_seconds",
			Help:    "HTTP requests served, by method, route pattern and status code.",
			Buckets: HTTPBuckets}, []string{"method", "route", "code"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.events, m.attempts, m.latency, m.attemptDur, m.http,
	)
	if o.Queue != nil {
		m.reg.MustRegister(&queueCollector{st: o.Queue, clock: o.Clock, log: o.Log})
	}
	return m
}

// Gatherer is the registry, for tests and for adding collectors.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Handler serves the registry in the Prometheus exposition formats. A
// collector that fails (the database is down) is logged and left out; the
// rest is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.InstrumentMetricHandler(m.reg, promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:            slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            m.reg,
		Timeout:             30 * time.Second,
		MaxRequestsInFlight: 4,
	}))
}

// EventRecorded counts a committed event.
func (m *Metrics) EventRecorded(e *shiplog.Event) {
	m.events.WithLabelValues(string(e.Type)).Inc()
}

// DeliveryAttempted records a finished attempt. The Test button's sends
// are left out: they have no event, and nobody's notification waited.
func (m *Metrics) DeliveryAttempted(a delivery.Attempted) {
	if a.Test {
		return
	}
	kind := string(a.Kind)
	m.attempts.WithLabelValues(kind, a.Outcome).Inc()
	if a.Sent {
		m.attemptDur.WithLabelValues(kind).Observe(a.Took.Seconds())
	}
	if a.Outcome == "succeeded" && a.Latency >= 0 {
		m.latency.WithLabelValues(kind).Observe(a.Latency.Seconds())
	}
}

// HTTPRequest records a served request.
func (m *Metrics) HTTPRequest(r httpobs.Record) {
	m.http.WithLabelValues(r.Method, r.Route, strconv.Itoa(r.Status)).Observe(r.Duration.Seconds())
}

// QueueScanLimit bounds the queued deliveries a scrape counts: tens of
// milliseconds at the limit on either database, under a millisecond for a
// normal queue (docs/metrics.md). Past it the depth saturates, and the age
// gauge still tells how far behind delivery is.
const QueueScanLimit = 10_000

// queueTimeout bounds the store read of one scrape.
const queueTimeout = 5 * time.Second

// queueCollector reads the outbox when scraped.
type queueCollector struct {
	st    store.MetricsReader
	clock shiplog.Clock
	log   *slog.Logger
}

var (
	depthDesc = prometheus.NewDesc(namespace+"_delivery_queue_depth",
		"Deliveries queued (due now or waiting for a retry), by channel kind. Counts at most "+
			strconv.Itoa(QueueScanLimit)+" in all; shiplog_delivery_queue_depth_saturated is 1 when there are more.", []string{"kind"}, nil)
	saturatedDesc = prometheus.NewDesc(namespace+"_delivery_queue_depth_saturated",
		"1 when more deliveries are queued than the depth gauge counts, else 0.", nil, nil)
	oldestDesc = prometheus.NewDesc(namespace+"_delivery_oldest_pending_seconds",
		"How long the longest-waiting due delivery has been due (0 when none is due): the delivery backlog's age.", nil, nil)
)

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- depthDesc
	ch <- saturatedDesc
	ch <- oldestDesc
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueTimeout)
	defer cancel()
	st, err := c.st.DeliveryQueueStats(ctx, QueueScanLimit)
	if err != nil {
		c.log.Warn("metrics: read delivery queue", "err", err)
		ch <- prometheus.NewInvalidMetric(depthDesc, err)
		return
	}
	// Every kind, zeros included, so a series does not vanish when empty.
	depth := map[shiplog.ChannelKind]int{}
	for _, k := range notify.KindNames() {
		depth[k] = 0
	}
	for k, n := range st.Queued {
		depth[k] = n
	}
	for k, n := range depth {
		ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(n), string(k))
	}
	saturated := 0.0
	if st.Truncated {
		saturated = 1
	}
	ch <- prometheus.MustNewConstMetric(saturatedDesc, prometheus.GaugeValue, saturated)
	age := 0.0
	if st.OldestDue != nil {
		age = max(0, c.clock.Now().Sub(*st.OldestDue).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
