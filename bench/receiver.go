package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the webhook endpoint of the notify benchmark: an http.Server
// in the benchmark process, on loopback, that answers 200 at once. For each
// delivery it notes when it arrived, under its Webhook-Id and under the
// "version" of its body, and it checks the X-Versioner-Signature. The bare
// sender and shiplog get exactly the same treatment.
type receiver struct {
	secret []byte
	srv    *http.Server
	addr   string // host:port
	conns  atomic.Int64

	mu       sync.Mutex
	ids      map[string]struct{}
	versions map[string]*arrival
	paths    map[string]int // distinct deliveries per URL path
	n        int            // distinct deliveries (by Webhook-Id)
	dups     int            // a Webhook-Id seen again: a redelivery
	bad      int            // no Webhook-Id, a body without a version, or a bad signature
	badNote  string
	last     time.Time // arrival of the latest distinct delivery
}

// arrival is what reached the receiver for one version.
type arrival struct {
	first, last time.Time
	n           int // distinct deliveries
}

// startReceiver listens on 127.0.0.1:0; cl shuts it down.
func startReceiver(cl *cleanups, secret string) (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{secret: []byte(secret), addr: ln.Addr().String()}
	r.reset()
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				r.conns.Add(1)
			}
		}}
	go func() { _ = r.srv.Serve(ln) }()
	cl.add(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = r.srv.Shutdown(ctx)
	})
	return r, nil
}

// reset forgets every delivery, for the next measurement.
func (r *receiver) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = map[string]struct{}{}
	r.versions = map[string]*arrival{}
	r.paths = map[string]int{}
	r.n, r.dups, r.bad, r.badNote, r.last = 0, 0, 0, "", time.Time{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	w.WriteHeader(http.StatusOK)
	if err != nil {
		r.reject("read body: " + err.Error())
		return
	}
	id := req.Header.Get("Webhook-Id")
	var p struct {
		Version *string `json:"version"`
	}
	switch {
	case req.Method != http.MethodPost || id == "":
		r.reject(fmt.Sprintf("%s %s without a Webhook-Id", req.Method, req.URL.Path))
		return
	case json.Unmarshal(body, &p) != nil || p.Version == nil:
		r.reject(fmt.Sprintf("a body without a version: %.200s", body))
		return
	case len(r.secret) > 0 && !hmac.Equal([]byte(req.Header.Get("X-Versioner-Signature")), []byte(signBody(r.secret, body))):
		r.reject("bad X-Versioner-Signature on delivery " + id)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.ids[id]; seen {
		r.dups++
		return
	}
	r.ids[id] = struct{}{}
	r.n++
	r.last = at
	r.paths[req.URL.Path]++
	a := r.versions[*p.Version]
	if a == nil {
		a = &arrival{first: at}
		r.versions[*p.Version] = a
	}
	a.n++
	a.last = at
}

func (r *receiver) reject(note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bad++
	if r.badNote == "" {
		r.badNote = note
	}
}

// received is the number of distinct deliveries and the arrival of the last.
func (r *receiver) received() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.last
}

// byPath returns the distinct deliveries per URL path.
func (r *receiver) byPath() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.paths)
}

// version returns what arrived for one version (zero if nothing did).
func (r *receiver) version(v string) arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a := r.versions[v]; a != nil {
		return *a
	}
	return arrival{}
}

// faults returns the redeliveries and rejected requests so far.
func (r *receiver) faults() (dups, bad int, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.dups, r.bad, r.badNote
}

