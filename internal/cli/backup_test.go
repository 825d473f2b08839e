package cli_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" driver, to inspect the copy independently

	"github.com/shiplog/shiplog/internal/notify/webhook"
)

// api calls the server and decodes a JSON answer.
// ownerToken adds an owner to org with the CLI and returns their personal
// token: channels are changed by people, not with the org key.
func ownerToken(t *testing.T, db, org string) string {
	t.Helper()
	if code, out, errs := run(t, "user", "create", "--org", org, "--email", "root@"+org+".test", "--name", "Root", "--role", "owner", "--db", db); code != 0 {
		t.Fatalf("user create: %d %s %s", code, out, errs)
	}
	code, out, errs := run(t, "token", "create", "--org", org, "--email", "root@"+org+".test", "--db", db)
	if code != 0 {
		t.Fatalf("token create: %d %s %s", code, out, errs)
	}
	return lastLine(out)
}

func api(t *testing.T, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m
}

// hook is a webhook receiver that hands each request to the test.
type hook struct {
	*httptest.Server
	got chan hookHit
}

type hookHit struct {
	header http.Header
	body   []byte
}

func newHook(t *testing.T) *hook {
	h := &hook{got: make(chan hookHit, 16)}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.got <- hookHit{r.Header.Clone(), b}
	}))
	t.Cleanup(h.Close)
	return h
}

