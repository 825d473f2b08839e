package sqlstore

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/shiplog/shiplog"
)

// A write batch without savepoints (commit.go) holds the event-log,
// delivery and delivery-attempt rows its requests insert and writes them as
// multi-row INSERTs: before any statement that reads or writes those
// tables, and at the end of the batch. One statement for a batch's events
// instead of one per event is most of what an insert costs in the embedded
// SQLite, and a round trip per row on PostgreSQL. The rows are written inside the same transaction,
// before it commits, so nothing changes for readers. If the flush fails
// (a constraint, a conflict), the batch runs again with savepoints, where
// every insert runs at once and a failure belongs to its own request.

// deferred is a transaction's rows not yet written.
type deferred struct {
	// The rows' values are taken at the insert: callers may change the
	// struct afterwards (and write that change with a statement of its own).
	events     []pendingEvent
	deliveries [][]any
	attempts   [][]any
	err        error // a failed flush: sticky, the batch must not commit
}

func (p *deferred) empty() bool {
	return len(p.events) == 0 && len(p.deliveries) == 0 && len(p.attempts) == 0
}

type pendingEvent struct {
	e    *shiplog.Event // gets its Seq at the flush
	args []any
}

// What a statement must see written first.
type sees uint8

const (
	seesNone sees = iota
	seesLog       // the event and delivery rows
	seesAll       // the attempts too
)

var (
	logTables     = regexp.MustCompile(`\b(events|deliveries)\b`)
	attemptsTable = regexp.MustCompile(`\bdelivery_attempts\b|^\s*DELETE\s+FROM\s+(deliveries|channels|orgs)\b`)
	seesCache     sync.Map // statement text → sees
)

// statementSees says which deferred rows a statement may read or depend
// on. Recording a delivery updates its row and then inserts its attempt:
// the update must not write the batch's attempts, or there would be one
// attempt statement per delivery again. Deleting a delivery, a channel or
// an org writes everything first: the delete cascades to the attempts.
func statementSees(text string) sees {
	if v, ok := seesCache.Load(text); ok {
		return v.(sees)
	}
	v := seesNone
	switch {
	case attemptsTable.MatchString(text):
		v = seesAll
	case logTables.MatchString(text):
		v = seesLog
	}
	seesCache.Store(text, v)
	return v
}

// before runs ahead of each statement of q: it writes the deferred rows if
// the statement may see them. It returns a failed flush.
func (q *Queries) before(ctx context.Context, text string) error {
	switch p := q.pending; {
	case p == nil:
		return nil
	case p.err != nil:
		return p.err // sticky: every later statement reports the failed flush
	case p.empty():
		return nil
	}
	switch statementSees(text) {
	case seesAll:
		return q.flush(ctx)
	case seesLog:
		return q.flushLog(ctx)
	}
	return nil
}

// flush writes all the deferred rows.
func (q *Queries) flush(ctx context.Context) error {
	return q.flushRows(ctx, true)
}

// flushLog writes the deferred event and delivery rows only.
func (q *Queries) flushLog(ctx context.Context) error {
	return q.flushRows(ctx, false)
}

// flushRows writes the deferred rows in the order the foreign keys need:
// events, then deliveries (they name events), then, with attempts, the
// attempts (they name deliveries).
func (q *Queries) flushRows(ctx context.Context, attempts bool) error {
	p := q.pending
	if p == nil {
		return nil
	}
	if p.err != nil {
		return p.err
	}
	q.pending = nil // the flush's own statements run directly
	defer func() { q.pending = p }()
	p.err = writeChunks(ctx, &p.events, q.insertEvents)
	if p.err == nil {
		p.err = writeChunks(ctx, &p.deliveries, q.insertDeliveries)
	}
	if p.err == nil && attempts {
		p.err = writeChunks(ctx, &p.attempts, q.insertAttempts)
	}
	return p.err
}

