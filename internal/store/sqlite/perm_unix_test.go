//go:build unix

package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

// TestFilesArePrivate opens a database under the most permissive umask
// and finds the database, its WAL and its shared-memory file readable by
// the owner only; a file an older version left 0644 is tightened. Not
// parallel: the umask belongs to the whole process (parallel tests wait
// until the sequential ones are done).
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)

	fresh := filepath.Join(t.TempDir(), "fresh.db")
	legacy := filepath.Join(t.TempDir(), "legacy.db")
	for _, p := range []string{legacy, legacy + "-wal", legacy + "-shm"} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, path := range []string{fresh, legacy} {
		s, err := sqlite.Open(t.Context(), path, nil)
		if err != nil {
			t.Fatal(err)
		}
		// A write and a read make SQLite create the -wal and -shm files.
		if err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
			_, err := tx.OrgCreate(ctx, "acme", time.Unix(0, 0))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.OrgGetByName(t.Context(), "acme"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{path, path + "-wal", path + "-shm"} {
			st, err := os.Stat(p)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(p), err)
			}
			if st.Mode().Perm() != 0o600 {
				t.Errorf("%s has mode %v; want 0600", filepath.Base(p), st.Mode().Perm())
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
