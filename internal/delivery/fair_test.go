package delivery_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
	"github.com/shiplog/shiplog/internal/store"
)

// Receivers that misbehave, on loopback, against the scheduler: every test
// is named after the defect it pins (issue 13) and asserts by counting and
// ordering, never by timing.

// pollNow wakes the poller and waits for a poll round that started at the
// clock's current time or later.
func (h *harness) pollNow() {
	h.t.Helper()
	now := h.clock.Now()
	h.mu.Lock()
	n := h.polls
	h.mu.Unlock()
	h.w.Wake()
	h.eventually("a poll round", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.polls > n && !h.lastPoll.Before(now)
	})
}

// slowSends makes attempts time out after d of real time (the lease is
// measured on the fake clock, which the tests move on their own).
func slowSends(d time.Duration) func(*delivery.Worker) {
	return func(w *delivery.Worker) {
		w.Timeout = d
		client := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: d})
		w.Env.HTTP = client
	}
}

// gate is a receiver that holds every request until released, then
// answers 200: a hanging receiver, or a slow one once released.
type gate struct {
	URL      string
	h        *harness
	open     chan struct{}
	once     sync.Once
	mu       sync.Mutex
	arrived  []string // webhook-id of each request, in arrival order
	answered int
}

func (h *harness) gate() *gate {
	g := &gate{h: h, open: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.arrived = append(g.arrived, r.Header.Get("Webhook-Id"))
		g.mu.Unlock()
		h.sig.bump()
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
		g.mu.Lock()
		g.answered++
		g.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	g.URL = srv.URL
	h.t.Cleanup(func() { g.release(); h.w.Stop(); srv.Close() })
	return g
}

func (g *gate) release() { g.once.Do(func() { close(g.open) }) }

func (g *gate) counts() (arrived, answered int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.arrived), g.answered
}

func (g *gate) waitArrived(n int) {
	g.h.t.Helper()
	g.h.eventually(fmt.Sprintf("%d requests at the gate", n), func() bool { a, _ := g.counts(); return a >= n })
}

// orgChannel stores a webhook channel of another org.
func (h *harness) orgChannel(orgID, url string) *shiplog.Channel {
	h.t.Helper()
	c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: orgID, Kind: shiplog.ChannelWebhook, Name: "hook " + url, Enabled: true,
		URL: url, Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: h.clock.Now(), UpdatedAt: h.clock.Now()}
	if _, err := notify.Validate(c); err != nil {
		h.t.Fatal(err)
	}
	h.write(func(ctx context.Context, tx store.Tx) error { return tx.ChannelCreate(ctx, c) })
	return c
}

// publishN publishes n events of org (fan-out as ingest does) and returns
// their deliveries, not yet dispatched.
func (h *harness) publishN(orgID string, n int) []*shiplog.Delivery {
	h.t.Helper()
	f := &delivery.Fanout{BaseURL: "https://shiplog.example.com/", Clock: h.clock, Lease: delivery.DefaultLease}
	var out []*shiplog.Delivery
	h.write(func(ctx context.Context, tx store.Tx) error {
		for range n {
			e := h.event()
			e.OrgID = orgID
			if err := tx.EventInsert(ctx, e); err != nil {
				return err
			}
			ds, err := f.Fanout(ctx, tx, e)
			if err != nil {
				return err
			}
			out = append(out, ds...)
		}
		return nil
	})
	return out
}

func (h *harness) stateCount(s shiplog.DeliveryState) int {
	h.t.Helper()
	st, err := h.st.DeliveryStats(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return st[s]
}

// Defect "duplicates without any crash": a receiver that answers within
// the timeout but holds requests past the lease (twice over) must still get
// every delivery exactly once, because the holder renews its leases.
func TestSlowReceiverWithinTimeoutGetsEachDeliveryOnce(t *testing.T) {
	t.Parallel()
	h := setup(t, slowSends(25*time.Second))
	g := h.gate()
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: g.URL})
	const n = 300
	h.w.Dispatch(h.publishN(h.org.ID, n))
	g.waitArrived(delivery.DefaultChannelSenders)
	// 60 s on the delivery clock with the lease at 30 s: the senders hold
	// 64, the channel's queue the rest, and polls run every 10 s.
	for range 6 {
		h.clock.Advance(10 * time.Second)
		h.pollNow()
	}
	if a, _ := g.counts(); a != delivery.DefaultChannelSenders {
		t.Fatalf("%d requests reached the receiver while it held the first %d; want only those", a, delivery.DefaultChannelSenders)
	}
	g.release()
	h.eventually("every delivery succeeded", func() bool { return h.stateCount(shiplog.DeliverySucceeded) == n })
	seen := map[string]int{}
	g.mu.Lock()
	for _, id := range g.arrived {
		seen[id]++
	}
	total := len(g.arrived)
	g.mu.Unlock()
	if total != n || len(seen) != n {
		t.Fatalf("receiver got %d requests for %d distinct deliveries; want %d, each once", total, len(seen), n)
	}
}

