package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/shiplog/shiplog/internal/store"
)

// The stream's horizon on PostgreSQL: the oldest transaction still running
// when the statement took its snapshot. Every transaction with a lower id
// has ended, so the events they wrote are all visible to the statement and
// no event with a lower id can appear later.
const horizon = `pg_snapshot_xmin(pg_current_snapshot())`

// That horizon is cluster-wide: a long write transaction of any other
// database or schema on the server holds it back, and with it every
// stream. So every shiplog write transaction first takes a shared advisory
// lock of its schema, before anything gives it a transaction id, and
// writersHorizonQuery skips the running transactions that positively do
// not hold it. A transaction found in the snapshot but no longer in the lock
// table (it ended meanwhile) is counted, which can only hold the horizon
// back, never move it past a writer.
const (
	writerLockClass = "1397246023" // "SHLG": keeps clear of other users of two-key advisory locks
	writerLockKey   = `hashtext('shiplog-writer/' || current_schema())`
)

// MarkWriter takes the writer lock; the committers run it first in every
// write transaction. Tests that write events outside Store.Write run it too.
func MarkWriter(ctx context.Context, tx DBTX) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock_shared(`+writerLockClass+`, `+writerLockKey+`)`)
	return err
}

// writersHorizonQuery is the oldest running transaction that is (or may be)
// a shiplog writer of this schema, else the snapshot's xmax. Like any
// horizon it stays valid once computed: writers with lower ids have ended,
// and every later transaction gets a higher id. pg_locks is read once
// (MATERIALIZED), so a transaction and its advisory lock are seen together.
const writersHorizonQuery = `WITH locks AS MATERIALIZED (
		SELECT locktype, virtualtransaction, transactionid, database, classid, objid, objsubid FROM pg_locks WHERE granted),
	writers AS (
		SELECT t.transactionid FROM locks t JOIN locks k ON k.virtualtransaction = t.virtualtransaction
		WHERE t.locktype = 'transactionid' AND k.locktype = 'advisory' AND k.objsubid = 2
			AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
			AND k.classid = ` + writerLockClass + ` AND k.objid = (` + writerLockKey + `)::oid)
	SELECT COALESCE((SELECT x FROM pg_snapshot_xip(pg_current_snapshot()) AS x
		WHERE x::xid IN (SELECT transactionid FROM writers)
			OR x::xid NOT IN (SELECT transactionid FROM locks WHERE locktype = 'transactionid')
		ORDER BY x LIMIT 1), pg_snapshot_xmax(pg_current_snapshot()))::text`

// EventStream implements store.StreamReader.
func (q *Queries) EventStream(ctx context.Context, orgID string, after store.Cursor, limit int) (*store.StreamPage, error) {
	limit = min(max(limit, 1), store.MaxStreamPage)
	if q.d.StreamByXact {
		// Tx is never 0 on PostgreSQL except in the zero cursor.
		if after.Tx == 0 && after.Seq != 0 {
			return nil, store.ErrCursor
		}
		return q.eventStreamXact(ctx, orgID, after, limit)
	}
	if after.Tx != 0 {
		return nil, store.ErrCursor
	}
	// One writer: seq order is commit order, and a reader's snapshot holds
	// every event up to some seq, never one with a gap before it.
	rows, err := q.query(ctx, `SELECT '0', `+eventCols+` FROM events WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
		orgID, after.Seq, limit)
	if err != nil {
		return nil, err
	}
	events, err := scanStream(rows, orgID)
	if err != nil {
		return nil, err
	}
	return &store.StreamPage{Events: events}, nil
}

