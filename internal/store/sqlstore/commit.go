package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"

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
	queue    chan *writeReq
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
}

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
	s := &Store{
		Queries:  &Queries{db: read, d: d, rb: rb},
		d:        d,
		write:    write,
		read:     read,
		queue:    make(chan *writeReq, 4*o.MaxBatch),
		stop:     make(chan struct{}),
		maxBatch: o.MaxBatch,
		log:      o.Logger,
	}
	for range o.Committers {
		s.wg.Add(1)
		go s.commitLoop()
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

// Write implements store.Store. Once a request is queued it waits for the
// outcome even if ctx ends: the work may already be committed, and the caller
// must not report failure for an event that was stored.
func (s *Store) Write(ctx context.Context, fn func(context.Context, store.Tx) error) error {
	r := &writeReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.gate.RLock()
	if s.closed {
		s.gate.RUnlock()
		return errClosed
	}
	select {
	case s.queue <- r:
	case <-ctx.Done():
		s.gate.RUnlock()
		return ctx.Err()
	}
	s.gate.RUnlock()
	return <-r.done
}

func (s *Store) commitLoop() {
	defer s.wg.Done()
	batch := make([]*writeReq, 0, s.maxBatch)
	for {
		var first *writeReq
		select {
		case first = <-s.queue:
		case <-s.stop:
			s.drain()
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.queue:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.runBatch(batch)
	}
}

// drain answers requests still queued at Close, so no caller hangs.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.queue:
			s.runBatch([]*writeReq{r})
		default:
			return
		}
	}
}

func (s *Store) runBatch(batch []*writeReq) {
	errs := make([]error, len(batch))
	err := s.runBatchTx(batch, errs)
	for i, r := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
}

const maxRetries = 5

// runBatchTx runs every request in its own savepoint of one transaction and
// commits once. A request that fails with a transient conflict (deadlock) is
// rolled back to its savepoint and run again.
func (s *Store) runBatchTx(batch []*writeReq, errs []error) error {
	// The transaction outlives any one caller's context: one caller giving up
	// must not abort the others' writes.
	bg := context.Background()
	tx, err := s.write.BeginTx(bg, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	q := &Queries{db: tx, d: s.d, rb: s.Queries.rb}
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		ctx := context.WithoutCancel(r.ctx)
		for attempt := 0; ; attempt++ {
			if _, err := tx.ExecContext(bg, "SAVEPOINT w"); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("savepoint: %w", err)
			}
			ferr := r.fn(ctx, q)
			if ferr == nil {
				if _, err := tx.ExecContext(bg, "RELEASE SAVEPOINT w"); err != nil {
					_ = tx.Rollback()
					return fmt.Errorf("release savepoint: %w", err)
				}
				break
			}
			if _, err := tx.ExecContext(bg, "ROLLBACK TO SAVEPOINT w"); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("rollback to savepoint after %v: %w", ferr, err)
			}
			if _, err := tx.ExecContext(bg, "RELEASE SAVEPOINT w"); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("release savepoint: %w", err)
			}
			if errors.Is(ferr, ErrRetry) && attempt < maxRetries {
				continue
			}
			errs[i] = ferr
			break
		}
	}
	if err := tx.Commit(); err != nil {
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
