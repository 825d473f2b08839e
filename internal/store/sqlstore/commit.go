package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/shiplog/shiplog/internal/store"
)

// Store implements store.Store over database/sql.
//
// Writes go through committers that batch concurrent callers into one
// transaction (group commit): durable commits cost an fsync each, and a CI
// burst of many small events would otherwise spend its time waiting on them.
type Store struct {
	*Queries // reads on the read pool
	d        *Dialect
	write    *sql.DB
	read     *sql.DB
	queues   []chan *writeReq // one per committer; a key always maps to the same one
	wstmts   *stmtCache       // prepared statements of the write pool
	stop     chan struct{}
	wg       sync.WaitGroup
	closeMu  sync.Once
	gate     sync.RWMutex // held shared while enqueuing; Close takes it to stop new writes
	closed   bool
	maxBatch int
	log      *slog.Logger
}

type writeReq struct {
	ctx  context.Context
	fn   func(context.Context, store.Tx) error
	done chan error
}

// Options configures a Store.
type Options struct {
	Committers int // concurrent write transactions; 1 for SQLite
	MaxBatch   int // most callers sharing one commit
	Logger     *slog.Logger
	Cipher     store.Cipher // seals channel secrets; nil refuses to store any
}

// Option adjusts Options; drivers pass them through from their Open.
type Option func(*Options)

// WithCipher sets the cipher for channel secrets.
func WithCipher(c store.Cipher) Option { return func(o *Options) { o.Cipher = c } }

// New starts a Store. write and read may be the same pool.
func New(d *Dialect, write, read *sql.DB, o Options) *Store {
	if o.Committers < 1 {
		o.Committers = 1
	}
	if o.MaxBatch < 1 {
		o.MaxBatch = 128
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	rb := &rebinder{numbered: d.Numbered}
	var readStmts *stmtCache
	if d.PrepareStatements {
		readStmts = newStmtCache(read)
	}
	s := &Store{
		Queries:  &Queries{db: read, d: d, rb: rb, cipher: o.Cipher, stmts: readStmts, configs: &configCache{m: map[string]*store.OrgConfig{}}},
		d:        d,
		write:    write,
		read:     read,
		stop:     make(chan struct{}),
		maxBatch: o.MaxBatch,
		log:      o.Logger,
	}
	if d.PrepareStatements {
		s.wstmts = newStmtCache(write)
	}
	for range o.Committers {
		q := make(chan *writeReq, 4*o.MaxBatch)
		s.queues = append(s.queues, q)
		s.wg.Add(1)
		go s.commitLoop(q)
	}
	return s
}

var errClosed = errors.New("store is closed")

func (s *Store) Driver() string { return s.d.Name }

func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return err
	}
	var one int
	return s.row(ctx, "SELECT 1").Scan(&one)
}

// Write implements store.Store.
func (s *Store) Write(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	return s.WriteKeyed(ctx, "", fn)
}

// WriteKeyed implements store.Store. Writes with the same key always share
// a committer, so two concurrent transactions never take the same locks in
// opposite orders (a deadlock PostgreSQL would break only after a second).
// Once a request is queued it waits for the
// outcome even if ctx ends: the work may already be committed, and the caller
// must not report failure for an event that was stored.
func (s *Store) WriteKeyed(ctx context.Context, key string, fn func(context.Context, store.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.gate.RLock()
	if s.closed {
		s.gate.RUnlock()
		return errClosed
	}
	select {
	case s.queues[s.pick(key)] <- r:
	case <-ctx.Done():
		s.gate.RUnlock()
		return ctx.Err()
	}
	s.gate.RUnlock()
	return <-r.done
}

func (s *Store) pick(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % uint32(len(s.queues)))
}

