package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestAppendEvent(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type event struct {
		ProductName     string          `json:"product_name"`
		Version         string          `json:"version"`
		EnvironmentName string          `json:"environment_name"`
		Status          string          `json:"status"`
		ScmSHA          string          `json:"scm_sha"`
		InvokeID        string          `json:"invoke_id"`
		CompletedAt     *time.Time      `json:"completed_at"`
		ExtraMetadata   json.RawMessage `json:"extra_metadata"`
	}
	decode := func(n int64) event {
		var e event
		if err := json.Unmarshal(appendEvent(nil, n, now), &e); err != nil {
			t.Fatalf("event %d is not valid JSON: %v", n, err)
		}
		return e
	}
	started, completed := decode(0), decode(1)
	if started.Status != "started" || completed.Status != "completed" || completed.CompletedAt == nil || started.CompletedAt != nil {
		t.Errorf("a run is started then completed (with completed_at): %+v, %+v", started, completed)
	}
	if started.InvokeID != completed.InvokeID || started.Version != completed.Version || started.ProductName != completed.ProductName {
		t.Errorf("both events of a run name the same deployment: %+v, %+v", started, completed)
	}
	// Run 20 is product 0's second run: same version, the next environment.
	next := decode(40)
	if next.ProductName != started.ProductName || next.Version != started.Version || next.EnvironmentName == started.EnvironmentName {
		t.Errorf("run 20 = %+v, want %s %s in another environment", next, started.ProductName, started.Version)
	}
	if next.ScmSHA != started.ScmSHA {
		t.Errorf("one version, one SHA: %s vs %s", next.ScmSHA, started.ScmSHA)
	}
	// Run 60 is product 0's fourth: the next version, back in development.
	if v := decode(120); v.Version == started.Version || v.EnvironmentName != started.EnvironmentName || v.ScmSHA == started.ScmSHA {
		t.Errorf("run 60 = %+v, want a new version in %s", v, started.EnvironmentName)
	}
	seen := map[string]bool{}
	for n := int64(0); n < 200; n += 2 {
		seen[decode(n).ProductName] = true
	}
	if len(seen) != len(products) {
		t.Errorf("100 runs cover %d products, want %d", len(seen), len(products))
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var s []time.Duration
	for i := 1; i <= 200; i++ {
		s = append(s, time.Duration(i))
	}
	for _, c := range []struct {
		p    float64
		want time.Duration
	}{{50, 100}, {99, 198}, {100, 200}, {0.1, 1}} {
		if got := percentile(s, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("p50 of nothing = %v", got)
	}
	if got := median([]float64{3, 1, 2}); got != 2 {
		t.Errorf("median = %v, want 2", got)
	}
	if got := median([]time.Duration{4, 1, 3, 2}); got != 2 {
		t.Errorf("median = %v, want 2 (2.5 truncated)", got)
	}
}

func TestLineLogFindsAddress(t *testing.T) {
	t.Parallel()
	l := newLineLog(shiplogAddrRE)
	for _, chunk := range []string{"time=x level=INFO msg=\"starting\"\ntime=x level=INFO msg=\"shiplog li",
		"stening\" addr=127.0.0.1:4321 db=sqlite\ntime=x level=ERROR msg=boom\n"} {
		_, _ = l.Write([]byte(chunk))
	}
	select {
	case addr := <-l.addr:
		if addr != "127.0.0.1:4321" {
			t.Errorf("addr = %q", addr)
		}
	default:
		t.Fatal("no address found")
	}
	if w, e := l.counts(); w != 0 || e != 1 {
		t.Errorf("warnings, errors = %d, %d; want 0, 1", w, e)
	}
	if tail := l.tail(1); !strings.Contains(tail, "boom") {
		t.Errorf("tail = %q", tail)
	}
}

func TestBareHandler(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(bareHandler())
	t.Cleanup(srv.Close)
	for _, c := range []struct {
		body string
		want int
	}{{string(appendEvent(nil, 1, time.Now())), 200}, {"{", 400}} {
		resp, err := http.Post(srv.URL+"/deployment-events/", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("POST %.20q: %d, want %d", c.body, resp.StatusCode, c.want)
		}
	}
}

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{"127.0.0.1:0": true, "[::1]:80": true, "0.0.0.0:80": false,
		"10.0.0.1:80": false, "localhost:80": false} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v", addr, err)
		}
	}
}
