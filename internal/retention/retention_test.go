package retention_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	_ "github.com/shiplog/shiplog/internal/notify/kinds" // the channel kinds
	"github.com/shiplog/shiplog/internal/retention"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/postgres"
	"github.com/shiplog/shiplog/internal/store/sqlite"
	"github.com/shiplog/shiplog/internal/store/sqlstore"
	"github.com/shiplog/shiplog/internal/store/storetest"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

const day = 24 * time.Hour

// drivers runs fn on a fresh SQLite store and, when configured, PostgreSQL.
func drivers(t *testing.T, fn func(t *testing.T, s store.Store)) {
	t.Helper()
	open := map[string]func(t *testing.T) (store.Store, error){
		"sqlite": func(t *testing.T) (store.Store, error) {
			return sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shiplog.db"), nil, sqlstore.WithCipher(storetest.Cipher))
		},
		"postgres": func(t *testing.T) (store.Store, error) {
			return postgres.Open(t.Context(), pgtest.URL(t), nil, sqlstore.WithCipher(storetest.Cipher))
		},
	}
	for name, o := range open {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := o(t)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			fn(t, s)
		})
	}
}

// history is one org's rows at known ages relative to fakeclock.Epoch.
type history struct {
	s       store.Store
	org     *shiplog.Org
	dep     *shiplog.Deployment
	channel *shiplog.Channel
}

func newHistory(t *testing.T, s store.Store) *history {
	t.Helper()
	h := &history{s: s}
	start := fakeclock.Epoch.Add(-400 * day)
	h.write(t, func(ctx context.Context, tx store.Tx) error {
		var err error
		if h.org, err = tx.OrgCreate(ctx, "acme", start); err != nil {
			return err
		}
		p, err := tx.ProductEnsure(ctx, h.org.ID, "api", start)
		if err != nil {
			return err
		}
		env, err := tx.EnvironmentEnsure(ctx, h.org.ID, "prod", shiplog.EnvProduction, start)
		if err != nil {
			return err
		}
		v, err := tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: h.org.ID, ProductID: p.ID, Version: "1.0", Now: start})
		if err != nil {
			return err
		}
		h.dep = &shiplog.Deployment{ID: shiplog.NewID(), OrgID: h.org.ID, ProductID: p.ID, ProductName: p.Name, VersionID: v.ID,
			Version: v.Version, EnvironmentID: env.ID, EnvironmentName: env.Name, EnvironmentType: env.Type,
			Status: shiplog.StatusCompleted, DeployedAt: start, CreatedAt: start, UpdatedAt: start}
		if err := tx.DeploymentInsert(ctx, h.dep); err != nil {
			return err
		}
		h.channel = &shiplog.Channel{ID: shiplog.NewID(), OrgID: h.org.ID, Kind: shiplog.ChannelWebhook, Name: "hook", Enabled: true,
			URL: "https://example.com/hook", Events: []shiplog.EventType{"deployment.completed"}, CreatedAt: start, UpdatedAt: start}
		return tx.ChannelCreate(ctx, h.channel)
	})
	return h
}

func (h *history) write(t *testing.T, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	if err := h.s.Write(t.Context(), fn); err != nil {
		t.Fatal(err)
	}
}

// event stores an event that occurred age before Epoch.
func (h *history) event(t *testing.T, age time.Duration) *shiplog.Event {
	t.Helper()
	e := &shiplog.Event{ID: shiplog.NewID(), OrgID: h.org.ID, Type: "deployment.completed", Kind: shiplog.KindDeployment,
		SubjectID: h.dep.ID, ProductName: "api", Version: "1.0", EnvironmentName: "prod", EnvironmentType: shiplog.EnvProduction,
		Status: shiplog.StatusCompleted, OccurredAt: fakeclock.Epoch.Add(-age)}
	h.write(t, func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, e) })
	return e
}

// delivery stores a delivery of e with one attempt; finished ones complete
// age before Epoch, queued ones are still retrying.
func (h *history) delivery(t *testing.T, e *shiplog.Event, age time.Duration, state shiplog.DeliveryState) *shiplog.Delivery {
	t.Helper()
	when := fakeclock.Epoch.Add(-age)
	d := &shiplog.Delivery{ID: shiplog.NewID(), OrgID: h.org.ID, ChannelID: h.channel.ID, ChannelKind: shiplog.ChannelWebhook,
		EventID: e.ID, EventType: e.Type, State: shiplog.DeliveryQueued, MaxAttempts: 3, NextAttempt: when, CreatedAt: when, UpdatedAt: when}
	h.write(t, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeliveryInsert(ctx, d); err != nil {
			return err
		}
		d.State, d.Attempts, d.UpdatedAt = state, 1, when
		if state != shiplog.DeliveryQueued {
			d.CompletedAt = &when
		}
		return tx.DeliveryRecord(ctx, d, &shiplog.Attempt{ID: shiplog.NewID(), DeliveryID: d.ID, Number: 1, StartedAt: when,
			StatusCode: 200, ResponseHeaders: map[string]string{}, Outcome: "whatever"})
	})
	return d
}

