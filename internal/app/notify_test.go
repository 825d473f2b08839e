package app_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/app"
)

// hit is one request a receiver got.
type hit struct {
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint whose answers a test scripts.
type receiver struct {
	*httptest.Server
	hits    chan hit
	mu      sync.Mutex
	answers []int // status codes to answer in turn; then 200
}

func newReceiver(t *testing.T, answers ...int) *receiver {
	rc := &receiver{hits: make(chan hit, 1000), answers: answers}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		code := 200
		if len(rc.answers) > 0 {
			code, rc.answers = rc.answers[0], rc.answers[1:]
		}
		rc.mu.Unlock()
		rc.hits <- hit{header: r.Header.Clone(), body: b}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the receiver's next request; the timeout only guards
// against a hang.
func (rc *receiver) next(t *testing.T) hit {
	t.Helper()
	select {
	case h := <-rc.hits:
		return h
	case <-time.After(30 * time.Second):
		t.Fatal("receiver got nothing")
		return hit{}
	}
}

// none checks the receiver got nothing more by the time a later request,
// sent after the ones that must not deliver, has been delivered elsewhere.
func (rc *receiver) none(t *testing.T) {
	t.Helper()
	select {
	case h := <-rc.hits:
		t.Fatalf("unexpected delivery: %s %s", h.header.Get("X-Versioner-Event"), h.body)
	default:
	}
}

func channel(t *testing.T, s *server, key string, body map[string]any) map[string]any {
	t.Helper()
	r := s.post("/notification-channels/", key, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create channel: %d %s", r.status, r.body)
	}
	return r.json(t)
}

func TestWebhookDeliveryIsSignedAndLogged(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		rc := newReceiver(t)
		ch := channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "dora", "url": rc.URL + "/hook",
			"secret": "s3cret", "events": []string{"deployment.completed", "deployment.failed"}})
		if ch["secret"] != nil || strings.Contains(fmt.Sprint(ch), "s3cret") || ch["secret_hint"] == nil {
			t.Errorf("secret not write-only: %v", ch)
		}
		d := mustOK(t, s.post("/deployment-events/", key, dep("my-ui", "1.2.6", "production", "success",
			"deployed_by_name", "Phil Austin", "scm_repository", "versioner-io/versioner-ui", "scm_sha", "a3f9c2d1")))
		h := rc.next(t)
		if h.header.Get("X-Versioner-Event") != "deployment.completed" || h.header.Get("Content-Type") != "application/json" {
			t.Errorf("headers: %v", h.header)
		}
		// Verified exactly as the seed's Python snippet does.
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write(h.body)
		if want := "sha256=" + hex.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(h.header.Get("X-Versioner-Signature"))) {
			t.Errorf("signature %q, want %q", h.header.Get("X-Versioner-Signature"), want)
		}
		var p map[string]any
		if err := json.Unmarshal(h.body, &p); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"id": d["id"], "event_type": "deployment.completed", "environment": "production",
			"is_successful": true, "deployer": "Phil Austin", "product_name": "my-ui", "version": "1.2.6",
			"repo_name": "versioner-io/versioner-ui", "commit_sha": "a3f9c2d1", "preflight_status": nil,
			"source_url": s.url + "/deployments/" + d["id"].(string)}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("payload %s = %v, want %v", k, p[k], v)
			}
		}
		if len(p) != 12 || strings.Contains(string(h.body), ": ") || strings.Contains(string(h.body), ", ") {
			t.Errorf("payload not the seed's compact 12 fields: %s", h.body)
		}
		// Not subscribed: started.
		mustOK(t, s.post("/deployment-events/", key, dep("my-ui", "1.2.7", "production", "started")))
		mustOK(t, s.post("/deployment-events/", key, dep("my-ui", "1.2.7", "production", "failed")))
		if got := rc.next(t).header.Get("X-Versioner-Event"); got != "deployment.failed" {
			t.Errorf("next delivery is %s, want deployment.failed (started is not subscribed)", got)
		}
		// The delivery log.
		dl := s.get("/notification-channels/"+ch["id"].(string)+"/deliveries", key).items(t)
		if len(dl) != 2 {
			t.Fatalf("%d deliveries logged", len(dl))
		}
		wid := h.header.Get("Webhook-Id")
		detail := waitDelivery(t, s, key, wid, "succeeded")
		at := detail["attempts"].([]any)[0].(map[string]any)
		if at["status_code"] != float64(200) || at["response_body"] != "answer 200" || at["outcome"] != "succeeded" {
			t.Errorf("attempt: %v", at)
		}
	})
}

