package dora

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
)

// The histories below are written in hours from t0; the window is days 10
// to 20 after t0 (240 h to 480 h), ten whole UTC days.
var t0 = time.Date(2026, time.March, 1, 0, 0, 0, 0, time.UTC)

func at(hours float64) time.Time { return t0.Add(time.Duration(hours * float64(time.Hour))) }

var window = Window{From: at(240), To: at(480)}

func hours(h float64) time.Duration { return time.Duration(h * float64(time.Hour)) }

// history builds deployments in the order given, so ids (the tie-break
// between equal finish times) follow the order of the test's lines.
type history struct {
	ds []Deployment
	bs []Build
}

type opt func(*Deployment)

func env(name string) opt     { return func(d *Deployment) { d.Environment = name } }
func product(name string) opt { return func(d *Deployment) { d.Product = name } }
func commit(h float64) opt    { return func(d *Deployment) { c := at(h); d.CommitAt = &c } }
func preflightFailed(d *Deployment) {
	d.PreflightStatus = PreflightFailed
}

func (h *history) dep(st shiplog.Status, version string, finished float64, opts ...opt) *history {
	f := at(finished)
	d := Deployment{ID: fmt.Sprintf("d%03d", len(h.ds)), Product: "api", Environment: "production",
		EnvironmentType: shiplog.EnvProduction, Version: version, Status: st, DeployedAt: f}
	if st.Terminal() {
		d.CompletedAt = &f
	}
	for _, o := range opts {
		o(&d)
	}
	h.ds = append(h.ds, d)
	return h
}

func (h *history) ok(version string, finished float64, opts ...opt) *history {
	return h.dep(shiplog.StatusCompleted, version, finished, opts...)
}

func (h *history) fail(version string, finished float64, opts ...opt) *history {
	return h.dep(shiplog.StatusFailed, version, finished, opts...)
}

func (h *history) build(version string, completed float64) *history {
	h.bs = append(h.bs, Build{Product: "api", Version: version, Status: shiplog.StatusCompleted, CompletedAt: at(completed)})
	return h
}

func (h *history) compute() *Result {
	return Compute(Input{Window: window, Deployments: h.ds, Builds: h.bs})
}

func newHistory() *history { return &history{} }

func durPtr(d time.Duration) *time.Duration { return &d }

func showDur(d *time.Duration) string {
	if d == nil {
		return "nil"
	}
	return d.String()
}

func sameDur(a, b *time.Duration) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func TestDeploymentFrequency(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		h        *history
		want     int
		wantBand Band
	}{
		{"empty window: nothing to measure", newHistory(), 0, BandNone},
		{"one completed deployment in ten days: 0.1/day", newHistory().ok("1", 300), 1, BandMedium},
		{"only failures: zero deployments is low, not none", newHistory().fail("1", 300), 0, BandLow},
		{"the window is [from, to): at from counts, at to does not",
			newHistory().ok("1", 240).ok("2", 480).ok("3", 239.99), 1, BandMedium},
		{"started before the window, finished in it: counted by its finish",
			newHistory().ok("1", 250, func(d *Deployment) { s := at(100); d.StartedAt = &s }), 1, BandMedium},
		{"started in the window, finished after it: not counted",
			newHistory().ok("0", 300).ok("1", 500, func(d *Deployment) { s := at(470); d.StartedAt = &s }), 1, BandMedium},
		{"aborted, pending, started and preflight-refused runs are not deployments",
			newHistory().dep(shiplog.StatusAborted, "1", 300).dep(shiplog.StatusPending, "2", 301).
				dep(shiplog.StatusStarted, "3", 302).dep(shiplog.StatusAborted, "4", 303, preflightFailed), 0, BandNone},
		{"two in ten days: 0.2/day is at least weekly", newHistory().ok("1", 300).ok("2", 400), 2, BandHigh},
		{"a redeploy of the same version is a deployment", newHistory().ok("1", 300).ok("1", 400), 2, BandHigh},
		{"ten in ten days: daily is elite", tenDaily(), 10, BandElite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.h.compute().Total.Frequency
			if r.Deployments != tt.want || r.Band != tt.wantBand {
				t.Errorf("frequency = %d (%s), want %d (%s)", r.Deployments, r.Band, tt.want, tt.wantBand)
			}
			if want := float64(tt.want) / 10; r.PerDay != want || r.PerWeek != want*7 {
				t.Errorf("per day %v, per week %v; want %v, %v", r.PerDay, r.PerWeek, want, want*7)
			}
		})
	}
}

