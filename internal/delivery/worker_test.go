package delivery_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify"
	_ "github.com/shiplog/shiplog/internal/notify/kinds"
	"github.com/shiplog/shiplog/internal/notify/outbound"
	"github.com/shiplog/shiplog/internal/secrets"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// waitGuard only bounds a wait that should end promptly; tests never sleep.
const waitGuard = 15 * time.Second

// signal wakes waiters whenever something they may be waiting for happened.
type signal struct {
	mu sync.Mutex
	ch chan struct{}
}

func (s *signal) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch == nil {
		s.ch = make(chan struct{})
	}
	return s.ch
}

func (s *signal) bump() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ch != nil {
		close(s.ch)
		s.ch = nil
	}
}

// watchStore signals after every write transaction, so tests can wait for
// the worker to record what it did.
type watchStore struct {
	store.Store
	sig    *signal
	writes atomic.Int64 // write transactions finished, failed ones included
}

func (s *watchStore) Write(ctx context.Context, fn func(ctx context.Context, tx store.Tx) error) error {
	defer s.sig.bump()
	defer s.writes.Add(1)
	return s.Store.Write(ctx, fn)
}

func (s *watchStore) WriteKeyed(ctx context.Context, key string, fn func(ctx context.Context, tx store.Tx) error) error {
	defer s.sig.bump()
	defer s.writes.Add(1)
	return s.Store.WriteKeyed(ctx, key, fn)
}

// harness is one test's worker over a fresh SQLite database.
type harness struct {
	t     *testing.T
	ctx   context.Context
	st    *watchStore
	clock *fakeclock.Clock
	w     *delivery.Worker
	org   *shiplog.Org
	sig   *signal

	// guard replaces waitGuard for tests whose every step is heavy (a
	// 20k-row queue under the race detector); it only bounds a hang.
	guard time.Duration

	mu       sync.Mutex
	notices  []string // reasons passed to Worker.Notice
	polls    int      // poll rounds finished
	lastPoll time.Time
}

// setup starts a worker (fake clock, real SQLite, real HTTP senders allowed
// to reach loopback, no SMTP relay). opts adjust the worker before it starts.
func setup(t *testing.T, opts ...func(*delivery.Worker)) *harness {
	t.Helper()
	ctx := context.Background()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "s.db"), nil, sqlstore.WithCipher(box))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := &harness{t: t, ctx: ctx, clock: fakeclock.New(fakeclock.Epoch), sig: &signal{}}
	h.st = &watchStore{Store: db, sig: h.sig}
	if err := h.st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		h.org, err = tx.OrgCreate(ctx, "acme", h.clock.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	client := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	h.w = &delivery.Worker{
		Store: h.st,
		Clock: h.clock,
		Env:   notify.Env{HTTP: client, Clock: h.clock},
		Notice: func(_ context.Context, orgID string, c *shiplog.Channel, reason string) {
			h.mu.Lock()
			h.notices = append(h.notices, reason)
			h.mu.Unlock()
			h.sig.bump()
		},
		// The poller runs at Start and on Wake only, so tests decide when.
		PollInterval: time.Hour,
		Observe:      func(delivery.Attempted) { h.sig.bump() },
		Polled: func(now time.Time) {
			h.mu.Lock()
			h.polls++
			h.lastPoll = now
			h.mu.Unlock()
			h.sig.bump()
		},
	}
	for _, o := range opts {
		o(h.w)
	}
	h.w.Start()
	t.Cleanup(h.w.Stop)
	return h
}

// eventually waits until cond holds, re-checking after every store write,
// receiver request, notice and timer change.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	guard := time.NewTimer(cmp.Or(h.guard, waitGuard))
	defer guard.Stop()
	for {
		woke, timers := h.sig.wait(), h.clock.Changed()
		if cond() {
			return
		}
		select {
		case <-woke:
		case <-timers:
		case <-guard.C:
			h.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// blockUntil waits until n timers are pending on the fake clock.
func (h *harness) blockUntil(n int) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, waitGuard)
	defer cancel()
	if err := h.clock.BlockUntilContext(ctx, n); err != nil {
		h.t.Fatalf("timed out waiting for %d pending timers (have %d)", n, h.clock.Pending())
	}
}

func (h *harness) noticeCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.notices)
}

// answer is one scripted response.
type answer struct {
	status int
	header map[string]string
	body   string
}

