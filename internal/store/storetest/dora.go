package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testDora(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"History":    func(t *testing.T) { testDoraHistory(t, open(t)) },
		"Empty":      func(t *testing.T) { testDoraEmpty(t, open(t)) },
		"Truncated":  func(t *testing.T) { testDoraTruncated(t, open(t)) },
		"RoundTrip":  func(t *testing.T) { testDoraRoundTrip(t, open(t)) },
		"Isolation":  func(t *testing.T) { testDoraIsolation(t, open(t)) },
		"Boundaries": func(t *testing.T) { testDoraBoundaries(t, open(t)) },
	})
}

// doraWorld writes deployments and builds of one org by name.
type doraWorld struct {
	t    *testing.T
	s    store.Store
	org  *shiplog.Org
	cats map[[3]string]*catalog
}

func newDoraWorld(t *testing.T, s store.Store, org string) *doraWorld {
	return &doraWorld{t: t, s: s, org: createOrg(t, s, org), cats: map[[3]string]*catalog{}}
}

func (w *doraWorld) cat(product, env, version string) *catalog {
	k := [3]string{product, env, version}
	if w.cats[k] == nil {
		w.cats[k] = ensureCatalog(w.t, w.s, w.org, product, env, version)
	}
	return w.cats[k]
}

// dep stores a deployment of product/env/version that finished (if
// terminal) at minute m of the suite's clock.
func (w *doraWorld) dep(product, env, version string, st shiplog.Status, m int, edit ...func(*shiplog.Deployment)) *shiplog.Deployment {
	w.t.Helper()
	d := w.cat(product, env, version).deployment(st, at(m))
	d.StartedAt = ptr(at(m - 5))
	if st.Terminal() {
		d.CompletedAt = ptr(at(m))
	}
	for _, e := range edit {
		e(d)
	}
	insertDeployments(w.t, w.s, d)
	return d
}

func (w *doraWorld) build(product, version string, st shiplog.Status, m int) {
	w.t.Helper()
	b := w.cat(product, "production", version).build(st, at(m))
	b.CompletedAt = ptr(at(m))
	insertBuilds(w.t, w.s, b)
}

func (w *doraWorld) history(p store.DoraHistoryParams) *store.DoraHistory {
	w.t.Helper()
	p.OrgID = w.org.ID
	if p.From.IsZero() {
		p.From, p.To = at(0), at(1000)
	}
	h, err := w.s.DoraHistory(w.t.Context(), &p)
	ok(w.t, "DoraHistory", err)
	return h
}

func doraIDs(ds []*store.DoraDeployment) []string {
	return ids(ds, func(d *store.DoraDeployment) string { return d.ID })
}

func depIDs(ds ...*shiplog.Deployment) []string { return ids(ds, deploymentID) }

func buildsOf(bs []*store.DoraBuild) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.ProductName+"/"+b.Version+"@"+b.CompletedAt.Format(time.RFC3339))
	}
	return out
}

func withPreflight(s string) func(*shiplog.Deployment) {
	return func(d *shiplog.Deployment) { d.PreflightStatus = &s }
}