// Defect "one org stalls every org": org B's three channels hang with a
// backlog; org B occupies its share of the senders (128) and no more, and
// every delivery of org A arrives while none of org B's has been answered.
func TestHangingOrgDoesNotStallOtherOrgs(t *testing.T) {
	t.Parallel()
	h := setup(t, slowSends(25*time.Second))
	var orgB *shiplog.Org
	h.write(func(ctx context.Context, tx store.Tx) error {
		var err error
		orgB, err = tx.OrgCreate(ctx, "globex", h.clock.Now())
		return err
	})
	g := h.gate()
	defer g.release() // before the cleanups, which stop the worker
	for i := range 3 {
		h.orgChannel(orgB.ID, fmt.Sprintf("%s/b/%d", g.URL, i))
	}
	rxA := h.receiver(answer{status: 200})
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rxA.URL})

	h.w.Dispatch(h.publishN(orgB.ID, 100)) // 300 deliveries, 192 could be sent at once
	g.waitArrived(delivery.DefaultOrgConcurrency)
	const nA = 200
	h.w.Dispatch(h.publishN(h.org.ID, nA))
	rxA.waitCount(nA)

	arrived, answered := g.counts()
	if arrived != delivery.DefaultOrgConcurrency || answered != 0 {
		t.Fatalf("org B: %d requests reached its hanging receiver, %d answered; want exactly its share %d, none answered",
			arrived, answered, delivery.DefaultOrgConcurrency)
	}
}

// Defect: a receiver answering 500 was hammered with every delivery. After
// BreakerThreshold consecutive failures its channel is paused: no request
// until the pause ends, then exactly one probe; a failed probe doubles the
// pause; a good one resumes the channel and its backlog.
func TestFailingReceiverIsPausedAndProbedNotHammered(t *testing.T) {
	t.Parallel()
	h := setup(t, func(w *delivery.Worker) { w.ChannelSenders = 1 })
	rx := h.receiver(answer{status: 500})
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
	const n = 20
	h.w.Dispatch(h.publishN(h.org.ID, n))
	paused := func() bool { st := h.w.Stats(); return st.Paused == 1 && st.Probing == 0 }
	h.eventually("the channel paused", paused)
	if got := rx.count(); got != delivery.DefaultBreakerThreshold {
		t.Fatalf("%d requests before the pause, want %d", got, delivery.DefaultBreakerThreshold)
	}
	// The first retries fall due during the pause: they wait in the database.
	h.clock.Advance(delivery.DefaultBreakerBackoff - time.Second)
	h.pollNow()
	if got := rx.count(); got != delivery.DefaultBreakerThreshold {
		t.Fatalf("%d requests during the pause, want none after the first %d", got, delivery.DefaultBreakerThreshold)
	}
	h.clock.Advance(time.Second)
	h.pollNow()
	rx.waitCount(delivery.DefaultBreakerThreshold + 1)
	h.eventually("the failed probe to pause it again", paused)
	// The pause doubled: 10 s.
	h.clock.Advance(2*delivery.DefaultBreakerBackoff - time.Second)
	h.pollNow()
	if got := rx.count(); got != delivery.DefaultBreakerThreshold+1 {
		t.Fatalf("%d requests during the doubled pause, want %d", got, delivery.DefaultBreakerThreshold+1)
	}
	rx.mu.Lock()
	rx.plan = []answer{{status: 200}}
	rx.mu.Unlock()
	h.clock.Advance(time.Second)
	h.pollNow()
	h.eventually("the backlog delivered after a good probe", func() bool {
		return h.stateCount(shiplog.DeliveryQueued) == 0
	})
	if st := h.w.Stats(); st.Paused != 0 || st.Probing != 0 {
		t.Errorf("circuit still paused after a good probe: %+v", st)
	}
	if s := h.stateCount(shiplog.DeliverySucceeded); s != n {
		t.Errorf("%d of %d deliveries succeeded", s, n)
	}
}

