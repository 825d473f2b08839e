package postgres

import (
	"context"
	"database/sql"
	"io/fs"
	"math"
	"testing"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/storetest"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

func TestMigrations(t *testing.T) {
	t.Parallel()
	url := pgtest.URL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	storetest.RunMigrationTests(t, storetest.Migrations{DB: db, Numbered: true,
		UpTo: func(ctx context.Context, v int64) error { return migrateTo(ctx, db, v) },
		Open: func(ctx context.Context) (store.Store, error) { return Open(ctx, url, nil) }})
}

func TestMigrationsLandedOutOfOrder(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	storetest.RunOutOfOrderTest(t, db,
		func(ctx context.Context) error {
			return migrateFS(ctx, db, storetest.Without(t, sub, 11, 12, 13, 14), math.MaxInt64)
		},
		func(ctx context.Context) error { return Migrate(ctx, db) })
}