// idempotencyKey stores an answered key created age before Epoch.
func (h *history) idempotencyKey(t *testing.T, key string, age time.Duration) {
	t.Helper()
	when := fakeclock.Epoch.Add(-age)
	h.write(t, func(ctx context.Context, tx store.Tx) error {
		if err := tx.IdempotencyClaim(ctx, h.org.ID, key, when, when.Add(-day)); err != nil {
			return err
		}
		return tx.IdempotencyComplete(ctx, h.org.ID, key, &store.IdempotentResponse{StatusCode: 200, Body: json.RawMessage(`{}`)})
	})
}

func (h *history) hasEvent(t *testing.T, e *shiplog.Event) bool {
	t.Helper()
	_, err := h.s.EventGet(t.Context(), h.org.ID, e.ID)
	return found(t, err)
}

func (h *history) hasDelivery(t *testing.T, d *shiplog.Delivery) bool {
	t.Helper()
	_, err := h.s.DeliveryGet(t.Context(), h.org.ID, d.ID)
	return found(t, err)
}

func (h *history) hasKey(t *testing.T, key string) bool {
	t.Helper()
	_, err := h.s.IdempotencyGet(t.Context(), h.org.ID, key, fakeclock.Epoch.Add(-1000*day))
	return found(t, err)
}

// found tells a row's absence (ErrNotFound) from a failed query.
func found(t *testing.T, err error) bool {
	t.Helper()
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		t.Fatal(err)
	}
	return err == nil
}

// TestPrunerRuns starts the service on a fake clock: a pass at start, then
// one per interval, each deleting exactly what has come of age by then.
func TestPrunerRuns(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, s store.Store) {
		h := newHistory(t, s)
		var old []*shiplog.Event
		for range 5 { // more than a batch
			old = append(old, h.event(t, 181*day))
		}
		nextDay := h.event(t, 180*day-time.Hour) // of age one day later
		atCutoff := h.event(t, 179*day)          // exactly the cutoff then: kept
		finishedOld := h.delivery(t, h.event(t, 10*day), 31*day, shiplog.DeliverySucceeded)
		finishedYoung := h.delivery(t, h.event(t, 10*day), 29*day+time.Hour, shiplog.DeliveryFailed)
		queuedOld := h.delivery(t, h.event(t, 200*day), 60*day, shiplog.DeliveryQueued)
		h.idempotencyKey(t, "yesterday", 25*time.Hour)
		h.idempotencyKey(t, "today", 23*time.Hour)

		clock := fakeclock.New(fakeclock.Epoch)
		p := &retention.Pruner{Store: s, Clock: clock, Events: 180 * day, Deliveries: 30 * day, Interval: day, Batch: 2}
		p.Start()
		t.Cleanup(p.Stop)
		clock.BlockUntil(1) // the first pass is over once the next is scheduled

		check := func(when string, want map[string]bool) {
			t.Helper()
			got := map[string]bool{"nextDay": h.hasEvent(t, nextDay), "atCutoff": h.hasEvent(t, atCutoff),
				"finishedOld": h.hasDelivery(t, finishedOld), "finishedYoung": h.hasDelivery(t, finishedYoung),
				"queuedOld": h.hasDelivery(t, queuedOld), "queuedOld's event": h.hasEvent(t, &shiplog.Event{ID: queuedOld.EventID}),
				"key yesterday": h.hasKey(t, "yesterday"), "key today": h.hasKey(t, "today")}
			for i, e := range old {
				if h.hasEvent(t, e) {
					t.Errorf("%s: old event %d kept", when, i)
				}
			}
			for what, kept := range want {
				if got[what] != kept {
					t.Errorf("%s: %s kept=%v, want %v", when, what, got[what], kept)
				}
			}
		}
		check("after the first pass", map[string]bool{"nextDay": true, "atCutoff": true, "finishedOld": false,
			"finishedYoung": true, "queuedOld": true, "queuedOld's event": true, "key yesterday": false, "key today": true})

		clock.Advance(day)
		clock.BlockUntil(1)
		check("a day later", map[string]bool{"nextDay": false, "atCutoff": true, "finishedOld": false,
			"finishedYoung": false, "queuedOld": true, "queuedOld's event": true, "key yesterday": false, "key today": false})

		p.Stop()
		if n := clock.Pending(); n != 0 {
			t.Errorf("%d timers left after Stop", n)
		}
	})
}

