package doradb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/dora"
	"github.com/shiplog/shiplog/internal/dora/doradb"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// drivers runs fn on a fresh SQLite store, and on PostgreSQL when
// SHIPLOG_TEST_POSTGRES_URL is set.
func drivers(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shiplog.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		s, err := postgres.Open(t.Context(), pgtest.URL(t), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, s)
	})
}

var t0 = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

func day(d float64) time.Time {
	return t0.Add(time.Duration(d * float64(24*time.Hour))).Truncate(time.Microsecond)
}

// world is a random but reproducible history, stored and kept in memory.
type world struct {
	org    *shiplog.Org
	all    []dora.Deployment // every deployment, as dora sees it
	builds []dora.Build
	// ids of the catalogue, by name
	products, envs map[string]string
}

// seed writes, for 2 products × 2 environments, 150 runs each over 90
// days: mostly completed, some failed (a few refused by preflight),
// aborted and still running; redeploys of earlier versions; commit times in
// some metadata (a few after the deployment); 0–2 builds per version, some
// failed, some after the deployment.
func seed(t *testing.T, s store.Store, rng *rand.Rand) *world {
	w := &world{products: map[string]string{}, envs: map[string]string{}}
	err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		org, err := tx.OrgCreate(ctx, "acme", t0)
		if err != nil {
			return err
		}
		w.org = org
		for _, pn := range []string{"api", "web"} {
			p, err := tx.ProductEnsure(ctx, org.ID, pn, t0)
			if err != nil {
				return err
			}
			w.products[pn] = p.ID
			versions := map[string]*shiplog.Version{}
			version := func(v string) (*shiplog.Version, error) {
				if versions[v] == nil {
					ver, err := tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: p.ID, Version: v, Now: t0})
					if err != nil {
						return nil, err
					}
					versions[v] = ver
					for range rng.IntN(3) {
						st := shiplog.StatusCompleted
						if rng.IntN(4) == 0 {
							st = shiplog.StatusFailed
						}
						at := day(rng.Float64() * 95)
						b := &shiplog.Build{ID: shiplog.NewID(), OrgID: org.ID, ProductID: p.ID, VersionID: ver.ID, Status: st,
							CompletedAt: &at, CreatedAt: at, UpdatedAt: at}
						if err := tx.BuildInsert(ctx, b); err != nil {
							return nil, err
						}
						w.builds = append(w.builds, dora.Build{Product: pn, Version: v, Status: st, CompletedAt: at})
					}
				}
				return versions[v], nil
			}
			for _, en := range []string{"production", "staging"} {
				e, err := tx.EnvironmentEnsure(ctx, org.ID, en, shiplog.InferEnvType(en), t0)
				if err != nil {
					return err
				}
				w.envs[en] = e.ID
				for i := range 150 {
					vname := fmt.Sprint(i / 3)
					if rng.IntN(10) == 0 {
						vname = fmt.Sprint(rng.IntN(i/3 + 1)) // a redeploy or rollback
					}
					v, err := version(vname)
					if err != nil {
						return err
					}
					finished := day(float64(i)*0.6 + rng.Float64()*0.5)
					d := &shiplog.Deployment{ID: shiplog.NewID(), OrgID: org.ID, ProductID: p.ID, VersionID: v.ID,
						EnvironmentID: e.ID, DeployedAt: finished, CreatedAt: finished, UpdatedAt: finished}
					switch r := rng.IntN(20); {
					case r < 12:
						d.Status = shiplog.StatusCompleted
					case r < 16:
						d.Status = shiplog.StatusFailed
					case r < 17:
						d.Status, d.PreflightStatus = shiplog.StatusFailed, ptr("failed")
					case r < 18:
						d.Status, d.PreflightStatus = shiplog.StatusAborted, ptr("failed")
					case r < 19:
						d.Status = shiplog.StatusAborted
					default:
						d.Status = shiplog.StatusStarted
					}
					if d.Status.Terminal() {
						d.CompletedAt = &finished
					}
					if rng.IntN(3) == 0 {
						commit := finished.Add(-time.Duration(rng.Float64() * float64(72*time.Hour))).Add(time.Hour)
						d.ExtraMetadata = json.RawMessage(fmt.Sprintf(`{"vi_commit_timestamp": %q}`, commit.Format(time.RFC3339Nano)))
					}
					if err := tx.DeploymentInsert(ctx, d); err != nil {
						return err
					}
					dd := dora.Deployment{ID: d.ID, Product: pn, Environment: en, EnvironmentType: e.Type, Version: vname,
						Status: d.Status, CompletedAt: d.CompletedAt, DeployedAt: d.DeployedAt}
					if d.PreflightStatus != nil {
						dd.PreflightStatus = *d.PreflightStatus
					}
					if c, ok := dora.CommitTime(d.ExtraMetadata); ok {
						dd.CommitAt = &c
					}
					w.all = append(w.all, dd)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func ptr[T any](v T) *T { return &v }

// TestLoadMatchesFullHistory: what Load reads (the window and its context)
// gives exactly the report of the whole history, for windows and scopes
// cutting the history everywhere. This is the check that the store reads
// enough context, and dora's promise that more history changes nothing.
func TestLoadMatchesFullHistory(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, s store.Store) {
		w := seed(t, s, rand.New(rand.NewPCG(1, 2)))
		windows := []dora.Window{{From: day(0), To: day(90)}, {From: day(10), To: day(40)}, {From: day(30.25), To: day(31.25)},
			{From: day(85), To: day(120)}, {From: day(-30), To: day(5)}, {From: day(44.9), To: day(45.1)}}
		scopes := [][2]string{{"", ""}, {"api", ""}, {"", "staging"}, {"web", "production"}}
		for _, win := range windows {
			for _, sc := range scopes {
				q := doradb.Query{ProductName: sc[0], EnvironmentName: sc[1], Window: win}
				got, err := doradb.Load(t.Context(), s, w.org.ID, q)
				if err != nil {
					t.Fatalf("%+v: %v", q, err)
				}
				var in []dora.Deployment
				for _, d := range w.all {
					if (sc[0] == "" || d.Product == sc[0]) && (sc[1] == "" || d.Environment == sc[1]) {
						in = append(in, d)
					}
				}
				want := dora.Compute(dora.Input{Window: win, Deployments: in, Builds: w.builds})
				if !reflect.DeepEqual(got, want) {
					t.Errorf("window %s–%s, scope %v: Load differs from the full history\n\tgot  %s\n\twant %s",
						win.From.Format(time.RFC3339), win.To.Format(time.RFC3339), sc, summary(got), summary(want))
				}
			}
		}
		// The history is not trivial: every metric has samples somewhere.
		all := dora.Compute(dora.Input{Window: dora.Window{From: day(0), To: day(90)}, Deployments: w.all, Builds: w.builds}).Total
		if all.LeadTime.FromCommit == 0 || all.LeadTime.FromBuild == 0 || all.LeadTime.Redeploys == 0 ||
			all.Restore.Samples == 0 || all.FailureRate.Failures == 0 {
			t.Errorf("the seeded history misses cases: %s", summary(&dora.Result{Total: all}))
		}
	})
}