func tenDaily() *history {
	h := newHistory()
	for i := range 10 {
		h.ok(fmt.Sprint(i), 250+float64(i)*24)
	}
	return h
}

func TestLeadTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                                   string
		h                                      *history
		median, p90                            *time.Duration
		band                                   Band
		commit, build, noOrigin, redeploys, ok int
	}{
		{name: "empty window", h: newHistory(), band: BandNone},
		{name: "one event: build completed → deployed", h: newHistory().build("1", 298).ok("1", 300),
			median: durPtr(hours(2)), p90: durPtr(hours(2)), band: BandElite, build: 1},
		{name: "the commit time in extra_metadata wins over the build", h: newHistory().build("1", 298).ok("1", 300, commit(270)),
			median: durPtr(hours(30)), p90: durPtr(hours(30)), band: BandHigh, commit: 1},
		{name: "a commit time after the deployment is ignored", h: newHistory().build("1", 298).ok("1", 300, commit(301)),
			median: durPtr(hours(2)), p90: durPtr(hours(2)), band: BandElite, build: 1},
		{name: "no build, no commit time: counted as a deployment, no sample", h: newHistory().ok("1", 300),
			band: BandNone, noOrigin: 1},
		{name: "a build completed after the deployment is no origin", h: newHistory().build("1", 301).ok("1", 300),
			band: BandNone, noOrigin: 1},
		{name: "the version's first completed build is the origin", h: newHistory().build("1", 200).build("1", 290).ok("1", 300),
			median: durPtr(hours(100)), p90: durPtr(hours(100)), band: BandHigh, build: 1},
		{name: "failed builds are no origin", h: newHistory().ok("1", 300).withBuild(Build{Product: "api", Version: "1",
			Status: shiplog.StatusFailed, CompletedAt: at(100)}), band: BandNone, noOrigin: 1},
		{name: "a build of another product's same version is no origin", h: newHistory().ok("1", 300).withBuild(Build{Product: "web",
			Version: "1", Status: shiplog.StatusCompleted, CompletedAt: at(100)}), band: BandNone, noOrigin: 1},
		{name: "a redeploy of the same version is no second sample", h: newHistory().build("1", 290).ok("1", 300).ok("1", 400),
			median: durPtr(hours(10)), p90: durPtr(hours(10)), band: BandElite, build: 1, redeploys: 1},
		{name: "a version deployed before the window is a redeploy in it", h: newHistory().build("1", 10).ok("1", 20).ok("1", 300),
			band: BandNone, redeploys: 1},
		{name: "a failed attempt does not deliver: the retry is the first deployment",
			h:      newHistory().build("1", 290).fail("1", 295).ok("1", 300),
			median: durPtr(hours(10)), p90: durPtr(hours(10)), band: BandElite, build: 1},
		{name: "the same version in another environment is a first deployment there",
			h:      newHistory().build("1", 290).ok("1", 295, env("staging")).ok("1", 300),
			median: durPtr(hours(5)), p90: durPtr(hours(10)), band: BandElite, build: 2},
		{name: "deployed after the window: no sample in it", h: newHistory().build("1", 290).ok("1", 500), band: BandNone},
		{name: "nearest rank: an even count's median is the lower middle value",
			h:      newHistory().build("1", 299).ok("1", 300).build("2", 297).ok("2", 300),
			median: durPtr(hours(1)), p90: durPtr(hours(3)), band: BandElite, build: 2},
		{name: "nearest rank over ten samples: median the 5th, p90 the 9th", h: tenLeadTimes(),
			median: durPtr(hours(5)), p90: durPtr(hours(9)), band: BandElite, build: 10},
		{name: "a median of exactly one day is high", h: newHistory().build("1", 276).ok("1", 300),
			median: durPtr(hours(24)), p90: durPtr(hours(24)), band: BandHigh, build: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			lt := tt.h.compute().Total.LeadTime
			if !sameDur(lt.Median, tt.median) || !sameDur(lt.P90, tt.p90) || lt.Band != tt.band {
				t.Errorf("lead time median %s p90 %s band %s; want %s %s %s", showDur(lt.Median), showDur(lt.P90), lt.Band,
					showDur(tt.median), showDur(tt.p90), tt.band)
			}
			got := [4]int{lt.FromCommit, lt.FromBuild, lt.WithoutOrigin, lt.Redeploys}
			if want := [4]int{tt.commit, tt.build, tt.noOrigin, tt.redeploys}; got != want {
				t.Errorf("from commit, from build, without origin, redeploys = %v, want %v", got, want)
			}
			if lt.Samples != tt.commit+tt.build {
				t.Errorf("samples = %d, want %d", lt.Samples, tt.commit+tt.build)
			}
		})
	}
}

