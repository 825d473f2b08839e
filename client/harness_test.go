package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

const secretKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// server is a real shiplog on a temporary SQLite database, with one org.
type server struct {
	url string // http://127.0.0.1:port
	key string // the org's API key
	pat string // an admin's personal access token, for managing rules
}

// start runs a server until the test ends.
func start(t *testing.T) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", DB: "sqlite://" + filepath.Join(t.TempDir(), "s.db"),
		SecretKey: secretKey, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
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
	s := &server{url: a.URL()}
	err = a.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		now := shiplog.SystemClock{}.Now()
		org, err := tx.OrgCreate(ctx, "acme", now)
		if err != nil {
			return err
		}
		if _, s.key, err = auth.CreateKey(ctx, tx, org, "ci", now); err != nil {
			return err
		}
		u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: "ada@example.com", Name: "Ada", Roles: []string{"admin"}, CreatedAt: now}
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		s.pat, err = auth.CreateToken(ctx, tx, u, "test", now)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client returns a client of s whose retries do not wait; waits records
// the waits asked for.
func (s *server) client(t *testing.T, url string, opts ...client.Option) (*client.Client, *waits) {
	t.Helper()
	w := &waits{}
	c, err := client.New(url, s.key, append([]client.Option{client.WithSleep(w.sleep)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

// waits is an instant sleeper that remembers what it was asked.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// rule creates a deployment rule through the API, as an admin.
func (s *server) rule(t *testing.T, r map[string]any) {
	t.Helper()
	b, _ := json.Marshal(r)
	req, _ := http.NewRequest(http.MethodPost, s.url+"/deployment-rules/", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+s.pat)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("create rule: %d %s", res.StatusCode, body)
	}
}

// freeze is a schedule rule blocking every deployment to env for the hour around now.
func freeze(name, env, status string) map[string]any {
	now := time.Now().UTC()
	return map[string]any{"name": name, "rule_type": "schedule", "status": status, "environment_names": []string{env},
		"schedule": map[string]any{"recurrence": "once", "time_zone": "UTC", "start": now.Add(-time.Hour).Format("2006-01-02T15:04"),
			"end": now.Add(time.Hour).Format("2006-01-02T15:04"), "reason": "release train"}}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