func summary(r *dora.Result) string {
	t := r.Total
	dur := func(d *time.Duration) string {
		if d == nil {
			return "-"
		}
		return d.String()
	}
	return fmt.Sprintf("%d groups; deployments %d; lead %d (commit %d build %d none %d redeploys %d) median %s p90 %s; "+
		"failures %d/%d; restore %d median %s, unrestored %d", len(r.Groups), t.Frequency.Deployments, t.LeadTime.Samples,
		t.LeadTime.FromCommit, t.LeadTime.FromBuild, t.LeadTime.WithoutOrigin, t.LeadTime.Redeploys, dur(t.LeadTime.Median),
		dur(t.LeadTime.P90), t.FailureRate.Failures, t.FailureRate.Deployments, t.Restore.Samples, dur(t.Restore.Median),
		t.Restore.Unrestored)
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, s store.Store) {
		w := seed(t, s, rand.New(rand.NewPCG(3, 4)))
		win := dora.Window{From: day(0), To: day(90)}
		tests := []struct {
			q      doradb.Query
			code   string
			detail string
		}{
			{doradb.Query{ProductName: "nope", Window: win}, shiplog.ENOTFOUND, "No product named 'nope' (query parameter 'product_name')"},
			{doradb.Query{EnvironmentName: "nope", Window: win}, shiplog.ENOTFOUND,
				"No environment named 'nope' (query parameter 'environment_name')"},
		}
		for _, tt := range tests {
			_, err := doradb.Load(t.Context(), s, w.org.ID, tt.q)
			if shiplog.ErrorCode(err) != tt.code || shiplog.ErrorMessage(err) != tt.detail {
				t.Errorf("%+v: error %v, want %s %q", tt.q, err, tt.code, tt.detail)
			}
		}
		// Another org does not see acme's products.
		var other *shiplog.Org
		if err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) (err error) {
			other, err = tx.OrgCreate(ctx, "other", t0)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := doradb.Load(t.Context(), s, other.ID, doradb.Query{ProductName: "api", Window: win}); shiplog.ErrorCode(err) != shiplog.ENOTFOUND {
			t.Errorf("another org's product: %v", err)
		}
		r, err := doradb.Load(t.Context(), s, other.ID, doradb.Query{Window: win})
		if err != nil || len(r.Groups) != 0 || r.Total.Frequency.Band != dora.BandNone {
			t.Errorf("another org's report: %+v, %v", r, err)
		}
	})
}
