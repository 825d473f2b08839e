package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// Issue 12: a pending deployment is a queue entry. It is stored as pending
// and never judged: no concurrency conflict, no no-deploy window, no
// preflight_failed, whatever it carries. Its started is judged as usual.
func TestPendingIsNotJudged(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := startWith(t, app.Config{DB: db, Clock: fakeclock.New(fakeclock.Epoch)}) // 14:00 UTC
		key := s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		rcv, refused := newReceiver(t), newReceiver(t) // deliveries may arrive in any order: one receiver per type
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "w", "url": rcv.URL, "events": []string{"deployment.pending"}})
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "r", "url": refused.URL,
			"events": []string{"deployment.preflight_failed"}})

		v1 := mustOK(t, s.post("/deployment-events/", key, dep("api", "1", "production", "started", "invoke_id", "run-1")))
		// Queue v2 while v1 runs: stored pending, not a conflict.
		q := mustOK(t, s.post("/deployment-events/", key, dep("api", "2", "production", "pending", "invoke_id", "run-2")))
		if q["status"] != "pending" || q["event_type"] != "deployment.pending" || q["preflight_status"] != nil {
			t.Fatalf("queued v2: %v", q)
		}
		if p := rc(t, rcv); p["event_type"] != "deployment.pending" {
			t.Fatalf("webhook: %v", p)
		}
		// A no-deploy window does not refuse a queue entry either.
		if r := s.post("/deployment-rules/", admin, map[string]any{"name": "Freeze", "rule_type": "schedule",
			"schedule": map[string]any{"recurrence": "daily", "time_zone": "UTC", "start": "13:00", "end": "15:00"}}); r.status != 201 {
			t.Fatalf("rule: %d %s", r.status, r.body)
		}
		q3 := mustOK(t, s.post("/deployment-events/", key, dep("api", "3", "production", "queued", "invoke_id", "run-3")))
		if q3["status"] != "pending" {
			t.Fatalf("queued v3 under a freeze: %v", q3)
		}
		// skip_preflight_checks on a pending event means nothing: not refused
		// even when the org lets nobody skip.
		mustOK(t, s.do(http.MethodPatch, "/org-settings/", admin, map[string]any{"skip_preflight_checks": "nobody"}))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "4", "production", "pending", "skip_preflight_checks", true)))
		for range 2 {
			if p := rc(t, rcv); p["event_type"] != "deployment.pending" {
				t.Errorf("webhook: %v", p)
			}
		}
		got := mustOK(t, s.get("/deployments/"+q["id"].(string), key))
		if got["status"] != "pending" || got["preflight_status"] != nil {
			t.Errorf("stored queue entry: %v", got)
		}
		// The dry run still judges a start.
		expectBlock(t, s.post("/preflight/", key, map[string]any{"product_name": "api", "version": "2", "environment_name": "production"}),
			409, "CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		// v2's start is judged: v1 still runs, so it is refused and its queue
		// entry becomes the refused attempt.
		d := expectBlock(t, s.post("/deployment-events/", key, dep("api", "2", "production", "started", "invoke_id", "run-2")),
			409, "CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		if d["details"].(map[string]any)["conflicting_deployment_id"] != v1["id"] {
			t.Errorf("conflict: %v", d)
		}
		if p := rc(t, refused); p["event_type"] != "deployment.preflight_failed" || p["id"] != q["id"] {
			t.Errorf("refused start webhook: %v", p)
		}
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1", "production", "success", "invoke_id", "run-1")))
		// Freeze aside (report-only), v2 may now start; v3 and v4 still wait in the queue.
		rules := s.get("/deployment-rules/", admin).items(t)
		mustOK(t, s.do(http.MethodPatch, "/deployment-rules/"+rules[0]["id"].(string), admin, map[string]any{"status": "report_only"}))
		if r := mustOK(t, s.post("/deployment-events/", key, dep("api", "2", "production", "started", "invoke_id", "run-2"))); r["preflight_status"] != "passed" {
			t.Errorf("v2 start after v1: %v", r)
		}
		pending := s.get("/deployments/?environment=production&status=pending", key).items(t)
		if len(pending) != 2 {
			t.Errorf("queue entries: %d, want 2 (v3, v4)", len(pending))
		}
		refused.none(t)
	})
}