// A 410 disables the channel at once: its backlog is cancelled with no
// further request.
func TestGoneReceiverGetsOneRequestAndBacklogIsCancelled(t *testing.T) {
	t.Parallel()
	h := setup(t, func(w *delivery.Worker) { w.ChannelSenders = 1 })
	rx := h.receiver(answer{status: 410})
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
	const n = 30
	h.w.Dispatch(h.publishN(h.org.ID, n))
	h.eventually("nothing queued", func() bool { return h.stateCount(shiplog.DeliveryQueued) == 0 })
	if got := rx.count(); got != 1 {
		t.Errorf("the receiver answering 410 got %d requests, want 1", got)
	}
	if ch := h.getChannel(c.ID); ch.Enabled {
		t.Error("channel still enabled after a 410")
	}
	if got := h.stateCount(shiplog.DeliveryCancelled); got != n-1 {
		t.Errorf("%d deliveries cancelled, want %d", got, n-1)
	}
}

// countHandler counts log records.
type countHandler struct{ n *atomic.Int64 }

func (c countHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (c countHandler) Handle(context.Context, slog.Record) error { c.n.Add(1); return nil }
func (c countHandler) WithAttrs([]slog.Attr) slog.Handler        { return c }
func (c countHandler) WithGroup(string) slog.Handler             { return c }

// Defect "a release storm": 20,000 deliveries queued for a receiver that
// never answers were claimed, overflowed the queue, released and claimed
// again in a loop. Now claims stop at what the channel may hold, nothing is
// released, and 10 polls later the claims and log lines are as few as
// after the first.
func TestHangingReceiverWith20kBacklogClaimsAndLogsStayBounded(t *testing.T) {
	t.Parallel()
	var lines atomic.Int64
	h := setup(t, slowSends(time.Hour), func(w *delivery.Worker) { w.Log = slog.New(countHandler{&lines}) })
	h.guard = 5 * time.Minute // a claim over 20k rows under -race on a busy machine takes seconds
	g := h.gate()
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: g.URL})
	payload, err := delivery.Render(c, delivery.Message(h.event(), ""))
	if err != nil {
		t.Fatal(err)
	}
	const backlog = 20000
	now := h.clock.Now()
	for chunk := 0; chunk < backlog; chunk += 5000 {
		h.write(func(ctx context.Context, tx store.Tx) error {
			for range 5000 {
				d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: h.org.ID, ChannelID: c.ID, ChannelKind: c.Kind,
					EventID: shiplog.NewID(), EventType: "deployment.completed", State: shiplog.DeliveryQueued, MaxAttempts: 3,
					NextAttempt: now, Payload: payload, CreatedAt: now, UpdatedAt: now}
				if err := tx.DeliveryInsert(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
	}
	h.pollNow()
	g.waitArrived(delivery.DefaultChannelSenders)
	held := 4 * delivery.DefaultChannelSenders // what one channel may hold in memory
	for range 10 {
		h.clock.Advance(time.Second)
		h.pollNow()
	}
	st := h.w.Stats()
	if st.Claimed > int64(held) || st.Released != 0 {
		t.Errorf("after 11 polls: %d claimed, %d released; want at most %d claimed (what the channel may hold), none released",
			st.Claimed, st.Released, held)
	}
	if arrived, _ := g.counts(); arrived != delivery.DefaultChannelSenders {
		t.Errorf("%d requests at the hanging receiver, want its %d senders", arrived, delivery.DefaultChannelSenders)
	}
	if st.Active != delivery.DefaultChannelSenders || st.Pending+st.Active > held {
		t.Errorf("worker holds %d sending, %d queued; want %d sending, at most %d in all", st.Active, st.Pending,
			delivery.DefaultChannelSenders, held)
	}
	if n := lines.Load(); n > 2 {
		t.Errorf("%d log lines while one receiver hangs, want at most 2", n)
	}
	if q := h.stateCount(shiplog.DeliveryQueued); q != backlog {
		t.Errorf("%d queued, want all %d still queued", q, backlog)
	}
}
