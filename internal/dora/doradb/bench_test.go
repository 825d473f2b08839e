package doradb_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
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

// BenchmarkLoad measures GET /metrics/dora's work (read and compute) on an
// org with 50,000 deployments over a year: 20 products × 2 environments,
// one build per version. docs/dora.md quotes the figures.
//
//	go test -run '^$' -bench Load -benchtime 20x ./internal/dora/doradb/
func BenchmarkLoad(b *testing.B) {
	open := map[string]func(b *testing.B) store.Store{
		"sqlite": func(b *testing.B) store.Store {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "shiplog.db"), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgres": func(b *testing.B) store.Store {
			s, err := postgres.Open(b.Context(), pgtest.URL(b), nil)
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, driver := range []string{"sqlite", "postgres"} {
		b.Run(driver, func(b *testing.B) {
			s := open[driver](b)
			defer s.Close()
			org := seedYear(b, s)
			end := t0.AddDate(1, 0, 1)
			for _, c := range []struct {
				name string
				q    doradb.Query
			}{
				{"30d/all", doradb.Query{Window: dora.Window{From: end.AddDate(0, 0, -30), To: end}}},
				{"30d/one-pair", doradb.Query{ProductName: "p07", EnvironmentName: "production",
					Window: dora.Window{From: end.AddDate(0, 0, -30), To: end}}},
				{"366d/all", doradb.Query{Window: dora.Window{From: end.AddDate(0, 0, -366), To: end}}},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if _, err := doradb.Load(b.Context(), s, org, c.q); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

func seedYear(b *testing.B, s store.Store) string {
	rng := rand.New(rand.NewPCG(5, 6))
	var orgID string
	err := s.Write(b.Context(), func(ctx context.Context, tx store.Tx) error {
		org, err := tx.OrgCreate(ctx, "acme", t0)
		if err != nil {
			return err
		}
		orgID = org.ID
		for p := range 20 {
			pr, err := tx.ProductEnsure(ctx, org.ID, fmt.Sprintf("p%02d", p), t0)
			if err != nil {
				return err
			}
			for _, en := range []string{"production", "staging"} {
				e, err := tx.EnvironmentEnsure(ctx, org.ID, en, shiplog.InferEnvType(en), t0)
				if err != nil {
					return err
				}
				for i := range 1250 {
					finished := t0.Add(time.Duration(i) * 7 * time.Hour).Add(time.Duration(rng.IntN(3600)) * time.Second)
					v, err := tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: pr.ID,
						Version: fmt.Sprint(i), Now: t0})
					if err != nil {
						return err
					}
					if en == "production" {
						built := finished.Add(-time.Hour)
						if err := tx.BuildInsert(ctx, &shiplog.Build{ID: shiplog.NewID(), OrgID: org.ID, ProductID: pr.ID,
							VersionID: v.ID, Status: shiplog.StatusCompleted, CompletedAt: &built, CreatedAt: built, UpdatedAt: built}); err != nil {
							return err
						}
					}
					st := shiplog.StatusCompleted
					if rng.IntN(8) == 0 {
						st = shiplog.StatusFailed
					}
					if err := tx.DeploymentInsert(ctx, &shiplog.Deployment{ID: shiplog.NewID(), OrgID: org.ID, ProductID: pr.ID,
						VersionID: v.ID, EnvironmentID: e.ID, Status: st, CompletedAt: &finished, DeployedAt: finished,
						CreatedAt: finished, UpdatedAt: finished}); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return orgID
}
