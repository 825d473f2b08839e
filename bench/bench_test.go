package main

import (
	"bytes"
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
	decode := func(p int, k int64, started bool) event {
		var e event
		if err := json.Unmarshal(appendEvent(nil, ciEvent{run: &ciRun{p: p, k: k}, started: started}, now), &e); err != nil {
			t.Fatalf("product %d run %d is not valid JSON: %v", p, k, err)
		}
		return e
	}
	started, completed := decode(0, 0, true), decode(0, 0, false)
	if started.Status != "started" || completed.Status != "completed" || completed.CompletedAt == nil || started.CompletedAt != nil {
		t.Errorf("a run is started then completed (with completed_at): %+v, %+v", started, completed)
	}
	if started.InvokeID != completed.InvokeID || started.Version != completed.Version || started.ProductName != completed.ProductName {
		t.Errorf("both events of a run name the same deployment: %+v, %+v", started, completed)
	}
	// A product's second run: same version, the next environment.
	next := decode(0, 1, true)
	if next.ProductName != started.ProductName || next.Version != started.Version || next.EnvironmentName == started.EnvironmentName {
		t.Errorf("run 1 = %+v, want %s %s in another environment", next, started.ProductName, started.Version)
	}
	if next.ScmSHA != started.ScmSHA || next.InvokeID == started.InvokeID {
		t.Errorf("one version, one SHA; one run, one id: %+v vs %+v", next, started)
	}
	// Its fourth: the next version, back in development.
	if v := decode(0, 3, true); v.Version == started.Version || v.EnvironmentName != started.EnvironmentName || v.ScmSHA == started.ScmSHA {
		t.Errorf("run 3 = %+v, want a new version in %s", v, started.EnvironmentName)
	}
	names, ids := map[string]bool{}, map[string]bool{}
	for p := range 100 {
		e := decode(p, 5, true)
		names[e.ProductName], ids[e.InvokeID] = true, true
	}
	if len(names) != 100 || len(ids) != 100 {
		t.Errorf("100 products have %d names and %d run ids", len(names), len(ids))
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
	}{{string(appendEvent(nil, ciEvent{run: &ciRun{}}, time.Now())), 200}, {"{", 400}} {
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

func TestReplicaVerdict(t *testing.T) {
	t.Parallel()
	round := func(rps float64) *roundResult { return &roundResult{rps: rps, ok: 1, window: time.Second} }
	for _, c := range []struct {
		one, two []float64
		ratio    float64
		status   string
	}{
		// Per round, not median over median: 1.6, 1.5, 2.0 → 1.6, where
		// the medians' ratio (180/100) would be 1.8.
		{[]float64{100, 200, 50}, []float64{160, 300, 100}, 1.6, "PASS"},
		{[]float64{100, 100, 100}, []float64{140, 200, 120}, 1.4, "FAIL"},
	} {
		r := newReport(ingestConfig{conns: 64, rounds: 3, replicas: 2})
		for i := range c.one {
			r.add("bare", round(200)) // so that only the replica target can fail
			r.add("sqlite", round(5000))
			r.add("postgres", round(c.one[i]))
			r.add("postgres×2", round(c.two[i]))
		}
		v := r.verdicts()
		last := v[len(v)-1]
		if last.label != "postgres×2/postgres" || last.status != c.status || last.ratio < c.ratio-1e-9 || last.ratio > c.ratio+1e-9 {
			t.Errorf("verdict = %+v, want %s at %.2f", last, c.status, c.ratio)
		}
		if want := map[string]int{"PASS": 0, "FAIL": 1}[c.status]; r.exitCode() != want {
			t.Errorf("exit code %d, want %d", r.exitCode(), want)
		}
		var text bytes.Buffer
		r.writeText(&text)
		if !strings.Contains(text.String(), "postgres×2") || !strings.Contains(text.String(), "≥ 1.50 × one replica") {
			t.Errorf("report:\n%s", text.String())
		}
	}
	if v := newReport(ingestConfig{replicas: 1}).verdicts(); len(v) != 2 {
		t.Errorf("without -replicas, %d verdicts", len(v))
	}
}
