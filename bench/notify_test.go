package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func deliver(t *testing.T, rcv *receiver, path, id, sig string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+rcv.addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if id != "" {
		req.Header.Set("Webhook-Id", id)
	}
	req.Header.Set("X-Versioner-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("receiver answered %d", resp.StatusCode)
	}
}

func TestReceiver(t *testing.T) {
	t.Parallel()
	var cl cleanups
	t.Cleanup(cl.run)
	rcv, err := startReceiver(&cl, "s3cret")
	if err != nil {
		t.Fatal(err)
	}
	body := appendPayload(nil, 7, time.Now())
	good := signBody([]byte("s3cret"), body)
	deliver(t, rcv, "/hook/a", "d1", good, body)
	deliver(t, rcv, "/hook/b", "d2", good, body)
	deliver(t, rcv, "/hook/a", "d1", good, body)                           // a redelivery
	deliver(t, rcv, "/hook/a", "d3", "sha256=00", body)                    // bad signature
	deliver(t, rcv, "/hook/a", "", good, body)                             // no Webhook-Id
	deliver(t, rcv, "/hook/a", "d4", signBody([]byte("s3cret"), nil), nil) // no version

	if n, last := rcv.received(); n != 2 || last.IsZero() {
		t.Errorf("received = %d, %v; want 2 distinct deliveries", n, last)
	}
	if a := rcv.version("bare-7"); a.n != 2 || a.first.After(a.last) {
		t.Errorf("version bare-7 = %+v, want 2 deliveries", a)
	}
	if a := rcv.version("nope"); a.n != 0 {
		t.Errorf("unknown version = %+v", a)
	}
	if p := rcv.byPath(); p["/hook/a"] != 1 || p["/hook/b"] != 1 {
		t.Errorf("by path = %v", p)
	}
	if dups, bad, note := rcv.faults(); dups != 1 || bad != 3 || !strings.Contains(note, "X-Versioner-Signature") {
		t.Errorf("faults = %d, %d, %q; want 1 redelivery and 3 rejected, the first a bad signature", dups, bad, note)
	}
	rcv.reset()
	if n, _ := rcv.received(); n != 0 {
		t.Errorf("after reset, received = %d", n)
	}
}

func TestPayloads(t *testing.T) {
	t.Parallel()
	var m map[string]any
	if err := json.Unmarshal(appendPayload(nil, 42, time.Now()), &m); err != nil {
		t.Fatalf("bare payload is not JSON: %v", err)
	}
	if m["version"] != "bare-42" || m["id"] != "bare42" || m["event_type"] != "deployment.completed" {
		t.Errorf("bare payload = %v", m)
	}
	if err := json.Unmarshal(appendNotifyEvent(nil, "svc", "1.2.3"), &m); err != nil {
		t.Fatalf("event is not JSON: %v", err)
	}
	if m["product_name"] != "svc" || m["version"] != "1.2.3" || m["status"] != "success" || m["environment_name"] != "production" {
		t.Errorf("event = %v", m)
	}
}

