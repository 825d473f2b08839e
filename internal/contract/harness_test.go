package contract_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

const secretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// down is a URL nothing listens on (port 1 on loopback).
const down = "http://127.0.0.1:1"

var tmpRoot string

func TestMain(m *testing.M) {
	var err error
	if tmpRoot, err = os.MkdirTemp("", "shiplog-contract-*"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(tmpRoot)
	os.Exit(code)
}

// repoRoot is the repository: this package is internal/contract.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// peers is ../shared/peers relative to the repository (or SHIPLOG_PEERS_DIR);
// the test skips, saying so, when it is absent.
func peers(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("SHIPLOG_PEERS_DIR")
	if dir == "" {
		// ../shared/peers beside the repository; a worktree one level
		// deeper (../../shared/peers) finds it too.
		dir = filepath.Join(repoRoot(t), "..", "shared", "peers")
		if _, err := os.Stat(dir); err != nil {
			if alt := filepath.Join(repoRoot(t), "..", "..", "shared", "peers"); exists(alt) {
				dir = alt
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "versioner-cli", "go.mod")); err != nil {
		t.Skipf("contract tests skipped: the Versioner clients' sources are not at %s (../shared/peers relative to the repository; "+
			"set SHIPLOG_PEERS_DIR to their directory): %v", dir, err)
	}
	return dir
}

// binaries are built once per test process.
var binaries struct {
	once               sync.Once
	versioner, shiplog string
	err                error
}

// build compiles the real Versioner CLI (from a copy of its source, so the
// peers directory is never written) and the shiplog binary.
func build(t *testing.T) (versioner, shiplogBin string) {
	t.Helper()
	src := filepath.Join(peers(t), "versioner-cli")
	root := repoRoot(t)
	binaries.once.Do(func() {
		work := filepath.Join(tmpRoot, "versioner-cli")
		if err := copyTree(src, work); err != nil {
			binaries.err = fmt.Errorf("copy the Versioner CLI's source: %w", err)
			return
		}
		binaries.versioner = filepath.Join(tmpRoot, "versioner")
		binaries.shiplog = filepath.Join(tmpRoot, "shiplog")
		for _, b := range []struct{ dir, out, pkg string }{{work, binaries.versioner, "./cmd/versioner"}, {root, binaries.shiplog, "./cmd/shiplog"}} {
			cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
			cmd.Dir = b.dir
			cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off", "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				binaries.err = fmt.Errorf("go build %s in %s: %v\n%s", b.pkg, b.dir, err, out)
				return
			}
		}
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return binaries.versioner, binaries.shiplog
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
}

// stores runs fn on SQLite and on PostgreSQL (skipped without
// SHIPLOG_TEST_POSTGRES_URL); newDB gives a fresh database of that kind.
func stores(t *testing.T, fn func(t *testing.T, newDB func(*testing.T) string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "shiplog.db") })
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		pgtest.URL(t) // skips the whole store when PostgreSQL is not configured
		fn(t, func(t *testing.T) string { return pgtest.URL(t) })
	})
}

// server is a real shiplog on loopback with a fake clock, so stale runs and
// soak times are tested without waiting.
type server struct {
	url   string
	app   *app.App
	clock *fakeclock.Clock
}

func startServer(t *testing.T, db string) *server {
	t.Helper()
	clock := fakeclock.New(fakeclock.Epoch)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", DB: db, SecretKey: secretKey, Clock: clock,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &server{url: a.URL(), app: a, clock: clock}
}

// org is an organisation with its API key and an admin's personal token.
type org struct {
	name, key, pat string
}

func (s *server) org(t *testing.T, name string) org {
	t.Helper()
	o := org{name: name}
	err := s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		now := s.clock.Now()
		rec, err := tx.OrgCreate(ctx, name, now)
		if err != nil {
			return err
		}
		if _, o.key, err = auth.CreateKey(ctx, tx, rec, "ci", now); err != nil {
			return err
		}
		u := &shiplog.User{ID: shiplog.NewID(), OrgID: rec.ID, Email: "ada@example.com", Name: "Ada", Roles: []string{"admin"}, CreatedAt: now}
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		o.pat, err = auth.CreateToken(ctx, tx, u, "test", now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// api calls the server and decodes the JSON answer.
func (s *server) api(t *testing.T, method, path, token string, body any) (int, any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var v any
	_ = json.Unmarshal(b, &v)
	return res.StatusCode, v
}

func (s *server) must(t *testing.T, method, path, token string, body any, want int) any {
	t.Helper()
	code, v := s.api(t, method, path, token, body)
	if code != want {
		t.Fatalf("%s %s: %d %v (want %d)", method, path, code, v, want)
	}
	return v
}

// records are an org's deployments and builds as the API lists them, in
// the order they were created, made comparable across orgs: ids and times
// removed (keys "id", "*_id", "*_at"), UUIDs inside texts replaced.
func (s *server) records(t *testing.T, o org) map[string][]any {
	t.Helper()
	out := map[string][]any{}
	for _, kind := range []string{"deployments", "builds"} {
		v := s.must(t, http.MethodGet, "/"+kind+"/?limit=500", o.key, nil, http.StatusOK)
		items, _ := v.(map[string]any)["items"].([]any)
		for i := len(items) - 1; i >= 0; i-- {
			out[kind] = append(out[kind], normalize(items[i]))
		}
	}
	return out
}

var uuidRe = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, e := range x {
			if k == "id" || strings.HasSuffix(k, "_id") || strings.HasSuffix(k, "_at") {
				continue
			}
			m[k] = normalize(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = normalize(e)
		}
		return l
	case string:
		return uuidRe.ReplaceAllString(x, "<id>")
	}
	return v
}

// result is a finished client process.
type result struct {
	code           int
	stdout, stderr string
}

// eventID is the "Event ID:" line scripts read: present, and its value.
func (r result) eventID() (string, bool) {
	for _, l := range strings.Split(r.stdout, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Event ID:"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// invocation is one run of a client: its arguments, its variables (exactly
// these, plus PATH and HOME) and its working directory.
type invocation struct {
	bin  string
	args []string
	env  map[string]string
	home string
	dir  string
}

func run(t *testing.T, inv invocation) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, inv.bin, inv.args...)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + inv.home}
	keys := make([]string, 0, len(inv.env))
	for k := range inv.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if inv.env[k] != "" {
			env = append(env, k+"="+inv.env[k])
		}
	}
	cmd.Env, cmd.Dir = env, inv.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s: %v", inv.bin, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errb.String()}
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func jsonText(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
