package postgres

import (
	"context"
	"database/sql"
	"testing"

	"github.com/shiplog/shiplog/internal/store/storetest"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.RunMigrationTests(t, storetest.Migrations{DB: db, Numbered: true,
		UpTo: func(ctx context.Context, v int64) error { return migrateTo(ctx, db, v) }})
}