func (h *history) withBuild(b Build) *history {
	h.bs = append(h.bs, b)
	return h
}

// tenLeadTimes has lead times of 1 h … 10 h, deployed out of order.
func tenLeadTimes() *history {
	h := newHistory()
	for _, i := range []int{7, 3, 10, 1, 9, 2, 8, 4, 6, 5} {
		v, finished := fmt.Sprint(i), 300+float64(i)/100
		h.ok(v, finished)
		h.bs = append(h.bs, Build{Product: "api", Version: v, Status: shiplog.StatusCompleted,
			CompletedAt: at(finished).Add(-hours(float64(i)))})
	}
	return h
}

func TestLeadTimeBandLow(t *testing.T) {
	t.Parallel()
	lt := Compute(Input{Window: Window{From: at(0), To: at(24 * 40)},
		Deployments: newHistory().ok("1", 24*31).ds, Builds: newHistory().build("1", 0).bs}).Total.LeadTime
	if lt.Band != BandLow || *lt.Median != 31*day {
		t.Errorf("31 days: median %s band %s, want low", showDur(lt.Median), lt.Band)
	}
}

func TestChangeFailureRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name            string
		h               *history
		failures, outOf int
		rate            *float64
		band            Band
	}{
		{"empty window: no rate", newHistory(), 0, 0, nil, BandNone},
		{"one completed", newHistory().ok("1", 300), 0, 1, ptr(0.0), BandElite},
		{"one failed", newHistory().fail("1", 300), 1, 1, ptr(1.0), BandLow},
		{"one in four", newHistory().ok("1", 300).fail("2", 310).ok("2", 320).ok("3", 330), 1, 4, ptr(0.25), BandLow},
		{"preflight-refused runs are excluded, reported failed or aborted",
			newHistory().ok("1", 300).fail("2", 310, preflightFailed).dep(shiplog.StatusAborted, "2", 311, preflightFailed),
			0, 1, ptr(0.0), BandElite},
		{"aborted runs are neither", newHistory().ok("1", 300).dep(shiplog.StatusAborted, "2", 310), 0, 1, ptr(0.0), BandElite},
		{"failures outside the window do not count", newHistory().fail("0", 200).ok("1", 300).fail("2", 490), 0, 1, ptr(0.0), BandElite},
		{"5 % is elite (inclusive)", failuresIn(1, 20), 1, 20, ptr(0.05), BandElite},
		{"10 % is high", failuresIn(1, 10), 1, 10, ptr(0.10), BandHigh},
		{"15 % is medium", failuresIn(3, 20), 3, 20, ptr(0.15), BandMedium},
		{"above 15 % is low", failuresIn(4, 25), 4, 25, ptr(0.16), BandLow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fr := tt.h.compute().Total.FailureRate
			if fr.Failures != tt.failures || fr.Deployments != tt.outOf || fr.Band != tt.band ||
				(fr.Rate == nil) != (tt.rate == nil) || (fr.Rate != nil && *fr.Rate != *tt.rate) {
				t.Errorf("got %d/%d rate %v band %s; want %d/%d rate %v band %s", fr.Failures, fr.Deployments, deref(fr.Rate),
					fr.Band, tt.failures, tt.outOf, deref(tt.rate), tt.band)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func deref(f *float64) any {
	if f == nil {
		return nil
	}
	return *f
}

// failuresIn spreads n deployments over the window, the first k failed.
func failuresIn(k, n int) *history {
	h := newHistory()
	for i := range n {
		st := shiplog.StatusCompleted
		if i < k {
			st = shiplog.StatusFailed
		}
		h.dep(st, fmt.Sprint(i), 250+float64(i))
	}
	return h
}

func TestTimeToRestore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		h           *history
		samples     []time.Duration // sorted
		unrestored  int
		median, p90 *time.Duration
		band        Band
	}{
		{name: "empty window", h: newHistory(), band: BandNone},
		{name: "one event: a failure not yet restored", h: newHistory().fail("1", 300), unrestored: 1, band: BandNone},
		{name: "failure → next completed deployment", h: newHistory().ok("1", 290).fail("2", 300).ok("3", 302.5),
			samples: []time.Duration{hours(2.5)}, band: BandHigh},
		{name: "a run of failures is timed from the first", h: newHistory().fail("2", 300).fail("3", 301).fail("3", 303).ok("4", 304),
			samples: []time.Duration{hours(4)}, band: BandHigh},
		{name: "restored by a redeploy of the old version", h: newHistory().ok("1", 290).fail("2", 300).ok("1", 300.5),
			samples: []time.Duration{hours(0.5)}, band: BandElite},
		{name: "a run that began before the window belongs to the earlier window",
			h: newHistory().fail("2", 230).fail("3", 250).ok("4", 260), band: BandNone},
		{name: "a failure restored after the window is still timed", h: newHistory().fail("2", 470).ok("3", 500),
			samples: []time.Duration{hours(30)}, band: BandMedium},
		{name: "restored before the window: no sample in it", h: newHistory().fail("2", 200).ok("3", 210).ok("4", 300), band: BandNone},
		{name: "a completed deployment elsewhere restores nothing", h: newHistory().fail("2", 300).ok("3", 301, env("staging")).ok("3", 302, product("web")),
			unrestored: 1, band: BandNone},
		{name: "aborted and preflight-refused runs neither start nor end a run of failures",
			h: newHistory().fail("2", 300).dep(shiplog.StatusAborted, "3", 301).fail("4", 302, preflightFailed).ok("5", 303).
				fail("6", 310, preflightFailed).ok("7", 311),
			samples: []time.Duration{hours(3)}, band: BandHigh},
		{name: "two incidents, two samples", h: newHistory().fail("2", 300).ok("3", 300.25).fail("4", 400).ok("5", 406),
			samples: []time.Duration{hours(0.25), hours(6)}, band: BandElite},
		{name: "equal finish times: the earlier record comes first", h: newHistory().fail("2", 300).ok("3", 300),
			samples: []time.Duration{0}, band: BandElite},
		{name: "restored, then failed again and still open", h: newHistory().fail("2", 300).ok("3", 324).fail("4", 400),
			samples: []time.Duration{hours(24)}, unrestored: 1, band: BandMedium},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tt.h.compute().Total.Restore
			if r.Samples != len(tt.samples) || r.Unrestored != tt.unrestored || r.Band != tt.band {
				t.Errorf("samples %d unrestored %d band %s; want %d %d %s", r.Samples, r.Unrestored, r.Band,
					len(tt.samples), tt.unrestored, tt.band)
			}
			if len(tt.samples) > 0 {
				med, p90 := NearestRank(tt.samples, 50), NearestRank(tt.samples, 90)
				if !sameDur(r.Median, &med) || !sameDur(r.P90, &p90) {
					t.Errorf("median %s p90 %s; want %s %s", showDur(r.Median), showDur(r.P90), med, p90)
				}
			} else if r.Median != nil || r.P90 != nil {
				t.Errorf("no samples but median %s p90 %s", showDur(r.Median), showDur(r.P90))
			}
		})
	}
}

