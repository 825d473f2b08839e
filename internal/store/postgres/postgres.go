// Package postgres is the store for teams that run several replicas: pgx
// through database/sql (so both drivers share one transaction type), several
// concurrent group-committers, and advisory locks where writers race.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Open connects to url (postgres://…), migrates, and starts the store.
func Open(ctx context.Context, url string, log *slog.Logger, opts ...sqlstore.Option) (*sqlstore.Store, error) {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := Migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	// Committers: one per CPU, at least two. More committers make smaller
	// batches, and each batch pays BEGIN, the writer mark, the generation
	// read and COMMIT round trips: on 2 cores, 8 committers gave 0.85 × the
	// throughput of 2 and 1.8 × the p99 (bench ingest, docs/performance.md).
	o := sqlstore.Options{Committers: max(2, runtime.GOMAXPROCS(0)), Logger: log}
	for _, opt := range opts {
		opt(&o)
	}
	return sqlstore.New(Dialect(), db, db, o), nil
}

// Migrate applies the embedded migrations under a session-level advisory
// lock, so replicas that start together apply each migration once.
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
	// The lock is per schema: replicas sharing a schema serialise, tenants
	// (or tests) in other schemas of the same database do not wait.
	var lockID int64
	if err := db.QueryRowContext(ctx, `SELECT hashtextextended('shiplog-migrate/' || current_schema(), 0)`).Scan(&lockID); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker), goose.WithAllowOutofOrder(true))
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

// Dialect describes PostgreSQL to the shared SQL.
func Dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Name:        "postgres",
		Numbered:    true,
		ErrorKind:   errorKind,
		LockSubject: lockSubject,
		// Ids are uuid columns here; a string that is no uuid matches nothing.
		IDList: `SELECT CAST(x AS uuid) FROM json_array_elements_text(CAST(? AS json)) AS l(x)
			WHERE x ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`,
		ForUpdateSkipLocked: " FOR UPDATE SKIP LOCKED",
		ForUpdate:           " FOR UPDATE",
		StreamByXact:        true,
		NotifyDeliveries: func(ctx context.Context, tx sqlstore.DBTX) error {
			_, err := tx.ExecContext(ctx, `SELECT pg_notify('`+DeliveriesChannel+`', '')`)
			return err
		},
	}
}

// DeliveriesChannel is the LISTEN/NOTIFY channel that says deliveries are
// free to claim.
const DeliveriesChannel = "shiplog_deliveries"

// Listen calls wake for every notification on DeliveriesChannel until ctx
// ends, reconnecting after errors. A missed notification costs at most one
// poll interval: the pollers run anyway.
func Listen(ctx context.Context, url string, log *slog.Logger, wake func()) {
	for ctx.Err() == nil {
		err := listenOnce(ctx, url, wake)
		if ctx.Err() != nil {
			return
		}
		log.Warn("LISTEN for deliveries failed; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func listenOnce(ctx context.Context, url string, wake func()) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+DeliveriesChannel); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// lockSubject takes the keys' advisory locks in one statement; the select
// list is evaluated left to right, so they are taken in the order given.
func lockSubject(ctx context.Context, tx sqlstore.DBTX, keys []string) error {
	var q string
	if len(keys) <= len(lockQueries) {
		q = lockQueries[len(keys)-1]
	} else {
		q = lockQuery(len(keys))
	}
	args := make([]any, len(keys))
	for i, k := range keys {
		args[i] = k
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

var lockQueries = []string{lockQuery(1), lockQuery(2), lockQuery(3)}

func lockQuery(n int) string {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "pg_advisory_xact_lock(hashtextextended($%d, 0))", i+1)
	}
	return b.String()
}

// errorKind maps SQLSTATE codes, never message text.
func errorKind(err error) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return nil
	}
	switch pe.Code {
	case "23505": // unique_violation
		return store.ErrConflict
	case "40P01", "40001": // deadlock_detected, serialization_failure
		return sqlstore.ErrRetry
	}
	return nil
}
