package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"
)

// TestOrgSettingsMigrationKeepsRequests: 00010 rebuilds deployment_requests
// and dr_slots (SQLite cannot drop NOT NULL in place). Requests and slots
// written before it survive, foreign keys point at the rebuilt tables, and
// deleting a request still takes its slots with it.
func TestOrgSettingsMigrationKeepsRequests(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "m.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, sub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO orgs (id, name, created_at) VALUES ('o1', 'acme', 0)`,
		`INSERT INTO users (id, org_id, email, name, roles, created_at) VALUES ('u1', 'o1', 'a@example.com', 'Ann', '["admin"]', 0)`,
		`INSERT INTO deployment_requests (id, org_id, name, links, items, environment_names, status, created_by, created_at, updated_at)
			VALUES ('d1', 'o1', 'release', '[]', '[]', '["prod"]', 'draft', 'u1', 1, 2)`,
		`INSERT INTO dr_slots (id, dr_id, position, approval_type, required, status) VALUES ('s1', 'd1', 0, 'qa', 1, 'pending')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, `UPDATE deployment_requests SET revision = 7`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	var by, name string
	var key sql.NullString
	var created, revision int64
	if err := db.QueryRowContext(ctx, `SELECT created_by, created_by_key, name, created_at, revision FROM deployment_requests WHERE id = 'd1'`).
		Scan(&by, &key, &name, &created, &revision); err != nil || by != "u1" || key.Valid || name != "release" || created != 1 || revision != 7 {
		t.Fatalf("request after the rebuild: %q %v %q %d %d, %v", by, key, name, created, revision, err)
	}
	var parent string
	if err := db.QueryRowContext(ctx, `SELECT "table" FROM pragma_foreign_key_list('dr_slots') WHERE "from" = 'dr_id'`).Scan(&parent); err != nil || parent != "deployment_requests" {
		t.Fatalf("dr_slots.dr_id references %q (%v), want deployment_requests", parent, err)
	}
	rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	if rows.Next() {
		t.Error("foreign_key_check reports violations after the migration")
	}
	rows.Close()
	if _, err := db.ExecContext(ctx, `DELETE FROM deployment_requests WHERE id = 'd1'`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM dr_slots`).Scan(&n); err != nil || n != 0 {
		t.Errorf("slots after deleting their request: %d (%v), want 0", n, err)
	}
}