// TestBackupWhileServing copies the database while a server writes to it,
// then serves the copy: the data is there, the copy is intact and
// consistent, and the channel secrets still open with the copied key.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	db := "sqlite://" + live
	_, out, _ := run(t, "org", "create", "acme", "--db", db)
	key := lastLine(out)
	owner := ownerToken(t, db, "acme")
	// No --secret-key: the server keeps its key in live.db.key.
	c := serve(t, db, "--allow-private-targets")
	rcv := newHook(t)
	code, ch := api(t, http.MethodPost, c.url+"/notification-channels/", owner, `{"kind":"webhook","name":"w","url":"`+rcv.URL+
		`","signature_scheme":"standard-webhooks","events":["deployment.failed"]}`)
	secret, _ := ch["secret"].(string)
	if code != http.StatusCreated || !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("create channel: %d %v", code, ch)
	}
	chID := ch["id"].(string)

	var before []string // acknowledged before the backup began: must be in it
	for i := range 20 {
		code, m, err := post(c.url, key, `{"product_name":"pre","version":"`+string(rune('a'+i))+`","environment_name":"prod","status":"success"}`)
		if err != nil || code != 200 {
			t.Fatalf("post: %d %v", code, err)
		}
		before = append(before, m["id"].(string))
	}
	stop := make(chan struct{})
	wait := load(c.url, key, stop)
	// Let the writers get going, so the copy is taken under load.
	for deadline := time.Now().Add(30 * time.Second); countRows(t, live, "deployments") < len(before)+50; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the load never got going")
		}
	}
	backup := filepath.Join(t.TempDir(), "copy.db")
	code, out, errs := run(t, "backup", backup, "--db", db)
	close(stop)
	acked := wait()
	if code != 0 {
		t.Fatalf("backup: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "Wrote "+backup+" (") || !strings.Contains(out, "Wrote "+backup+".key (mode 0600)") {
		t.Errorf("backup did not say what it wrote: %q", out)
	}
	if strings.Contains(out+errs, readFile(t, live+".key")) {
		t.Error("the secret key was printed")
	}

	// The copy is intact, and consistent: each load request made one
	// deployment and one event in the same transaction, so a copy taken
	// between a transaction's writes would count them differently.
	if got := integrity(t, backup); got != "ok" {
		t.Errorf("integrity_check of the copy: %s", got)
	}
	deps, events := countRows(t, backup, "deployments"), countRows(t, backup, "events")
	if deps != events || deps < len(before)+50 {
		t.Errorf("copy has %d deployments and %d events; want equal, at least %d", deps, events, len(before)+50)
	}
	t.Logf("copy holds %d deployments; %d more were acknowledged by the end of the load", deps, len(before)+len(acked)-deps)
	st, err := os.Stat(backup + ".key")
	if err != nil || st.Mode().Perm() != 0o600 || readFile(t, backup+".key") != readFile(t, live+".key") {
		t.Fatalf("copied key: %v, mode %v; want the live key, mode 0600", err, st)
	}

	// Serve the copy where it is: the key beside it is FILE.key.
	c2 := serve(t, "sqlite://"+backup, "--allow-private-targets")
	for _, id := range before {
		if s := getStatus(t, c2.url, key, id); s != "completed" {
			t.Fatalf("deployment %s acknowledged before the backup: status %q in the copy", id, s)
		}
	}
	if code, _ := api(t, http.MethodGet, c2.url+"/notification-channels/", key, ""); code != 200 {
		t.Errorf("list channels on the copy: %d", code)
	}
	code, tr := api(t, http.MethodPost, c2.url+"/notification-channels/"+chID+"/test", owner, "")
	if code != 200 || tr["ok"] != true {
		t.Fatalf("test send from the copy: %d %v", code, tr)
	}
	select {
	case hit := <-rcv.got:
		if err := webhook.VerifyStandard(secret, hit.header, hit.body, time.Now()); err != nil {
			t.Errorf("the copy signed with a different secret: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the test send never arrived")
	}

	// Without its key the same copy cannot open the channel's secret.
	bare := filepath.Join(t.TempDir(), "bare.db")
	if err := os.WriteFile(bare, []byte(readFile(t, backup)), 0o600); err != nil {
		t.Fatal(err)
	}
	c3 := serve(t, "sqlite://"+bare, "--allow-private-targets")
	// (It answers 500 today: the wrong-key error is not mapped to a status.)
	if code, tr := api(t, http.MethodPost, c3.url+"/notification-channels/"+chID+"/test", owner, ""); code == 200 {
		t.Errorf("a copy without its key answered a test send: %v", tr)
	}
}

func TestBackupRefuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	live := filepath.Join(dir, "live.db")
	db := "sqlite://" + live
	if code, _, errs := run(t, "org", "create", "acme", "--db", db); code != 0 {
		t.Fatal(errs)
	}
	// org create does not make a key file; the server does on first start.
	if err := os.WriteFile(live+".key", []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := filepath.Join(dir, "old-backup.db")
	if err := os.WriteFile(existing, []byte("an older backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"over an existing file", []string{"backup", existing, "--db", db}, existing + " already exists; pass --force to replace it"},
		{"over the live database", []string{"backup", live, "--db", db, "--force"}, "would overwrite the live database"},
		{"over the live key", []string{"backup", live + ".key", "--db", db, "--force"}, "would overwrite the live database"},
		{"over the live WAL", []string{"backup", live + "-wal", "--db", db, "--force"}, "would overwrite the live database"},
		{"into a directory", []string{"backup", dir, "--db", db}, "is a directory"},
		{"no database", []string{"backup", filepath.Join(dir, "x.db"), "--db", "sqlite://" + filepath.Join(dir, "none.db")}, "no SQLite database at"},
		{"postgres", []string{"backup", filepath.Join(dir, "x.db"), "--db", "postgres://u:hunter2@127.0.0.1:1/x"}, "For PostgreSQL use pg_dump"},
		{"other database", []string{"backup", filepath.Join(dir, "x.db"), "--db", "mysql://u:hunter2@h/x"}, "unsupported database URL"},
	}
	for _, tt := range tests {
		code, out, errs := run(t, tt.args...)
		if code != 1 || !strings.Contains(errs, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tt.name, code, errs, tt.want)
		}
		if strings.Contains(out+errs, "hunter2") {
			t.Errorf("%s: password printed", tt.name)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Error("backup created the missing database")
	}
	if readFile(t, existing) != "an older backup" {
		t.Error("an existing backup was changed without --force")
	}
	// No temporary files are left behind by the refusals.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	// --force replaces it with a good copy.
	if code, _, errs := run(t, "backup", existing, "--db", db, "--force"); code != 0 {
		t.Fatalf("backup --force: %s", errs)
	}
	if got := integrity(t, existing); got != "ok" {
		t.Errorf("integrity after --force: %s", got)
	}
	// Without a key file the copy is made, with a warning.
	os.Remove(live + ".key")
	code, out, errs := run(t, "backup", filepath.Join(dir, "keyless.db"), "--db", db)
	if code != 0 || !strings.Contains(errs, "no key file at "+live+".key") || strings.Contains(out, ".key (mode") {
		t.Errorf("backup without a key file: exit %d, %q %q", code, out, errs)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func openRO(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func countRows(t *testing.T, path, table string) int {
	t.Helper()
	var n int
	if err := openRO(t, path).QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func integrity(t *testing.T, path string) string {
	t.Helper()
	rows, err := openRO(t, path).Query("PRAGMA integrity_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out bytes.Buffer
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		out.WriteString(line)
	}
	return out.String()
}
