package app_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/store"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestStartLogsSetupLink: a server starting on an org nobody can sign in
// to logs a working setup link for its first owner, and none for an org
// whose owner has a password.
func TestStartLogsSetupLink(t *testing.T) {
	drivers(t, func(t *testing.T, dbURL string) {
		first := start(t, dbURL)
		first.org("acme")
		first.org("beta")
		err := first.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			o, err := tx.OrgGetByName(ctx, "beta")
			if err != nil {
				return err
			}
			return tx.UserCreate(ctx, &shiplog.User{ID: shiplog.NewID(), OrgID: o.ID, Email: "root@beta.test", Name: "Root",
				Roles: []string{shiplog.RoleOwner}, CreatedAt: time.Now()}, "pbkdf2-sha256$1$x$y")
		})
		if err != nil {
			t.Fatal(err)
		}
		first.stop()

		var logs syncBuf
		ctx, cancel := context.WithCancel(context.Background())
		a, err := app.Start(ctx, app.Config{DB: dbURL, Addr: "127.0.0.1:0", SecretKey: testKey, PasswordIterations: 1,
			Log: slog.New(slog.NewTextHandler(io.MultiWriter(&logs, tlog{t}), nil))})
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- a.Serve(ctx) }()
		t.Cleanup(func() { cancel(); <-errc })

		links := regexp.MustCompile(`org=(\w+) setup_link="?([^" ]+)`).FindAllStringSubmatch(logs.String(), -1)
		if len(links) != 1 || links[0][1] != "acme" {
			t.Fatalf("setup links logged: %q; want one, for acme:\n%s", links, logs.String())
		}
		res, err := http.Get(strings.Replace(links[0][2], "http://"+a.Addr(), a.URL(), 1))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "Set up acme") {
			t.Errorf("the logged link answers %d:\n%s", res.StatusCode, body)
		}
	})
}
