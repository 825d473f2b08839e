//go:build unix

package app_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/shiplog/shiplog/internal/app"
)

// TestServerFilesArePrivate starts a server the way `shiplog serve` does
// with the default SQLite database, under the most permissive umask, and
// finds the database, its WAL and SHM files and the secret key file
// readable by the owner only after an event is recorded. Not parallel: the
// umask belongs to the whole process.
func TestServerFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "shiplog.db")
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.Start(ctx, app.Config{Addr: "127.0.0.1:0", DB: "sqlite://" + path})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- a.Serve(ctx) }()
	s := &server{t: t, app: a, url: a.URL()}
	key := s.org("acme")
	mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success")))
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".key"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v; want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
