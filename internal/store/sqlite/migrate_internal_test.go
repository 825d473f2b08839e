package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/shiplog/shiplog/internal/store/storetest"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "old.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.RunMigrationTests(t, storetest.Migrations{DB: db,
		UpTo: func(ctx context.Context, v int64) error { return migrateTo(ctx, db, v) }})
}