// testDoraHistory checks which rows a window returns: the deployments that
// finished in it, and exactly the context the metrics need around it.
func testDoraHistory(t *testing.T, s store.Store) {
	const prod, staging = "production", "staging"
	completed, failed := shiplog.StatusCompleted, shiplog.StatusFailed
	w := newDoraWorld(t, s, "acme")
	// api / production, before the window [0, 1000):
	v1First := w.dep("api", prod, "1", completed, -500) // v1's first delivery: makes the one in the window a redeploy
	w.dep("api", prod, "1", completed, -400)            // a later one: not needed
	lastBefore := w.dep("api", prod, "2", failed, -100) // the last counted run before the window
	w.dep("api", prod, "3", failed, -50, withPreflight("failed"))
	w.dep("api", prod, "4", shiplog.StatusAborted, -20)
	// … in it:
	redeploy := w.dep("api", prod, "1", completed, 100)
	failure := w.dep("api", prod, "2", failed, 200)
	w.dep("api", prod, "5", shiplog.StatusStarted, 300)
	// … after it:
	restore := w.dep("api", prod, "5", completed, 1000) // at To: outside; the first completed at or after To
	failedAtTo := w.dep("api", prod, "7", failed, 1000, withPreflight("passed"))
	later := w.dep("api", prod, "6", completed, 1100)
	// api / staging: one deployment in the window, no context.
	stagingDep := w.dep("api", staging, "2", completed, 500)
	// web / production: nothing in the window, so nothing read.
	w.dep("web", prod, "1", completed, -10)
	w.dep("web", prod, "1", failed, 1200)
	// Builds: v1's first completed build, not its failed one; v2's only one.
	w.build("api", "1", failed, -700)
	w.build("api", "1", completed, -550)
	w.build("api", "1", completed, -600)
	w.build("api", "2", completed, 150)
	w.build("api", "6", completed, 0)
	built := func(version string, m int) string { return "api/" + version + "@" + at(m).Format(time.RFC3339) }
	api, web := w.cat("api", prod, "1").product.ID, w.cat("web", prod, "1").product.ID
	prodID, stagingID := w.cat("api", prod, "1").env.ID, w.cat("api", staging, "2").env.ID

	tests := []struct {
		name                    string
		p                       store.DoraHistoryParams
		window, context, builds []string
	}{
		{name: "every product and environment", window: depIDs(redeploy, failure, stagingDep),
			context: depIDs(v1First, lastBefore, restore), builds: []string{built("1", -600), built("2", 150)}},
		{name: "one product", p: store.DoraHistoryParams{ProductID: api},
			window: depIDs(redeploy, failure, stagingDep), context: depIDs(v1First, lastBefore, restore),
			builds: []string{built("1", -600), built("2", 150)}},
		{name: "one environment", p: store.DoraHistoryParams{EnvironmentID: stagingID},
			window: depIDs(stagingDep), builds: []string{built("2", 150)}},
		{name: "one product and environment", p: store.DoraHistoryParams{ProductID: api, EnvironmentID: prodID},
			window: depIDs(redeploy, failure), context: depIDs(v1First, lastBefore, restore), builds: []string{built("1", -600)}},
		{name: "a product with nothing in the window", p: store.DoraHistoryParams{ProductID: web}},
		// The last counted run before 1000 is the failure at 200; neither v5
		// nor v6 was delivered before; nothing completed after 1200.
		{name: "a later window", p: store.DoraHistoryParams{From: at(1000), To: at(1200)},
			window: depIDs(restore, failedAtTo, later), context: depIDs(failure), builds: []string{built("6", 0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := w.history(tt.p)
			if h.Truncated {
				t.Error("truncated")
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"window", doraIDs(h.Window), tt.window}, {"context", doraIDs(h.Context), tt.context},
				{"builds", buildsOf(h.Builds), tt.builds}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s:\n\tgot  %v\n\twant %v", c.what, c.got, c.want)
				}
			}
		})
	}
}

func testDoraEmpty(t *testing.T, s store.Store) {
	w := newDoraWorld(t, s, "acme")
	h := w.history(store.DoraHistoryParams{})
	if len(h.Window)+len(h.Context)+len(h.Builds) != 0 || h.Truncated {
		t.Errorf("empty org: %+v", h)
	}
	w.dep("api", "production", "1", shiplog.StatusCompleted, -1)
	w.dep("api", "production", "2", shiplog.StatusStarted, 10)
	w.build("api", "2", shiplog.StatusCompleted, 5)
	if h := w.history(store.DoraHistoryParams{}); len(h.Window)+len(h.Context)+len(h.Builds) != 0 {
		t.Errorf("nothing finished in the window, yet: %+v", h)
	}
}

func testDoraTruncated(t *testing.T, s store.Store) {
	w := newDoraWorld(t, s, "acme")
	var all []*shiplog.Deployment
	for i := range 5 {
		all = append(all, w.dep("api", "production", "1", shiplog.StatusCompleted, 10*i))
	}
	w.dep("api", "production", "1", shiplog.StatusCompleted, -10)
	tests := []struct {
		limit     int
		want      []*shiplog.Deployment
		truncated bool
	}{{1, all[:1], true}, {4, all[:4], true}, {5, all, false}, {6, all, false}, {0, all, false}}
	for _, tt := range tests {
		h := w.history(store.DoraHistoryParams{Limit: tt.limit})
		if got := doraIDs(h.Window); !slices.Equal(got, depIDs(tt.want...)) || h.Truncated != tt.truncated {
			t.Errorf("limit %d: %d rows, truncated %v; want %d, %v", tt.limit, len(got), h.Truncated, len(tt.want), tt.truncated)
		}
		if h.Truncated && (h.Context != nil || h.Builds != nil) {
			t.Errorf("limit %d: truncated, yet context was read", tt.limit)
		}
		if !h.Truncated && len(h.Context) != 1 {
			t.Errorf("limit %d: context %v, want the redeployed version's first deployment", tt.limit, doraIDs(h.Context))
		}
	}
}