func TestNearestRank(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n, p, want int // samples 1..n; the value at the rank
	}{
		{1, 50, 1}, {1, 90, 1}, {2, 50, 1}, {2, 90, 2}, {3, 50, 2}, {4, 50, 2}, {5, 50, 3},
		{10, 90, 9}, {11, 90, 10}, {20, 90, 18}, {100, 50, 50}, {100, 90, 90}, {100, 100, 100}, {3, 1, 1},
	}
	for _, tt := range tests {
		var xs []time.Duration
		for i := 1; i <= tt.n; i++ {
			xs = append(xs, time.Duration(i))
		}
		if got := NearestRank(xs, tt.p); got != time.Duration(tt.want) {
			t.Errorf("p%d of 1..%d = %d, want %d", tt.p, tt.n, got, tt.want)
		}
	}
}

func TestSeriesAndGroups(t *testing.T) {
	t.Parallel()
	h := newHistory().
		ok("1", 241).fail("2", 250).ok("2", 260). // api/production on day 0
		ok("1", 300, env("staging")).             // api/staging on day 2
		ok("9", 479.5, product("web")).           // web/production on day 9, the last
		ok("8", 100, product("old")).             // a pair with nothing in the window
		dep(shiplog.StatusStarted, "9", 300, product("running"))
	r := h.compute()
	if len(r.Total.Series) != 10 {
		t.Fatalf("series has %d days, want 10", len(r.Total.Series))
	}
	for i, d := range r.Total.Series {
		if want := window.From.AddDate(0, 0, i); !d.Date.Equal(want) || d.Date.Location() != time.UTC {
			t.Errorf("day %d is %s, want %s UTC", i, d.Date, want)
		}
	}
	got := func(s []Day) [][2]int {
		var out [][2]int
		for _, d := range s {
			out = append(out, [2]int{d.Deployments, d.Failures})
		}
		return out
	}
	want := [][2]int{{2, 1}, {0, 0}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {0, 0}, {1, 0}}
	if g := got(r.Total.Series); !slices.Equal(g, want) {
		t.Errorf("total series %v, want %v", g, want)
	}
	var names []string
	for _, g := range r.Groups {
		names = append(names, g.Product+"/"+g.Environment)
	}
	if want := []string{"api/production", "api/staging", "web/production"}; !slices.Equal(names, want) {
		t.Fatalf("groups %v, want %v (sorted; only pairs with deployments in the window)", names, want)
	}
	if g := r.Groups[0]; g.Frequency.Deployments != 2 || g.FailureRate.Failures != 1 || g.Restore.Samples != 1 ||
		g.EnvironmentType != shiplog.EnvProduction {
		t.Errorf("api/production: %+v", g)
	}
	if tot := r.Total; tot.Frequency.Deployments != 4 || tot.FailureRate.Deployments != 5 {
		t.Errorf("total: %d deployments, %d finished; want 4, 5", tot.Frequency.Deployments, tot.FailureRate.Deployments)
	}
	// Each group's series sums to the total.
	sum := make([][2]int, 10)
	for _, g := range r.Groups {
		for i, d := range got(g.Series) {
			sum[i][0] += d[0]
			sum[i][1] += d[1]
		}
	}
	if !slices.Equal(sum, want) {
		t.Errorf("groups' series sum to %v, want %v", sum, want)
	}
}

