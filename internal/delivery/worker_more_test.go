package delivery_test

import (
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/store"
)

func TestWorkerSlackOnePerSecond(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 200, body: "ok"})
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelSlack, URL: rx.URL + "/services/T0/B0/secret"})
	d1, d2 := h.publishOne(), h.publishOne()
	ids := []string{d1.ID, d2.ID}
	h.w.Dispatch([]*shiplog.Delivery{d1, d2})

	// One goes at once; the other is moved to the next free slot, 1 s on,
	// without spending an attempt, its lease extended past the slot.
	rx.waitCount(1)
	h.checkNext(time.Second)
	var sent, deferred *shiplog.Delivery
	h.eventually("one sent, one deferred", func() bool {
		a, b := h.delivery(ids[0]), h.delivery(ids[1])
		if a.State != shiplog.DeliverySucceeded {
			a, b = b, a
		}
		sent, deferred = a, b
		return sent.State == shiplog.DeliverySucceeded
	})
	if deferred.State != shiplog.DeliveryQueued || deferred.Attempts != 0 || !deferred.NextAttempt.Equal(h.at(time.Second)) ||
		deferred.LeaseUntil == nil || !deferred.LeaseUntil.Equal(h.at(time.Second+delivery.DefaultLease)) {
		t.Fatalf("deferred delivery: %s", brief(deferred))
	}
	if len(h.attempts(deferred.ID)) != 0 {
		t.Fatal("deferring recorded an attempt")
	}
	h.clock.Advance(999 * time.Millisecond)
	if rx.count() != 1 {
		t.Fatal("second Slack message sent within the same second")
	}

	// When its slot comes it must be sent. Give it a few seconds more to
	// show whether it is ever sent.
	h.clock.Advance(time.Millisecond)
	redeferred := 0
	for range 5 {
		h.eventually("the second message sent or deferred again", func() bool {
			return rx.count() >= 2 || h.clock.Pending() > 0
		})
		if rx.count() >= 2 {
			break
		}
		redeferred++
		next, _ := h.clock.Next()
		h.clock.Advance(next)
	}
	if redeferred > 0 {
		t.Fatalf("the deferred Slack delivery reached its reserved slot and was deferred again %d times "+
			"(never sent: it reserves a new slot each time its timer fires); receiver got %d messages; "+
			"delivery state %s, attempts %d, next attempt %v",
			redeferred, rx.count(), deferred.State, h.delivery(deferred.ID).Attempts, h.delivery(deferred.ID).NextAttempt)
	}
	got := h.waitState(deferred.ID, shiplog.DeliverySucceeded)
	if got.Attempts != 1 {
		t.Errorf("attempts = %d after a deferral and one send, want 1", got.Attempts)
	}
	if as := h.attempts(deferred.ID); len(as) != 1 || !as[0].StartedAt.Equal(h.at(time.Second)) {
		t.Errorf("attempts %+v, want one at +1s", as)
	}
}

func TestWorkerSlackNoServiceDisables(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 404, body: "no_service"})
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelSlack, URL: rx.URL + "/services/T0/B0/secret"})
	first := h.publishOne()
	queued := []*shiplog.Delivery{h.publishOne(), h.publishOne()} // waiting in the outbox

	h.w.Dispatch([]*shiplog.Delivery{first})
	got := h.waitState(first.ID, shiplog.DeliveryFailed)
	if got.Attempts != 1 || !strings.Contains(got.LastError, "no_service") {
		t.Errorf("delivery %s", brief(got))
	}
	h.eventually("the owners notice", func() bool { return h.noticeCount() > 0 })
	ch := h.getChannel(c.ID)
	if ch.Enabled || !strings.Contains(ch.DisabledReason, "no_service") || ch.DisabledAt == nil {
		t.Fatalf("channel enabled=%v reason=%q disabled_at=%v", ch.Enabled, ch.DisabledReason, ch.DisabledAt)
	}
	for _, q := range queued {
		d := h.delivery(q.ID)
		if d.State != shiplog.DeliveryCancelled || !strings.Contains(d.LastError, "channel disabled") || d.CompletedAt == nil {
			t.Errorf("queued delivery after disable: %s", brief(d))
		}
	}

	// Their timers or leases may still hand them to the worker: nothing is
	// sent and nothing more is recorded or noticed. Each is settled by one
	// (refused) write.
	before := h.st.writes.Load()
	h.w.Dispatch(queued)
	h.eventually("the cancelled deliveries handled", func() bool { return h.st.writes.Load() >= before+int64(len(queued)) })
	if n := rx.count(); n != 1 {
		t.Errorf("Slack stand-in got %d requests, want 1", n)
	}
	if n := h.noticeCount(); n != 1 {
		t.Errorf("Notice called %d times, want once", n)
	}
	for _, q := range queued {
		if as := h.attempts(q.ID); len(as) != 0 {
			t.Errorf("cancelled delivery got attempts %+v", as)
		}
	}
}