// receiver is an HTTP endpoint answering a script (its last answer repeats)
// and recording what it received.
type receiver struct {
	URL  string
	h    *harness
	mu   sync.Mutex
	hdrs []http.Header
	seen []string // bodies
	plan []answer
}

func (h *harness) receiver(plan ...answer) *receiver {
	r := &receiver{h: h, plan: plan}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		a := r.plan[min(len(r.hdrs), len(r.plan)-1)]
		r.hdrs = append(r.hdrs, req.Header.Clone())
		r.seen = append(r.seen, string(b))
		r.mu.Unlock()
		for k, v := range a.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
		h.sig.bump()
	}))
	r.URL = srv.URL
	// Stop the worker before the receiver goes away (Stop is idempotent).
	h.t.Cleanup(func() { h.w.Stop(); srv.Close() })
	return r
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.hdrs)
}

func (r *receiver) header(i int, name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.hdrs[i].Get(name)
}

func (r *receiver) waitCount(n int) {
	r.h.t.Helper()
	r.h.eventually("the receiver to get request "+strconv.Itoa(n), func() bool { return r.count() >= n })
}

// channel validates c (as the API would) and stores it for the org.
func (h *harness) channel(c *shiplog.Channel) *shiplog.Channel {
	h.t.Helper()
	c.ID, c.OrgID, c.Enabled = shiplog.NewID(), h.org.ID, true
	if c.Name == "" {
		c.Name = string(c.Kind) + " channel"
	}
	if c.Events == nil {
		c.Events = []shiplog.EventType{"deployment.completed"}
	}
	c.CreatedAt, c.UpdatedAt = h.clock.Now(), h.clock.Now()
	if _, err := notify.Validate(c); err != nil {
		h.t.Fatal(err)
	}
	h.write(func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) })
	return c
}

func (h *harness) write(fn func(ctx context.Context, tx store.Tx) error) {
	h.t.Helper()
	if err := h.st.Write(h.ctx, fn); err != nil {
		h.t.Fatal(err)
	}
}

// event returns a deployment.completed event of the org.
func (h *harness) event() *shiplog.Event {
	return &shiplog.Event{ID: shiplog.NewID(), OrgID: h.org.ID, Type: "deployment.completed", Kind: shiplog.KindDeployment,
		SubjectID: shiplog.NewID(), ProductName: "api-gateway", Version: "1.2.3", EnvironmentName: "production",
		EnvironmentType: shiplog.EnvProduction, Status: shiplog.StatusCompleted, Actor: "jane",
		Payload: []byte(`{"deployed_by_name":"Jane Doe"}`), OccurredAt: h.clock.Now()}
}

// publish stores an event and its deliveries in one transaction (the
// outbox), as ingest does, and returns the deliveries, not yet dispatched.
func (h *harness) publish() []*shiplog.Delivery {
	h.t.Helper()
	e := h.event()
	f := &delivery.Fanout{BaseURL: "https://shiplog.example.com/", Clock: h.clock, Lease: delivery.DefaultLease}
	var ds []*shiplog.Delivery
	h.write(func(ctx context.Context, tx store.Tx) error {
		if err := tx.EventInsert(ctx, e); err != nil {
			return err
		}
		var err error
		ds, err = f.Fanout(ctx, tx, e)
		return err
	})
	return ds
}

// publishOne publishes an event that must fan out to exactly one delivery
// and returns its id and max attempts; it is not yet dispatched.
func (h *harness) publishOne() *shiplog.Delivery {
	h.t.Helper()
	ds := h.publish()
	if len(ds) != 1 {
		h.t.Fatalf("fan-out made %d deliveries, want 1", len(ds))
	}
	return ds[0]
}

func (h *harness) delivery(id string) *shiplog.Delivery {
	h.t.Helper()
	d, err := h.st.DeliveryGet(h.ctx, h.org.ID, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}

func (h *harness) attempts(id string) []*shiplog.Attempt {
	h.t.Helper()
	as, err := h.st.AttemptList(h.ctx, h.org.ID, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return as
}

func (h *harness) getChannel(id string) *shiplog.Channel {
	h.t.Helper()
	c, err := h.st.ChannelGet(h.ctx, h.org.ID, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) waitState(id string, want shiplog.DeliveryState) *shiplog.Delivery {
	h.t.Helper()
	var d *shiplog.Delivery
	h.eventually("delivery "+string(want), func() bool {
		d = h.delivery(id)
		return d.State == want
	})
	return d
}

// brief describes a delivery for failure messages, without its payload.
func brief(d *shiplog.Delivery) string {
	return fmt.Sprintf("{state %s, attempts %d/%d, next %v, lease %v, completed %v, last error %q}", d.State, d.Attempts,
		d.MaxAttempts, d.NextAttempt, d.LeaseUntil, d.CompletedAt, d.LastError)
}

func outcomes(as []*shiplog.Attempt) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Outcome)
	}
	return out
}