// stuck starts a run of api at version v in production, deployed by Jane.
func stuck(t *testing.T, s *server, key, v string) map[string]any {
	t.Helper()
	return mustOK(t, s.post("/deployment-events/", key, dep("api", v, "production", "started", "invoke_id", "run-"+v,
		"deployed_by", "jdoe", "deployed_by_name", "Jane Doe")))
}

// Issue 12: a started run that never finishes stops blocking once it has
// been quiet for the org's stale horizon (default 2 h); until then the
// refusal names it and says how to clear it.
func TestStaleRunsStopBlocking(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		clock := fakeclock.New(fakeclock.Epoch)
		s := startWith(t, app.Config{DB: db, Clock: clock})
		key := s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")

		set := mustOK(t, s.get("/org-settings/", key))
		if set["stale_run_minutes"] != 120.0 || set["skip_preflight_checks"] != "anyone" || set["updated_at"] != nil {
			t.Fatalf("default settings: %v", set)
		}
		started := fakeclock.Epoch
		v1 := stuck(t, s, key, "1")
		id := v1["id"].(string)

		// One microsecond before the horizon: still blocking, and the refusal
		// says which run, whose, since when, until when, and the way out.
		clock.Advance(2*time.Hour - time.Microsecond)
		d := expectBlock(t, s.post("/deployment-events/", key, dep("api", "2", "production", "started")), 409,
			"CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		msg, details := d["message"].(string), d["details"].(map[string]any)
		for _, want := range []string{id, "version 1", "started " + started.Format(time.RFC3339), "by Jane Doe",
			"stops blocking at " + started.Add(2*time.Hour).Format(time.RFC3339), "Mark aborted", s.url + "/ui/deployments/" + id,
			"POST /deployments/" + id + "/abort"} {
			if !strings.Contains(msg, want) {
				t.Errorf("message lacks %q: %s", want, msg)
			}
		}
		if details["conflicting_deployment_deployed_by"] != "Jane Doe" || details["conflicting_deployment_url"] != s.url+"/ui/deployments/"+id ||
			details["conflicting_deployment_stale_at"] != started.Add(2*time.Hour).Format(time.RFC3339) {
			t.Errorf("details: %v", details)
		}
		// Exactly at the horizon: stale, the next start passes, no preflight_failed.
		clock.Advance(time.Microsecond)
		ok := mustOK(t, s.post("/deployment-events/", key, dep("api", "3", "production", "started")))
		if ok["preflight_status"] != "passed" || ok["status"] != "started" {
			t.Fatalf("start at the horizon: %v", ok)
		}
		// The stale run itself is left as it was: only its pipeline (or a
		// person) can say how it ended.
		if got := mustOK(t, s.get("/deployments/"+id, key)); got["status"] != "started" {
			t.Errorf("stale run: %v", got["status"])
		}

		// A run that keeps reporting is not stale: its last event counts.
		mustOK(t, s.post("/deployment-events/", key, dep("api", "3", "production", "success")))
		clock.Advance(time.Hour)
		v5 := stuck(t, s, key, "5")
		clock.Advance(90 * time.Minute)
		mustOK(t, s.post("/deployment-events/", key, dep("api", "5", "production", "started", "invoke_id", "run-5"))) // heartbeat
		clock.Advance(119 * time.Minute)
		d = expectBlock(t, s.post("/deployment-events/", key, dep("api", "6", "production", "started")), 409,
			"CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		if d["details"].(map[string]any)["conflicting_deployment_id"] != v5["id"] {
			t.Errorf("conflict after a heartbeat: %v", d)
		}
		// The dry run agrees with the event endpoint, then both pass.
		expectBlock(t, s.post("/preflight/", key, map[string]any{"product_name": "api", "version": "6", "environment_name": "production"}),
			409, "CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		clock.Advance(time.Minute)
		if r := s.post("/preflight/", key, map[string]any{"product_name": "api", "version": "6", "environment_name": "production"}); r.status != 200 {
			t.Errorf("dry run at the horizon: %d %s", r.status, r.body)
		}

		// The horizon is the org's: 0 turns staleness off.
		expectStatus(t, s.do(http.MethodPatch, "/org-settings/", admin, map[string]any{"stale_run_minutes": -1}), 400, "stale_run_minutes")
		set = mustOK(t, s.do(http.MethodPatch, "/org-settings/", admin, map[string]any{"stale_run_minutes": 0}))
		if set["stale_run_minutes"] != 0.0 || set["skip_preflight_checks"] != "anyone" || set["updated_by"] != "Ada <ada@example.com>" {
			t.Errorf("settings after the change: %v", set)
		}
		d = expectBlock(t, s.post("/deployment-events/", key, dep("api", "7", "production", "started")), 409,
			"CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		if m := d["message"].(string); strings.Contains(m, "stops blocking") || !strings.Contains(m, "Mark aborted") {
			t.Errorf("message with staleness off: %s", m)
		}
	})
}