func TestWorkerFiveDayRule(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		failingFor  time.Duration
		wantEnabled bool
	}{
		{"failing 5 days and 1 s", delivery.FailingDisableAfter + time.Second, false},
		{"failing exactly 5 days", delivery.FailingDisableAfter, false},
		{"failing 1 s less than 5 days", delivery.FailingDisableAfter - time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			rx := h.receiver(answer{status: 400})
			c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
			since := h.clock.Now().Add(-tt.failingFor)
			h.write(func(ctx context.Context, tx store.Tx) error {
				return tx.ChannelSetHealth(ctx, &store.ChannelHealthParams{ChannelID: c.ID, FailingSince: &since, Now: h.clock.Now()})
			})
			d := h.publishOne()
			h.w.Dispatch([]*shiplog.Delivery{d})
			h.waitState(d.ID, shiplog.DeliveryFailed)
			if !tt.wantEnabled {
				h.eventually("the owners notice", func() bool { return h.noticeCount() > 0 })
			}
			ch := h.getChannel(c.ID)
			if ch.Enabled != tt.wantEnabled {
				t.Fatalf("enabled = %v, want %v (reason %q)", ch.Enabled, tt.wantEnabled, ch.DisabledReason)
			}
			if ch.FailingSince == nil || !ch.FailingSince.Equal(since) {
				t.Errorf("FailingSince = %v, want it kept at %v", ch.FailingSince, since)
			}
			if !tt.wantEnabled && (!strings.Contains(ch.DisabledReason, "every delivery has failed since") ||
				!strings.Contains(ch.DisabledReason, "HTTP 400")) {
				t.Errorf("DisabledReason = %q", ch.DisabledReason)
			}
		})
	}
}

// testDelivery stores a Test delivery (the channel's Test button) with no
// lease, as the API would before sending it.
func (h *harness) testDelivery(c *shiplog.Channel) *shiplog.Delivery {
	h.t.Helper()
	payload, err := delivery.Render(c, delivery.Message(h.event(), "https://shiplog.example.com/"))
	if err != nil {
		h.t.Fatal(err)
	}
	now := h.clock.Now()
	lease := now.Add(delivery.DefaultLease)
	d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: h.org.ID, ChannelID: c.ID, ChannelKind: c.Kind, EventID: shiplog.NewID(),
		EventType: "deployment.completed", State: shiplog.DeliveryQueued, MaxAttempts: 1, NextAttempt: now, LeaseUntil: &lease,
		Test: true, Payload: payload, CreatedAt: now, UpdatedAt: now}
	h.write(func(ctx context.Context, tx store.Tx) error { return tx.DeliveryInsert(ctx, d) })
	return d
}

