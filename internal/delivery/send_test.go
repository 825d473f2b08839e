package delivery_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/notify/outbound"
	"github.com/shiplog/shiplog/internal/notify/slack"
	"github.com/shiplog/shiplog/internal/notify/webhook"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// sendWith makes one attempt of d to c through kind k.
func sendWith(k notify.Kind, client *http.Client, clock shiplog.Clock, d *shiplog.Delivery, c *shiplog.Channel) delivery.Outcome {
	return k.Send(context.Background(), notify.Env{HTTP: client, Clock: clock},
		notify.Target{DeliveryID: d.ID, EventType: d.EventType, Channel: c, Payload: d.Payload})
}

// stub answers every request with status, headers and body taken from the
// query string (?status=429&h=Retry-After:7&body=…&size=N); it counts requests.
func stub(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		q := r.URL.Query()
		for _, h := range q["h"] {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Set(k, v)
		}
		status, _ := strconv.Atoi(q.Get("status"))
		body := q.Get("body")
		if n, _ := strconv.Atoi(q.Get("size")); n > 0 {
			body = strings.Repeat("x", n)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func webhookDelivery() *shiplog.Delivery {
	return &shiplog.Delivery{ID: shiplog.NewID(), EventType: "deployment.completed", Payload: []byte(`{"event_type":"deployment.completed"}`)}
}

func TestWebhookSendClassification(t *testing.T) {
	t.Parallel()
	clock := fakeclock.New(fakeclock.Epoch)
	srv, _ := stub(t)
	// The redirect target must never be reached.
	target, targetHits := stub(t)
	client := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	httpDate := fakeclock.Epoch.Add(2 * time.Minute).Format(http.TimeFormat)
	redirect := "&h=" + url.QueryEscape("Location:"+target.URL+"/?status=200")

	tests := []struct {
		name       string
		query      string
		ok, retry  bool
		disable    bool
		retryAfter time.Duration
		errHas     string
		bodyLen    int
	}{
		{name: "200", query: "status=200&body=thanks", ok: true},
		{name: "201", query: "status=201", ok: true},
		{name: "204", query: "status=204", ok: true},
		{name: "301 is not followed", query: "status=301" + redirect, errHas: "HTTP 301 Moved Permanently (redirects are not followed"},
		{name: "302 is not followed", query: "status=302" + redirect, errHas: "HTTP 302 Found (redirects are not followed"},
		{name: "400", query: "status=400&body=bad", errHas: "HTTP 400 Bad Request"},
		{name: "401", query: "status=401", errHas: "HTTP 401 Unauthorized"},
		{name: "404", query: "status=404", errHas: "HTTP 404 Not Found"},
		{name: "408 retries", query: "status=408", retry: true, errHas: "HTTP 408 Request Timeout"},
		{name: "409", query: "status=409", errHas: "HTTP 409 Conflict"},
		{name: "410 disables", query: "status=410", disable: true, errHas: "HTTP 410 Gone"},
		{name: "422", query: "status=422", errHas: "HTTP 422 Unprocessable Entity"},
		{name: "429 without Retry-After", query: "status=429", retry: true, errHas: "HTTP 429 Too Many Requests"},
		{name: "429 Retry-After seconds", query: "status=429&h=Retry-After:7", retry: true, retryAfter: 7 * time.Second,
			errHas: "HTTP 429"},
		{name: "429 Retry-After HTTP date", query: "status=429&h=Retry-After:" + url.QueryEscape(httpDate), retry: true,
			retryAfter: 2 * time.Minute, errHas: "HTTP 429"},
		{name: "429 Retry-After garbage", query: "status=429&h=Retry-After:soon", retry: true, errHas: "HTTP 429"},
		{name: "500", query: "status=500", retry: true, errHas: "HTTP 500 Internal Server Error"},
		{name: "502", query: "status=502", retry: true, errHas: "HTTP 502 Bad Gateway"},
		{name: "503 Retry-After", query: "status=503&h=Retry-After:30", retry: true, retryAfter: 30 * time.Second,
			errHas: "HTTP 503 Service Unavailable"},
		{name: "Retry-After ignored on a terminal answer", query: "status=400&h=Retry-After:30", errHas: "HTTP 400"},
		{name: "body kept to 4 KiB", query: "status=500&size=10000", retry: true, errHas: "HTTP 500", bodyLen: 4096},
		{name: "small body kept whole", query: "status=200&size=100", ok: true, bodyLen: 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: srv.URL + "/hook?" + tt.query, Config: map[string]any{"signature_scheme": "versioner"}}
			o := sendWith(webhook.Kind{}, client, clock, webhookDelivery(), c)
			status, _ := strconv.Atoi(strings.TrimPrefix(strings.SplitN(tt.query, "&", 2)[0], "status="))
			if o.OK != tt.ok || o.Retryable != tt.retry || o.Disable != tt.disable {
				t.Errorf("OK, Retryable, Disable = %v, %v, %v; want %v, %v, %v (Err %q)", o.OK, o.Retryable, o.Disable,
					tt.ok, tt.retry, tt.disable, o.Err)
			}
			if o.StatusCode != status {
				t.Errorf("StatusCode = %d, want %d", o.StatusCode, status)
			}
			if o.RetryAfter != tt.retryAfter {
				t.Errorf("RetryAfter = %v, want %v", o.RetryAfter, tt.retryAfter)
			}
			if tt.ok && o.Err != "" {
				t.Errorf("Err = %q on success", o.Err)
			}
			if !tt.ok && (o.Err == "" || !strings.Contains(o.Err, tt.errHas)) {
				t.Errorf("Err = %q, want it to contain %q", o.Err, tt.errHas)
			}
			if tt.bodyLen > 0 && len(o.Body) != tt.bodyLen {
				t.Errorf("len(Body) = %d, want %d", len(o.Body), tt.bodyLen)
			}
			if strings.Contains(tt.query, "body=bad") && o.Body != "bad" {
				t.Errorf("Body = %q, want the receiver's answer", o.Body)
			}
			if strings.Contains(tt.query, "Location") && o.Headers["Location"] == "" {
				t.Errorf("Location header not kept for the attempt log: %v", o.Headers)
			}
			if strings.Contains(tt.query, "Retry-After:") && o.Headers["Retry-After"] == "" {
				t.Errorf("Retry-After header not kept for the attempt log: %v", o.Headers)
			}
		})
	}
	t.Cleanup(func() {
		if n := targetHits.Load(); n != 0 {
			t.Errorf("the redirect target received %d requests; redirects must not be followed", n)
		}
	})
}