// testDoraRoundTrip checks every field of a returned row, and that extra
// metadata is read only where a commit time may be.
func testDoraRoundTrip(t *testing.T, s store.Store) {
	w := newDoraWorld(t, s, "acme")
	meta := json.RawMessage(`{"commit_time": "2025-03-04T05:00:00Z", "x": [1]}`)
	withMeta := func(m json.RawMessage) func(*shiplog.Deployment) {
		return func(d *shiplog.Deployment) { d.ExtraMetadata = m }
	}
	c := w.dep("api", "prod-eu", "1.0", shiplog.StatusCompleted, 10, withMeta(meta), withPreflight("passed"))
	f := w.dep("api", "prod-eu", "1.1", shiplog.StatusFailed, 20, withMeta(meta))
	n := w.dep("api", "prod-eu", "1.2", shiplog.StatusCompleted, 30, withMeta(json.RawMessage(`{"ticket": "OPS-1"}`)))
	h := w.history(store.DoraHistoryParams{})
	if len(h.Window) != 3 {
		t.Fatalf("window: %v", doraIDs(h.Window))
	}
	want := &store.DoraDeployment{ID: c.ID, ProductName: "api", EnvironmentName: "prod-eu", EnvironmentType: shiplog.EnvProduction,
		Version: "1.0", Status: shiplog.StatusCompleted, PreflightStatus: ptr("passed"), ExtraMetadata: meta,
		StartedAt: c.StartedAt, CompletedAt: c.CompletedAt, DeployedAt: c.DeployedAt}
	same(t, "completed deployment", h.Window[0], want)
	if h.Window[1].ID != f.ID || h.Window[1].ExtraMetadata != nil || h.Window[1].PreflightStatus != nil {
		t.Errorf("failed deployment: metadata %s, preflight %v; want neither", h.Window[1].ExtraMetadata, h.Window[1].PreflightStatus)
	}
	if h.Window[2].ID != n.ID || h.Window[2].ExtraMetadata != nil {
		t.Errorf("metadata without a commit key was read: %s", h.Window[2].ExtraMetadata)
	}
}

// testDoraIsolation: another org's identical names and times never show.
func testDoraIsolation(t *testing.T, s store.Store) {
	a, b := newDoraWorld(t, s, "a"), newDoraWorld(t, s, "b")
	for _, w := range []*doraWorld{a, b} {
		w.dep("api", "production", "1", shiplog.StatusCompleted, -100)
		w.dep("api", "production", "2", shiplog.StatusFailed, -50)
		w.dep("api", "production", "1", shiplog.StatusCompleted, 100)
		w.dep("api", "production", "3", shiplog.StatusCompleted, 2000)
		w.build("api", "1", shiplog.StatusCompleted, -200)
	}
	bOnly := b.dep("api", "production", "9", shiplog.StatusCompleted, 200)
	b.build("api", "9", shiplog.StatusCompleted, 150)
	h := a.history(store.DoraHistoryParams{})
	if len(h.Window) != 1 || len(h.Context) != 3 || len(h.Builds) != 1 {
		t.Fatalf("org a: window %d, context %d, builds %d; want 1, 3, 1", len(h.Window), len(h.Context), len(h.Builds))
	}
	mine := map[string]bool{}
	rows, err := s.DeploymentList(t.Context(), a.org.ID, store.DeploymentFilter{}, store.Page{Limit: store.MaxLimit})
	ok(t, "DeploymentList", err)
	for _, d := range rows {
		mine[d.ID] = true
	}
	for _, d := range append(h.Window, h.Context...) {
		if !mine[d.ID] || d.ID == bOnly.ID {
			t.Errorf("org a sees deployment %s of org b", d.ID)
		}
	}
	// b's product id under a's org id finds nothing.
	h = a.history(store.DoraHistoryParams{ProductID: b.cat("api", "production", "1").product.ID})
	if len(h.Window)+len(h.Context)+len(h.Builds) != 0 {
		t.Errorf("org a with org b's product id: %+v", h)
	}
}

// testDoraBoundaries: the window is [From, To) to the microsecond.
func testDoraBoundaries(t *testing.T, s store.Store) {
	w := newDoraWorld(t, s, "acme")
	from := at(0)
	mk := func(v string, when time.Time) *shiplog.Deployment {
		return w.dep("api", "production", v, shiplog.StatusCompleted, 0, func(d *shiplog.Deployment) {
			d.CompletedAt, d.DeployedAt = ptr(when), when
		})
	}
	mk("before", from.Add(-time.Microsecond))
	first := mk("first", from)
	last := mk("last", from.Add(time.Hour-time.Microsecond))
	mk("after", from.Add(time.Hour))
	h := w.history(store.DoraHistoryParams{From: from, To: from.Add(time.Hour)})
	if got := doraIDs(h.Window); !slices.Equal(got, depIDs(first, last)) {
		t.Errorf("window %v, want %v", got, depIDs(first, last))
	}
}
