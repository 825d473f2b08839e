// Package dora computes the four DORA software-delivery metrics — deployment
// frequency, lead time for changes, change failure rate and time to restore —
// from deployment and build records over a window of time. It is pure: the
// caller reads the records (internal/dora/doradb does it from the store) and
// this package only counts. docs/dora.md defines every metric; the tests in
// this package are that page, executable.
package dora

import (
	"cmp"
	"slices"
	"time"

	"github.com/shiplog/shiplog"
)

// Deployment is one deployment run as the metrics need it.
type Deployment struct {
	ID              string // breaks ties between equal finish times (ids are time-ordered)
	Product         string
	Environment     string
	EnvironmentType shiplog.EnvType
	Version         string
	Status          shiplog.Status
	// PreflightStatus is "passed", "failed", "skipped" or "" (not judged).
	PreflightStatus string
	StartedAt       *time.Time
	CompletedAt     *time.Time // when it ended; set by ingest for every finished run
	DeployedAt      time.Time  // time of its latest event
	// CommitAt is the SCM commit time its extra_metadata carried (see
	// CommitTime), nil when it carried none.
	CommitAt *time.Time
}

// Finished returns when d ended: its completed_at, or the time of its
// latest event when a finished record somehow lacks one.
func (d *Deployment) Finished() time.Time {
	if d.CompletedAt != nil {
		return *d.CompletedAt
	}
	return d.DeployedAt
}

// Counted reports whether d takes part in the metrics at all: it finished
// as completed or failed. Pending, started and aborted runs did not deliver
// a change and did not fail one. A failed run whose preflight check failed
// never started deploying — the rules refused it — so, as the Versioner
// guidance for DORA feeds says, it is not a change failure.
func (d *Deployment) Counted() bool {
	switch d.Status {
	case shiplog.StatusCompleted:
		return true
	case shiplog.StatusFailed:
		return d.PreflightStatus != PreflightFailed
	}
	return false
}

// PreflightFailed is the preflight status of a run the deployment rules refused.
const PreflightFailed = "failed"

// Build is a completed build of a version: the moment the version became
// deployable, the start of its lead time when no commit time is known.
type Build struct {
	Product     string
	Version     string
	Status      shiplog.Status // only completed builds count
	CompletedAt time.Time
}

// Input is what Compute works on. Deployments and Builds may hold any
// records, inside the window or not: records outside it are context (a
// failure streak that began before it, the deployment that restored a
// failure after it, an earlier deployment of the same version). Giving more
// history never changes the result; giving less may, and doradb documents
// what it reads.
type Input struct {
	Window      Window
	Deployments []Deployment
	Builds      []Build
}

// Result is the metrics over the whole input (Total) and per product ×
// environment (Groups, sorted by product then environment; a pair appears
// when a counted deployment of it finished in the window).
type Result struct {
	Window Window
	Total  Report
	Groups []Group
}

// Group is one product × environment's report.
type Group struct {
	Product         string
	Environment     string
	EnvironmentType shiplog.EnvType
	Report
}

// Report holds the four metrics and the per-day series for charts.
type Report struct {
	Frequency   Frequency
	LeadTime    LeadTime
	FailureRate FailureRate
	Restore     Restore
	Series      []Day
}

// Frequency is deployment frequency: completed deployments that finished in
// the window, per day and per week of the window's length.
type Frequency struct {
	Deployments int
	PerDay      float64
	PerWeek     float64
	Band        Band
}

// Durations summarises duration samples: the median and 90th percentile by
// the nearest-rank method, nil when there are no samples.
type Durations struct {
	Samples int
	Median  *time.Duration
	P90     *time.Duration
	Band    Band
}

// LeadTime is lead time for changes, and where each sample started from.
type LeadTime struct {
	Durations
	FromCommit    int // samples measured from the commit time in extra_metadata
	FromBuild     int // samples measured from the version's first completed build
	WithoutOrigin int // first deployments of a version with neither: no sample
	Redeploys     int // completed deployments of a version already deployed there: no sample
}

