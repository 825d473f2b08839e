// Package walktest helps the permission walks (internal/app through the
// API, internal/web through the console's forms): it makes the objects a
// request acts on, through the API as an owner, and digests the whole
// database to show that a refused request stored nothing.
package walktest

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL
	_ "modernc.org/sqlite"             // SQLite

	"github.com/shiplog/shiplog"
)

// Caller sends one API request as someone and returns the status and body.
type Caller func(method, path string, body any) (int, []byte)

// Fixtures makes objects through the API as Owner. Fresh objects let every
// allowed write act on its own.
type Fixtures struct {
	T       testing.TB
	Owner   Caller
	HookURL string // a receiver that answers 200, for channels
	n       int
}

// Next is a number no earlier call returned, for unique names.
func (f *Fixtures) Next() int { f.n++; return f.n }

// Must sends a request as the owner that must succeed, and decodes it.
func (f *Fixtures) Must(method, path string, body any) map[string]any {
	f.T.Helper()
	return must(f.T, f.Owner, method, path, body)
}

func must(t testing.TB, c Caller, method, path string, body any) map[string]any {
	t.Helper()
	status, raw := c(method, path, body)
	var m map[string]any
	if status/100 != 2 || json.Unmarshal(raw, &m) != nil && len(raw) > 0 {
		t.Fatalf("setup %s %s: %d %s", method, path, status, raw)
	}
	return m
}

// ChannelBody is a webhook channel subscribed to an event the walks never
// cause.
func (f *Fixtures) ChannelBody() map[string]any {
	return map[string]any{"kind": "webhook", "name": fmt.Sprintf("walk %d", f.Next()), "url": f.HookURL,
		"events": []string{"build.failed"}}
}

// Channel makes a channel and returns its id.
func (f *Fixtures) Channel() string {
	return f.Must("POST", "/notification-channels/", f.ChannelBody())["id"].(string)
}

// Delivery sends a channel's test message and returns the (finished)
// delivery's id.
func (f *Fixtures) Delivery(channelID string) string {
	return f.Must("POST", "/notification-channels/"+channelID+"/test", nil)["delivery_id"].(string)
}

// RuleBody is a disabled rule that could judge nothing anyway.
func (f *Fixtures) RuleBody() map[string]any {
	return map[string]any{"name": fmt.Sprintf("walk %d", f.Next()), "rule_type": "deployment_request_required",
		"status": "disabled", "product_names": []string{"nothing"}, "required_approval_types": []string{"qa"}}
}

// Rule makes a rule and returns its id.
func (f *Fixtures) Rule() string {
	return f.Must("POST", "/deployment-rules/", f.RuleBody())["id"].(string)
}

// Victim makes a viewer for user changes and returns their id.
func (f *Fixtures) Victim() string {
	return f.Must("POST", "/users/", map[string]any{"email": fmt.Sprintf("victim%d@acme.test", f.Next()), "name": "Victim",
		"roles": []string{"viewer"}})["id"].(string)
}

// Token makes a personal access token as c (for itself) and returns its id.
func Token(t testing.TB, c Caller) string {
	t.Helper()
	return must(t, c, "POST", "/tokens/", map[string]any{"name": "walk"})["id"].(string)
}

// ResetToken issues a reset link for userID as c (an admin; the server has
// no SMTP) and returns the link's token.
func ResetToken(t testing.TB, c Caller, userID string) string {
	t.Helper()
	link, _ := must(t, c, "POST", "/users/"+userID+"/reset-link", nil)["url"].(string)
	u, err := url.Parse(link)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("reset link %q has no token", link)
	}
	return u.Query().Get("token")
}

// APIKey makes an org API key and returns its key id (k2, …).
func (f *Fixtures) APIKey() string {
	return f.Must("POST", "/api-keys/", map[string]any{"name": fmt.Sprintf("victim %d", f.Next())})["key_id"].(string)
}

