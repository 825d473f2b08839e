package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/store/storetest"
)

// TestConformance runs the store suite, each test on a new database file.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Opener(
		func(t *testing.T) string { return filepath.Join(t.TempDir(), "shiplog.db") },
		func(ctx context.Context, path string) (store.Store, error) {
			s, err := sqlite.Open(ctx, path, nil, sqlstore.WithCipher(storetest.Cipher))
			if err != nil {
				return nil, err
			}
			return s, nil
		}))
}