// FailureRate is the change failure rate: failed over counted deployments
// finished in the window. Rate is nil when none finished.
type FailureRate struct {
	Failures    int
	Deployments int
	Rate        *float64
	Band        Band
}

// Restore is time to restore: from the first failure of a run of failures
// to the next completed deployment of the same product and environment.
type Restore struct {
	Durations
	// Unrestored counts failure runs that began in the window and that no
	// completed deployment has followed yet.
	Unrestored int
}

// Day is one UTC calendar day of the window (the first and last may be
// partial): completed and failed deployments that finished in it.
type Day struct {
	Date        time.Time // midnight UTC
	Deployments int
	Failures    int
}

type pairKey struct{ product, env string }

type versionKey struct{ product, version string }

// tally is what one pair (or the total) accumulates before it is summarised.
type tally struct {
	completed, failed   int
	lead, restore       []time.Duration
	leadTime            LeadTime
	unrestored          int
	perDayOK, perDayBad []int
}

func newTally(days int) *tally {
	return &tally{perDayOK: make([]int, days), perDayBad: make([]int, days)}
}

func (t *tally) add(o *tally) {
	t.completed += o.completed
	t.failed += o.failed
	t.lead = append(t.lead, o.lead...)
	t.restore = append(t.restore, o.restore...)
	t.leadTime.FromCommit += o.leadTime.FromCommit
	t.leadTime.FromBuild += o.leadTime.FromBuild
	t.leadTime.WithoutOrigin += o.leadTime.WithoutOrigin
	t.leadTime.Redeploys += o.leadTime.Redeploys
	t.unrestored += o.unrestored
	for i := range t.perDayOK {
		t.perDayOK[i] += o.perDayOK[i]
		t.perDayBad[i] += o.perDayBad[i]
	}
}

// Compute returns the metrics of in. A window whose end is not after its
// start yields empty reports.
func Compute(in Input) *Result {
	w := in.Window
	days := w.DayStarts()
	firstBuild := map[versionKey]time.Time{}
	for _, b := range in.Builds {
		if b.Status != shiplog.StatusCompleted {
			continue
		}
		k := versionKey{b.Product, b.Version}
		if t, ok := firstBuild[k]; !ok || b.CompletedAt.Before(t) {
			firstBuild[k] = b.CompletedAt
		}
	}
	byPair := map[pairKey][]*Deployment{}
	envType := map[pairKey]shiplog.EnvType{}
	for i := range in.Deployments {
		d := &in.Deployments[i]
		if !d.Counted() {
			continue
		}
		k := pairKey{d.Product, d.Environment}
		byPair[k] = append(byPair[k], d)
		if w.Contains(d.Finished()) || envType[k] == "" {
			envType[k] = d.EnvironmentType
		}
	}
	res := &Result{Window: w}
	total := newTally(len(days))
	keys := make([]pairKey, 0, len(byPair))
	for k := range byPair {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pairKey) int {
		return cmp.Or(cmp.Compare(a.product, b.product), cmp.Compare(a.env, b.env))
	})
	for _, k := range keys {
		t, inWindow := pairTally(w, len(days), byPair[k], firstBuild)
		if !inWindow {
			continue
		}
		total.add(t)
		res.Groups = append(res.Groups, Group{Product: k.product, Environment: k.env, EnvironmentType: envType[k],
			Report: t.report(w, days)})
	}
	res.Total = total.report(w, days)
	return res
}

