package app_test

import (
	"net/http"
	"testing"
)

// Each replica keeps an org's rules, channels and environments in memory
// for ingest. A change made on one replica must hold on the other at once:
// its very next event is judged by the new rule, delivered to the new
// channel (and not to the deleted one) and carries the new environment
// type.
func TestConfigChangesHoldOnTheOtherReplica(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		a, b := twoReplicas(t, db)
		key := a.org("acme")
		adminA := a.admin(key)
		// b's memory is warm: it has seen the org's (empty) configuration
		// and the environment.
		first := b.post("/deployment-events/", key, dep("api", "1.0", "live", "success"))
		mustOK(t, first)
		if got := first.json(t)["environment_type"]; got != "production" {
			t.Fatalf("environment type of 'live' on first sight: %v", got)
		}
		envID := first.json(t)["environment_id"].(string)
		mustOK(t, b.post("/deployment-events/", key, dep("api", "1.0", "live", "success"))) // now read, and kept

		// The environment's type, changed on a.
		mustOK(t, a.do(http.MethodPatch, "/environments/"+envID, adminA, `{"type":"staging"}`))
		r := b.post("/deployment-events/", key, dep("api", "1.1", "live", "success"))
		mustOK(t, r)
		if got := r.json(t)["environment_type"]; got != "staging" {
			t.Errorf("environment type on b after a changed it: %v, want staging", got)
		}

		// A channel created on a gets b's next event.
		rcv := newReceiver(t)
		ch := channel(t, a, adminA, map[string]any{"kind": "webhook", "name": "w", "url": rcv.URL, "events": []string{"deployment.completed"}})
		mustOK(t, b.post("/deployment-events/", key, dep("api", "1.2", "live", "success")))
		if p := rc(t, rcv); p["version"] != "1.2" {
			t.Errorf("webhook after the channel was created on a: %v", p)
		}

		// A rule created on a judges b's next start.
		rule := map[string]any{"name": "Staging first", "rule_type": "flow", "product_names": []string{"api"},
			"prerequisite_environments": []string{"qa"}, "target_environment": "live"}
		if r := a.post("/deployment-rules/", adminA, rule); r.status != http.StatusCreated {
			t.Fatalf("create rule: %d %s", r.status, r.body)
		}
		expectBlock(t, b.post("/deployment-events/", key, dep("api", "1.3", "live", "started", "invoke_id", "run-13")),
			428, "FLOW_VIOLATION", "Staging first")

		// The channel deleted on a gets nothing more from b: the next event
		// goes to a second channel only (the blocked start above went to
		// neither: they take deployment.completed).
		rcv2 := newReceiver(t)
		channel(t, a, adminA, map[string]any{"kind": "webhook", "name": "w2", "url": rcv2.URL, "events": []string{"deployment.completed"}})
		if r := a.do(http.MethodDelete, "/notification-channels/"+ch["id"].(string), adminA, nil); r.status/100 != 2 {
			t.Fatalf("delete channel: %d %s", r.status, r.body)
		}
		mustOK(t, b.post("/deployment-events/", key, dep("web", "2.0", "live", "success")))
		if p := rc(t, rcv2); p["product_name"] != "web" && p["product"] != "web" {
			t.Errorf("webhook to the second channel: %v", p)
		}
		// (A delivery row for the deleted channel would have failed the event
		// above on its foreign key; and none was sent.)
		if n := len(rcv.hits); n != 0 {
			t.Errorf("the deleted channel's receiver got %d more requests", n)
		}
	})
}
