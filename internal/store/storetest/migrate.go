package storetest

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Migrations is how a driver's test lets the suite start from an old
// schema: DB is a fresh database, UpTo applies the migrations up to a
// version, and Numbered says the driver writes placeholders as $1.
type Migrations struct {
	DB       *sql.DB
	UpTo     func(ctx context.Context, version int64) error
	Numbered bool
	// Open opens the store on the same database (migrating it fully), to
	// read old rows as the server does.
	Open func(ctx context.Context) (store.Store, error)
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

	// 00016: a webhook's signature scheme and an email channel's recipients
	// move into the channel's config; the webhook's plain URL is still read.
	ok(t, "migrate to 15", m.UpTo(ctx, 15))
	hook, mail := shiplog.NewID(), shiplog.NewID()
	exec(`INSERT INTO channels (id, org_id, kind, name, enabled, environment_types_filter, product_names_filter, url,
		signature_scheme, recipients, retry_schedule, created_at, updated_at)
		VALUES (?, ?, 'webhook', 'hook', TRUE, '[]', '["api-*"]', 'https://example.com/hook', 'standard-webhooks', '[]', '[]', 0, 0)`, hook, org)
	exec(`INSERT INTO channels (id, org_id, kind, name, enabled, environment_types_filter, product_names_filter,
		recipients, retry_schedule, created_at, updated_at)
		VALUES (?, ?, 'email', 'mail', TRUE, '["PRODUCTION"]', '[]', '["owners","ops@example.com"]', '[5000]', 0, 0)`, mail, org)
	exec(`INSERT INTO subscriptions (id, org_id, channel_id, event_type, created_at) VALUES (?, ?, ?, 'deployment.failed', 0)`,
		shiplog.NewID(), org, mail)
	// Written while a webhook's format was packed into signature_scheme.
	packed := shiplog.NewID()
	exec(`INSERT INTO channels (id, org_id, kind, name, enabled, environment_types_filter, product_names_filter, url,
		signature_scheme, recipients, retry_schedule, created_at, updated_at)
		VALUES (?, ?, 'webhook', 'packed', TRUE, '[]', '[]', 'https://example.com/q',
		'{"signature_scheme":"versioner","config":{"format":"qovery"}}', '[]', '[]', 0, 0)`, packed, org)
	ok(t, "migrate to 16", m.UpTo(ctx, 16))
	configs := map[string]map[string]any{}
	for _, id := range []string{hook, mail, packed} {
		var raw string
		if err := m.DB.QueryRowContext(ctx, rebind(`SELECT config FROM channels WHERE id = ?`, m.Numbered), id).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			t.Fatalf("config %q after 00016: %v", raw, err)
		}
		configs[id] = cfg
	}
	if want := map[string]any{"signature_scheme": "standard-webhooks"}; !reflect.DeepEqual(configs[hook], want) {
		t.Errorf("webhook config after 00016 = %v, want %v", configs[hook], want)
	}
	if want := map[string]any{"recipients": []any{"owners", "ops@example.com"}}; !reflect.DeepEqual(configs[mail], want) {
		t.Errorf("email config after 00016 = %v, want %v", configs[mail], want)
	}
	if want := map[string]any{"signature_scheme": "versioner", "format": "qovery"}; !reflect.DeepEqual(configs[packed], want) {
		t.Errorf("packed webhook config after 00016 = %v, want %v", configs[packed], want)
	}
	if m.Open == nil {
		return
	}
	st, err := m.Open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := st.ChannelGet(ctx, org, hook)
	if err != nil {
		t.Fatal(err)
	}
	if h.URL != "https://example.com/hook" || h.Setting("signature_scheme") != "standard-webhooks" ||
		!slices.Equal(h.ProductNamesFilter, []string{"api-*"}) {
		t.Errorf("webhook read after 00016: url %q, settings %v, products %v", h.URL, h.Config, h.ProductNamesFilter)
	}
	e, err := st.ChannelGet(ctx, org, mail)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Settings("recipients"), []string{"owners", "ops@example.com"}) ||
		!slices.Equal(e.Events, []shiplog.EventType{"deployment.failed"}) || len(e.RetrySchedule) != 1 {
		t.Errorf("email channel read after 00016: settings %v, events %v, retries %v", e.Config, e.Events, e.RetrySchedule)
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