func TestWebhookSendRequest(t *testing.T) {
	t.Parallel()
	type seen struct {
		method string
		hdr    http.Header
		body   []byte
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.Header.Clone(), b}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	client := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	d := webhookDelivery()
	c := &shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: srv.URL, Secret: "s3cret", Config: map[string]any{"signature_scheme": "versioner"}}
	o := sendWith(webhook.Kind{}, client, fakeclock.New(fakeclock.Epoch), d, c)
	if !o.OK || o.StatusCode != http.StatusNoContent {
		t.Fatalf("outcome %+v", o)
	}
	r := <-got
	if r.method != http.MethodPost || string(r.body) != string(d.Payload) {
		t.Errorf("receiver saw %s %q", r.method, r.body)
	}
	if r.hdr.Get("Webhook-Id") != d.ID || r.hdr.Get("X-Versioner-Event") != "deployment.completed" ||
		r.hdr.Get("Content-Type") != "application/json" {
		t.Errorf("headers %v", r.hdr)
	}
	if !webhook.VerifyVersioner("s3cret", r.body, r.hdr.Get("X-Versioner-Signature")) {
		t.Errorf("signature %q does not verify", r.hdr.Get("X-Versioner-Signature"))
	}
}

func TestWebhookSendNetworkFailures(t *testing.T) {
	t.Parallel()
	// A receiver that never answers: the client's timeout ends the attempt.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); slow.Close() })

	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + l.Addr().String() + "/hook"
	l.Close()

	guarded, guardedHits := stub(t)

	tests := []struct {
		name   string
		opts   outbound.Options
		url    string
		retry  bool
		errHas []string
	}{
		{"timeout", outbound.Options{AllowPrivate: true, Timeout: 200 * time.Millisecond}, slow.URL, true,
			[]string{"timed out waiting for the receiver"}},
		{"connection refused", outbound.Options{AllowPrivate: true, Timeout: 10 * time.Second}, refused, true,
			[]string{"network error:", "refused"}},
		{"loopback refused without --allow-private-targets", outbound.Options{Timeout: 10 * time.Second},
			guarded.URL + "/?status=200", false, []string{"refused", outbound.AllowPrivateFlag}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &shiplog.Channel{Kind: shiplog.ChannelWebhook, URL: tt.url, Config: map[string]any{"signature_scheme": "versioner"}}
			o := sendWith(webhook.Kind{}, outbound.NewClient(tt.opts), fakeclock.New(fakeclock.Epoch), webhookDelivery(), c)
			if o.OK || o.Retryable != tt.retry || o.Disable || o.StatusCode != 0 {
				t.Errorf("outcome %+v; want failed, Retryable=%v, no status", o, tt.retry)
			}
			for _, s := range tt.errHas {
				if !strings.Contains(o.Err, s) {
					t.Errorf("Err = %q, want it to contain %q", o.Err, s)
				}
			}
		})
	}
	t.Cleanup(func() {
		if n := guardedHits.Load(); n != 0 {
			t.Errorf("the guarded loopback receiver got %d requests", n)
		}
	})
}

