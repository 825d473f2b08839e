package main

import (
	"bytes"
	"context"
	"encoding/json"
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

// api sets up a shiplog server through its REST API.
type api struct {
	base, key string
	client    *http.Client
}

func newAPI(t *target) *api {
	key := t.key
	if t.admin != "" {
		key = t.admin
	}
	return &api{base: t.base, key: key, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}}}
}

// call sends in as JSON (nil for no body) and decodes the answer into out
// (nil to ignore it); any status but want is an error.
func (a *api) call(ctx context.Context, method, path string, in any, want int, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s, want %d: %.300s", method, path, resp.Status, want, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

type apiChannel struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
}

func (a *api) channels(ctx context.Context) ([]apiChannel, error) {
	var out struct {
		Items []apiChannel `json:"items"`
	}
	err := a.call(ctx, http.MethodGet, "/notification-channels/", nil, http.StatusOK, &out)
	return out.Items, err
}

func (a *api) deleteChannel(ctx context.Context, id string) error {
	return a.call(ctx, http.MethodDelete, "/notification-channels/"+id, nil, http.StatusNoContent, nil)
}

// createChannel makes a webhook channel signing with secret (the versioner
// scheme: X-Versioner-Signature) and returns its id.
func (a *api) createChannel(ctx context.Context, name, url, secret string, events ...string) (string, error) {
	in := map[string]any{"kind": "webhook", "name": name, "url": url, "secret": secret, "events": events}
	var out apiChannel
	if err := a.call(ctx, http.MethodPost, "/notification-channels/", in, http.StatusCreated, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("POST /notification-channels/ answered no id")
	}
	return out.ID, nil
}

// createChannels makes n webhook channels for deployment.completed, at
// urlPrefix<i>, with 8 requests at a time, and returns their ids.
func (a *api) createChannels(ctx context.Context, n int, urlPrefix, secret string) ([]string, error) {
	ids := make([]string, n)
	err := a.eightAtATime(n, func(i int) error {
		id, err := a.createChannel(ctx, "fanout-"+strconv.Itoa(i), urlPrefix+strconv.Itoa(i), secret, "deployment.completed")
		ids[i] = id
		return err
	})
	return ids, err
}

// deleteChannels deletes channels, 8 at a time.
func (a *api) deleteChannels(ctx context.Context, ids []string) error {
	return a.eightAtATime(len(ids), func(i int) error { return a.deleteChannel(ctx, ids[i]) })
}

// eightAtATime runs do(0) … do(n-1), 8 at a time, and returns an error of
// one that failed.
func (a *api) eightAtATime(n int, do func(i int) error) error {
	var next atomic.Int64
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				if err := do(i); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when closed empty
}

// latencyProducts are the products of the fixed-rate load, in turn; on
// PostgreSQL writes are spread over committers by product.
const latencyProducts = 10

// appendNotifyEvent appends a small deployment event that completes version
// of product in production. It is a whole run in one terminal event, which
// no rule judges and which never leaves a run open, so any number of them
// may be in flight at once.
func appendNotifyEvent(b []byte, product, version string) []byte {
	b = append(b, `{"product_name":"`...)
	b = append(b, product...)
	b = append(b, `","version":"`...)
	b = append(b, version...)
	b = append(b, `","environment_name":"production","status":"success"}`...)
	return b
}

// latencyEvent is the i-th event of the fixed-rate load of run (a fresh
// prefix per measurement), and its version: a new one each time, the
// products in turn.
func latencyEvent(run string, i int) (body []byte, version string) {
	version = "1." + run + "." + strconv.Itoa(i)
	return appendNotifyEvent(nil, "notify-"+strconv.Itoa(i%latencyProducts), version), version
}

// spread is a latency distribution.
type spread struct{ p50, p99, max time.Duration }

func spreadOf(sorted []time.Duration) spread {
	s := spread{p50: percentile(sorted, 50), p99: percentile(sorted, 99)}
	if len(sorted) > 0 {
		s.max = sorted[len(sorted)-1]
	}
	return s
}

func (s spread) String() string {
	return fmt.Sprintf("p50 %s, p99 %s, max %s", ms(s.p50), ms(s.p99), ms(s.max))
}