// waitDelivery polls a delivery until it reaches state: the worker records
// the attempt after the receiver answered.
func waitDelivery(t *testing.T, s *server, key, id, state string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d := mustOK(t, s.get("/deliveries/"+id, key))
		if d["state"] == state {
			return d
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s stuck in %v: %v", id, d["state"], d)
		}
		time.Sleep(20 * time.Millisecond) // polling an API, not synchronising goroutines
	}
}

func TestFiltersAndPreferences(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		prod, api := newReceiver(t), newReceiver(t)
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "prod only", "url": prod.URL,
			"events": []string{"deployment.completed"}, "environment_types_filter": []string{"production"}})
		apiCh := channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "api-*", "url": api.URL,
			"events": []string{"deployment.completed"}, "product_names_filter": []string{"api-*"}})
		mustOK(t, s.post("/deployment-events/", key, dep("web", "1", "staging", "success")))    // neither
		mustOK(t, s.post("/deployment-events/", key, dep("API-Gateway", "1", "qa", "success"))) // api only
		mustOK(t, s.post("/deployment-events/", key, dep("web", "2", "prod-eu", "success")))    // prod only
		mustOK(t, s.post("/build-events/", key, build("api-core", "1", "completed")))           // not subscribed
		if p := rc(t, api); p["product_name"] != "API-Gateway" {
			t.Errorf("api channel got %v", p)
		}
		if p := rc(t, prod); p["product_name"] != "web" || p["version"] != "2" {
			t.Errorf("prod channel got %v", p)
		}
		// The seed's call adds a subscription: builds now reach the api channel.
		r := s.post("/notification-preferences/", s.admin(key), map[string]any{"event_type": "build.completed", "channel_id": apiCh["id"]})
		if r.status != http.StatusCreated {
			t.Fatalf("preference: %d %s", r.status, r.body)
		}
		if r2 := s.post("/notification-preferences/", s.admin(key), map[string]any{"event_type": "build.completed", "channel_id": apiCh["id"]}); r2.status != 409 {
			t.Errorf("duplicate preference: %d", r2.status)
		}
		mustOK(t, s.post("/build-events/", key, build("api-core", "2", "completed")))
		if p := rc(t, api); p["version"] != "2" || p["environment"] != "" || p["is_successful"] != nil {
			t.Errorf("build payload: %v", p)
		}
		prefs := s.get("/notification-preferences/", key).items(t)
		if len(prefs) != 3 {
			t.Errorf("%d preferences, want 3", len(prefs))
		}
		if r := s.do(http.MethodDelete, "/notification-preferences/"+r.json(t)["id"].(string), s.admin(key), nil); r.status != 204 {
			t.Errorf("delete preference: %d", r.status)
		}
		mustOK(t, s.post("/build-events/", key, build("api-core", "3", "completed")))
		mustOK(t, s.post("/deployment-events/", key, dep("api-x", "9", "dev", "success")))
		if p := rc(t, api); p["product_name"] != "api-x" {
			t.Errorf("after unsubscribing builds, api channel got %v", p)
		}
		prod.none(t)
	})
}