func TestPartialDays(t *testing.T) {
	t.Parallel()
	w := Window{From: at(10), To: at(58)} // 10:00 on day 0 to 10:00 on day 2
	r := Compute(Input{Window: w, Deployments: newHistory().ok("1", 10).ok("2", 23.99).ok("3", 24).ok("4", 57.9).ds})
	var got []string
	for _, d := range r.Total.Series {
		got = append(got, fmt.Sprintf("%s:%d", d.Date.Format("01-02"), d.Deployments))
	}
	if want := []string{"03-01:2", "03-02:1", "03-03:1"}; !slices.Equal(got, want) {
		t.Errorf("series %v, want %v", got, want)
	}
	if r.Total.Frequency.PerDay != 2 {
		t.Errorf("per day %v, want 4 deployments / 2 days", r.Total.Frequency.PerDay)
	}
}

func TestEmptyAndInvertedWindow(t *testing.T) {
	t.Parallel()
	for _, w := range []Window{{}, {From: at(10), To: at(10)}, {From: at(10), To: at(5)}} {
		r := Compute(Input{Window: w, Deployments: newHistory().ok("1", 7).ds})
		if len(r.Groups) != 0 || len(r.Total.Series) != 0 || r.Total.Frequency.Band != BandNone || r.Total.Frequency.PerDay != 0 {
			t.Errorf("window %v: %+v", w, r)
		}
	}
}