// DRBody is a request shipping product "walk" version "v0" (which must
// exist) to "walk-env", with a required slot of each type given.
func (f *Fixtures) DRBody(slots ...string) map[string]any {
	ss := []map[string]any{}
	for _, t := range slots {
		ss = append(ss, map[string]any{"approval_type": t})
	}
	return map[string]any{"name": fmt.Sprintf("walk %d", f.Next()), "items": []map[string]string{{"product_name": "walk", "version": "v0"}},
		"environment_names": []string{"walk-env"}, "approval_slots": ss}
}

// DR makes a request created by creator (nil: the owner) in state: draft,
// in_progress (a required slot of every type) or approved (no slots).
func (f *Fixtures) DR(creator Caller, state shiplog.DRStatus) string {
	f.T.Helper()
	if creator == nil {
		creator = f.Owner
	}
	var slots []string
	if state == shiplog.DRInProgress {
		slots = shiplog.ApprovalTypes
	}
	id := must(f.T, creator, "POST", "/deployment-requests/", f.DRBody(slots...))["id"].(string)
	if state != shiplog.DRDraft {
		must(f.T, creator, "POST", "/deployment-requests/"+id+"/activate", nil)
	}
	return id
}

// Slot returns a slot of request drID that roles may fill (the first when
// they may fill none).
func (f *Fixtures) Slot(roles []string, drID string) string {
	f.T.Helper()
	var d shiplog.DeploymentRequest
	_, raw := f.Owner("GET", "/deployment-requests/"+drID, nil)
	if err := json.Unmarshal(raw, &d); err != nil || len(d.Slots) == 0 {
		f.T.Fatalf("slots of %s: %v %s", drID, err, raw)
	}
	for _, s := range d.Slots {
		if _, ok := shiplog.ApprovingRole(roles, s.ApprovalType); ok {
			return s.ID
		}
	}
	return d.Slots[0].ID
}

// VersionApprovalType is a type roles may sign off ("qa" when none).
func VersionApprovalType(roles []string) string {
	for _, t := range shiplog.ApprovalTypes {
		if _, ok := shiplog.VersionApprovingRole(roles, t); ok {
			return t
		}
	}
	return "qa"
}

// DB reads the test's database directly, beside the server.
type DB struct {
	db     *sql.DB
	sqlite bool
}

// Open connects to the database a shiplog URL names.
func Open(t testing.TB, dbURL string) *DB {
	t.Helper()
	d := &DB{}
	var err error
	if path, ok := strings.CutPrefix(dbURL, "sqlite://"); ok {
		d.sqlite = true
		d.db, err = sql.Open("sqlite", "file:"+path+"?_pragma=query_only(1)&_pragma=busy_timeout(10000)")
	} else {
		d.db, err = sql.Open("pgx", dbURL)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.db.Close() })
	return d
}

// Digest hashes every row of every table, except when keys, tokens and
// sessions were last used or extended (recorded in the background).
func (d *DB) Digest(t testing.TB) string {
	t.Helper()
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
	if d.sqlite {
		q = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
	}
	tables, err := d.strings(q)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(tables)
	h := sha256.New()
	for _, table := range tables {
		lines, err := d.rows(table)
		if err != nil {
			t.Fatalf("digest %s: %v", table, err)
		}
		sort.Strings(lines)
		fmt.Fprintf(h, "%s:%d\n%s\n", table, len(lines), strings.Join(lines, "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// volatile columns change without a request asking.
var volatile = map[string]bool{"last_used_at": true, "expires_at": true}

func (d *DB) rows(table string) ([]string, error) {
	rows, err := d.db.Query(`SELECT * FROM "` + table + `"`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		var b strings.Builder
		for i, c := range cols {
			if !volatile[c] {
				fmt.Fprintf(&b, "%s=%v;", c, vals[i])
			}
		}
		lines = append(lines, b.String())
	}
	return lines, rows.Err()
}

func (d *DB) strings(q string) ([]string, error) {
	rows, err := d.db.Query(q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