func rc(t *testing.T, r *receiver) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(r.next(t).body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestChannelValidationAndSecrets(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	for _, tc := range []struct {
		body   map[string]any
		detail string
	}{
		{map[string]any{"kind": "webhook", "name": "x", "url": "https://example.com"}, "Field 'events' must list at least one event type"},
		{map[string]any{"kind": "carrier-pigeon", "name": "x", "events": []string{"deployment.completed"}}, "Field 'kind' must be one of slack, email, webhook"},
		{map[string]any{"name": "x"}, "Field 'kind' is required"},
		{map[string]any{"kind": "email", "name": "x", "recipients": []string{"a@b.c"}, "events": []string{"dr.approved"}}, "Event 'dr.approved' is delivered by webhook channels only"},
		{map[string]any{"kind": "webhook", "name": "x", "url": "https://e.com", "events": []string{"deploy.done"}}, "Unknown event type 'deploy.done'"},
		{map[string]any{"kind": "email", "name": "x", "recipients": []string{"nobody"}, "events": []string{"build.failed"}}, "Field 'recipients' has an invalid address 'nobody'"},
		{map[string]any{"kind": "webhook", "name": "x", "url": "ftp://e.com", "events": []string{"build.failed"}}, ""},
		{map[string]any{"kind": "webhook", "name": "x", "url": "https://e.com", "events": []string{"build.failed"}, "environment_types_filter": []string{"moon"}}, "Field 'environment_types_filter' has an unknown value 'moon'"},
		{map[string]any{"kind": "webhook", "name": "x", "url": "https://e.com", "events": []string{"build.failed"}, "retry_schedule": []string{"soon"}}, "Field 'retry_schedule' has an invalid delay 'soon'"},
		{map[string]any{"kind": "webhook", "name": "x", "url": "https://e.com", "events": []string{"build.failed"}, "colour": "red"}, "Unknown field \"colour\""},
	} {
		r := s.post("/notification-channels/", s.admin(key), tc.body)
		if r.status != 400 || !strings.HasPrefix(r.detail(t), tc.detail) {
			t.Errorf("%v: %d %s", tc.body, r.status, r.body)
		}
	}
	// Slack URLs are secrets: masked in every answer.
	sl := channel(t, s, s.admin(key), map[string]any{"kind": "slack", "name": "#deploys", "url": "https://hooks.slack.com/services/T0/B0/abcdefSECRET1234",
		"events": []string{"deployment.failed"}})
	all := string(s.get("/notification-channels/", key).body) + string(s.get("/notification-channels/"+sl["id"].(string), key).body)
	if strings.Contains(all, "abcdefSECRET") || !strings.Contains(all, "https://hooks.slack.com/…1234") {
		t.Errorf("Slack URL not masked: %s", all)
	}
	// standard-webhooks without a secret: one is generated and shown once.
	sw := channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "sw", "url": "https://e.com/h", "signature_scheme": "standard-webhooks",
		"events": []string{"deployment.completed"}})
	if sec, _ := sw["secret"].(string); !strings.HasPrefix(sec, "whsec_") {
		t.Errorf("no generated secret: %v", sw)
	}
	if got := mustOK(t, s.get("/notification-channels/"+sw["id"].(string), key)); got["secret"] != nil {
		t.Error("secret shown again")
	}
	// PATCH keeps what it does not name; switching back on clears the reason.
	p := s.do(http.MethodPatch, "/notification-channels/"+sl["id"].(string), s.admin(key), map[string]any{"enabled": false, "name": "#alerts"})
	if pm := p.json(t); p.status != 200 || pm["enabled"] != false || pm["name"] != "#alerts" || !strings.Contains(pm["url"].(string), "…1234") {
		t.Errorf("patch: %d %s", p.status, p.body)
	}
	if r := s.do(http.MethodDelete, "/notification-channels/"+sl["id"].(string), s.admin(key), nil); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
	if r := s.get("/notification-channels/"+sl["id"].(string), key); r.status != 404 {
		t.Errorf("deleted channel: %d", r.status)
	}
	// Another org sees none of it.
	other := s.org("other")
	if n := len(s.get("/notification-channels/", other).items(t)); n != 0 {
		t.Errorf("other org sees %d channels", n)
	}
	if r := s.get("/notification-channels/"+sw["id"].(string), other); r.status != 404 {
		t.Errorf("other org reads a channel: %d", r.status)
	}
}