func (q *Queries) eventStreamXact(ctx context.Context, orgID string, after store.Cursor, limit int) (*store.StreamPage, error) {
	// The row comparison and the order are both served by the index on
	// (org_id, txid, seq) (migration 00005).
	//
	// The horizon is read once and bound: re-evaluated in each statement,
	// it could move between the two below (a transaction ending), and an
	// event above it for the first would be below it for the second —
	// neither returned nor reported as held, and the stream would sleep
	// until its next poll with the event unsent.
	var h0 string
	if err := q.row(ctx, `SELECT `+horizon+`::text`).Scan(&h0); err != nil {
		return nil, q.mapErr(err)
	}
	events, err := q.streamRows(ctx, `SELECT txid::text, `+eventCols+` FROM events
		WHERE org_id = ? AND (txid, seq) > (?::text::xid8, ?) AND txid < ?::text::xid8
		ORDER BY txid, seq LIMIT ?`, orgID, after, h0, limit)
	if err != nil || len(events) == limit {
		// A full page is read again at once anyway.
		return &store.StreamPage{Events: events}, err
	}
	if len(events) > 0 {
		after = events[len(events)-1].Cursor
	}
	// Committed events of the org beyond the cluster-wide horizon: look
	// again with the horizon of this schema's writers only.
	held, err := q.streamHeld(ctx, orgID, after, "?::text::xid8", h0)
	if err != nil || !held {
		return &store.StreamPage{Events: events}, err
	}
	var h string
	if err := q.row(ctx, writersHorizonQuery).Scan(&h); err != nil {
		return nil, q.mapErr(err)
	}
	more, err := q.streamRows(ctx, `SELECT txid::text, `+eventCols+` FROM events
		WHERE org_id = ? AND (txid, seq) > (?::text::xid8, ?) AND txid < ?::text::xid8
		ORDER BY txid, seq LIMIT ?`, orgID, after, h, limit-len(events))
	if err != nil {
		return nil, err
	}
	if len(more) > 0 {
		after = more[len(more)-1].Cursor
		events = append(events, more...)
	}
	page := &store.StreamPage{Events: events}
	if len(events) < limit {
		page.Pending, err = q.streamHeld(ctx, orgID, after, "?::text::xid8", h)
	}
	return page, err
}

// streamRows runs a stream query whose arguments are orgID, the position
// after (as two arguments), then extra, then limit.
func (q *Queries) streamRows(ctx context.Context, query, orgID string, after store.Cursor, extra ...any) ([]store.StreamEvent, error) {
	args := append([]any{orgID, strconv.FormatUint(after.Tx, 10), after.Seq}, extra...)
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return scanStream(rows, orgID)
}

// streamHeld reports whether the org has committed events after the
// position that the horizon (an SQL expression) holds back.
func (q *Queries) streamHeld(ctx context.Context, orgID string, after store.Cursor, horizon string, args ...any) (bool, error) {
	var held bool
	err := q.row(ctx, `SELECT EXISTS (SELECT 1 FROM events
		WHERE org_id = ? AND (txid, seq) > (?::text::xid8, ?) AND txid >= `+horizon+`)`,
		append([]any{orgID, strconv.FormatUint(after.Tx, 10), after.Seq}, args...)...).Scan(&held)
	return held, q.mapErr(err)
}

// EventStreamHead implements store.StreamReader.
func (q *Queries) EventStreamHead(ctx context.Context, orgID string) (store.Cursor, error) {
	if q.d.StreamByXact {
		// Every writer that will commit from now on has an id at or above
		// the writers' horizon, so (horizon, 0) precedes all their events;
		// the events before it are all visible, so the stream has them.
		var tx string
		if err := q.row(ctx, writersHorizonQuery).Scan(&tx); err != nil {
			return store.Cursor{}, q.mapErr(err)
		}
		n, err := strconv.ParseUint(tx, 10, 64)
		if err != nil {
			return store.Cursor{}, fmt.Errorf("stream horizon %q: %w", tx, err)
		}
		return store.Cursor{Tx: n}, nil
	}
	var seq int64
	err := q.row(ctx, `SELECT COALESCE(MAX(seq), 0) FROM events WHERE org_id = ?`, orgID).Scan(&seq)
	return store.Cursor{Seq: seq}, q.mapErr(err)
}

func scanStream(rows *sql.Rows, orgID string) ([]store.StreamEvent, error) {
	defer rows.Close()
	var out []store.StreamEvent
	for rows.Next() {
		r := newEventRow(orgID)
		var tx string
		if err := rows.Scan(append([]any{&tx}, r.dest()...)...); err != nil {
			return nil, err
		}
		e, err := r.event()
		if err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(tx, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("event %s txid %q: %w", e.ID, tx, err)
		}
		out = append(out, store.StreamEvent{Cursor: store.Cursor{Tx: n, Seq: e.Seq}, Event: e})
	}
	return out, rows.Err()
}