// TestPrunePolicy runs single passes under different policies.
func TestPrunePolicy(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		events, deliveries time.Duration
		want               retention.Result
		// Whether the old notified event and the young one survive.
		keepNotified, keepYoung bool
	}{
		{"defaults", retention.DefaultEvents, retention.DefaultDeliveries,
			retention.Result{Events: 3, Deliveries: 1, Attempts: 1, IdempotencyKeys: 1}, false, true},
		{"events kept forever", 0, retention.DefaultDeliveries,
			retention.Result{Deliveries: 1, Attempts: 1, IdempotencyKeys: 1}, true, true},
		// The old event's delivery stays, and with it the event.
		{"deliveries kept forever", retention.DefaultEvents, 0, retention.Result{Events: 2, IdempotencyKeys: 1}, true, true},
		{"everything kept forever", 0, 0, retention.Result{IdempotencyKeys: 1}, true, true},
		{"short retention", 2 * day, 2 * day,
			retention.Result{Events: 4, Deliveries: 2, Attempts: 2, IdempotencyKeys: 1}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			drivers(t, func(t *testing.T, s store.Store) {
				h := newHistory(t, s)
				h.event(t, 200*day)
				h.event(t, 190*day)
				notified := h.event(t, 200*day)
				h.delivery(t, notified, 100*day, shiplog.DeliverySucceeded)
				young := h.event(t, 10*day)
				h.delivery(t, young, 10*day, shiplog.DeliveryFailed)
				h.event(t, time.Hour)
				h.idempotencyKey(t, "old", 2*day)
				p := &retention.Pruner{Store: s, Clock: fakeclock.New(fakeclock.Epoch), Events: tt.events, Deliveries: tt.deliveries}
				got, err := p.Prune(t.Context())
				if err != nil {
					t.Fatal(err)
				}
				if got != tt.want {
					t.Errorf("pass deleted %+v, want %+v", got, tt.want)
				}
				if kept := h.hasEvent(t, notified); kept != tt.keepNotified {
					t.Errorf("old notified event kept=%v, want %v", kept, tt.keepNotified)
				}
				if kept := h.hasEvent(t, young); kept != tt.keepYoung {
					t.Errorf("young event kept=%v, want %v", kept, tt.keepYoung)
				}
				// The deployment itself is never pruned.
				if _, err := s.DeploymentGet(t.Context(), h.org.ID, h.dep.ID); err != nil {
					t.Errorf("deployment: %v", err)
				}
			})
		})
	}
}

func TestParseAge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"0", 0, ""},
		{" 180d ", 180 * day, ""},
		{"30d", 30 * day, ""},
		{"4w", 28 * day, ""},
		{"36h", 36 * time.Hour, ""},
		{"1h", time.Hour, ""},
		{"36500d", 36500 * day, ""},
		{"36501d", 0, "at most 36500 days"},
		{"99999999999999999999w", 0, "whole number of days"},
		{"30m", 0, "at least 1h"},
		{"0d", 0, "at least 1h"},
		{"0s", 0, "at least 1h"},
		{"-5d", 0, "whole number of days"},
		{"-5h", 0, "at least 1h"},
		{"1.5d", 0, "whole number of days"},
		{"5y", 0, "want days (180d)"},
		{"", 0, "want days (180d)"},
		{"d", 0, "whole number of days"},
		{"180", 0, "want days (180d)"},
	}
	for _, tt := range tests {
		got, err := retention.ParseAge(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseAge(%q) = %v, %v; want an error containing %q", tt.in, got, err, tt.err)
		}
	}
	for _, d := range []time.Duration{0, day, 180 * day, 36 * time.Hour, 90 * time.Minute} {
		if got, err := retention.ParseAge(retention.FormatAge(d)); d >= time.Hour && (err != nil || got != d) {
			t.Errorf("ParseAge(FormatAge(%v)) = %v, %v", d, got, err)
		}
	}
}

func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"0", "180d", "4w", "36h", "1h30m", "-1d", "36500d", "9999999999999d", "1e9h", " 7d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := retention.ParseAge(s)
		if err != nil {
			if d != 0 {
				t.Errorf("ParseAge(%q) returned %v with error %v", s, d, err)
			}
			return
		}
		if d != 0 && d < retention.MinAge {
			t.Errorf("ParseAge(%q) = %v, below the minimum", s, d)
		}
		// What it accepts, it reads back the same from its own format.
		if back, err := retention.ParseAge(retention.FormatAge(d)); err != nil || back != d {
			t.Errorf("ParseAge(FormatAge(%v)) = %v, %v", d, back, err)
		}
	})
}
