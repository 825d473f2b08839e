package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/client"
)

func TestNew(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url, key, want string
	}{
		{"https://shiplog.example.com/", "sk_a_k1_x", ""},
		{"http://127.0.0.1:8080/prefix/", "sk_a_k1_x", ""},
		{"shiplog.example.com", "sk_a_k1_x", "must be an http:// or https:// URL"},
		{"ftp://shiplog.example.com", "sk_a_k1_x", "must be an http:// or https:// URL"},
		{"https://", "sk_a_k1_x", "must be an http:// or https:// URL"},
		{"https://x.test/?a=b", "sk_a_k1_x", "must not have a query"},
		{"https://x.test", "  ", "no API key"},
	} {
		c, err := client.New(tc.url, tc.key)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("New(%q): %v", tc.url, err)
		case tc.want != "" && (err == nil || !contains(err.Error(), tc.want)):
			t.Errorf("New(%q): %v, want %q", tc.url, err, tc.want)
		case tc.want == "" && c.BaseURL()[len(c.BaseURL())-1] == '/':
			t.Errorf("BaseURL %q keeps a trailing slash", c.BaseURL())
		}
	}
}

// The client records and reads back deployments and builds on a real server.
func TestEventsRoundTrip(t *testing.T) {
	t.Parallel()
	s := start(t)
	c, _ := s.client(t, s.url)
	ctx := context.Background()
	done := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	d, err := c.DeploymentEvent(ctx, &apiv1.DeploymentEventRequest{ProductName: "api", Version: "1.2.3", EnvironmentName: "production",
		Status: "success", DeployedBy: "jdoe", DeployedByEmail: "jdoe@acme.test", ScmSHA: "abc123", ScmRepository: "acme/api",
		DeployURL: "https://ci/1", BuildNumber: "7", SourceSystem: "github", InvokeID: "run-1", CompletedAt: &done,
		ExtraMetadata: json.RawMessage(`{"ticket":"OPS-1","n":12345678901234567890}`)})
	if err != nil {
		t.Fatal(err)
	}
	if d.ID == "" || d.Status != "completed" || d.EnvironmentType != "production" || *d.DeployedBy != "jdoe" ||
		!d.CompletedAt.Equal(done) || string(d.EventType) != "deployment.completed" {
		t.Errorf("deployment: %+v", d.Deployment)
	}
	if !bytes.Contains(d.ExtraMetadata, []byte(`12345678901234567890`)) {
		t.Errorf("metadata lost precision: %s", d.ExtraMetadata)
	}
	got, err := c.Deployment(ctx, d.ID)
	if err != nil || got.ID != d.ID || len(got.Events) != 1 {
		t.Fatalf("Deployment: %v %+v", err, got)
	}
	list, err := c.Deployments(ctx, client.Query{ProductName: "api", EnvironmentName: "production", Status: "completed", Limit: 5})
	if err != nil || len(list.Items) != 1 || list.Items[0].ID != d.ID {
		t.Fatalf("Deployments: %v %+v", err, list)
	}
	b, err := c.BuildEvent(ctx, &apiv1.BuildEventRequest{ProductName: "api", Version: "1.2.4", Status: "failed",
		ErrorMessage: "tests failed", BuildURL: "https://ci/2"})
	if err != nil || b.Status != "failed" || *b.ErrorMessage != "tests failed" {
		t.Fatalf("build: %v %+v", err, b)
	}
	if bd, err := c.Build(ctx, b.ID); err != nil || len(bd.Events) != 1 {
		t.Fatalf("Build: %v %+v", err, bd)
	}
	if bl, err := c.Builds(ctx, client.Query{ProductName: "api", Version: "1.2.4"}); err != nil || len(bl.Items) != 1 {
		t.Fatalf("Builds: %v %+v", err, bl)
	}
	_, err = c.Deployment(ctx, "01890000-0000-7000-8000-000000000000")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 404 {
		t.Errorf("unknown deployment: %v", err)
	}
}