func TestSSRFRefusedWithoutFlag(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", DB: "sqlite://" + t.TempDir() + "/s.db", SecretKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- a.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	s := &server{t: t, app: a, url: a.URL()}
	key := s.org("acme")
	for _, u := range []string{"http://127.0.0.1:9/x", "http://localhost/x", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://[::1]/x"} {
		r := s.post("/notification-channels/", s.admin(key), map[string]any{"kind": "webhook", "name": "x", "url": u, "events": []string{"build.failed"}})
		if r.status != 400 || !strings.Contains(r.detail(t), "--allow-private-targets") {
			t.Errorf("%s: %d %s", u, r.status, r.body)
		}
	}
}

func TestTestButtonAndRedeliver(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		rcv := newReceiver(t, 400)
		ch := channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "w", "url": rcv.URL, "events": []string{"deployment.completed"}})
		tr := mustOK(t, s.post("/notification-channels/"+ch["id"].(string)+"/test", s.admin(key), nil))
		rcv.next(t)
		at := tr["attempt"].(map[string]any)
		if tr["ok"] != false || at["status_code"] != float64(400) || at["response_body"] != "answer 400" {
			t.Errorf("test result: %v", tr)
		}
		tr = mustOK(t, s.post("/notification-channels/"+ch["id"].(string)+"/test", s.admin(key), nil))
		if h := rcv.next(t); !strings.Contains(string(h.body), `"product_name":"shiplog-test"`) || tr["ok"] != true {
			t.Errorf("second test: %v / %s", tr, h.body)
		}
		// A 4xx is terminal; redeliver sends it again.
		rcv.mu.Lock()
		rcv.answers = []int{404}
		rcv.mu.Unlock()
		mustOK(t, s.post("/deployment-events/", key, dep("a", "1", "prod", "success")))
		id := rcv.next(t).header.Get("Webhook-Id")
		d := waitDelivery(t, s, key, id, "failed")
		if len(d["attempts"].([]any)) != 1 {
			t.Errorf("4xx retried: %v", d["attempts"])
		}
		if r := s.post("/deliveries/"+id+"/redeliver", s.admin(key), nil); r.status != http.StatusAccepted {
			t.Fatalf("redeliver: %d %s", r.status, r.body)
		}
		if got := rcv.next(t).header.Get("Webhook-Id"); got != id {
			t.Errorf("redelivery webhook-id %s, want %s", got, id)
		}
		d = waitDelivery(t, s, key, id, "succeeded")
		if len(d["attempts"].([]any)) != 2 {
			t.Errorf("attempts after redeliver: %v", d["attempts"])
		}
		// recover: every failed delivery since a time.
		rcv.mu.Lock()
		rcv.answers = []int{410}
		rcv.mu.Unlock()
		mustOK(t, s.post("/deployment-events/", key, dep("a", "2", "prod", "success")))
		id2 := rcv.next(t).header.Get("Webhook-Id")
		waitDelivery(t, s, key, id2, "failed")
		got := mustOK(t, s.get("/notification-channels/"+ch["id"].(string), key))
		if got["enabled"] != false || !strings.Contains(got["disabled_reason"].(string), "410") {
			t.Errorf("410 did not disable the channel: %v", got)
		}
		mustOK(t, s.do(http.MethodPatch, "/notification-channels/"+ch["id"].(string), s.admin(key), map[string]any{"enabled": true}))
		rec := s.post("/notification-channels/"+ch["id"].(string)+"/recover", s.admin(key), map[string]any{"since": "2000-01-01T00:00:00Z"})
		if rec.status != 202 || rec.json(t)["requeued"] != float64(1) {
			t.Fatalf("recover: %d %s", rec.status, rec.body)
		}
		rcv.next(t)
		waitDelivery(t, s, key, id2, "succeeded")
	})
}