func (h *harness) at(d time.Duration) time.Time { return fakeclock.Epoch.Add(d) }

// checkNext asserts that exactly one timer is pending, due in want.
func (h *harness) checkNext(want time.Duration) {
	h.t.Helper()
	h.blockUntil(1)
	if n := h.clock.Pending(); n != 1 {
		h.t.Fatalf("%d timers pending, want 1", n)
	}
	if got, _ := h.clock.Next(); got != want {
		h.t.Fatalf("next attempt scheduled in %v, want %v", got, want)
	}
}

func TestWorkerRetryTiming(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 500}, answer{status: 500}, answer{status: 200})
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL, Secret: "s3cret"})
	d := h.publishOne()
	id := d.ID
	if d.MaxAttempts != 3 {
		t.Fatalf("MaxAttempts = %d, want 3 (the seed's 3 attempts)", d.MaxAttempts)
	}
	h.w.Dispatch([]*shiplog.Delivery{d})

	rx.waitCount(1) // attempt 1 at once
	h.checkNext(time.Second)
	h.clock.Advance(999 * time.Millisecond)
	if n := rx.count(); n != 1 {
		t.Fatalf("receiver got %d requests 999ms after the first failure, want 1", n)
	}
	h.clock.Advance(time.Millisecond)
	rx.waitCount(2)
	h.checkNext(2 * time.Second)
	h.clock.Advance(2*time.Second - time.Millisecond)
	if n := rx.count(); n != 2 {
		t.Fatalf("receiver got %d requests before the 2 s backoff ended, want 2", n)
	}
	h.clock.Advance(time.Millisecond)
	rx.waitCount(3)

	got := h.waitState(id, shiplog.DeliverySucceeded)
	if got.Attempts != 3 || got.LastError != "" || got.CompletedAt == nil || !got.CompletedAt.Equal(h.at(3*time.Second)) {
		t.Errorf("delivery %s", brief(got))
	}
	as := h.attempts(id)
	if want := []string{"retry", "retry", "succeeded"}; !slices.Equal(outcomes(as), want) {
		t.Fatalf("attempt outcomes %v, want %v", outcomes(as), want)
	}
	for i, a := range as {
		wantStart := h.at([]time.Duration{0, time.Second, 3 * time.Second}[i])
		wantStatus := []int{500, 500, 200}[i]
		if a.Number != i+1 || a.StatusCode != wantStatus || !a.StartedAt.Equal(wantStart) {
			t.Errorf("attempt %d: number %d, status %d, started %v; want %d, %d, %v", i, a.Number, a.StatusCode,
				a.StartedAt, i+1, wantStatus, wantStart)
		}
		if i < 2 && a.Error != "HTTP 500 Internal Server Error" {
			t.Errorf("attempt %d error %q", i, a.Error)
		}
	}
	for i := range 3 {
		if got := rx.header(i, "Webhook-Id"); got != id {
			t.Errorf("request %d webhook-id = %q, want the delivery id %q on every attempt", i, got, id)
		}
	}
	if h.clock.Pending() != 0 {
		t.Errorf("%d timers pending after success", h.clock.Pending())
	}
}

func TestWorkerTerminal4xx(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 400, body: `{"error":"bad payload"}`})
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
	d := h.publishOne()
	h.w.Dispatch([]*shiplog.Delivery{d})

	got := h.waitState(d.ID, shiplog.DeliveryFailed)
	if got.Attempts != 1 || got.LastError != "HTTP 400 Bad Request" || got.LeaseUntil != nil {
		t.Errorf("delivery %s", brief(got))
	}
	if n := h.clock.Pending(); n != 0 {
		t.Errorf("%d timers pending after a terminal answer, want none", n)
	}
	if n := rx.count(); n != 1 {
		t.Errorf("receiver got %d requests, want 1", n)
	}
	as := h.attempts(d.ID)
	if len(as) != 1 || as[0].Outcome != "failed" || as[0].StatusCode != 400 || as[0].ResponseBody != `{"error":"bad payload"}` {
		t.Errorf("attempts %+v", as)
	}
	if fs := h.getChannel(c.ID).FailingSince; fs == nil || !fs.Equal(h.at(0)) {
		t.Errorf("FailingSince = %v, want the failure's time", fs)
	}
}

