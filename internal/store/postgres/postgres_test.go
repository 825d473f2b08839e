package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/store/storetest"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// TestConformance runs the store suite, each test on a fresh schema of the
// server SHIPLOG_TEST_POSTGRES_URL names.
func TestConformance(t *testing.T) {
	if os.Getenv(pgtest.EnvVar) == "" {
		pgtest.URL(t) // skips, saying how to enable the tests
	}
	storetest.Run(t, storetest.Opener(
		func(t *testing.T) string { return pgtest.URL(t) },
		func(ctx context.Context, url string) (store.Store, error) {
			s, err := postgres.Open(ctx, url, nil, sqlstore.WithCipher(storetest.Cipher))
			if err != nil {
				return nil, err
			}
			return s, nil
		}))
}