func TestWorkerTestDeliveriesLeaveHealthAlone(t *testing.T) {
	t.Parallel()
	for _, status := range []int{400, 410, 500} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			t.Parallel()
			h := setup(t)
			rx := h.receiver(answer{status: status})
			c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
			d := h.testDelivery(c)
			h.w.Dispatch([]*shiplog.Delivery{d})
			h.waitState(d.ID, shiplog.DeliveryFailed)
			ch := h.getChannel(c.ID)
			if ch.FailingSince != nil || !ch.Enabled || h.noticeCount() != 0 {
				t.Errorf("a failed test send changed the channel: failing since %v, enabled %v, notices %d",
					ch.FailingSince, ch.Enabled, h.noticeCount())
			}
		})
	}
}

func TestWorkerLeaseRescue(t *testing.T) {
	t.Parallel()
	h := setup(t)
	rx := h.receiver(answer{status: 200})
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: rx.URL})
	payload, err := delivery.Render(c, delivery.Message(h.event(), ""))
	if err != nil {
		t.Fatal(err)
	}
	now := h.clock.Now()
	insert := func(lease *time.Time) string {
		d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: h.org.ID, ChannelID: c.ID, ChannelKind: c.Kind,
			EventID: shiplog.NewID(), EventType: "deployment.completed", State: shiplog.DeliveryQueued, MaxAttempts: 3,
			NextAttempt: now, LeaseUntil: lease, Payload: payload, CreatedAt: now, UpdatedAt: now}
		h.write(func(ctx context.Context, tx store.Tx) error { return tx.DeliveryInsert(ctx, d) })
		return d.ID
	}
	past, future := now.Add(-time.Second), now.Add(30*time.Second)
	expired, unleased, held := insert(&past), insert(nil), insert(&future)

	h.w.Wake()
	h.waitState(expired, shiplog.DeliverySucceeded)
	h.waitState(unleased, shiplog.DeliverySucceeded)
	sentIDs := func() []string {
		var ids []string
		for i := range rx.count() {
			ids = append(ids, rx.header(i, "Webhook-Id"))
		}
		return ids
	}
	if slices.Contains(sentIDs(), held) {
		t.Fatal("a delivery leased to another process was taken before its lease expired")
	}
	if d := h.delivery(held); d.State != shiplog.DeliveryQueued || !d.LeaseUntil.Equal(future) {
		t.Fatalf("held delivery changed: %s", brief(d))
	}

	// 1 s before its lease ends: polls (proven by another delivery being
	// rescued) still leave it alone.
	h.clock.Advance(29 * time.Second)
	probe := insert(nil)
	h.w.Wake()
	h.waitState(probe, shiplog.DeliverySucceeded)
	if slices.Contains(sentIDs(), held) || h.delivery(held).State != shiplog.DeliveryQueued {
		t.Fatal("delivery taken over 1 s before its lease expired")
	}

	h.clock.Advance(time.Second)
	h.w.Wake()
	d := h.waitState(held, shiplog.DeliverySucceeded)
	if d.Attempts != 1 || !slices.Contains(sentIDs(), held) {
		t.Errorf("rescued delivery %s", brief(d))
	}
}

func TestWorkerEmailWithoutSMTP(t *testing.T) {
	t.Parallel()
	h := setup(t)
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelEmail, Config: map[string]any{"recipients": []string{"ops@example.com"}}})
	d := h.publishOne()
	h.w.Dispatch([]*shiplog.Delivery{d})
	got := h.waitState(d.ID, shiplog.DeliveryFailed)
	as := h.attempts(d.ID)
	if got.Attempts != 1 || len(as) != 1 || as[0].Error != email.ErrNoSMTP || got.LastError != email.ErrNoSMTP {
		t.Errorf("delivery %s, attempts %+v", brief(got), as)
	}
	if h.getChannel(c.ID).FailingSince == nil {
		t.Error("a failed email delivery did not start failing_since")
	}
}

// relay is a real SMTP server (go-smtp) on 127.0.0.1:0 keeping every message.
type relay struct {
	h    *harness
	mu   sync.Mutex
	msgs []relayed
}

type relayed struct {
	from string
	to   []string
	data string
}

func (r *relay) NewSession(*smtp.Conn) (smtp.Session, error) { return &relaySession{r: r}, nil }

type relaySession struct {
	r   *relay
	cur relayed
}

