package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// target is what a configuration loads: one server, or replicas of one
// serving the same database. fleet is its org's pipelines, shared by every
// target on that org.
type target struct {
	name string // bare, sqlite, postgres, postgres×2
	base string // http://host:port
	url  string // POST endpoint
	key  string // API key; the bare server ignores it
	// admin is an owner's personal token: channels are set up by people.
	admin string
	// secret is the server's SHIPLOG_SECRET_KEY; a replica needs the same.
	secret   string
	fleet    *fleet
	replicas []*target // when set, the servers that share the load
	proc     *child
}

// servers are the processes that take t's load.
func (t *target) servers() []*target {
	if len(t.replicas) > 0 {
		return t.replicas
	}
	return []*target{t}
}

// pids are the servers' process ids; 0 for one that is not a child (tests).
func (t *target) pids() []int {
	var out []int
	for _, s := range t.servers() {
		if s.proc != nil {
			out = append(out, s.proc.cmd.Process.Pid)
		}
	}
	return out
}

// plan shares conns lanes and the fleet's products among t's servers: lane
// i and product p go to server i%n and p%n, and every server gets at least
// as many products as lanes, which keeps every lane busy (see ciLoad.take).
// No product is loaded on two servers at once.
func (t *target) plan(conns int) []*ciLoad {
	if t.fleet == nil {
		t.fleet = &fleet{}
	}
	n := max(conns, len(products))
	t.fleet.grow(n)
	return t.fleet.split(n, len(t.servers()))
}

// roundResult is one measurement of one target.
type roundResult struct {
	ok       int           // 2xx responses completed inside the window
	accepted int           // 2xx responses in all, warm-up and drain included
	window   time.Duration // measured time
	rps      float64
	p50, p99 time.Duration
	errors   int            // non-2xx and transport errors, warm-up included
	kinds    map[string]int // "409", "transport", …
	sample   string         // the first error
	cpu      cpuUse         // during the window
}

type workerStats struct {
	lat      []time.Duration
	accepted int
	errors   int
	kinds    map[string]int
	sample   string
}

func (w *workerStats) fail(kind, sample string) {
	w.errors++
	if w.kinds == nil {
		w.kinds = map[string]int{}
	}
	w.kinds[kind]++
	if w.sample == "" {
		w.sample = sample
	}
}

// loadClient is the load's HTTP client: up to conns keep-alive connections
// to each server, over loopback.
func loadClient(conns int) (*http.Client, *http.Transport) {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, tr
}

// measure drives t with conns lanes, each a keep-alive connection with one
// request in flight, for warmup, then measures for window: every response
// completing inside the window counts towards req/s and its latency (send
// to last body byte) is a sample. The lanes are shared among t's servers
// with the products (target.plan). After the window no run begins, but runs
// already begun are finished, so that the org is left with none open.
func measure(ctx context.Context, t *target, conns int, warmup, window time.Duration) (*roundResult, error) {
	client, tr := loadClient(conns)
	defer tr.CloseIdleConnections()
	servers, loads := t.servers(), t.plan(conns)

	start := time.Now().Add(warmup)
	end := start.Add(window)
	var cpu0, cpu1 cpuSample
	var wg sync.WaitGroup
	wg.Go(func() {
		if sleepUntil(ctx, start) {
			cpu0 = sampleCPU(t.pids()...)
		}
		if sleepUntil(ctx, end) {
			cpu1 = sampleCPU(t.pids()...)
		}
	})
	stats := make([]workerStats, conns)
	for i := range stats {
		w := &stats[i]
		w.lat = make([]time.Duration, 0, 4096)
		srv, load := servers[i%len(servers)], loads[i%len(loads)]
		wg.Go(func() {
			var buf []byte
			for {
				ev, ok := load.next(ctx, end)
				if !ok {
					return
				}
				t0 := time.Now()
				buf = appendEvent(buf[:0], ev, t0)
				kind, sample := post(ctx, client, srv, buf)
				t1 := time.Now()
				load.done(ev)
				if ctx.Err() != nil {
					continue // next returns false
				}
				if kind != "" {
					w.fail(kind, sample)
					continue
				}
				w.accepted++
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
	r := &roundResult{window: window, kinds: map[string]int{}, cpu: cpuBetween(cpu0, cpu1)}
	var lat []time.Duration
	for _, w := range stats {
		lat = append(lat, w.lat...)
		r.accepted += w.accepted
		r.errors += w.errors
		for k, n := range w.kinds {
			r.kinds[k] += n
		}
		if r.sample == "" {
			r.sample = w.sample
		}
	}
	slices.Sort(lat)
	r.ok = len(lat)
	r.rps = float64(r.ok) / window.Seconds()
	r.p50 = percentile(lat, 50)
	r.p99 = percentile(lat, 99)
	return r, nil
}

// firstRuns sends one run to each of t's servers, its two events one after
// the other: a misconfigured server fails here, not as a table of errors.
func firstRuns(ctx context.Context, t *target) error {
	client, tr := loadClient(1)
	defer tr.CloseIdleConnections()
	for i, load := range t.plan(1) {
		srv := t.servers()[i]
		for _, begin := range []bool{true, false} {
			ev, _ := load.take(begin)
			kind, sample := post(ctx, client, srv, appendEvent(nil, ev, time.Now()))
			load.done(ev)
			if kind != "" {
				return fmt.Errorf("%s refused the first %s event: %s", srv.name, map[bool]string{true: "started", false: "completed"}[ev.started], sample)
			}
		}
	}
	return nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// post sends one event; kind is "" for a 2xx answer, else the status code or
// "transport", with a sample of the error.
func post(ctx context.Context, client *http.Client, t *target, body []byte) (kind, sample string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return "transport", err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+t.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "transport", err.Error()
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		_, _ = io.Copy(io.Discard, resp.Body)
		return "", ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return strconv.Itoa(resp.StatusCode), fmt.Sprintf("%s: %s", resp.Status, bytes.TrimSpace(b))
}

// percentile is the nearest-rank percentile of sorted samples: the smallest
// sample with at least p% of the samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