// Server errors become *APIError, not retried; only preflight refusals are blocks.
func TestAPIErrorsFromTheServer(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c, w := s.client(t, s.url)
	bad, _ := client.New(s.url, "sk_acme_k1_wrong", client.WithSleep(w.sleep))
	if _, err := c.DeploymentEvent(ctx, &apiv1.DeploymentEventRequest{ProductName: "api", Version: "1", EnvironmentName: "prod",
		Status: "success", ScmSHA: "aaa"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		c       *client.Client
		req     apiv1.DeploymentEventRequest
		status  int
		message string
	}{
		{"bad key", bad, apiv1.DeploymentEventRequest{ProductName: "api", Version: "1", EnvironmentName: "prod", Status: "success"}, 401, "Invalid API key"},
		{"missing field", c, apiv1.DeploymentEventRequest{Version: "1", EnvironmentName: "prod", Status: "success"}, 400, "product_name"},
		{"unknown status", c, apiv1.DeploymentEventRequest{ProductName: "api", Version: "1", EnvironmentName: "prod", Status: "yolo"}, 400, "yolo"},
		{"immutable SHA", c, apiv1.DeploymentEventRequest{ProductName: "api", Version: "1", EnvironmentName: "prod", Status: "success", ScmSHA: "bbb"}, 409, "different SHA"},
	} {
		_, err := tc.c.DeploymentEvent(ctx, &tc.req)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.StatusCode != tc.status || !contains(ae.Message, tc.message) || ae.Blocked() || ae.Attempts != 1 {
			t.Errorf("%s: %v (%+v); want %d %q, not blocked, one attempt", tc.name, err, ae, tc.status, tc.message)
		}
	}
	if got := w.get(); len(got) != 0 {
		t.Errorf("4xx answers were retried: %v", got)
	}
}

// Preflight refusals from the real rule engine are blocks with the rule, the
// reason and retry_after; report-only failures come back as warnings.
func TestBlocksAndWarnings(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := context.Background()
	c, _ := s.client(t, s.url)
	s.rule(t, freeze("Freeze", "prod", "enabled"))
	s.rule(t, freeze("Soft freeze", "stage", "report_only"))
	dep := func(version, env, status string) (*apiv1.DeploymentEventResponse, error) {
		return c.DeploymentEvent(ctx, &apiv1.DeploymentEventRequest{ProductName: "api", Version: version, EnvironmentName: env, Status: status})
	}

	_, err := dep("1", "prod", "started")
	var ae *client.APIError
	if !errors.As(err, &ae) || !ae.Blocked() || ae.StatusCode != 423 {
		t.Fatalf("freeze: %v", err)
	}
	if b := ae.Block; b.Code != "NO_DEPLOY_WINDOW" || b.RuleName() != "Freeze" || b.Reason() != "release train" ||
		b.RetryAfter == "" || b.Error != "deployment_blocked" || !contains(ae.Error(), "deployment blocked (423 NO_DEPLOY_WINDOW)") {
		t.Errorf("block: %+v", b)
	}

	res, err := dep("1", "stage", "started")
	if err != nil {
		t.Fatalf("report-only rule blocked: %v", err)
	}
	ws := client.Warnings(client.RulesEvaluated(res.ExtraMetadata))
	if len(ws) != 1 || ws[0].RuleName != "Soft freeze" || ws[0].ErrorMessage == "" {
		t.Errorf("warnings: %+v from %s", ws, res.ExtraMetadata)
	}

	// Another run of the product still started in stage: the built-in concurrency check.
	_, err = dep("2", "stage", "started")
	if !errors.As(err, &ae) || !ae.Blocked() || ae.StatusCode != 409 || ae.Block.Code != "CONCURRENT_DEPLOYMENT" ||
		ae.Block.RuleName() != "Concurrent deployments" {
		t.Fatalf("concurrency: %v", err)
	}

	// Preflight: the same verdicts, nothing recorded.
	for _, tc := range []struct {
		env     string
		allowed bool
		code    string
		warn    int
	}{{"prod", false, "NO_DEPLOY_WINDOW", 0}, {"stage", false, "CONCURRENT_DEPLOYMENT", 0}, {"dev", true, "", 0}} {
		v, err := c.Preflight(ctx, &apiv1.PreflightInput{ProductName: "api", Version: "3", EnvironmentName: tc.env})
		if err != nil || v.Allowed != tc.allowed || (v.Block != nil) == tc.allowed || (v.Block != nil && v.Block.Code != tc.code) {
			t.Errorf("preflight %s: %v %+v", tc.env, err, v)
		}
	}
	if _, err := dep("1", "stage", "success"); err != nil { // finish the run
		t.Fatal(err)
	}
	v, err := c.Preflight(ctx, &apiv1.PreflightInput{ProductName: "api", Version: "3", EnvironmentName: "stage"})
	if err != nil || !v.Allowed || len(client.Warnings(v.Rules)) != 1 {
		t.Errorf("preflight with a report-only failure: %v %+v", err, v)
	}
	list, _ := c.Deployments(ctx, client.Query{ProductName: "api", Version: "3"})
	if len(list.Items) != 0 {
		t.Errorf("preflight recorded %d deployments", len(list.Items))
	}
}

// flaky sits in front of the real server and misbehaves on the first
// attempts, one way per attempt:
//
//	"503", "429": answers that status without forwarding
//	"reset":      closes the connection without forwarding
//	"lost":       forwards (the server records the event), then closes the
//	              connection instead of answering, so the client cannot know
//	anything else, and every later attempt: forwards and answers
type flaky struct {
	target string
	script []string

	mu       sync.Mutex
	keys     []string
	replayed []string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	n := len(f.keys)
	f.keys = append(f.keys, r.Header.Get("Idempotency-Key"))
	f.mu.Unlock()
	act := "pass"
	if n < len(f.script) {
		act = f.script[n]
	}
	switch act {
	case "503", "429":
		// A fresh connection next time: on a reused one net/http itself
		// retries a reset request that carries an Idempotency-Key, which
		// would hide the "reset" step from the client.
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(map[string]int{"503": 503, "429": 429}[act])
		_, _ = w.Write([]byte(`{"detail": "Service temporarily unavailable"}`))
		return
	case "reset":
		hangUp(w)
		return
	}
	body, _ := io.ReadAll(r.Body)
	req, _ := http.NewRequest(r.Method, f.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	f.mu.Lock()
	f.replayed = append(f.replayed, res.Header.Get("Idempotent-Replayed"))
	f.mu.Unlock()
	if act == "lost" {
		hangUp(w)
		return
	}
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(out)
}

func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

// A retried event is recorded exactly once, whatever went wrong on the way.
func TestRetryRecordsOnce(t *testing.T) {
	t.Parallel()
	s := start(t)
	for _, tc := range []struct {
		name   string
		script []string
		waits  []time.Duration
	}{
		{"lost answer, 503, reset", []string{"lost", "503", "reset"}, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}},
		{"429 then ok", []string{"429"}, []time.Duration{time.Second}},
		{"lost answer", []string{"lost"}, []time.Duration{time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &flaky{target: s.url, script: tc.script}
			proxy := httptest.NewServer(f)
			defer proxy.Close()
			c, w := s.client(t, proxy.URL)
			product := "retry-" + tc.name
			res, err := c.DeploymentEvent(context.Background(), &apiv1.DeploymentEventRequest{ProductName: product, Version: "1",
				EnvironmentName: "prod", Status: "success"})
			if err != nil {
				t.Fatal(err)
			}
			if got := w.get(); !reflect.DeepEqual(got, tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}
			if len(f.keys) != len(tc.script)+1 || f.keys[0] == "" {
				t.Fatalf("attempts %d, keys %q", len(f.keys), f.keys)
			}
			for _, k := range f.keys {
				if k != f.keys[0] {
					t.Errorf("the retries changed the Idempotency-Key: %q", f.keys)
				}
			}
			direct, _ := s.client(t, s.url)
			list, err := direct.Deployments(context.Background(), client.Query{ProductName: product})
			if err != nil || len(list.Items) != 1 || list.Items[0].ID != res.ID {
				t.Fatalf("recorded deployments: %v %+v, want exactly %s", err, list, res.ID)
			}
			d, err := direct.Deployment(context.Background(), res.ID)
			if err != nil || len(d.Events) != 1 {
				t.Fatalf("timeline: %v, %d events, want 1", err, len(d.Events))
			}
			if tc.script[0] == "lost" && f.replayed[len(f.replayed)-1] != "true" {
				t.Errorf("the retry after a lost answer was not a replay: %q", f.replayed)
			}
		})
	}
}

func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	s := start(t)
	always := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"detail": "Service temporarily unavailable"}`))
	}))
	t.Cleanup(always.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	all := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
	for _, tc := range []struct {
		name     string
		url      string
		opts     []client.Option
		network  bool
		attempts int
		waits    []time.Duration
	}{
		{"5xx", always.URL, nil, false, 4, all},
		{"connection refused", closed, nil, true, 4, all},
		{"no retries", always.URL, []client.Option{client.WithBackoff()}, false, 1, nil},
		{"one retry", closed, []client.Option{client.WithBackoff(time.Millisecond)}, true, 2, []time.Duration{time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, w := s.client(t, tc.url, tc.opts...)
			_, err := c.BuildEvent(context.Background(), &apiv1.BuildEventRequest{ProductName: "p", Version: "1", Status: "completed"})
			var ae *client.APIError
			var ne *client.NetworkError
			switch {
			case tc.network && (!errors.As(err, &ne) || ne.Attempts != tc.attempts):
				t.Errorf("err %v, want a network error after %d attempts", err, tc.attempts)
			case !tc.network && (!errors.As(err, &ae) || ae.StatusCode != 503 || ae.Attempts != tc.attempts):
				t.Errorf("err %v, want 503 after %d attempts", err, tc.attempts)
			}
			if got := w.get(); !reflect.DeepEqual(got, tc.waits) {
				t.Errorf("waits %v, want %v", got, tc.waits)
			}
		})
	}
}

// A cancelled context ends the retries at the next wait.
func TestRetryStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	s := start(t)
	f := &flaky{target: s.url, script: []string{"503", "503", "503"}}
	proxy := httptest.NewServer(f)
	defer proxy.Close()
	ctx, cancel := context.WithCancel(context.Background())
	c, err := client.New(proxy.URL, s.key, client.WithSleep(func(ctx context.Context, _ time.Duration) error {
		cancel()
		return ctx.Err()
	}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.DeploymentEvent(ctx, &apiv1.DeploymentEventRequest{ProductName: "p", Version: "1", EnvironmentName: "e", Status: "success"})
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.StatusCode != 503 || len(f.keys) != 1 {
		t.Errorf("err %v after %d attempts; want the 503 and no more attempts", err, len(f.keys))
	}
	_, err = c.DeploymentEvent(ctx, &apiv1.DeploymentEventRequest{ProductName: "p", Version: "1", EnvironmentName: "e", Status: "success"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

// Error bodies of every shape the Versioner API family sends. The shapes
// the real server does not produce (top-level blocks, FastAPI validation
// lists, proxies' pages) are served by httptest.
func TestErrorBodies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		blocked  bool
		message  string
		rule     string
		retry    string
		noRoute  bool
		wantCode string
	}{
		{"nested block", 428, `{"detail": {"error": "deployment_blocked", "message": "staging first", "code": "FLOW_VIOLATION",
			"details": {"rule_name": "Staging required", "missing_environments": ["staging"]}}}`, true, "staging first", "Staging required", "", false, "FLOW_VIOLATION"},
		{"top-level block", 423, `{"error": "deployment_blocked", "message": "frozen", "code": "NO_DEPLOY_WINDOW",
			"retry_after": "2026-01-01T00:00:00Z", "details": {"rule_name": "Freeze", "reason": "holidays"}}`, true, "frozen", "Freeze", "2026-01-01T00:00:00Z", false, "NO_DEPLOY_WINDOW"},
		{"block with a numeric retry_after", 409, `{"detail": {"error": "deployment_blocked", "message": "busy", "code": "CONCURRENT_DEPLOYMENT", "retry_after": 60}}`,
			true, "busy", "", "60", false, "CONCURRENT_DEPLOYMENT"},
		{"immutability 409", 409, `{"detail": "Version 1.2.3 already exists with different SHA"}`, false, "different SHA", "", "", false, ""},
		{"object detail on a 403", 403, `{"detail": {"error": "forbidden", "message": "no access"}}`, false, "no access", "", "", false, ""},
		{"FastAPI validation", 422, `{"detail": [{"loc": ["body", "product_name"], "msg": "field required", "type": "value_error.missing"}]}`,
			false, "product_name: field required", "", "", false, ""},
		{"proxy page", 413, "<html><body>Request Entity Too Large</body></html>", false, "Request Entity Too Large", "", "", false, ""},
		{"plain text", 418, "short and stout\nmore", false, "short and stout", "", "", false, ""},
		{"empty 404", 404, "", false, "Not Found", "", "", true, ""},
		{"empty 500", 500, "", false, "Internal Server Error", "", "", false, ""},
		{"FastAPI 404", 404, `{"detail": "Not Found"}`, false, "Not Found", "", "", true, ""},
		{"shiplog 404", 404, `{"detail": "No route for POST /preflight/"}`, false, "No route", "", "", true, ""},
		{"405", 405, `{"detail": "Method Not Allowed"}`, false, "Method Not Allowed", "", "", true, ""},
		{"a real 404 of the endpoint", 404, `{"detail": "Product api not found"}`, false, "not found", "", "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			c, err := client.New(srv.URL, "sk_a_k1_x", client.WithBackoff())
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.DeploymentEvent(context.Background(), &apiv1.DeploymentEventRequest{})
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err %v", err)
			}
			if ae.Blocked() != tc.blocked || !contains(ae.Message, tc.message) || ae.StatusCode != tc.status {
				t.Errorf("got blocked=%v %d %q; want blocked=%v %d %q", ae.Blocked(), ae.StatusCode, ae.Message, tc.blocked, tc.status, tc.message)
			}
			if tc.blocked && (ae.Block.RuleName() != tc.rule || ae.Block.RetryAfter != tc.retry || ae.Block.Code != tc.wantCode) {
				t.Errorf("block %+v", ae.Block)
			}
			// The same answer to a preflight question: blocks are verdicts,
			// a missing route is ErrNoPreflight, the rest errors.
			v, err := c.Preflight(context.Background(), &apiv1.PreflightInput{})
			switch {
			case tc.blocked && (err != nil || v.Allowed || v.Block == nil || v.StatusCode != tc.status):
				t.Errorf("preflight: %v %+v; want a refusal", err, v)
			case tc.noRoute && !errors.Is(err, client.ErrNoPreflight):
				t.Errorf("preflight: %v; want ErrNoPreflight", err)
			case !tc.blocked && !tc.noRoute && (err == nil || errors.Is(err, client.ErrNoPreflight)):
				t.Errorf("preflight: %v; want the API error", err)
			}
			if tc.noRoute && !contains(err.Error(), "this server has no preflight endpoint") {
				t.Errorf("message %q", err)
			}
		})
	}
}

// Verdicts in the shapes a 2xx preflight answer may take.
func TestPreflightAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		body    string
		allowed bool
		block   string
		rules   int
	}{
		{`{"allowed": true, "preflight_status": "passed", "rules_evaluated": [{"rule_name": "a", "status": "report_only", "evaluation_result": "failed"}], "warnings": []}`, true, "", 1},
		{`{"allowed": false, "detail": {"error": "deployment_blocked", "code": "X", "message": "no"}}`, false, "X", 0},
		{`{"blocked": true, "block": {"code": "Y", "message": "no"}}`, false, "Y", 0},
		{`{"preflight_status": {"rules_evaluated": [{"rule_name": "a"}, {"rule_name": "b"}]}}`, true, "", 2},
		{``, true, "", 0},
		{`[1, 2]`, true, "", 0},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/base/preflight/" || r.Method != http.MethodPost {
				http.NotFound(w, r)
				return
			}
			_, _ = io.WriteString(w, tc.body)
		}))
		c, _ := client.New(srv.URL+"/base/", "sk_a_k1_x")
		v, err := c.Preflight(context.Background(), &apiv1.PreflightInput{ProductName: "p", Version: "1", EnvironmentName: "e"})
		srv.Close()
		if err != nil || v.Allowed != tc.allowed || len(v.Rules) != tc.rules || (tc.block != "" && (v.Block == nil || v.Block.Code != tc.block)) {
			t.Errorf("%s: %v %+v", tc.body, err, v)
		}
	}
}