// latencyResult is the fixed-rate measurement.
type latencyResult struct {
	rate        int
	window      time.Duration
	sent        int
	accepted    int
	errors      int
	kinds       map[string]int
	sample      string
	behind      int // events sent late because maxInFlight requests were already waiting
	early       int // deliveries that arrived before the event's response (counted as 0 from the answer)
	undelivered int // accepted events with no delivery latencyGrace after the load
	extra       int // deliveries beyond one per event
	// fromSend is sending the POST → the delivery received: what a client
	// sees, ingest included; fromAnswer starts at the 2xx answer instead.
	fromSend, fromAnswer spread
	perSecond            []time.Duration // send → received p50 of the events scheduled in each second: does a backlog build up?
	ingestP50            time.Duration   // POST → response
	ingestP99            time.Duration
	conns                int64         // connections the server opened to the receiver
	cpu                  cpuUse        // from the first event until the deliveries arrived
	span                 time.Duration // … that long
	dups, bad            int
	badSample            string
}

// maxInFlight bounds the fixed-rate load's open requests; reaching it means
// the server stopped keeping up, and the load stops being open-loop.
const maxInFlight = 512

// measureLatency sends rate events/s on a fixed schedule (open loop: the
// next event is due when it is due, whatever the answers) for window, each a
// new version, and takes for each accepted event the time from sending it,
// and from its 2xx response, to the arrival of its delivery at rcv.
func measureLatency(ctx context.Context, t *target, rcv *receiver, rate int, window time.Duration) (*latencyResult, error) {
	rcv.reset()
	tr := &http.Transport{Proxy: nil, MaxIdleConns: maxInFlight, MaxIdleConnsPerHost: maxInFlight,
		DialContext:     (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		IdleConnTimeout: 90 * time.Second, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	total := int(int64(rate) * int64(window) / int64(time.Second))
	type sample struct {
		version      string
		sent, answer time.Time
		kind, err    string
	}
	samples := make([]sample, total)
	res := &latencyResult{rate: rate, window: window, sent: total, kinds: map[string]int{}}
	run := strconv.FormatInt(time.Now().UnixNano(), 36) // versions are new in every run
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	conns0, cpu0 := rcv.conns.Load(), sampleCPU(t.pids()...)
	start := time.Now().Add(50 * time.Millisecond)
	for i := range total {
		if !sleepUntil(ctx, start.Add(time.Duration(int64(i)*int64(time.Second)/int64(rate)))) {
			break
		}
		select {
		case sem <- struct{}{}:
		default:
			res.behind++
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		s := &samples[i]
		wg.Go(func() {
			defer func() { <-sem }()
			var body []byte
			body, s.version = latencyEvent(run, i)
			s.sent = time.Now()
			s.kind, s.err = post(ctx, client, t, body)
			s.answer = time.Now()
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := time.Now()
	want := 0
	for _, s := range samples {
		if s.kind == "" {
			want++
		}
	}
	waitUntil(ctx, end.Add(latencyGrace), func() bool { n, _ := rcv.received(); return n >= want })
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cpu1 := sampleCPU(t.pids()...)
	res.cpu, res.span = cpuBetween(cpu0, cpu1), cpu1.at.Sub(cpu0.at)
	res.conns = rcv.conns.Load() - conns0

	var fromSend, fromAnswer, ingest []time.Duration
	bySecond := make([][]time.Duration, (total+rate-1)/rate)
	for i, s := range samples {
		if s.kind != "" {
			res.errors++
			res.kinds[s.kind]++
			if res.sample == "" {
				res.sample = s.err
			}
			continue
		}
		res.accepted++
		ingest = append(ingest, s.answer.Sub(s.sent))
		a := rcv.version(s.version)
		if a.n == 0 {
			res.undelivered++
			continue
		}
		res.extra += a.n - 1
		d := a.first.Sub(s.answer)
		if d < 0 {
			res.early++
			d = 0
		}
		fromAnswer = append(fromAnswer, d)
		fromSend = append(fromSend, a.first.Sub(s.sent))
		bySecond[i/rate] = append(bySecond[i/rate], a.first.Sub(s.sent))
	}
	for _, xs := range bySecond {
		slices.Sort(xs)
		res.perSecond = append(res.perSecond, percentile(xs, 50))
	}
	slices.Sort(fromSend)
	slices.Sort(fromAnswer)
	slices.Sort(ingest)
	res.fromSend, res.fromAnswer = spreadOf(fromSend), spreadOf(fromAnswer)
	res.ingestP50, res.ingestP99 = percentile(ingest, 50), percentile(ingest, 99)
	res.dups, res.bad, res.badSample = rcv.faults()
	return res, nil
}

// sustainedChannels is how many webhook channels every event of the
// sustained load goes to.
const sustainedChannels = 3

// sustainedResult is the closed-loop measurement.
type sustainedResult struct {
	load      *roundResult // the ingest side, as measure reports it
	accepted  int          // events answered 2xx, including those answered after the window
	expected  int          // sustainedChannels × accepted
	received  int          // distinct deliveries
	atLoadEnd int          // of which had arrived when the load stopped
	perPath   []int        // … per channel
	drained   bool
	drain     time.Duration // from the end of the load to the last delivery
	span      time.Duration // from the start of the load to the last delivery
	perSec    float64       // received / span
	conns     int64
	cpu       cpuUse // load and drain
	dups, bad int
	badSample string
}

// measureSustained runs the ingest benchmark's closed-loop load (conns
// clients, the same realistic started/completed events) for window against
// an org whose every event goes to sustainedChannels webhooks, then waits
// (up to drainLimit) for the queue to drain: deliveries/s is everything
// received over the time from the start of the load to the last delivery.
func measureSustained(ctx context.Context, t *target, rcv *receiver, conns int, window time.Duration) (*sustainedResult, error) {
	rcv.reset()
	res := &sustainedResult{}
	conns0 := rcv.conns.Load()
	cpu0 := sampleCPU(t.pids()...)
	r, err := measure(ctx, t, conns, 0, window)
	if err != nil {
		return nil, err
	}
	loadEnd := time.Now()
	res.load = r
	res.accepted = r.accepted
	res.expected = sustainedChannels * res.accepted
	res.atLoadEnd, _ = rcv.received()
	paths := rcv.byPath()
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		res.perPath = append(res.perPath, paths[p])
	}
	res.drained = waitUntil(ctx, loadEnd.Add(drainLimit), func() bool { n, _ := rcv.received(); return n >= res.expected })
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cpu1 := sampleCPU(t.pids()...)
	res.cpu = cpuBetween(cpu0, cpu1)
	var last time.Time
	res.received, last = rcv.received()
	if !res.drained {
		last = loadEnd.Add(drainLimit)
	}
	res.span = last.Sub(cpu0.at)
	res.drain = max(0, last.Sub(loadEnd))
	if res.span > 0 {
		res.perSec = float64(res.received) / res.span.Seconds()
	}
	res.conns = rcv.conns.Load() - conns0
	res.dups, res.bad, res.badSample = rcv.faults()
	return res, nil
}

// fanoutRun is one event sent to every fan-out channel.
type fanoutRun struct {
	post     time.Duration // the event's POST, to its response
	first    time.Duration // from sending the POST to the first delivery
	all      time.Duration // … to the last; fanoutLimit when not all arrived
	received int
	conns    int64
}

type fanoutResult struct {
	channels  int
	runs      []fanoutRun
	median    time.Duration // of all
	errors    int
	sample    string
	dups, bad int
	badSample string
}

// measureFanout sends repeats events, one at a time, to an org with
// channels webhook channels, and times each from sending the POST until all
// its deliveries have arrived.
func measureFanout(ctx context.Context, t *target, rcv *receiver, channels, repeats int, progress func(string, ...any)) (*fanoutResult, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	res := &fanoutResult{channels: channels}
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	var alls []time.Duration
	for k := range repeats {
		// A pause, so that the server has recorded the previous attempts.
		if k > 0 && !sleepUntil(ctx, time.Now().Add(time.Second)) {
			return nil, ctx.Err()
		}
		rcv.reset()
		conns0 := rcv.conns.Load()
		version := "2." + run + "." + strconv.Itoa(k)
		t0 := time.Now()
		kind, sample := post(ctx, client, t, appendNotifyEvent(nil, "notify-fanout", version))
		fr := fanoutRun{post: time.Since(t0)}
		if kind != "" {
			res.errors++
			if res.sample == "" {
				res.sample = sample
			}
			continue
		}
		done := waitUntil(ctx, t0.Add(fanoutLimit), func() bool { return rcv.version(version).n >= channels })
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		a := rcv.version(version)
		fr.received, fr.conns = a.n, rcv.conns.Load()-conns0
		fr.all = fanoutLimit
		if done {
			fr.all = a.last.Sub(t0)
		}
		if a.n > 0 {
			fr.first = a.first.Sub(t0)
		}
		res.runs = append(res.runs, fr)
		alls = append(alls, fr.all)
		progress("fan-out %d/%d: POST %s, first delivery %s, all %d/%d %s, %d connections opened",
			k+1, repeats, ms(fr.post), ms(fr.first), fr.received, channels, ms(fr.all), fr.conns)
		d, b, note := rcv.faults()
		res.dups += d
		res.bad += b
		if res.badSample == "" {
			res.badSample = note
		}
	}
	if len(alls) > 0 {
		res.median = median(alls)
	}
	return res, nil
}
