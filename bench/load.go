package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// target is one server under load. seq numbers its events across rounds, so
// versions keep increasing from one round to the next.
type target struct {
	name string // bare, sqlite, postgres
	base string // http://host:port
	url  string // POST endpoint
	key  string // API key; the bare server ignores it
	// admin is an owner's personal token: channels are set up by people.
	admin string
	seq   atomic.Int64
	proc  *child
}

// pid is the server's process id, 0 when it is not a child (tests).
func (t *target) pid() int {
	if t.proc == nil {
		return 0
	}
	return t.proc.cmd.Process.Pid
}

var products = []string{
	"checkout-api", "payments", "search", "catalog", "cart", "accounts", "notifications", "billing",
	"inventory", "shipping", "recommendations", "reviews", "auth-gateway", "pricing", "orders",
	"analytics-ingest", "media", "storefront", "admin-console", "reporting",
}

var environments = []string{"development", "staging", "production"}

// appendEvent appends the n-th deployment event of the stream. Events come
// in pairs, started then completed, for one run each; run r deploys product
// r%20, and each product's successive runs walk a version through
// development, staging and production before the next version, so versions
// increase and each (product, version) keeps one SHA. The two events of a run
// are issued back to back and so usually race on two connections, as parallel
// CI steps do.
func appendEvent(b []byte, n int64, now time.Time) []byte {
	run := n / 2
	product := products[run%int64(len(products))]
	k := run / int64(len(products))
	env := environments[k%int64(len(environments))]
	v := k / int64(len(environments))
	version := "1." + strconv.FormatInt(v/100, 10) + "." + strconv.FormatInt(v%100, 10)
	sum := sha1.Sum([]byte(product + "@" + version))
	sha := hex.EncodeToString(sum[:])
	runID := strconv.FormatInt(9_000_000+run, 10)

	b = append(b, `{"product_name":"`...)
	b = append(b, product...)
	b = append(b, `","version":"`...)
	b = append(b, version...)
	b = append(b, `","environment_name":"`...)
	b = append(b, env...)
	if n%2 == 0 {
		b = append(b, `","status":"started"`...)
	} else {
		b = append(b, `","status":"completed","completed_at":"`...)
		b = now.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"deployed_by":"ci-bot","deployed_by_email":"ci-bot@example.com","deployed_by_name":"CI Bot"`...)
	b = append(b, `,"scm_branch":"main","scm_sha":"`...)
	b = append(b, sha...)
	b = append(b, `","scm_repository":"https://github.com/example/`...)
	b = append(b, product...)
	b = append(b, `","build_url":"https://github.com/example/`...)
	b = append(b, product...)
	b = append(b, `/actions/runs/`...)
	b = append(b, runID...)
	b = append(b, `","deploy_url":"https://`...)
	b = append(b, env...)
	b = append(b, `.example.com/`...)
	b = append(b, product...)
	b = append(b, `","build_number":"`...)
	b = strconv.AppendInt(b, 1000+v, 10)
	b = append(b, `","source_system":"github-actions","invoke_id":"`...)
	b = append(b, runID...)
	b = append(b, `","extra_metadata":{"region":"eu-west-1","replicas":3,"trigger":"push","workflow":"deploy.yml","runner":"ubuntu-24.04"}}`...)
	return b
}

// roundResult is one measurement of one target.
type roundResult struct {
	ok       int           // 2xx responses completed inside the window
	window   time.Duration // measured time
	rps      float64
	p50, p99 time.Duration
	errors   int            // non-2xx and transport errors, warm-up included
	kinds    map[string]int // "409", "transport", …
	sample   string         // the first error
	cpu      cpuUse         // during the window
}

type workerStats struct {
	lat    []time.Duration
	errors int
	kinds  map[string]int
	sample string
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

// measure drives t with conns keep-alive connections for warmup, then
// measures for window: every response completing inside the window counts
// towards req/s and its latency (send to last body byte) is a sample.
func measure(ctx context.Context, t *target, conns int, warmup, window time.Duration) (*roundResult, error) {
	tr := &http.Transport{
		Proxy:               nil, // loopback only, whatever the environment says
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	start := time.Now().Add(warmup)
	end := start.Add(window)
	var cpu0, cpu1 cpuSample
	var wg sync.WaitGroup
	wg.Go(func() {
		if sleepUntil(ctx, start) {
			cpu0 = sampleCPU(t.pid())
		}
		if sleepUntil(ctx, end) {
			cpu1 = sampleCPU(t.pid())
		}
	})
	stats := make([]workerStats, conns)
	for i := range stats {
		w := &stats[i]
		w.lat = make([]time.Duration, 0, 4096)
		wg.Go(func() {
			var buf []byte
			for {
				t0 := time.Now()
				if !t0.Before(end) || ctx.Err() != nil {
					return
				}
				buf = appendEvent(buf[:0], t.seq.Add(1)-1, t0)
				kind, sample := post(ctx, client, t, buf)
				t1 := time.Now()
				if ctx.Err() != nil {
					return
				}
				if kind != "" {
					w.fail(kind, sample)
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
	r := &roundResult{window: window, kinds: map[string]int{}, cpu: cpuBetween(cpu0, cpu1)}
	var lat []time.Duration
	for _, w := range stats {
		lat = append(lat, w.lat...)
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
