package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

// The console's tests drive a real Chromium against a real server on
// SQLite. They skip where no Chromium is installed; CI installs Debian's.

const testKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// chromium finds the browser: $SHIPLOG_CHROMIUM, then the usual names.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SHIPLOG_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("browser tests skipped: no Chromium found (apt-get install -y chromium, or set SHIPLOG_CHROMIUM)")
	return ""
}

type server struct {
	t      *testing.T
	app    *app.App
	url    string
	org    *shiplog.Org
	apiKey string
	// ownerToken is a personal token of an owner, made on first use: the
	// API takes channel changes from people only.
	ownerToken string
}

type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// start runs a server on SQLite with an org "acme" and an API key.
func start(t *testing.T) *server {
	t.Helper()
	return startDB(t, "sqlite://"+filepath.Join(t.TempDir(), "shiplog.db"))
}

// startDB is start on the database dbURL names.
func startDB(t *testing.T, dbURL string) *server {
	t.Helper()
	return launch(t, dbURL, nil)
}

// startPeer starts another server (a replica) on first's database.
func startPeer(t *testing.T, dbURL string, first *server) *server {
	t.Helper()
	return launch(t, dbURL, first)
}

// launch starts a server on dbURL: with peer nil it creates the org "acme"
// and a key, else it shares peer's.
func launch(t *testing.T, dbURL string, peer *server) *server {
	t.Helper()
	cfg := app.Config{
		DB:   dbURL,
		Addr: "127.0.0.1:0", SecretKey: testKey, AllowPrivateTargets: true,
		DeliveryPollInterval: 50 * time.Millisecond,
		PasswordIterations:   1, // passwords set through the API; hashing is not under test here
		Log:                  slog.New(slog.NewTextHandler(tlog{t}, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatalf("start: %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	s := &server{t: t, app: a, url: a.URL()}
	if peer != nil {
		s.org, s.apiKey = peer.org, peer.apiKey
		return s
	}
	err = a.Store.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		if s.org, err = tx.OrgCreate(ctx, "acme", time.Now()); err != nil {
			return err
		}
		_, s.apiKey, err = auth.CreateKey(ctx, tx, s.org, "ci", time.Now())
		return err
	})
	if err != nil {
		t.Fatalf("create org: %v", err)
	}
	return s
}

// user creates a console user with a password.
func (s *server) user(email, password string, roles ...string) *shiplog.User {
	s.t.Helper()
	hash := "" // no password: the user cannot sign in to the console
	if password != "" {
		var err error
		if hash, err = auth.HashPassword(password); err != nil {
			s.t.Fatal(err)
		}
	}
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: s.org.ID, Email: email, Name: strings.Split(email, "@")[0],
		Roles: roles, CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	err := s.app.Store.Write(s.t.Context(), func(ctx context.Context, tx store.Tx) error {
		return tx.UserCreate(ctx, u, hash)
	})
	if err != nil {
		s.t.Fatalf("create user: %v", err)
	}
	return u
}

// api calls the REST API and decodes the answer: events with the org's
// key, as a pipeline would, everything else as an owner.
func (s *server) api(method, path string, in, out any) int {
	s.t.Helper()
	bearer := s.apiKey
	if !strings.HasSuffix(path, "-events/") {
		bearer = s.owner()
	}
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(s.t.Context(), method, s.url+path, body)
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	if res.StatusCode >= 300 && out != nil {
		s.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return res.StatusCode
}

// owner returns the personal token of an owner "root@acme.test", made on
// first use.
func (s *server) owner() string {
	s.t.Helper()
	if s.ownerToken == "" {
		s.ownerToken = s.token(s.user("root@acme.test", "", shiplog.RoleOwner))
	}
	return s.ownerToken
}

// token makes a personal access token for u.
func (s *server) token(u *shiplog.User) string {
	s.t.Helper()
	var tok string
	err := s.app.Store.Write(s.t.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		tok, err = auth.CreateToken(ctx, tx, u, "test", time.Now())
		return err
	})
	if err != nil {
		s.t.Fatalf("token: %v", err)
	}
	return tok
}

// deploy posts a deployment event.
func (s *server) deploy(product, version, env, status string) {
	s.t.Helper()
	var out map[string]any
	s.api("POST", "/deployment-events/", map[string]any{"product_name": product, "version": version,
		"environment_name": env, "status": status, "deployed_by": "ci-bot"}, &out)
}

// browser starts a headless Chromium for one test, with the flags these
// machines need (no sandbox as root, no background traffic to the internet).
func browser(t *testing.T) context.Context {
	t.Helper()
	path := chromium(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1280, 900),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(func(string, ...any) {}))
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// Start the browser on a context without a deadline (a deadline would
	// bound the browser's life, not one step).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// step bounds one browser interaction so a missing element fails the test
// with a message instead of hanging until the test binary times out.
func step(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, steps...); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
			t.Fatalf("%s: timed out; the page's main is:\n%s", what, html)
		}
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text of the first element matching sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		if err == nil {
			return s
		}
		// The node was found, then replaced before its text was read (an
		// htmx swap, the live feed): read the new one.
		if sctx.Err() == nil && (strings.Contains(err.Error(), "No node with given id") || strings.Contains(err.Error(), "Could not find node")) {
			continue
		}
		t.Fatalf("text of %s: %v", sel, err)
	}
}

// eventually polls a JavaScript expression until it is true. A page that
// navigates meanwhile (a form submit) interrupts one poll; it is retried.
func eventually(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_, err = chromedp.Run(pctx, chromedp.Poll[bool](expr))
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			break
		}
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML("main"))
	t.Fatalf("%s: %v; the page's main is:\n%s", what, err, html)
}

// signIn signs in through the form and waits for the home page.
func (s *server) signIn(t *testing.T, ctx context.Context, email, password string) {
	t.Helper()
	step(t, ctx, "sign in as "+email,
		chromedp.Navigate(s.url+"/ui/sign-in"),
		chromedp.SetValue(chromedp.CSS("#org"), s.org.Name),
		chromedp.SetValue(chromedp.CSS("#email"), email),
		chromedp.SetValue(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top")),
	)
}

// shot saves a screenshot of the page into docs/screenshots when
// SHIPLOG_UPDATE_SCREENSHOTS is set (like a golden file's -update).
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if os.Getenv("SHIPLOG_UPDATE_SCREENSHOTS") == "" {
		return
	}
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("..", "..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
