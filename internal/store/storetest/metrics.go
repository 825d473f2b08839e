package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// queueFixture stores, across two orgs, queued deliveries of every kind
// among finished ones whose earlier times must not count.
func queueFixture(t *testing.T, s store.Store) {
	t.Helper()
	type row struct {
		kind  shiplog.ChannelKind
		state shiplog.DeliveryState
		next  time.Time
	}
	rows := []row{
		{shiplog.ChannelWebhook, shiplog.DeliveryQueued, at(5)},
		{shiplog.ChannelWebhook, shiplog.DeliveryQueued, at(-3)}, // the oldest due
		{shiplog.ChannelSlack, shiplog.DeliveryQueued, at(60)},   // waiting for a retry
		{shiplog.ChannelEmail, shiplog.DeliveryQueued, at(1)},
		{shiplog.ChannelWebhook, shiplog.DeliverySucceeded, at(-30)},
		{shiplog.ChannelEmail, shiplog.DeliveryFailed, at(-20)},
		{shiplog.ChannelSlack, shiplog.DeliveryCancelled, at(-10)},
	}
	for i, name := range []string{"acme", "globex"} {
		org := createOrg(t, s, name)
		chans := map[shiplog.ChannelKind]*shiplog.Channel{}
		for _, k := range []shiplog.ChannelKind{shiplog.ChannelWebhook, shiplog.ChannelSlack, shiplog.ChannelEmail} {
			chans[k] = &shiplog.Channel{ID: shiplog.NewID(), OrgID: org.ID, Kind: k, Name: string(k), Enabled: true,
				Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: t0, UpdatedAt: t0}
			if k == shiplog.ChannelWebhook {
				chans[k].URL = "https://hooks.example.com/" + name
			}
		}
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			for _, c := range chans {
				if err := tx.ChannelCreate(ctx, c); err != nil {
					return err
				}
			}
			// The second org's rows are an hour later: the oldest is the first org's.
			for _, r := range rows {
				d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: org.ID, ChannelID: chans[r.kind].ID, ChannelKind: r.kind,
					EventID: shiplog.NewID(), EventType: "deployment.completed", State: r.state, MaxAttempts: 3,
					NextAttempt: r.next.Add(time.Duration(i) * time.Hour), CreatedAt: at(-60), UpdatedAt: at(-60)}
				if err := tx.DeliveryInsert(ctx, d); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// testDeliveryQueue checks the scrape-time queue read: queued deliveries
// only, of every org, counted by kind up to the limit.
func testDeliveryQueue(t *testing.T, open OpenFunc) {
	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		createOrg(t, s, "acme")
		got, err := s.DeliveryQueueStats(t.Context(), 100)
		ok(t, "DeliveryQueueStats", err)
		if len(got.Queued) != 0 || got.Truncated || got.OldestDue != nil {
			t.Errorf("empty queue: %+v", got)
		}
	})
	t.Run("Counts", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		queueFixture(t, s)
		// 8 deliveries are queued: 4 webhooks, 2 Slack, 2 email.
		tests := []struct {
			limit     int
			total     int
			truncated bool
			exact     map[shiplog.ChannelKind]int // nil: only the total is fixed
		}{
			{limit: 100, total: 8, exact: map[shiplog.ChannelKind]int{"webhook": 4, "slack": 2, "email": 2}},
			{limit: 8, total: 8, exact: map[shiplog.ChannelKind]int{"webhook": 4, "slack": 2, "email": 2}},
			{limit: 7, total: 7, truncated: true},
			{limit: 1, total: 1, truncated: true},
		}
		for _, tt := range tests {
			got, err := s.DeliveryQueueStats(t.Context(), tt.limit)
			ok(t, "DeliveryQueueStats", err)
			total := 0
			for _, n := range got.Queued {
				total += n
			}
			if total != tt.total || got.Truncated != tt.truncated {
				t.Errorf("limit %d: %v (total %d) truncated=%v, want total %d truncated=%v",
					tt.limit, got.Queued, total, got.Truncated, tt.total, tt.truncated)
			}
			if tt.exact != nil {
				same(t, "Queued", got.Queued, tt.exact)
			}
			// The oldest due is exact whatever the limit.
			if got.OldestDue == nil || !got.OldestDue.Equal(at(-3)) {
				t.Errorf("limit %d: OldestDue = %v, want %v", tt.limit, got.OldestDue, at(-3))
			}
		}
	})
}
