package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// ciModel is what shiplog enforces of a stream of deployment events, in the
// order it processes them: no second run of a product may start in an
// environment while another is open there (409 CONCURRENT_DEPLOYMENT), a
// (product, version) keeps one SHA, and a finished run is not reopened by a
// late started. It also holds the load to its own promises: versions only
// increase, and both events of a run name the same deployment.
type ciModel struct {
	mu       sync.Mutex
	open     map[string]string // product/environment → the run open there
	finished map[string]bool   // runs whose terminal event was processed
	runs     map[string]string // run → product/environment/version
	sha      map[string]string // product@version → SHA
	latest   map[string][]int  // product/environment → version of its latest run
	product  map[string][]int  // product → its latest version
	events   int
}

func newCIModel() *ciModel {
	return &ciModel{open: map[string]string{}, finished: map[string]bool{}, runs: map[string]string{},
		sha: map[string]string{}, latest: map[string][]int{}, product: map[string][]int{}}
}

// apply processes one event and says why shiplog, or the load's promises,
// would refuse it.
func (m *ciModel) apply(body []byte) error {
	var e struct {
		Product  string `json:"product_name"`
		Version  string `json:"version"`
		Env      string `json:"environment_name"`
		Status   string `json:"status"`
		SHA      string `json:"scm_sha"`
		InvokeID string `json:"invoke_id"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return fmt.Errorf("not JSON: %v", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	where := e.Product + "/" + e.Env
	run := e.InvokeID
	if run == "" { // shiplog finds a run without an id by product, version and environment
		run = where + "/" + e.Version
	}
	// Judge first: a refused event changes nothing.
	prev, known := m.runs[run]
	if known && prev != where+"/"+e.Version {
		return fmt.Errorf("run %s names %s/%s, earlier %s", run, where, e.Version, prev)
	}
	var v []int
	if !known && e.InvokeID != "" { // a new CI run: its version must not go back
		var err error
		if v, err = versionParts(e.Version); err != nil {
			return err
		}
		if last, ok := m.latest[where]; ok && compareVersions(v, last) <= 0 {
			return fmt.Errorf("run %s deploys %s to %s after %v", run, e.Version, where, last)
		}
		if last, ok := m.product[e.Product]; ok && compareVersions(v, last) < 0 {
			return fmt.Errorf("run %s deploys %s of %s after %v", run, e.Version, e.Product, last)
		}
	}
	key := e.Product + "@" + e.Version
	if sha, ok := m.sha[key]; ok && e.SHA != "" && sha != e.SHA {
		return fmt.Errorf("%s has SHA %s, earlier %s", key, e.SHA, sha)
	}
	switch e.Status {
	case "started":
		if other := m.open[where]; !m.finished[run] && other != "" && other != run {
			return fmt.Errorf("409 CONCURRENT_DEPLOYMENT: run %s starts in %s while run %s is open", run, where, other)
		}
	case "completed", "success", "failed":
	default:
		return fmt.Errorf("status %q", e.Status)
	}

	m.events++
	m.runs[run] = where + "/" + e.Version
	if v != nil {
		m.latest[where], m.product[e.Product] = v, v
	}
	if e.SHA != "" {
		m.sha[key] = e.SHA
	}
	if e.Status == "started" {
		if !m.finished[run] { // a late started leaves a finished run alone
			m.open[where] = run
		}
		return nil
	}
	m.finished[run] = true
	if m.open[where] == run {
		delete(m.open, where)
	}
	return nil
}

func versionParts(v string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("version %q is not numeric", v)
		}
		out = append(out, n)
	}
	return out, nil
}

func compareVersions(a, b []int) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return len(a) - len(b)
}

func TestCIModelRefusesConcurrentRuns(t *testing.T) {
	t.Parallel()
	// The old load's failure: run r+60 of a product×environment started
	// while run r's completed was still on its way.
	f := &fleet{}
	f.grow(1)
	l := newCILoad(f, []int{0})
	m := newCIModel()
	r0, _ := l.take(true)
	if err := m.apply(appendEvent(nil, r0, time.Now())); err != nil {
		t.Fatal(err)
	}
	later := ciEvent{run: &ciRun{p: 0, k: 3}, started: true} // the next version, same environment
	if err := m.apply(appendEvent(nil, later, time.Now())); err == nil || !strings.Contains(err.Error(), "CONCURRENT_DEPLOYMENT") {
		t.Errorf("a second open run: %v, want a 409", err)
	}
	if err := m.apply(appendEvent(nil, ciEvent{run: &ciRun{p: 0, k: 0}}, time.Now())); err != nil {
		t.Errorf("completing the open run: %v", err)
	}
	if err := m.apply(appendEvent(nil, ciEvent{run: &ciRun{p: 0, k: 0}, started: true}, time.Now())); err != nil {
		t.Errorf("a late started of a finished run: %v", err)
	}
	if err := m.apply(appendEvent(nil, ciEvent{run: &ciRun{p: 0, k: 2}, started: true}, time.Now())); err != nil {
		t.Errorf("the next run: %v", err)
	}
	if err := m.apply(appendEvent(nil, ciEvent{run: &ciRun{p: 0, k: 2}}, time.Now())); err != nil {
		t.Errorf("completing it: %v", err)
	}
	for _, started := range []bool{true, false} { // 1.0.1 in staging
		if err := m.apply(appendEvent(nil, ciEvent{run: &ciRun{p: 0, k: 4}, started: started}, time.Now())); err != nil {
			t.Errorf("run 4: %v", err)
		}
	}
	if err := m.apply(appendEvent(nil, ciEvent{run: &ciRun{p: 0, k: 1}, started: true}, time.Now())); err == nil {
		t.Error("a run of 1.0.0 after one of 1.0.1 was accepted")
	}
}

// simulateLoad plays measure's lanes without time: every lane holds one
// event in flight, and the server processes a random one of those next,
// which explores the orders in which requests in flight can be processed.
// A lane's answer frees it to take the next event. For steps events runs
// begin; then the lanes drain what was begun. It fails t if any event would
// be refused, if a lane ever idles while runs may begin, or if a product
// goes to two servers.
func simulateLoad(t *testing.T, rng *rand.Rand, m *ciModel, f *fleet, servers, conns, steps int) {
	t.Helper()
	tg := &target{fleet: f}
	for range servers {
		tg.replicas = append(tg.replicas, &target{})
	}
	loads := tg.plan(conns)
	lanes := make([]*ciEvent, conns)
	serverOf := map[string]int{}
	for step := 0; ; step++ {
		begin := step < steps
		for i, ev := range lanes {
			if ev == nil {
				if next, ok := loads[i%servers].take(begin); ok {
					lanes[i] = &next
				}
			}
		}
		var busy []int
		for i, ev := range lanes {
			if ev != nil {
				busy = append(busy, i)
			}
		}
		if begin && len(busy) != conns {
			t.Fatalf("step %d: %d of %d lanes have a request in flight", step, len(busy), conns)
		}
		if len(busy) == 0 {
			break
		}
		i := busy[rng.IntN(len(busy))]
		ev := *lanes[i]
		lanes[i] = nil
		body := appendEvent(nil, ev, time.Now())
		if err := m.apply(body); err != nil {
			t.Fatalf("step %d, lane %d, %s: %v", step, i, body[:80], err)
		}
		product := productName(ev.run.p)
		if s, ok := serverOf[product]; ok && s != i%servers {
			t.Fatalf("%s went to servers %d and %d", product, s, i%servers)
		}
		serverOf[product] = i % servers
		loads[i%servers].done(ev)
	}
	if len(m.open) > 0 {
		t.Fatalf("runs left open after the load: %v", m.open)
	}
}

func TestLoadScheduleIsValidTraffic(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ conns, servers int }{{1, 1}, {3, 1}, {20, 1}, {64, 1}, {64, 2}, {7, 3}, {33, 2}} {
		t.Run(fmt.Sprintf("conns=%d,servers=%d", c.conns, c.servers), func(t *testing.T) {
			t.Parallel()
			for seed := range uint64(3) {
				rng := rand.New(rand.NewPCG(seed, uint64(c.conns)))
				m, f := newCIModel(), &fleet{}
				// Three rounds on one org, the last on one server more: the
				// pipelines carry on where the previous load left them.
				simulateLoad(t, rng, m, f, c.servers, c.conns, 1000)
				simulateLoad(t, rng, m, f, c.servers, c.conns, 1000)
				simulateLoad(t, rng, m, f, c.servers+1, c.conns, 1000)
				if want := 3 * 1000 / 2; len(m.runs) < want {
					t.Fatalf("%d runs made, want at least %d", len(m.runs), want)
				}
			}
		})
	}
}

func TestLatencyScheduleIsValidTraffic(t *testing.T) {
	t.Parallel()
	// Open loop: any number of the fixed-rate load's events are in flight
	// at once, so they may be processed in any order.
	rng := rand.New(rand.NewPCG(1, 2))
	m := newCIModel()
	order := rng.Perm(5000)
	for _, i := range order {
		body, _ := latencyEvent("7", i)
		if err := m.apply(body); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if len(m.open) > 0 || len(m.runs) != 5000 {
		t.Errorf("%d runs, open %v; want 5000 runs, none open", len(m.runs), m.open)
	}
}

// modelServer answers deployment events as the model judges them: 409 for
// a refused one.
func modelServer(t *testing.T, m *ciModel) *target {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := m.apply(body); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(srv.Close)
	return &target{name: "model", base: srv.URL, url: srv.URL + "/deployment-events/", key: "sk_test"}
}

func TestMeasureSendsValidTraffic(t *testing.T) {
	t.Parallel()
	// The real lanes, on two servers sharing one database, then on one.
	m := newCIModel()
	a, b := modelServer(t, m), modelServer(t, m)
	a.fleet = &fleet{}
	pair := &target{name: "model×2", fleet: a.fleet, replicas: []*target{a, b}}
	for _, tg := range []*target{pair, a, pair} {
		if err := firstRuns(context.Background(), tg); err != nil {
			t.Fatal(err)
		}
		r, err := measure(context.Background(), tg, 16, 0, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if r.errors != 0 || r.accepted == 0 {
			t.Fatalf("%s: %d accepted, %d failed (%v, first: %s)", tg.name, r.accepted, r.errors, r.kinds, r.sample)
		}
	}
	if len(m.open) > 0 {
		t.Errorf("runs left open: %v", m.open)
	}
}
