// Package sqlite is the embedded default store: a single file, pure Go (so
// CGO_ENABLED=0 builds), WAL with synchronous=FULL so an acknowledged write
// survives power loss, one writer connection and a pool of readers.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// PathFromURL turns sqlite://./shiplog.db, sqlite:///abs/path or
// sqlite:relative.db into a file path.
func PathFromURL(raw string) (string, error) {
	rest, ok := strings.CutPrefix(raw, "sqlite:")
	if !ok {
		return "", fmt.Errorf("not a sqlite URL: %q", raw)
	}
	rest = strings.TrimPrefix(rest, "//")
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest = rest[:i]
	}
	p, err := url.PathUnescape(rest)
	if err != nil || p == "" {
		return "", fmt.Errorf("sqlite URL %q names no file", raw)
	}
	return p, nil
}

func dsn(path string, readOnly bool) string {
	q := url.Values{}
	// temp_store: statement journals that outgrow their in-memory buffer
	// spill to memory, not to a temporary file written page by page.
	for _, p := range []string{"journal_mode(WAL)", "synchronous(FULL)", "busy_timeout(10000)", "foreign_keys(1)", "temp_store(MEMORY)"} {
		q.Add("_pragma", p)
	}
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		// Take the write lock at BEGIN, so a transaction never fails half
		// way when another process (the CLI) writes at the same time.
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) and migrates the database at path. The
// file, its -wal and -shm are readable by the owner only (0600).
func Open(ctx context.Context, path string, log *slog.Logger, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return nil, err
	}
	// One committer runs one transaction at a time (SQLite serialises
	// writers anyway). The second connection only lets the statement cache
	// prepare a statement while that transaction holds the first; the
	// transaction then reuses it on its own connection.
	write.SetMaxOpenConns(2)
	write.SetConnMaxIdleTime(0)
	if err := Migrate(ctx, write); err != nil {
		write.Close()
		return nil, err
	}
	if err := chmodPrivate(path); err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	read.SetMaxIdleConns(8)
	o := sqlstore.Options{Committers: 1, Logger: log}
	for _, opt := range opts {
		opt(&o)
	}
	return sqlstore.New(Dialect(), write, read, o), nil
}

// createPrivate creates the database file with mode 0600 before SQLite
// opens it: SQLite would create it under the process umask (0644 by
// default: the whole event history world-readable), and gives its -wal and
// -shm files the database file's mode. An existing file is tightened too.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite database: %w", err)
	}
	if err := f.Chmod(0o600); err != nil { // the umask never widens, but an old file may be 0644
		f.Close()
		return fmt.Errorf("chmod sqlite database: %w", err)
	}
	return f.Close()
}

// chmodPrivate sets 0600 on the -wal and -shm files after SQLite made
// them, for databases whose files were created by an older version.
func chmodPrivate(path string) error {
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("chmod %s: %w", p, err)
		}
	}
	return nil
}

// Migrate applies the embedded migrations.
func Migrate(ctx context.Context, db *sql.DB) error { return migrateTo(ctx, db, math.MaxInt64) }

// migrateTo applies the migrations up to version (tests start an old schema).
func migrateTo(ctx context.Context, db *sql.DB, version int64) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	return migrateFS(ctx, db, sub, version)
}

// migrateFS applies the migrations in fsys up to version. Out-of-order
// migrations are applied, not refused: numbers are taken when work
// starts and branches land in any order, so a database migrated between
// two landings has gaps below its version (00011-00014 landed after 00015).
// Each migration is independent of the ones numbered near it.
func migrateFS(ctx context.Context, db *sql.DB, fsys fs.FS, version int64) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithAllowOutofOrder(true))
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate sqlite: %w", err)
	}
	return nil
}

// Dialect describes SQLite to the shared SQL.
func Dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{Name: "sqlite", ErrorKind: errorKind, PrepareStatements: true,
		IDList: "SELECT value FROM json_each(?)"}
}

// errorKind maps SQLite extended result codes, never message text.
func errorKind(err error) error {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return store.ErrConflict
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_LOCKED:
		return sqlstore.ErrRetry
	}
	return nil
}