// pairTally walks one product × environment's counted deployments in the
// order they finished. inWindow is false when none finished in the window.
func pairTally(w Window, days int, ds []*Deployment, firstBuild map[versionKey]time.Time) (t *tally, inWindow bool) {
	slices.SortFunc(ds, func(a, b *Deployment) int {
		return cmp.Or(a.Finished().Compare(b.Finished()), cmp.Compare(a.ID, b.ID))
	})
	t = newTally(days)
	delivered := map[string]bool{} // versions with a completed deployment so far
	var streak *Deployment         // the first failure of the current run of failures
	for _, d := range ds {
		at := d.Finished()
		in := w.Contains(at)
		inWindow = inWindow || in
		switch d.Status {
		case shiplog.StatusFailed:
			if streak == nil {
				streak = d
			}
			if in {
				t.failed++
				t.perDayBad[w.dayIndex(at)]++
			}
		case shiplog.StatusCompleted:
			if streak != nil && w.Contains(streak.Finished()) {
				t.restore = append(t.restore, at.Sub(streak.Finished()))
			}
			streak = nil
			redeploy := delivered[d.Version]
			delivered[d.Version] = true
			if !in {
				continue
			}
			t.completed++
			t.perDayOK[w.dayIndex(at)]++
			if redeploy {
				t.leadTime.Redeploys++
				continue
			}
			switch origin, from := leadOrigin(d, firstBuild); from {
			case fromCommit:
				t.leadTime.FromCommit++
				t.lead = append(t.lead, at.Sub(origin))
			case fromBuild:
				t.leadTime.FromBuild++
				t.lead = append(t.lead, at.Sub(origin))
			default:
				t.leadTime.WithoutOrigin++
			}
		}
	}
	if streak != nil && w.Contains(streak.Finished()) {
		t.unrestored++
	}
	return t, inWindow
}

type originKind int

const (
	noOrigin originKind = iota
	fromCommit
	fromBuild
)

// leadOrigin picks where a change's lead time starts: the commit time the
// deployment carried, else the version's first completed build. An origin
// after the deployment finished (clock skew, a wrong value) is not used.
func leadOrigin(d *Deployment, firstBuild map[versionKey]time.Time) (time.Time, originKind) {
	at := d.Finished()
	if d.CommitAt != nil && !d.CommitAt.After(at) {
		return *d.CommitAt, fromCommit
	}
	if b, ok := firstBuild[versionKey{d.Product, d.Version}]; ok && !b.After(at) {
		return b, fromBuild
	}
	return time.Time{}, noOrigin
}

func (t *tally) report(w Window, days []time.Time) Report {
	r := Report{Series: make([]Day, len(days))}
	for i, d := range days {
		r.Series[i] = Day{Date: d, Deployments: t.perDayOK[i], Failures: t.perDayBad[i]}
	}
	finished := t.completed + t.failed
	r.Frequency = Frequency{Deployments: t.completed, Band: BandNone}
	if n := w.Days(); n > 0 {
		r.Frequency.PerDay = float64(t.completed) / n
		r.Frequency.PerWeek = r.Frequency.PerDay * 7
	}
	if finished > 0 {
		r.Frequency.Band = FrequencyBand(r.Frequency.PerDay)
	}
	r.LeadTime = t.leadTime
	r.LeadTime.Durations = summarise(t.lead, LeadTimeBand)
	r.FailureRate = FailureRate{Failures: t.failed, Deployments: finished, Band: BandNone}
	if finished > 0 {
		rate := float64(t.failed) / float64(finished)
		r.FailureRate.Rate, r.FailureRate.Band = &rate, FailureRateBand(rate)
	}
	r.Restore = Restore{Durations: summarise(t.restore, RestoreBand), Unrestored: t.unrestored}
	return r
}

func summarise(xs []time.Duration, band func(time.Duration) Band) Durations {
	out := Durations{Samples: len(xs), Band: BandNone}
	if len(xs) == 0 {
		return out
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med, p90 := NearestRank(s, 50), NearestRank(s, 90)
	out.Median, out.P90, out.Band = &med, &p90, band(med)
	return out
}

// NearestRank returns the p-th percentile (0 < p ≤ 100) of sorted, a
// non-empty ascending slice, by the nearest-rank method: the value at
// 1-based rank ⌈p/100 × n⌉. It is always one of the samples; the median of
// an even count is the lower of the two middle values.
func NearestRank(sorted []time.Duration, p int) time.Duration {
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}
