package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// The stream's horizon on PostgreSQL: the oldest transaction still running
// when the statement took its snapshot. Every transaction with a lower id
// has ended, so the events they wrote are all visible to the statement and
// no event with a lower id can appear later.
const horizon = `pg_snapshot_xmin(pg_current_snapshot())`

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
	tx := strconv.FormatUint(after.Tx, 10)
	// The row comparison and the order are both served by the index on
	// (org_id, txid, seq) (migration 00005).
	rows, err := q.query(ctx, `SELECT txid::text, `+eventCols+` FROM events
		WHERE org_id = ? AND (txid, seq) > (?::text::xid8, ?) AND txid < `+horizon+`
		ORDER BY txid, seq LIMIT ?`, orgID, tx, after.Seq, limit)
	if err != nil {
		return nil, err
	}
	events, err := scanStream(rows, orgID)
	if err != nil {
		return nil, err
	}
	page := &store.StreamPage{Events: events}
	if len(events) < limit {
		// A full page is read again at once anyway; a short one may have
		// stopped at the horizon with committed events behind it.
		if len(events) > 0 {
			after = events[len(events)-1].Cursor
			tx = strconv.FormatUint(after.Tx, 10)
		}
		err := q.row(ctx, `SELECT EXISTS (SELECT 1 FROM events
			WHERE org_id = ? AND (txid, seq) > (?::text::xid8, ?) AND txid >= `+horizon+`)`,
			orgID, tx, after.Seq).Scan(&page.Pending)
		if err != nil {
			return nil, q.mapErr(err)
		}
	}
	return page, nil
}

// EventStreamHead implements store.StreamReader.
func (q *Queries) EventStreamHead(ctx context.Context, orgID string) (store.Cursor, error) {
	if q.d.StreamByXact {
		// Every transaction that will commit from now on has an id at or
		// above the horizon, so (horizon, 0) precedes all their events.
		var tx string
		if err := q.row(ctx, `SELECT `+horizon+`::text`).Scan(&tx); err != nil {
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
		e := &shiplog.Event{OrgID: orgID}
		var tx string
		var payload sql.NullString
		var at int64
		if err := rows.Scan(&tx, &e.Seq, &e.ID, &e.Type, &e.Kind, &e.SubjectID, &e.ProductName, &e.Version, &e.EnvironmentName,
			&e.EnvironmentType, &e.Status, &e.Actor, &e.ScmSHA, &e.ScmRepository, &e.PreflightStatus, &payload, &at); err != nil {
			return nil, err
		}
		n, err := strconv.ParseUint(tx, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("event %s txid %q: %w", e.ID, tx, err)
		}
		e.Payload, e.OccurredAt = rawJSON(payload), fromMicros(at)
		out = append(out, store.StreamEvent{Cursor: store.Cursor{Tx: n, Seq: e.Seq}, Event: e})
	}
	return out, rows.Err()
}
