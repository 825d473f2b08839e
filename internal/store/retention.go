package store

import (
	"context"
	"time"
)

// Retention deletes old history in bounded batches: each call deletes at
// most p.Limit rows, oldest first, so the caller keeps every write
// transaction short and calls again while batches come back full.
//
// Unlike every other query these span all organisations: retention is one
// server-wide policy, and a delete never returns another org's data.
// Deployments, builds, versions, deployment requests, approvals, users,
// rules and channels are never pruned: they are the audit record.
type Retention interface {
	// EventPrune deletes events that occurred before p.Before, except those
	// a delivery still refers to: a queued delivery is rendered from its
	// event when sent, and a finished one may be redelivered.
	EventPrune(ctx context.Context, p *PruneParams) (int, error)
	// DeliveryPrune deletes finished (not queued) deliveries completed
	// before p.Before, with their attempts.
	DeliveryPrune(ctx context.Context, p *PruneParams) (*DeliveryPruneResult, error)
	// IdempotencyPrune deletes idempotency keys created before p.Before.
	IdempotencyPrune(ctx context.Context, p *PruneParams) (int, error)
}

// PruneParams bounds one batch of a Retention method.
type PruneParams struct {
	Before time.Time // rows strictly older than this go
	Limit  int       // at most this many (deliveries, for DeliveryPrune)
}

// DeliveryPruneResult counts what one DeliveryPrune batch deleted.
type DeliveryPruneResult struct {
	Deliveries int
	Attempts   int
}
