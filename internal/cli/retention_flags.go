package cli

import (
	"fmt"
	"time"

	"github.com/shiplog/shiplog/internal/retention"
)

// age is a retention flag: 180d, 4w, 36h, or 0 to keep forever.
type age time.Duration

func (a *age) UnmarshalText(b []byte) error {
	d, err := retention.ParseAge(string(b))
	*a = age(d)
	return err
}

// retentionFlags are serve's pruning settings. The defaults are
// retention.DefaultEvents, DefaultDeliveries and DefaultInterval (a test
// keeps them equal).
type retentionFlags struct {
	RetainEvents     age           `name:"retain-events" env:"SHIPLOG_RETAIN_EVENTS" default:"180d" help:"How long events (the raw timeline of each deployment and build) are kept: 180d, 4w, 36h, or 0 to keep them forever. Deployments and builds themselves are always kept."`
	RetainDeliveries age           `name:"retain-deliveries" env:"SHIPLOG_RETAIN_DELIVERIES" default:"30d" help:"How long finished notification deliveries and their attempt logs are kept (0: forever). Queued deliveries are never pruned."`
	PruneInterval    time.Duration `name:"prune-interval" env:"SHIPLOG_PRUNE_INTERVAL" default:"1h" help:"How often old events and deliveries are pruned."`
}

func (f retentionFlags) check() error {
	if f.PruneInterval < time.Minute {
		return fmt.Errorf("--prune-interval %s is too short: at least 1m", f.PruneInterval)
	}
	return nil
}
