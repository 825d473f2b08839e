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
	// LockSubject takes transaction-scoped locks on keys, in order; nil for
	// none.
	LockSubject func(ctx context.Context, tx DBTX, keys []string) error
	// IDList is a subquery selecting the strings of a JSON array bound to
	// its one placeholder: a list of any length in one statement text, so
	// lists do not fill the prepared statement cache with a text per length.
	IDList string
	// ForUpdateSkipLocked is appended to claim queries where supported.
	ForUpdateSkipLocked string
	// ForUpdate is appended to a select that locks the rows it reads until
	// the transaction ends; "" where a write transaction already excludes
	// every other writer (SQLite's BEGIN IMMEDIATE).
	ForUpdate string
	// NotifyDeliveries, when set, tells other processes (at commit) that
	// deliveries are free to claim.
	NotifyDeliveries func(ctx context.Context, tx DBTX) error
	// PrepareStatements keeps each statement prepared for reuse. SQLite
	// spends more time parsing our statements than running them; pgx
	// already caches prepared statements per connection by itself.
	PrepareStatements bool
	// StreamByXact says events carry the id of the transaction that wrote
	// them (txid) and the live stream orders by it (stream.go).
	StreamByXact bool
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
	stmts  *stmtCache // nil: no statement reuse
	tx     *sql.Tx    // set when db is a transaction of stmts' pool
	// configs is the Store's copy of org configurations (orgconfig.go);
	// gens is set in write transactions.
	configs *configCache
	gens    *txGens
	// pending, in a write batch without savepoints, holds the rows whose
	// inserts are deferred (deferred.go).
	pending *deferred
}

// stmtCache holds prepared statements of one pool. database/sql prepares a
// statement again on each connection it meets, and a transaction reuses
// the one prepared on its connection.
type stmtCache struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

// maxCachedStmts bounds the cache; listing filters make a few dozen texts.
const maxCachedStmts = 512

func newStmtCache(db *sql.DB) *stmtCache { return &stmtCache{db: db, m: map[string]*sql.Stmt{}} }

func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st := c.m[query]
	c.mu.RUnlock()
	if st != nil {
		return st
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st = c.m[query]; st != nil || len(c.m) >= maxCachedStmts {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil // run unprepared; the error, if real, shows there
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m = map[string]*sql.Stmt{}
}

// stmt returns a prepared statement for query bound to q's transaction, or
// nil to run the text directly.
func (q *Queries) stmt(ctx context.Context, query string) *sql.Stmt {
	if q.stmts == nil {
		return nil
	}
	st := q.stmts.get(ctx, query)
	if st != nil && q.tx != nil {
		return q.tx.StmtContext(ctx, st)
	}
	return st
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
	if err := q.before(ctx, query); err != nil {
		return nil, err
	}
	text := q.rb.q(query)
	if st := q.stmt(ctx, text); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, q.mapErr(err)
	}
	res, err := q.db.ExecContext(ctx, text, args...)
	return res, q.mapErr(err)
}

func (q *Queries) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := q.before(ctx, query); err != nil {
		return nil, err
	}
	text := q.rb.q(query)
	if st := q.stmt(ctx, text); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, q.mapErr(err)
	}
	rows, err := q.db.QueryContext(ctx, text, args...)
	return rows, q.mapErr(err)
}

func (q *Queries) row(ctx context.Context, query string, args ...any) *sql.Row {
	// A failed flush stays in q.pending and fails the batch (commit.go);
	// a *sql.Row cannot carry it.
	_ = q.before(ctx, query)
	text := q.rb.q(query)
	if st := q.stmt(ctx, text); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.db.QueryRowContext(ctx, text, args...)
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