// Records the caller passes in any order give the same answer.
func TestOrderDoesNotMatter(t *testing.T) {
	t.Parallel()
	h := newHistory().build("1", 280).fail("1", 290).ok("1", 300).fail("2", 310).fail("2", 311).ok("3", 320).ok("1", 330)
	want := h.compute()
	rev := slices.Clone(h.ds)
	slices.Reverse(rev)
	got := Compute(Input{Window: window, Deployments: rev, Builds: h.bs})
	if !reflect.DeepEqual(got, want) {
		t.Errorf("reversed input:\n%+v\nwant\n%+v", got, want)
	}
}

func TestBands(t *testing.T) {
	t.Parallel()
	freq := []struct {
		perDay float64
		want   Band
	}{{5, BandElite}, {1, BandElite}, {0.99, BandHigh}, {1.0 / 7, BandHigh}, {0.14, BandMedium}, {1.0 / 30, BandMedium},
		{0.033, BandLow}, {0, BandLow}}
	for _, tt := range freq {
		if got := FrequencyBand(tt.perDay); got != tt.want {
			t.Errorf("FrequencyBand(%v) = %s, want %s", tt.perDay, got, tt.want)
		}
	}
	durs := []struct {
		f    func(time.Duration) Band
		name string
		d    time.Duration
		want Band
	}{
		{LeadTimeBand, "lead", 0, BandElite}, {LeadTimeBand, "lead", day - 1, BandElite}, {LeadTimeBand, "lead", day, BandHigh},
		{LeadTimeBand, "lead", week - 1, BandHigh}, {LeadTimeBand, "lead", week, BandMedium},
		{LeadTimeBand, "lead", month - 1, BandMedium}, {LeadTimeBand, "lead", month, BandLow},
		{RestoreBand, "restore", 0, BandElite}, {RestoreBand, "restore", time.Hour - 1, BandElite},
		{RestoreBand, "restore", time.Hour, BandHigh}, {RestoreBand, "restore", day, BandMedium},
		{RestoreBand, "restore", week - 1, BandMedium}, {RestoreBand, "restore", week, BandLow},
	}
	for _, tt := range durs {
		if got := tt.f(tt.d); got != tt.want {
			t.Errorf("%s band of %s = %s, want %s", tt.name, tt.d, got, tt.want)
		}
	}
	rates := []struct {
		rate float64
		want Band
	}{{0, BandElite}, {0.05, BandElite}, {0.0501, BandHigh}, {0.10, BandHigh}, {0.15, BandMedium}, {0.1501, BandLow}, {1, BandLow}}
	for _, tt := range rates {
		if got := FailureRateBand(tt.rate); got != tt.want {
			t.Errorf("FailureRateBand(%v) = %s, want %s", tt.rate, got, tt.want)
		}
	}
}
