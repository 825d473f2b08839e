// Package sqlstore is the SQL both drivers share. The dialects differ in a
// handful of places (placeholders, id and lock clauses, error codes), which a
// Dialect supplies; the schema and migrations belong to each driver.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/shiplog/shiplog/internal/store"
)

// Dialect is what a driver tells the shared SQL about its database.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, …) instead of "?".
	Numbered bool
	// ErrorKind maps a driver error to store.ErrConflict (unique violation),
	// errRetry (deadlock, serialization failure) or nil (anything else).
	ErrorKind func(error) error
	// LockSubject takes a transaction-scoped lock on key; nil for none.
	LockSubject func(ctx context.Context, tx DBTX, key string) error
	// ForUpdateSkipLocked is appended to claim queries where supported.
	ForUpdateSkipLocked string
}

// ErrRetry marks errors after which a transaction may simply be run again.
var ErrRetry = errors.New("transient conflict, retry")

// DBTX is the part of *sql.DB and *sql.Tx the queries use.
type DBTX interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Queries runs the shared SQL on a pool or a transaction.
type Queries struct {
	db     DBTX
	d      *Dialect
	rb     *rebinder
	cipher store.Cipher
}

type rebinder struct {
	numbered bool
	cache    sync.Map // query text → rebound text
}

func (r *rebinder) q(query string) string {
	if !r.numbered {
		return query
	}
	if v, ok := r.cache.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	out := b.String()
	r.cache.Store(query, out)
	return out
}

func (q *Queries) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := q.db.ExecContext(ctx, q.rb.q(query), args...)
	return res, q.mapErr(err)
}

func (q *Queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := q.db.QueryContext(ctx, q.rb.q(query), args...)
	return rows, q.mapErr(err)
}

func (q *Queries) row(ctx context.Context, query string, args ...any) *sql.Row {
	return q.db.QueryRowContext(ctx, q.rb.q(query), args...)
}

// mapErr keeps the driver error in the chain (for logs) but makes
// errors.Is(err, store.ErrConflict / ErrNotFound / ErrRetry) work.
func (q *Queries) mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	if kind := q.d.ErrorKind(err); kind != nil {
		return fmt.Errorf("%w: %w", kind, err)
	}
	return err
}