func TestSlackSendClassification(t *testing.T) {
	t.Parallel()
	srv, _ := stub(t)
	client := outbound.NewClient(outbound.Options{AllowPrivate: true, Timeout: 10 * time.Second})
	tests := []struct {
		query              string
		ok, retry, disable bool
		retryAfter         time.Duration
		errHas             string
	}{
		{query: "status=200&body=ok", ok: true},
		{query: "status=404&body=no_service", disable: true, errHas: "no_service"},
		{query: "status=410&body=channel_is_archived", disable: true, errHas: "channel_is_archived"},
		{query: "status=410", disable: true, errHas: "HTTP 410"},
		{query: "status=403&body=invalid_token", errHas: "invalid_token"},
		{query: "status=400&body=invalid_payload", errHas: "invalid_payload"},
		{query: "status=302&h=Location:https://example.com/", errHas: "HTTP 302"},
		{query: "status=429&h=Retry-After:3", retry: true, retryAfter: 3 * time.Second, errHas: "HTTP 429"},
		{query: "status=500", retry: true, errHas: "HTTP 500"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			c := &shiplog.Channel{Kind: shiplog.ChannelSlack, URL: srv.URL + "/services/T/B/X?" + tt.query}
			d := &shiplog.Delivery{ID: shiplog.NewID(), Payload: []byte(`{"text":"hi"}`)}
			o := sendWith(slack.Kind{}, client, fakeclock.New(fakeclock.Epoch), d, c)
			if o.OK != tt.ok || o.Retryable != tt.retry || o.Disable != tt.disable || o.RetryAfter != tt.retryAfter {
				t.Errorf("outcome %+v", o)
			}
			if !strings.Contains(o.Err, tt.errHas) {
				t.Errorf("Err = %q, want it to contain %q", o.Err, tt.errHas)
			}
		})
	}
}

func TestRecipients(t *testing.T) {
	t.Parallel()
	owners := []string{"alice@example.com", "bob@example.com"}
	tests := []struct {
		recipients []string
		owners     []string
		want       string
	}{
		{[]string{"owners"}, owners, "alice@example.com,bob@example.com"},
		{[]string{"ops@example.com", "owners"}, owners, "ops@example.com,alice@example.com,bob@example.com"},
		{[]string{"ALICE@example.com", "owners", "ops@example.com"}, owners, "ALICE@example.com,bob@example.com,ops@example.com"},
		{[]string{"owners"}, nil, ""},
		{[]string{"ops@example.com"}, nil, "ops@example.com"},
		{[]string{"members"}, owners, "alice@example.com,bob@example.com,dev@example.com"},
		{[]string{"owners", "members"}, owners, "alice@example.com,bob@example.com,dev@example.com"},
	}
	for _, tt := range tests {
		got := email.Kind{}.Recipients(&shiplog.Channel{Config: map[string]any{"recipients": tt.recipients}}, notify.People{Owners: tt.owners,
			Members: append(slices.Clone(tt.owners), "dev@example.com")})
		if strings.Join(got, ",") != tt.want {
			t.Errorf("Recipients(%v, %v) = %v, want %s", tt.recipients, tt.owners, got, tt.want)
		}
	}
}