func (s *relaySession) Mail(from string, _ *smtp.MailOptions) error { s.cur.from = from; return nil }
func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *relaySession) Reset()        { s.cur = relayed{} }
func (s *relaySession) Logout() error { return nil }
func (s *relaySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = string(b)
	s.r.mu.Lock()
	s.r.msgs = append(s.r.msgs, s.cur)
	s.r.mu.Unlock()
	s.r.h.sig.bump()
	return nil
}

func (r *relay) messages() []relayed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.msgs)
}

func startRelay(t *testing.T) (*relay, string) {
	t.Helper()
	r := &relay{}
	srv := smtp.NewServer(r)
	srv.Domain = "relay.test"
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return r, l.Addr().String()
}

func TestWorkerEmailToOwners(t *testing.T) {
	t.Parallel()
	r, addr := startRelay(t)
	sender, err := email.NewSender(email.Config{URL: "smtp://" + addr, From: "shiplog <shiplog@example.com>", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := setup(t, func(w *delivery.Worker) { w.Env.Mail = sender })
	r.h = h
	h.write(func(ctx context.Context, tx store.Tx) error {
		return tx.OrgSetOwnerEmails(ctx, h.org.ID, []string{"alice@example.com", "bob@example.com"})
	})
	c := h.channel(&shiplog.Channel{Kind: shiplog.ChannelEmail,
		Config: map[string]any{"recipients": []string{"OWNERS", " ops@example.com ", "ALICE@example.com"}}})
	if want := []string{"owners", "ops@example.com", "ALICE@example.com"}; !slices.Equal(c.Settings("recipients"), want) {
		t.Fatalf("validated recipients %q, want %q", c.Settings("recipients"), want)
	}
	d := h.publishOne()
	var rendered email.Message
	payload, err := delivery.Payload(h.ctx, h.st, d, c, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(payload, &rendered); err != nil {
		t.Fatalf("email payload: %v", err)
	}
	h.w.Dispatch([]*shiplog.Delivery{d})

	got := h.waitState(d.ID, shiplog.DeliverySucceeded)
	if as := h.attempts(d.ID); got.Attempts != 1 || len(as) != 1 || as[0].StatusCode != 250 {
		t.Errorf("delivery %s, attempts %+v", brief(got), as)
	}
	h.eventually("the mail at the relay", func() bool { return len(r.messages()) > 0 })
	msgs := r.messages()
	if len(msgs) != 1 {
		t.Fatalf("relay got %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	to := slices.Sorted(slices.Values(m.to))
	if want := []string{"alice@example.com", "bob@example.com", "ops@example.com"}; !slices.Equal(to, want) {
		t.Errorf("RCPT TO %v, want %v (owners resolved, duplicates dropped)", to, want)
	}
	if m.from != "shiplog@example.com" {
		t.Errorf("MAIL FROM %q", m.from)
	}
	if !strings.Contains(m.data, "api-gateway") || !strings.Contains(m.data, "Auto-Submitted: auto-generated") {
		t.Errorf("message does not look like the rendered email:\n%s", m.data)
	}
}

func TestWorkerEmailOwnersWithoutAddresses(t *testing.T) {
	t.Parallel()
	r, addr := startRelay(t)
	sender, err := email.NewSender(email.Config{URL: "smtp://" + addr, From: "shiplog@example.com", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h := setup(t, func(w *delivery.Worker) { w.Env.Mail = sender })
	r.h = h
	h.channel(&shiplog.Channel{Kind: shiplog.ChannelEmail, Config: map[string]any{"recipients": []string{"owners"}}})
	d := h.publishOne()
	h.w.Dispatch([]*shiplog.Delivery{d})
	got := h.waitState(d.ID, shiplog.DeliveryFailed)
	if !strings.Contains(got.LastError, "no recipients") {
		t.Errorf("LastError = %q", got.LastError)
	}
	if n := len(r.messages()); n != 0 {
		t.Errorf("relay got %d messages", n)
	}
}
