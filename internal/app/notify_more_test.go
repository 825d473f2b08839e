package app_test

import (
	"context"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
	"github.com/shiplog/shiplog/internal/testutil/smtptest"
)

func TestEmailOverRealSMTP(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		relay := smtptest.Start(t)
		s := startWith(t, app.Config{DB: db, SMTPURL: relay.URL(), MailFrom: "shiplog <noreply@example.com>"})
		key := s.org("acme", "owner@example.com")
		channel(t, s, s.admin(key), map[string]any{"kind": "email", "name": "results", "recipients": []string{"owners", "dl@example.com"},
			"events": []string{"deployment.completed"}})
		mustOK(t, s.post("/deployment-events/", key, dep("my-service", "1.2.3", "production", "success", "deployed_by_name", "Jane")))
		var m smtptest.Mail
		select {
		case m = <-relay.Mail:
		case <-time.After(30 * time.Second):
			t.Fatal("no mail")
		}
		if strings.Join(m.To, ",") != "owner@example.com,root@acme.test,dl@example.com" || m.From != "noreply@example.com" { // owners: the CLI's address, then the owner person
			t.Errorf("envelope: from %s to %v", m.From, m.To)
		}
		data := string(m.Data)
		var subject string
		for _, line := range strings.Split(data, "\r\n") {
			if v, ok := strings.CutPrefix(line, "Subject: "); ok {
				subject, _ = new(mime.WordDecoder).DecodeHeader(v)
			}
		}
		if subject != "✅ my-service 1.2.3 deployed to production" {
			t.Errorf("subject %q", subject)
		}
		if !strings.Contains(data, "multipart/alternative") || !strings.Contains(data, "text/html") || !strings.Contains(data, "Jane") {
			t.Errorf("body lacks parts or deployer:\n%s", data)
		}
	})
}

func TestEmailWithoutSMTPFailsWithReason(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme", "o@example.com")
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "email", "name": "m", "recipients": []string{"owners"}, "events": []string{"build.failed"}})
	mustOK(t, s.post("/build-events/", key, build("a", "1", "failed")))
	var id string
	for deadline := time.Now().Add(30 * time.Second); id == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l := s.get("/notification-channels/"+ch["id"].(string)+"/deliveries", key).items(t); len(l) == 1 && l[0]["state"] == "failed" {
			id = l[0]["id"].(string)
		}
	}
	if id == "" {
		t.Fatal("delivery did not fail")
	}
	at := mustOK(t, s.get("/deliveries/"+id, key))["attempts"].([]any)[0].(map[string]any)
	if !strings.Contains(at["error"].(string), "SMTP is not configured") {
		t.Errorf("attempt error: %v", at["error"])
	}
}

func TestSlackStandIn(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	answer := "ok"
	got := make(chan string, 10)
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		got <- b.String()
		mu.Lock()
		defer mu.Unlock()
		if answer != "ok" {
			w.WriteHeader(http.StatusNotFound)
		}
		fmt.Fprint(w, answer)
	}))
	defer slack.Close()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "slack", "name": "#deploys", "url": slack.URL + "/services/T/B/x",
		"events": []string{"deployment.failed"}})
	next := func() string {
		t.Helper()
		select {
		case b := <-got:
			return b
		case <-time.After(30 * time.Second):
			t.Fatal("the Slack stand-in got nothing")
			return ""
		}
	}
	mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "failed", "deployed_by", "bob")))
	body := next()
	if !strings.Contains(body, `"text":"❌ api 2.0 failed to deploy to production by bob"`) || !strings.Contains(body, `"blocks"`) {
		t.Errorf("slack body: %s", body)
	}
	mu.Lock()
	answer = "no_service"
	mu.Unlock()
	mustOK(t, s.post("/deployment-events/", key, dep("api", "2.1", "production", "failed")))
	next() // a second later: one message a second per Slack webhook
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c := mustOK(t, s.get("/notification-channels/"+ch["id"].(string), key))
		if c["enabled"] == false {
			if !strings.Contains(c["disabled_reason"].(string), "no_service") {
				t.Errorf("reason: %v", c["disabled_reason"])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("channel not disabled after no_service")
		}
	}
}

// Two replicas on one PostgreSQL: each delivery is sent once, whether its
// own replica sends it or the replicas' pollers compete for it.
func TestReplicasShareDeliveriesOnce(t *testing.T) {
	t.Parallel()
	db := pgtest.URL(t)
	a := startWith(t, app.Config{DB: db, DeliveryPollInterval: 50 * time.Millisecond})
	b := startWith(t, app.Config{DB: db, DeliveryPollInterval: 50 * time.Millisecond})
	key := a.org("acme")
	rcv := newReceiver(t)
	ch := channel(t, a, a.admin(key), map[string]any{"kind": "webhook", "name": "w", "url": rcv.URL, "events": []string{"deployment.completed"}})
	const viaAPI, orphans = 40, 200
	var wg sync.WaitGroup
	for i := range viaAPI {
		srv := a
		if i%2 == 1 {
			srv = b
		}
		wg.Go(func() { mustOK(t, srv.post("/deployment-events/", key, dep("p", fmt.Sprint(i), "prod", "success"))) })
	}
	wg.Wait()
	// Deliveries nobody holds (as after an overflow): the pollers compete.
	org, err := a.app.Store.OrgGetByName(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	err = a.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		now := time.Now().UTC().Truncate(time.Microsecond)
		for range orphans {
			d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: org.ID, ChannelID: ch["id"].(string), ChannelKind: "webhook",
				EventID: shiplog.NewID(), EventType: "deployment.completed", State: shiplog.DeliveryQueued, MaxAttempts: 3,
				NextAttempt: now, Payload: []byte(`{"orphan":true}`), CreatedAt: now, UpdatedAt: now}
			if err := tx.DeliveryInsert(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	a.app.Worker.Wake()
	b.app.Worker.Wake()
	seen := map[string]int{}
	for range viaAPI + orphans {
		seen[rcv.next(t).header.Get("Webhook-Id")]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("delivery %s sent %d times", id, n)
		}
	}
	if len(seen) != viaAPI+orphans {
		t.Errorf("%d distinct deliveries, want %d", len(seen), viaAPI+orphans)
	}
	// And no more arrive.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st, err := a.app.Store.DeliveryStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if st[shiplog.DeliverySucceeded] == viaAPI+orphans {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats: %v", st)
		}
	}
	rcv.none(t)
}
