package app_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// A deployment whose events were pruned is still answered in full: its
// record is the audit, the timeline is what retention trades away.
func TestDeploymentAfterItsEventsArePruned(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	drivers(t, func(t *testing.T, db string) {
		clock := fakeclock.New(fakeclock.Epoch)
		// The pass interval is longer than the retention, so advancing by
		// one interval runs exactly one pass, at a known time.
		s := startWith(t, app.Config{DB: db, Clock: clock, RetentionClock: clock,
			RetainEvents: 180 * day, RetainDeliveries: 30 * day, PruneInterval: 181 * day})
		key := s.org("acme")
		clock.BlockUntil(1) // the pass at start is over

		var id string
		for _, st := range []string{"started", "success"} {
			id = mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "prod", st, "deployed_by", "ann")))["id"].(string)
		}
		before := mustOK(t, s.get("/deployments/"+id, key))
		if n := len(before["events"].([]any)); n != 2 {
			t.Fatalf("timeline has %d events before pruning, want 2", n)
		}

		clock.Advance(181 * day)
		clock.BlockUntil(1) // the pass 181 days on is over

		after := mustOK(t, s.get("/deployments/"+id, key))
		if evs, ok := after["events"].([]any); !ok || len(evs) != 0 {
			t.Errorf("events after pruning = %v, want []", after["events"])
		}
		delete(before, "events")
		delete(after, "events")
		if !reflect.DeepEqual(after, before) {
			t.Errorf("deployment changed with pruning:\n%v\n→\n%v", before, after)
		}
		// Listings and the status matrix read deployments, not events.
		if items := s.get("/deployments/", key).items(t); len(items) != 1 || items[0]["id"] != id {
			t.Errorf("deployment list after pruning: %v", items)
		}
		cur := mustOK(t, s.get("/status/", key))
		if !containsID(cur, id) {
			t.Errorf("status matrix after pruning lacks %s: %v", id, cur)
		}
		// New events are young, and their timeline is whole.
		id2 := mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "prod", "success")))["id"].(string)
		if evs := mustOK(t, s.get("/deployments/"+id2, key))["events"].([]any); len(evs) != 1 {
			t.Errorf("new deployment's timeline: %v", evs)
		}
	})
}

// containsID reports whether a decoded JSON value holds the string id anywhere.
func containsID(v any, id string) bool {
	switch v := v.(type) {
	case string:
		return v == id
	case []any:
		for _, x := range v {
			if containsID(x, id) {
				return true
			}
		}
	case map[string]any:
		for _, x := range v {
			if containsID(x, id) {
				return true
			}
		}
	}
	return false
}