func TestWorkerExhaustedThenRecovers(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 503}, answer{status: 503}, answer{status: 503}, answer{status: 200})
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
	d := h.publishOne()
	h.w.Dispatch([]*shiplog.Delivery{d})

	rx.waitCount(1)
	h.checkNext(time.Second)
	h.clock.Advance(time.Second)
	rx.waitCount(2)
	h.checkNext(2 * time.Second)
	h.clock.Advance(2 * time.Second)
	got := h.waitState(d.ID, shiplog.DeliveryFailed)
	if got.Attempts != 3 || got.LastError != "HTTP 503 Service Unavailable" {
		t.Errorf("delivery %s", brief(got))
	}
	if want := []string{"retry", "retry", "failed"}; !slices.Equal(outcomes(h.attempts(d.ID)), want) {
		t.Errorf("outcomes %v, want %v", outcomes(h.attempts(d.ID)), want)
	}
	if n := h.clock.Pending(); n != 0 {
		t.Errorf("%d timers pending after the last attempt", n)
	}
	ch := h.getChannel(c.ID)
	if ch.FailingSince == nil || !ch.FailingSince.Equal(h.at(3*time.Second)) || !ch.Enabled {
		t.Fatalf("channel after exhausted retries: failing since %v, enabled %v", ch.FailingSince, ch.Enabled)
	}

	// A later success clears it.
	d2 := h.publishOne()
	h.w.Dispatch([]*shiplog.Delivery{d2})
	h.waitState(d2.ID, shiplog.DeliverySucceeded)
	h.eventually("failing_since cleared", func() bool { return h.getChannel(c.ID).FailingSince == nil })
}

func TestWorkerRetryAfter(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 429, header: map[string]string{"Retry-After": "7"}}, answer{status: 200})
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
	d := h.publishOne()
	h.w.Dispatch([]*shiplog.Delivery{d})

	rx.waitCount(1)
	h.checkNext(7 * time.Second)
	h.clock.Advance(time.Second) // the schedule's 1 s is not enough
	if n := rx.count(); n != 1 {
		t.Fatalf("retried after 1 s despite Retry-After: 7 (%d requests)", n)
	}
	h.clock.Advance(6 * time.Second)
	rx.waitCount(2)
	h.waitState(d.ID, shiplog.DeliverySucceeded)
	as := h.attempts(d.ID)
	if len(as) != 2 || as[0].StatusCode != 429 || as[0].ResponseHeaders["Retry-After"] != "7" || as[1].StartedAt.Sub(as[0].StartedAt) != 7*time.Second {
		t.Errorf("attempts %+v", as)
	}
}

func TestWorkerCustomSchedule(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 500})
	sched := []time.Duration{5 * time.Second, 5 * time.Minute}
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL, RetrySchedule: sched})
	if got := h.getChannel(c.ID).RetrySchedule; !slices.Equal(got, sched) {
		t.Fatalf("stored schedule %v, want %v", got, sched)
	}
	d := h.publishOne()
	if d.MaxAttempts != len(sched)+1 {
		t.Fatalf("MaxAttempts = %d, want %d", d.MaxAttempts, len(sched)+1)
	}
	h.w.Dispatch([]*shiplog.Delivery{d})

	rx.waitCount(1)
	h.checkNext(5 * time.Second)
	h.clock.Advance(5*time.Second - time.Millisecond)
	if rx.count() != 1 {
		t.Fatal("retried before the channel's 5 s")
	}
	h.clock.Advance(time.Millisecond)
	rx.waitCount(2)
	h.checkNext(5 * time.Minute)
	if q := h.delivery(d.ID); q.LeaseUntil == nil || !q.LeaseUntil.After(q.NextAttempt) {
		t.Errorf("lease %v does not outlast the next attempt %v", q.LeaseUntil, q.NextAttempt)
	}
	h.clock.Advance(5 * time.Minute)
	rx.waitCount(3)
	got := h.waitState(d.ID, shiplog.DeliveryFailed)
	if got.Attempts != 3 || h.clock.Pending() != 0 {
		t.Errorf("delivery %s, %d timers pending", brief(got), h.clock.Pending())
	}
}