func (s *Store) commitLoop(queue chan *writeReq) {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, s.maxBatch)
	for {
		var first *writeReq
		select {
		case first = <-queue:
		case <-s.stop:
			s.drain(queue)
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

// drain answers requests still queued at Close, so no caller hangs.
func (s *Store) drain(queue chan *writeReq) {
	for {
		select {
		case r := <-queue:
			s.runBatch([]*writeReq{r})
		default:
			return
		}
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	var err error
	isolate := false
	for attempt := 0; ; {
		clear(errs)
		err = s.runBatchTx(batch, errs, isolate)
		if errors.Is(err, errIsolate) {
			// A request failed in a batch run without savepoints: run the
			// batch again, each request in its own. Not a retry of a conflict.
			isolate = true
			continue
		}
		if !errors.Is(err, ErrRetry) || attempt == maxRetries {
			break
		}
		attempt++
		// Lost a deadlock to another transaction (another replica, or a
		// write with another key): everything was rolled back; run again.
		s.log.Debug("write batch retried", "attempt", attempt, "size", len(batch), "err", err)
		time.Sleep(time.Duration(1+rand.IntN(10<<(attempt-1))) * time.Millisecond)
	}
	for i, r := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
}

const maxRetries = 5

// errIsolate says a batch run without savepoints had a request fail, and
// was rolled back whole.
var errIsolate = errors.New("a request failed: run the batch again with savepoints")

// runBatchTx runs the batch in one transaction and commits once.
//
// Requests almost never fail, and a savepoint costs on every request (two
// more round trips on PostgreSQL; a statement journal written per page on
// SQLite): so a batch is first run without them. When a request fails
// there, the transaction is rolled back and errIsolate returned, and the
// batch runs again with isolate set: each request in its own savepoint, so a
// failed one rolls back only itself. A batch of one needs no savepoint
// ever: its failure rolls back the transaction.
//
// A transient conflict (deadlock, serialization failure) in any request
// aborts the whole transaction with ErrRetry: locks taken by the requests
// before it are what the other transaction waits for.
func (s *Store) runBatchTx(batch []*writeReq, errs []error, isolate bool) error {
	// The transaction outlives any one caller's context: one caller giving up
	// must not abort the others' writes.
	bg := context.Background()
	tx, err := s.write.BeginTx(bg, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := &Queries{db: tx, d: s.d, rb: s.Queries.rb, cipher: s.Queries.cipher, stmts: s.wstmts, tx: tx,
		configs: s.Queries.configs, gens: newTxGens()}
	if s.d.StreamByXact {
		// First, before anything gives the transaction an id (stream.go).
		if err := MarkWriter(bg, tx); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("mark writer: %w", err)
		}
	}
	savepoints := isolate && len(batch) > 1
	if !savepoints {
		q.pending = &deferred{}
	}
	ran := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		ctx := context.WithoutCancel(r.ctx)
		if savepoints {
			if _, err := q.exec(bg, "SAVEPOINT w"); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("savepoint: %w", err)
			}
		}
		ferr := r.fn(ctx, q)
		if ferr == nil && q.pending != nil && q.pending.err != nil {
			// A flush of deferred rows failed during fn, and fn did not say.
			ferr = q.pending.err
		}
		if errors.Is(ferr, ErrRetry) {
			_ = tx.Rollback()
			return ferr
		}
		if !savepoints {
			if ferr == nil {
				ran++
				continue
			}
			_ = tx.Rollback()
			if len(batch) > 1 {
				return errIsolate
			}
			errs[i] = ferr
			return nil
		}
		release := "RELEASE SAVEPOINT w"
		if ferr != nil {
			release = "ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w"
			errs[i] = ferr
		} else {
			ran++
		}
		for _, stmt := range strings.Split(release, "; ") {
			if _, err := q.exec(bg, stmt); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
	}
	if ran == 0 {
		// Nothing to keep: every request failed or gave up.
		return tx.Rollback()
	}
	if err := q.flush(bg); err != nil {
		_ = tx.Rollback()
		switch {
		case errors.Is(err, ErrRetry):
			return err
		case len(batch) > 1:
			return errIsolate
		}
		// The one request's own rows: its failure.
		for i := range batch {
			if errs[i] == nil {
				errs[i] = err
			}
		}
		return nil
	}
	if err := tx.Commit(); err != nil {
		if kind := s.d.ErrorKind(err); kind != nil {
			return fmt.Errorf("commit: %w: %w", kind, err)
		}
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// Close stops the committers after the queued writes and closes the pools.
func (s *Store) Close() error {
	var err error
	s.closeMu.Do(func() {
		s.gate.Lock()
		s.closed = true
		s.gate.Unlock()
		close(s.stop)
		s.wg.Wait()
		for _, c := range []*stmtCache{s.wstmts, s.Queries.stmts} {
			if c != nil {
				c.close()
			}
		}
		err = errors.Join(s.write.Close(), s.closeRead())
	})
	return err
}

func (s *Store) closeRead() error {
	if s.read == s.write {
		return nil
	}
	return s.read.Close()
}