// waitUntil polls cond every 2 ms until it holds (true), the deadline passes
// or ctx ends (false). Arrival times are taken by the receiver, so the
// polling interval does not blur any measurement.
func waitUntil(ctx context.Context, deadline time.Time, cond func() bool) bool {
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// signBody is the X-Versioner-Signature of a body: "sha256=" and the hex
// HMAC-SHA256 keyed with the secret's bytes, as shiplog signs.
func signBody(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// appendPayload appends a compact webhook body of the shape shiplog sends
// for deployment.completed (about 400 bytes), for the bare sender.
func appendPayload(b []byte, n int64, now time.Time) []byte {
	id := strconv.FormatInt(n, 10)
	b = append(b, `{"id":"bare`...)
	b = append(b, id...)
	b = append(b, `","deployed_at":"`...)
	b = now.UTC().AppendFormat(b, "2006-01-02T15:04:05.000000+00:00")
	b = append(b, `","event_type":"deployment.completed","environment":"production","is_successful":true,"deployer":"CI Bot","product_name":"notify-bench","version":"bare-`...)
	b = append(b, id...)
	b = append(b, `","repo_name":"https://github.com/example/notify-bench","commit_sha":"0123456789abcdef0123456789abcdef01234567","preflight_status":null,"source_url":"http://127.0.0.1:8080/deployments/bare`...)
	b = append(b, id...)
	b = append(b, `"}`...)
	return b
}

// bareResult is the bare sender's measurement: the ceiling.
type bareResult struct {
	window    time.Duration
	sent      int // 2xx answers inside the window
	perSec    float64
	p50, p99  time.Duration
	errors    int
	sample    string
	received  int // distinct deliveries the receiver counted in the window
	conns     int64
	cpu       cpuUse // of this process (load generator and receiver) and the machine
	dups, bad int
	badSample string
}

// bareSend is the ceiling for deliveries: conns goroutines of this process
// POST signed compact JSON bodies with Webhook-Id and X-Versioner-Event
// headers to the receiver, each on its own keep-alive connection, as fast as
// it answers, for warmup and then window. Only the window counts.
func bareSend(ctx context.Context, rcv *receiver, conns int, warmup, window time.Duration) (*bareResult, error) {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	url := "http://" + rcv.addr + "/hook/bare"
	var seq atomic.Int64
	start := time.Now().Add(warmup)
	end := start.Add(window)
	var cpu0, cpu1 cpuSample
	var n0, n1 int
	var c0, c1 int64
	var wg sync.WaitGroup
	wg.Go(func() {
		if sleepUntil(ctx, start) {
			cpu0, c0 = sampleCPU(), rcv.conns.Load()
			n0, _ = rcv.received()
		}
		if sleepUntil(ctx, end) {
			cpu1, c1 = sampleCPU(), rcv.conns.Load()
			n1, _ = rcv.received()
		}
	})
	stats := make([]workerStats, conns)
	for i := range stats {
		w := &stats[i]
		wg.Go(func() {
			var body []byte
			for {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				n := seq.Add(1)
				body = appendPayload(body[:0], n, t0)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
				if err != nil {
					w.fail("transport", err.Error())
					continue
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("User-Agent", "shiplog-bench/1")
				req.Header.Set("X-Versioner-Event", "deployment.completed")
				req.Header.Set("Webhook-Id", "bare"+strconv.FormatInt(n, 10))
				req.Header.Set("X-Versioner-Signature", signBody(rcv.secret, body))
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						w.fail("transport", err.Error())
					}
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				t1 := time.Now()
				if resp.StatusCode/100 != 2 {
					w.fail(strconv.Itoa(resp.StatusCode), resp.Status)
					continue
				}
				if !t1.Before(start) && !t1.After(end) {
					w.lat = append(w.lat, t1.Sub(t0))
				}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &bareResult{window: window, received: n1 - n0, conns: c1 - c0, cpu: cpuBetween(cpu0, cpu1)}
	var lat []time.Duration
	for _, w := range stats {
		lat = append(lat, w.lat...)
		r.errors += w.errors
		if r.sample == "" {
			r.sample = w.sample
		}
	}
	slices.Sort(lat)
	r.sent = len(lat)
	r.perSec = float64(r.sent) / window.Seconds()
	r.p50, r.p99 = percentile(lat, 50), percentile(lat, 99)
	r.dups, r.bad, r.badSample = rcv.faults()
	if r.sent == 0 {
		return r, errors.New("the bare sender delivered nothing")
	}
	return r, nil
}
