package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// The ingest load is CI traffic that a correct server must accept in full:
// every product is one pipeline whose runs follow one another, as a CI
// pipeline's do. A run sends started and completed at once, and the two race
// on two connections as parallel CI steps do, but a product's next run
// starts only when both are answered. So no product ever has two runs open
// in one environment, which shiplog rightly refuses (409
// CONCURRENT_DEPLOYMENT), whatever order the server processes requests in.

var products = []string{
	"checkout-api", "payments", "search", "catalog", "cart", "accounts", "notifications", "billing",
	"inventory", "shipping", "recommendations", "reviews", "auth-gateway", "pricing", "orders",
	"analytics-ingest", "media", "storefront", "admin-console", "reporting",
}

var environments = []string{"development", "staging", "production"}

// productName is the name of the fleet's p-th product: the 20 names above,
// then the same with a number, as many as the load needs.
func productName(p int) string {
	name := products[p%len(products)]
	if n := p / len(products); n > 0 {
		name += "-" + strconv.Itoa(n+1)
	}
	return name
}

// fleet is the pipelines of one org: how many runs each product has made.
// It outlives a measurement, so versions keep increasing from one round,
// and one configuration on the same database, to the next.
type fleet struct {
	runs []int64 // by product
}

// grow makes sure the fleet has at least n products. Not safe during a load.
func (f *fleet) grow(n int) {
	for len(f.runs) < n {
		f.runs = append(f.runs, 0)
	}
}

// ciRun is one run of a pipeline: the k-th of product p.
type ciRun struct {
	p       int
	k       int64
	pending int // of its two events, not answered yet
}

// ciEvent is one half of a run.
type ciEvent struct {
	run     *ciRun
	started bool // else completed
}

// ciLoad hands out the events of some of a fleet's products to lanes, each
// lane a connection with one request in flight. Products are never shared
// between two ciLoads, so loads on several servers stay valid together.
type ciLoad struct {
	mu   sync.Mutex
	wake *sync.Cond
	f    *fleet
	idle []int     // products with no run out, in turn
	rest []ciEvent // completed events whose started is already out
}

func newCILoad(f *fleet, owned []int) *ciLoad {
	l := &ciLoad{f: f, idle: owned}
	l.wake = sync.NewCond(&l.mu)
	return l
}

// take returns what a free lane sends next: first the other half of a run
// already out, so that the two race; else, if begin, the started event of
// the next product's next run, whose completed becomes due at once. ok is
// false when there is nothing to send. With at least as many products as
// lanes a lane never waits: a product whose run is not out is idle, and one
// whose run is out has an event in flight or due, and lanes hold at most
// one event each.
func (l *ciLoad) take(begin bool) (ev ciEvent, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.takeLocked(begin)
}

func (l *ciLoad) takeLocked(begin bool) (ciEvent, bool) {
	if len(l.rest) > 0 {
		ev := l.rest[0]
		l.rest = l.rest[1:]
		return ev, true
	}
	if !begin || len(l.idle) == 0 {
		return ciEvent{}, false
	}
	p := l.idle[0]
	l.idle = l.idle[1:]
	r := &ciRun{p: p, k: l.f.runs[p], pending: 2}
	l.f.runs[p]++
	l.rest = append(l.rest, ciEvent{run: r})
	return ciEvent{run: r, started: true}, true
}

// next is take for a lane of a load that begins runs until end: it waits
// while there is nothing to send yet, and returns false once the load has
// ended and every run begun has both events out.
func (l *ciLoad) next(ctx context.Context, end time.Time) (ciEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for {
		begin := ctx.Err() == nil && time.Now().Before(end)
		if ev, ok := l.takeLocked(begin); ok {
			return ev, true
		}
		if !begin {
			return ciEvent{}, false
		}
		l.wake.Wait() // until an answer frees a product
	}
}

// done records ev's answer, whatever it was: a run whose two events are
// answered frees its product for the next run.
func (l *ciLoad) done(ev ciEvent) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ev.run.pending--
	if ev.run.pending == 0 {
		l.idle = append(l.idle, ev.run.p)
		l.wake.Broadcast()
	}
}

// split shares the fleet's first n products among k loads: product p goes
// to load p%k.
func (f *fleet) split(n, k int) []*ciLoad {
	owned := make([][]int, k)
	for p := range n {
		owned[p%k] = append(owned[p%k], p)
	}
	loads := make([]*ciLoad, k)
	for i := range loads {
		loads[i] = newCILoad(f, owned[i])
	}
	return loads
}

// appendEvent appends ev as a deployment event completing at now. A
// product's successive runs walk a version through development, staging
// and production before the next version, so versions increase and each
// (product, version) keeps one SHA. Run ids are unique in the fleet.
func appendEvent(b []byte, ev ciEvent, now time.Time) []byte {
	product := productName(ev.run.p)
	k := ev.run.k
	env := environments[k%int64(len(environments))]
	v := k / int64(len(environments))
	version := "1." + strconv.FormatInt(v/100, 10) + "." + strconv.FormatInt(v%100, 10)
	sum := sha1.Sum([]byte(product + "@" + version))
	sha := hex.EncodeToString(sum[:])
	runID := strconv.FormatInt(9_000_000_000+int64(ev.run.p)*10_000_000+k, 10)

	b = append(b, `{"product_name":"`...)
	b = append(b, product...)
	b = append(b, `","version":"`...)
	b = append(b, version...)
	b = append(b, `","environment_name":"`...)
	b = append(b, env...)
	if ev.started {
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
