package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shiplog/shiplog"
)

// Migrations is how a driver's test lets the suite start from an old
// schema: DB is a fresh database, UpTo applies the migrations up to a
// version, and Numbered says the driver writes placeholders as $1.
type Migrations struct {
	DB       *sql.DB
	UpTo     func(ctx context.Context, version int64) error
	Numbered bool
}

// RunMigrationTests checks what migrations do to rows written before them.
func RunMigrationTests(t *testing.T, m Migrations) {
	ctx := t.Context()
	exec := func(query string, args ...any) {
		t.Helper()
		if _, err := m.DB.ExecContext(ctx, rebind(query, m.Numbered), args...); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
	}
	// 00009: a request approved (or in progress) with a rejected slot, as
	// racing decisions left them, is rejected; others keep their state.
	ok(t, "migrate to 8", m.UpTo(ctx, 8))
	org, user := shiplog.NewID(), shiplog.NewID()
	exec(`INSERT INTO orgs (id, name, created_at) VALUES (?, 'acme', 0)`, org)
	exec(`INSERT INTO users (id, org_id, email, name, roles, created_at) VALUES (?, ?, 'a@example.com', 'A', '["qa"]', 0)`, user, org)
	type dr struct{ status, slot, want string }
	drs := map[string]dr{}
	for _, d := range []dr{
		{"approved", "rejected", "rejected"}, {"in_progress", "rejected", "rejected"}, {"approved", "approved", "approved"},
		{"completed", "rejected", "completed"}, {"rejected", "rejected", "rejected"}, {"in_progress", "pending", "in_progress"},
	} {
		id := shiplog.NewID()
		drs[id] = d
		exec(`INSERT INTO deployment_requests (id, org_id, name, links, items, environment_names, status, created_by, created_at, updated_at)
			VALUES (?, ?, 'r', '[]', '[]', '[]', ?, ?, 0, 0)`, id, org, d.status, user)
		exec(`INSERT INTO dr_slots (id, dr_id, position, approval_type, required, status) VALUES (?, ?, 0, 'qa', TRUE, ?)`,
			shiplog.NewID(), id, d.slot)
	}
	ok(t, "migrate to 9", m.UpTo(ctx, 9))
	for id, d := range drs {
		var got string
		if err := m.DB.QueryRowContext(ctx, rebind(`SELECT status FROM deployment_requests WHERE id = ?`, m.Numbered), id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != d.want {
			t.Errorf("a request %s with a %s slot is %s after migration 00009; want %s", d.status, d.slot, got, d.want)
		}
	}
}

// rebind numbers a query's placeholders ($1, $2, …) for PostgreSQL.
func rebind(q string, numbered bool) string {
	for i := 1; numbered && strings.Contains(q, "?"); i++ {
		q = strings.Replace(q, "?", fmt.Sprintf("$%d", i), 1)
	}
	return q
}

// Without returns the migrations in fsys except the given versions: a
// database migrated before those landed.
func Without(t *testing.T, fsys fs.FS, versions ...int64) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		var v int64
		if _, err := fmt.Sscanf(e.Name(), "%d_", &v); err == nil && slices.Contains(versions, v) {
			continue
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = &fstest.MapFile{Data: b}
	}
	return out
}

// RunOutOfOrderTest checks that migrations which landed after a higher
// number was applied are applied, not refused: partial migrates without
// versions 11-14 (as a database made between those landings), full then
// migrates with all of them.
func RunOutOfOrderTest(t *testing.T, db *sql.DB, partial, full func(ctx context.Context) error) {
	ctx := t.Context()
	ok(t, "migrate without 00011-00014", partial(ctx))
	ok(t, "migrate with them", full(ctx))
	for _, v := range []int64{11, 13, 14, 15} {
		var n int
		if err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM goose_db_version WHERE version_id = %d AND is_applied`, v)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("migration %d applied %d times; want once", v, n)
		}
	}
	// What 00013 made is there.
	if _, err := db.ExecContext(ctx, `SELECT 1 FROM signin_throttle WHERE 1 = 0`); err != nil {
		t.Errorf("00013's table: %v", err)
	}
}
