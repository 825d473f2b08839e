package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// drivers runs fn once per store driver: SQLite always, PostgreSQL when
// SHIPLOG_TEST_POSTGRES_URL is set.
func drivers(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, "sqlite://"+filepath.Join(t.TempDir(), "shiplog.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		fn(t, pgtest.URL(t))
	})
}

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

type server struct {
	t    *testing.T
	app  *app.App
	db   string
	stop func()
	url  string
	errc chan error

	admins map[string]string // org name → an owner's personal token (admin)
}

// start runs a server on a free loopback port until the test ends.
func start(t *testing.T, dbURL string) *server {
	t.Helper()
	return startWith(t, app.Config{DB: dbURL})
}

// startWith starts a server with cfg, filling in what every test needs.
func startWith(t *testing.T, cfg app.Config) *server {
	t.Helper()
	dbURL := cfg.DB
	cfg.Addr, cfg.SecretKey, cfg.AllowPrivateTargets = "127.0.0.1:0", testKey, true
	if cfg.PasswordIterations == 0 {
		cfg.PasswordIterations = 1 // passwords set through the API: hashing is not under test here
	}
	cfg.Log = slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	s := &server{t: t, app: a, db: dbURL, url: a.URL(), errc: make(chan error, 1)}
	go func() { s.errc <- a.Serve(ctx) }()
	stopped := false
	s.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-s.errc; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
	t.Cleanup(s.stop)
	return s
}

// tlog sends server logs to the test's log, shown when a test fails.
type tlog struct{ t *testing.T }

func (w tlog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// org creates an organisation and returns its first API key.
func (s *server) org(name string, owners ...string) string {
	s.t.Helper()
	var key string
	err := s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		o, err := tx.OrgCreate(ctx, name, time.Now())
		if err != nil {
			return err
		}
		if err := tx.OrgSetOwnerEmails(ctx, o.ID, owners); err != nil {
			return err
		}
		_, key, err = auth.CreateKey(ctx, tx, o, "test", shiplog.SystemClock{}.Now())
		return err
	})
	if err != nil {
		s.t.Fatalf("create org %s: %v", name, err)
	}
	return key
}

// admin returns a personal token of an owner of the org key belongs to, made
// on first use: channels, environments and users are changed by people.
func (s *server) admin(key string) string {
	s.t.Helper()
	p, ok := auth.Parse(key)
	if !ok {
		s.t.Fatalf("admin: %q is not an org API key", key)
	}
	if tok, ok := s.admins[p.Org]; ok {
		return tok
	}
	if s.admins == nil {
		s.admins = map[string]string{}
	}
	s.admins[p.Org] = s.user(p.Org, "root@"+p.Org+".test", "Root", shiplog.RoleOwner)
	return s.admins[p.Org]
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object (%d): %s", r.status, r.body)
	}
	return m
}

func (r resp) detail(t *testing.T) string {
	t.Helper()
	d, _ := r.json(t)["detail"].(string)
	return d
}

func (r resp) items(t *testing.T) []map[string]any {
	t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("not a list: %s", r.body)
	}
	return l.Items
}

func (s *server) do(method, path, key string, body any, hdr ...string) resp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewReader([]byte(b))
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

func (s *server) post(path, key string, body any, hdr ...string) resp {
	s.t.Helper()
	return s.do(http.MethodPost, path, key, body, hdr...)
}

func (s *server) get(path, key string) resp {
	s.t.Helper()
	return s.do(http.MethodGet, path, key, nil)
}

// mustOK fails the test unless the response is 200.
func mustOK(t *testing.T, r resp) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	return r.json(t)
}

func dep(product, version, env, status string, extra ...any) map[string]any {
	m := map[string]any{"product_name": product, "version": version, "environment_name": env, "status": status}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

func build(product, version, status string, extra ...any) map[string]any {
	m := map[string]any{"product_name": product, "version": version, "status": status}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}
