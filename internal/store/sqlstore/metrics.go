package sqlstore

import (
	"context"
	"database/sql"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// DeliveryQueueStats reads only queued deliveries, through the partial
// index deliveries_claim (WHERE state = 'queued'): the earliest next attempt
// is one index probe, and the count stops at limit+1 rows, so neither
// grows with the delivery history, and a backlog costs at most limit rows.
func (q *Queries) DeliveryQueueStats(ctx context.Context, limit int) (*store.DeliveryQueueStats, error) {
	out := &store.DeliveryQueueStats{Queued: map[shiplog.ChannelKind]int{}}
	var oldest sql.NullInt64
	if err := q.row(ctx, `SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'queued'`).Scan(&oldest); err != nil {
		return nil, q.mapErr(err)
	}
	if !oldest.Valid {
		return out, nil // nothing queued
	}
	t := fromMicros(oldest.Int64)
	out.OldestDue = &t
	// ORDER BY keeps the scan on the index (in due order) on both databases.
	rows, err := q.query(ctx, `SELECT channel_kind, COUNT(*) FROM (SELECT channel_kind FROM deliveries
		WHERE state = 'queued' ORDER BY next_attempt_at LIMIT ?) queued GROUP BY channel_kind`, limit+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	total := 0
	for rows.Next() {
		var kind shiplog.ChannelKind
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return nil, err
		}
		out.Queued[kind] = n
		total += n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if total > limit {
		// One row past the limit was read to tell; take it off the largest
		// kind, so the counts add up to limit.
		out.Truncated = true
		var top shiplog.ChannelKind
		for k, n := range out.Queued {
			if n > out.Queued[top] || n == out.Queued[top] && k < top {
				top = k
			}
		}
		out.Queued[top]--
	}
	return out, nil
}
