package store

import (
	"context"
	"time"

	"github.com/shiplog/shiplog"
)

// MetricsReader holds the reads /metrics makes at scrape time. They are the
// only cross-org reads: they return counts and times, never an org's rows,
// and no org appears in what they return.
type MetricsReader interface {
	// DeliveryQueueStats counts queued deliveries by channel kind, looking
	// at no more than limit of them (a backlog must not make a scrape
	// slow), and finds the earliest next attempt of any queued delivery.
	DeliveryQueueStats(ctx context.Context, limit int) (*DeliveryQueueStats, error)
}

// DeliveryQueueStats is the outbox at one moment.
type DeliveryQueueStats struct {
	// Queued counts queued deliveries (due or waiting for a retry) by kind.
	Queued map[shiplog.ChannelKind]int
	// Truncated: more than limit are queued; Queued counts limit of them.
	Truncated bool
	// OldestDue is the earliest next attempt of any queued delivery (in the
	// future when every queued delivery waits for a retry); nil when none
	// is queued.
	OldestDue *time.Time
}
