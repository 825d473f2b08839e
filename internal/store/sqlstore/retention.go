package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/shiplog/shiplog/internal/store"
)

// The prune statements pick their batch in a subquery, oldest first. On
// PostgreSQL the subquery skips rows another transaction holds (a
// redelivery in progress, another replica's pruner) instead of waiting
// for them; those rows are simply left for the next pass.

var errPruneLimit = errors.New("prune: limit must be positive")

func (q *Queries) EventPrune(ctx context.Context, p *store.PruneParams) (int, error) {
	if p.Limit < 1 {
		return 0, errPruneLimit
	}
	res, err := q.exec(ctx, `DELETE FROM events WHERE seq IN (
			SELECT e.seq FROM events e WHERE e.occurred_at < ?
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id)
			ORDER BY e.occurred_at LIMIT ?`+q.d.ForUpdateSkipLocked+`)`,
		micros(p.Before), p.Limit)
	return deleted(res, err)
}

// prunableDeliveries selects one batch of finished deliveries, in index
// order (a tie-breaker would sort every old row for each batch). Both
// statements of DeliveryPrune use it and so agree on the batch: SQLite's
// one writer reads the same rows twice, and on PostgreSQL the first
// statement's row locks hold them. Were they ever to differ at a tie on
// the batch's edge, the schema's ON DELETE CASCADE takes the attempts the
// first statement missed.
const prunableDeliveries = `SELECT id FROM deliveries WHERE state <> 'queued' AND completed_at < ?
	ORDER BY completed_at LIMIT ?`

func (q *Queries) DeliveryPrune(ctx context.Context, p *store.PruneParams) (*store.DeliveryPruneResult, error) {
	if p.Limit < 1 {
		return nil, errPruneLimit
	}
	before := micros(p.Before)
	var out store.DeliveryPruneResult
	var err error
	// Attempts first, explicitly: the schema cascades, but the count is
	// worth reporting and the delete should not depend on FK settings.
	if out.Attempts, err = deleted(q.exec(ctx, `DELETE FROM delivery_attempts WHERE delivery_id IN (`+
		prunableDeliveries+q.d.ForUpdateSkipLocked+`)`, before, p.Limit)); err != nil {
		return nil, err
	}
	if out.Deliveries, err = deleted(q.exec(ctx, `DELETE FROM deliveries WHERE id IN (`+
		prunableDeliveries+q.d.ForUpdateSkipLocked+`)`, before, p.Limit)); err != nil {
		return nil, err
	}
	return &out, nil
}

func (q *Queries) IdempotencyPrune(ctx context.Context, p *store.PruneParams) (int, error) {
	if p.Limit < 1 {
		return 0, errPruneLimit
	}
	return deleted(q.exec(ctx, `DELETE FROM idempotency_keys WHERE (org_id, key) IN (
			SELECT org_id, key FROM idempotency_keys WHERE created_at < ?
			ORDER BY created_at LIMIT ?`+q.d.ForUpdateSkipLocked+`)`,
		micros(p.Before), p.Limit))
}

// deleted returns how many rows a delete removed.
func deleted(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