// writeChunks inserts *rows a chunk at a time, dropping each chunk once
// written.
func writeChunks[T any](ctx context.Context, rows *[]T, insert func(context.Context, []T) error) error {
	for len(*rows) > 0 {
		n := chunk(len(*rows))
		if err := insert(ctx, (*rows)[:n]); err != nil {
			return err
		}
		*rows = (*rows)[n:]
	}
	return nil
}

// chunk is the largest power of two up to 64 not above n: a handful of
// statement texts to prepare, whatever the batch sizes.
func chunk(n int) int {
	c := 64
	for c > n {
		c /= 2
	}
	return c
}

var valuesCache sync.Map // "cols/n" → "(?, …), (?, …)"

func values(cols, n int) string {
	key := fmt.Sprint(cols, "/", n)
	if v, ok := valuesCache.Load(key); ok {
		return v.(string)
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	v := strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
	valuesCache.Store(key, v)
	return v
}

const eventInsertCols = `id, org_id, type, kind, subject_id, product_name, version, environment_name,
	environment_type, status, actor, actor_email, scm_sha, scm_repository, preflight_status, submitted_by, payload,
	occurred_at`

func eventArgs(e *shiplog.Event) []any {
	return []any{e.ID, e.OrgID, string(e.Type), string(e.Kind), e.SubjectID, e.ProductName, e.Version, e.EnvironmentName,
		string(e.EnvironmentType), string(e.Status), e.Actor, e.ActorEmail, e.ScmSHA, e.ScmRepository, e.PreflightStatus,
		credentialText(e.SubmittedBy), jsonText(e.Payload), micros(e.OccurredAt)}
}

// insertEvents writes es in one statement and sets their Seq (RETURNING
// gives no order, so by id).
func (q *Queries) insertEvents(ctx context.Context, es []pendingEvent) error {
	args := make([]any, 0, 18*len(es))
	byID := make(map[string]*shiplog.Event, len(es))
	for _, pe := range es {
		args = append(args, pe.args...)
		byID[pe.args[0].(string)] = pe.e
	}
	rows, err := q.query(ctx, `INSERT INTO events (`+eventInsertCols+`) VALUES `+values(18, len(es))+` RETURNING id, seq`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return q.mapErr(err)
		}
		if e := byID[id]; e != nil {
			e.Seq = seq
		}
	}
	return q.mapErr(rows.Err())
}

const deliveryInsertCols = `id, org_id, channel_id, channel_kind, event_id, event_type, state, attempts,
	max_attempts, next_attempt_at, lease_until, last_error, test, payload, created_at, updated_at`

func deliveryArgs(d *shiplog.Delivery) []any {
	return []any{d.ID, d.OrgID, d.ChannelID, string(d.ChannelKind), d.EventID, string(d.EventType), string(d.State), d.Attempts,
		d.MaxAttempts, micros(d.NextAttempt), nullMicros(d.LeaseUntil), "", d.Test, string(d.Payload), micros(d.CreatedAt),
		micros(d.UpdatedAt)}
}

func (q *Queries) insertDeliveries(ctx context.Context, ds [][]any) error {
	args := make([]any, 0, 16*len(ds))
	for _, d := range ds {
		args = append(args, d...)
	}
	_, err := q.exec(ctx, `INSERT INTO deliveries (`+deliveryInsertCols+`) VALUES `+values(16, len(ds)), args...)
	return err
}

const attemptInsertCols = `id, org_id, delivery_id, number, started_at, duration_ms, status_code,
	response_headers, response_body, error, outcome`

func (q *Queries) insertAttempts(ctx context.Context, as [][]any) error {
	args := make([]any, 0, 11*len(as))
	for _, a := range as {
		args = append(args, a...)
	}
	_, err := q.exec(ctx, `INSERT INTO delivery_attempts (`+attemptInsertCols+`) VALUES `+values(11, len(as)), args...)
	return err
}