// Issue 12: POST /deployments/{id}/abort (the console's "Mark aborted")
// clears a stuck run; it records who and why on the timeline and notifies.
func TestMarkAborted(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		other := s.org("globex")
		dev := s.user("acme", "dee@example.com", "Dee", "developer")
		viewer := s.user("acme", "vi@example.com", "Vi", "viewer")
		rcv := newReceiver(t)
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "w", "url": rcv.URL, "events": []string{"deployment.aborted"}})
		v1 := stuck(t, s, key, "1")
		id := v1["id"].(string)
		path := "/deployments/" + id + "/abort"

		expectStatus(t, s.post(path, viewer, nil), 403, "roles")
		expectStatus(t, s.post(path, other, nil), 404, "")
		expectStatus(t, s.post("/deployments/not-an-id/abort", key, nil), 404, "")
		expectStatus(t, s.post(path, dev, map[string]any{"reason": strings.Repeat("x", 1001)}), 400, "reason")
		expectStatus(t, s.post(path, dev, map[string]any{"reason": "bad\u0000byte"}), 400, "Field 'reason' contains a NUL character")
		expectStatus(t, s.post(path, dev, map[string]any{"because": "x"}), 400, "because")
		if got := mustOK(t, s.get("/deployments/"+id, key)); got["status"] != "started" {
			t.Fatalf("a refused abort changed the run: %v", got["status"])
		}

		ab := mustOK(t, s.post(path, dev, map[string]any{"reason": "runner died"}))
		if ab["status"] != "aborted" || ab["event_type"] != "deployment.aborted" || ab["completed_at"] == nil {
			t.Fatalf("aborted: %v", ab)
		}
		if p := rc(t, rcv); p["event_type"] != "deployment.aborted" || p["id"] != id || p["deployer"] != "Jane Doe" {
			t.Errorf("webhook: %v", p)
		}
		events := mustOK(t, s.get("/deployments/"+id, key))["events"].([]any)
		last := events[len(events)-1].(map[string]any)
		by, _ := last["submitted_by"].(map[string]any)
		if len(events) != 2 || last["event_type"] != "deployment.aborted" || by["kind"] != "user" || by["email"] != "dee@example.com" ||
			!strings.Contains(fmt.Sprint(last["payload"]), "runner died") {
			t.Errorf("timeline: %v", events)
		}
		// Cleared: the next run starts. A finished run cannot be aborted.
		mustOK(t, s.post("/deployment-events/", key, dep("api", "2", "production", "started")))
		expectStatus(t, s.post(path, key, nil), 409, "already aborted")

		// An abort racing the pipeline's own outcome: one after the other,
		// whichever first; the outcome the pipeline reports always stands.
		for i := range 8 {
			v := fmt.Sprintf("r%d", i)
			run := mustOK(t, s.post("/deployment-events/", key, dep("web", v, "production", "started", "invoke_id", v)))
			var wg sync.WaitGroup
			var abort, done resp
			wg.Add(2)
			go func() { defer wg.Done(); abort = s.post("/deployments/"+run["id"].(string)+"/abort", key, nil) }()
			go func() {
				defer wg.Done()
				done = s.post("/deployment-events/", key, dep("web", v, "production", "success", "invoke_id", v))
			}()
			wg.Wait()
			if done.status != 200 || (abort.status != 200 && abort.status != 409) {
				t.Fatalf("race %d: abort %d %s, success %d %s", i, abort.status, abort.body, done.status, done.body)
			}
			got := mustOK(t, s.get("/deployments/"+run["id"].(string), key))
			want := 2
			if abort.status == 200 {
				want = 3
				rc(t, rcv)
			}
			if got["status"] != "completed" || len(got["events"].([]any)) != want {
				t.Errorf("race %d (abort %d): status %v, %d events, want completed and %d", i, abort.status, got["status"],
					len(got["events"].([]any)), want)
			}
		}
	})
}