func TestBareSend(t *testing.T) {
	t.Parallel()
	var cl cleanups
	t.Cleanup(cl.run)
	rcv, err := startReceiver(&cl, "k")
	if err != nil {
		t.Fatal(err)
	}
	r, err := bareSend(context.Background(), rcv, 4, 0, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.sent == 0 || r.errors != 0 || r.bad != 0 || r.dups != 0 || r.p50 <= 0 || r.p99 < r.p50 {
		t.Errorf("bare sender = %+v", r)
	}
}

// fakeShiplog accepts deployment events and delivers each, after delay, to
// fanout paths of the receiver, as shiplog's worker would.
func fakeShiplog(t *testing.T, rcv *receiver, fanout int, delay time.Duration) *target {
	var ids atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/deployment-events/" || r.Header.Get("Authorization") != "Bearer sk_test" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		var ev struct {
			Version string `json:"version"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &ev); err != nil || ev.Version == "" {
			http.Error(w, `{"detail":"bad event"}`, http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		go func() {
			time.Sleep(delay)
			body := []byte(fmt.Sprintf(`{"id":"x","version":%q}`, ev.Version))
			for i := range fanout {
				req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://%s/hook/%d", rcv.addr, i), bytes.NewReader(body))
				req.Header.Set("Webhook-Id", fmt.Sprint("d", ids.Add(1)))
				req.Header.Set("X-Versioner-Signature", signBody(rcv.secret, body))
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}))
	t.Cleanup(srv.Close)
	return &target{name: "fake", base: srv.URL, url: srv.URL + "/deployment-events/", key: "sk_test"}
}

func TestMeasureLatency(t *testing.T) {
	t.Parallel()
	var cl cleanups
	t.Cleanup(cl.run)
	rcv, err := startReceiver(&cl, "k")
	if err != nil {
		t.Fatal(err)
	}
	tg := fakeShiplog(t, rcv, 1, 5*time.Millisecond)
	r, err := measureLatency(context.Background(), tg, rcv, 200, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if r.sent != 200 || r.accepted != 200 || r.undelivered != 0 || r.extra != 0 || r.errors != 0 {
		t.Errorf("latency = %+v; want 200 events accepted and delivered once each", r)
	}
	// The delivery leaves 5 ms after the server has the event, so from the
	// send it takes longer; from the answer it takes less than from the send.
	s, a := r.fromSend, r.fromAnswer
	if s.p50 < 5*time.Millisecond || s.max < s.p99 || s.p99 < s.p50 || len(r.perSecond) != 1 || r.perSecond[0] < 5*time.Millisecond {
		t.Errorf("from the send %v, by second %v; want at least the 5 ms delay", s, r.perSecond)
	}
	if a.p50 > s.p50 || a.p99 > s.p99 || a.max > s.max || a.p99 < a.p50 {
		t.Errorf("from the answer %v, from the send %v; want the answer's no later", a, s)
	}
}

func TestMeasureFanout(t *testing.T) {
	t.Parallel()
	var cl cleanups
	t.Cleanup(cl.run)
	rcv, err := startReceiver(&cl, "k")
	if err != nil {
		t.Fatal(err)
	}
	tg := fakeShiplog(t, rcv, 20, 0)
	r, err := measureFanout(context.Background(), tg, rcv, 20, 2, func(string, ...any) {})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.runs) != 2 || r.errors != 0 || r.median <= 0 || r.median >= fanoutLimit {
		t.Fatalf("fan-out = %+v", r)
	}
	for _, x := range r.runs {
		if x.received != 20 || x.first > x.all || x.all <= 0 {
			t.Errorf("run = %+v; want all 20 deliveries", x)
		}
	}
}

func TestNotifyVerdicts(t *testing.T) {
	t.Parallel()
	good := func(name string) *storeResult {
		return &storeResult{name: name,
			latency: &latencyResult{rate: 1000, accepted: 10, fromSend: spread{p50: time.Millisecond, p99: 10 * time.Millisecond},
				fromAnswer: spread{p50: time.Millisecond / 2, p99: 5 * time.Millisecond}},
			sustained: &sustainedResult{load: &roundResult{}, perSec: 5000, drained: true},
			fanout:    &fanoutResult{channels: 1000, runs: []fanoutRun{{all: time.Second}}, median: time.Second}}
	}
	bad := good("sqlite")
	bad.latency.fromSend.p99 = 30 * time.Millisecond
	bad.latency.fromAnswer.p99 = 20 * time.Millisecond // the target is from the send
	bad.sustained.drained = false
	bad.fanout.median = 3 * time.Second
	pg := good("postgres")
	pg.latency.fromSend.p50 = 40 * time.Millisecond // PostgreSQL's latency target is p99 ≤ 50 ms
	pg.latency.fromSend.p99 = 45 * time.Millisecond
	pg.latency.undelivered = 1 // and every event must be delivered
	slowPG := good("postgres")
	slowPG.latency.fromSend.p99 = 60 * time.Millisecond
	slowPG.sustained.perSec = 2900
	slowSQLite := good("sqlite")
	slowSQLite.latency.fromSend.p50 = 6 * time.Millisecond
	slowSQLite.latency.fromSend.p99 = 40 * time.Millisecond // within PostgreSQL's target, not SQLite's
	for _, c := range []struct {
		stores []*storeResult
		fail   []string
	}{
		{[]*storeResult{good("sqlite"), good("postgres")}, nil},
		{[]*storeResult{bad}, []string{"sqlite latency p99 from the send", "sqlite sustained", "sqlite fan-out to 1000"}},
		{[]*storeResult{pg}, []string{"postgres latency: all delivered"}},
		{[]*storeResult{slowSQLite, slowPG}, []string{"sqlite latency p50 from the send", "sqlite latency p99 from the send",
			"postgres latency p99 from the send", "postgres sustained"}},
	} {
		r := &notifyReport{bare: &bareResult{perSec: 20000}, stores: c.stores}
		var failed []string
		for _, v := range r.verdicts() {
			if v.status == "FAIL" {
				failed = append(failed, v.label)
			}
		}
		if fmt.Sprint(failed) != fmt.Sprint(c.fail) {
			t.Errorf("failed = %q, want %q", failed, c.fail)
		}
		if want := min(len(c.fail), 1); r.exitCode() != want {
			t.Errorf("exit code %d, want %d", r.exitCode(), want)
		}
		var text, md bytes.Buffer
		r.writeText(&text)
		r.writeMarkdown(&md)
		if !strings.Contains(text.String(), "deliveries/s") || !strings.Contains(md.String(), "| target |") ||
			!strings.Contains(text.String(), "send → received") || !strings.Contains(md.String(), "answer → received") {
			t.Errorf("report:\n%s\n%s", text.String(), md.String())
		}
	}
}

func TestParseNotifyFlags(t *testing.T) {
	t.Parallel()
	c, err := parseNotifyFlags(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.duration != 10*time.Second || c.rate != 1000 || c.conns != 64 || c.fanout != 1000 || c.repeats != 3 {
		t.Errorf("defaults = %+v", c)
	}
	if !c.runs("latency") || !c.runs("fanout") {
		t.Error("by default every measurement runs")
	}
	c, err = parseNotifyFlags([]string{"-only", "fanout, latency"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !c.runs("latency") || c.runs("sustained") || !c.runs("fanout") {
		t.Errorf("-only fanout,latency runs %v", c.only)
	}
	for _, args := range [][]string{{"-rate", "0"}, {"-duration", "1ms"}, {"-fanout", "0"}, {"x"},
		{"-cpuprofile", "/tmp/p", "-shiplog", "/bin/true"}, {"-only", "latency,bogus"}} {
		if _, err := parseNotifyFlags(args, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}
