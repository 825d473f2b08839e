package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// blockDetail returns detail of a preflight refusal body.
func blockDetail(t *testing.T, r resp) map[string]any {
	t.Helper()
	d, ok := r.json(t)["detail"].(map[string]any)
	if !ok {
		t.Fatalf("not a preflight body: %d %s", r.status, r.body)
	}
	return d
}

func expectBlock(t *testing.T, r resp, status int, code, ruleName string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	d := blockDetail(t, r)
	details, _ := d["details"].(map[string]any)
	if d["error"] != "deployment_blocked" || d["code"] != code || details["rule_name"] != ruleName || d["message"] == "" {
		t.Errorf("block body: %s", r.body)
	}
	return d
}

func TestPreflightRules(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		qa := s.user("acme", "qa@example.com", "Quinn", "qa")
		dev := s.user("acme", "dev@example.com", "Dee", "developer")
		rcv := newReceiver(t)
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "w", "url": rcv.URL, "events": []string{"deployment.preflight_failed"}})

		// Rules are managed by people with the right roles, and validated.
		flow := map[string]any{"name": "Staging first", "rule_type": "flow", "product_names": []string{"api"},
			"prerequisite_environments": []string{"staging"}, "target_environment": "production"}
		expectStatus(t, s.post("/deployment-rules/", key, flow), 403, "personal access token")
		expectStatus(t, s.post("/deployment-rules/", dev, flow), 403, "needs one of the roles")
		expectStatus(t, s.post("/deployment-rules/", admin, map[string]any{"name": "x", "rule_type": "vibes"}), 400, "rule_type")
		if r := s.post("/deployment-rules/", admin, flow); r.status != 201 {
			t.Fatalf("create rule: %d %s", r.status, r.body)
		}

		// Flow: production before staging is refused and the attempt kept.
		r := s.post("/deployment-events/", key, dep("api", "1.0", "production", "started", "invoke_id", "run-1"))
		expectBlock(t, r, 428, "FLOW_VIOLATION", "Staging first")
		p := rc(t, rcv)
		if p["event_type"] != "deployment.preflight_failed" || p["is_successful"] != false || p["preflight_status"] != "failed" {
			t.Errorf("preflight_failed webhook: %v", p)
		}
		kept := s.get("/deployments/?environment=production", key).items(t)
		if len(kept) != 1 || kept[0]["preflight_status"] != "failed" || kept[0]["status"] != "aborted" {
			t.Fatalf("blocked attempt: %v", kept)
		}
		// The dry run says the same and records nothing.
		pf := s.post("/preflight/", key, map[string]any{"product_name": "api", "version": "1.0", "environment_name": "production"})
		expectBlock(t, pf, 428, "FLOW_VIOLATION", "Staging first")
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "staging", "success")))
		if pf := s.post("/preflight/", key, map[string]any{"product_name": "api", "version": "1.0", "environment_name": "production"}); pf.status != 200 || pf.json(t)["allowed"] != true {
			t.Errorf("dry run after staging: %d %s", pf.status, pf.body)
		}
		if n := len(s.get("/deployments/?environment=production", key).items(t)); n != 1 {
			t.Errorf("the dry run recorded something: %d deployments", n)
		}
		// Retrying the refused run (same invoke id) now passes.
		ok := mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "started", "invoke_id", "run-1")))
		if ok["id"] != kept[0]["id"] || ok["status"] != "started" || ok["preflight_status"] != "passed" {
			t.Errorf("retried run: %v", ok)
		}

		// Concurrency: another version of api starting in production is refused.
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "staging", "success")))
		d := expectBlock(t, s.post("/deployment-events/", key, dep("api", "1.1", "production", "started")), 409, "CONCURRENT_DEPLOYMENT", "Concurrent deployments")
		if d["details"].(map[string]any)["conflicting_deployment_id"] != ok["id"] {
			t.Errorf("conflict names %v, want %v", d["details"], ok["id"])
		}
		rc(t, rcv)
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success", "invoke_id", "run-1")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "production", "started")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "production", "success")))

		// Version approval required, report-only first: allowed, with the warning where clients look.
		va := s.post("/deployment-rules/", admin, map[string]any{"name": "QA sign-off", "rule_type": "version_approval_required",
			"status": "report_only", "environment_names": []string{"production"}, "required_approval_types": []string{"qa"}})
		if va.status != 201 {
			t.Fatalf("create rule: %d %s", va.status, va.body)
		}
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.2", "staging", "success")))
		w := mustOK(t, s.post("/deployment-events/", key, dep("api", "1.2", "production", "started")))
		ps, _ := w["extra_metadata"].(map[string]any)["preflight_status"].(map[string]any)
		found := false
		for _, e := range ps["rules_evaluated"].([]any) {
			e := e.(map[string]any)
			if e["rule_name"] == "QA sign-off" && e["status"] == "report_only" && e["evaluation_result"] == "failed" && e["error_message"] != "" {
				found = true
			}
		}
		if !found || w["preflight_status"] != "passed" {
			t.Errorf("report-only warning missing: %v", w["extra_metadata"])
		}
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.2", "production", "success")))
		// Enforced: refused until QA signs the version off.
		mustOK(t, s.do(http.MethodPatch, "/deployment-rules/"+va.json(t)["id"].(string), admin, map[string]any{"status": "enabled"}))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.3", "staging", "success")))
		expectBlock(t, s.post("/deployment-events/", key, dep("api", "1.3", "production", "started")), 428, "QUALITY_APPROVAL_REQUIRED", "QA sign-off")
		rc(t, rcv)
		if r := s.post("/versions/api/1.3/approvals", qa, map[string]any{"approval_type": "qa"}); r.status != 201 {
			t.Fatalf("sign-off: %d %s", r.status, r.body)
		}
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.3", "production", "started")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.3", "production", "success")))

		// A no-deploy window now, for another product: 423 with retry_after.
		now := time.Now().UTC()
		win := s.post("/deployment-rules/", admin, map[string]any{"name": "Freeze", "rule_type": "schedule", "product_names": []string{"web"},
			"schedule": map[string]any{"recurrence": "once", "time_zone": "UTC", "start": now.Add(-time.Hour).Format("2006-01-02T15:04"),
				"end": now.Add(2 * time.Hour).Format("2006-01-02T15:04"), "reason": "Holiday freeze"}})
		if win.status != 201 {
			t.Fatalf("schedule rule: %d %s", win.status, win.body)
		}
		fd := expectBlock(t, s.post("/deployment-events/", key, dep("web", "5", "production", "started")), 423, "NO_DEPLOY_WINDOW", "Freeze")
		if ra, _ := fd["retry_after"].(string); ra == "" {
			t.Errorf("no retry_after: %v", fd)
		}
		rc(t, rcv)
		// skip_preflight_checks: honoured by default (the permission table's
		// field entry, then the org's setting: TestSkipPreflightPolicy).
		skip := dep("web", "5", "production", "started", "skip_preflight_checks", true)
		sk := mustOK(t, s.post("/deployment-events/", admin, skip))
		if sk["preflight_status"] != "skipped" {
			t.Errorf("skipped: %v", sk)
		}
		mustOK(t, s.post("/deployment-events/", admin, dep("web", "5", "production", "aborted")))
		if sk := mustOK(t, s.post("/deployment-events/", key, dep("web", "5b", "production", "started", "skip_preflight_checks", true))); sk["preflight_status"] != "skipped" {
			t.Errorf("skipped with the org key: %v", sk)
		}
		// Completed events are not judged (the run already happened).
		mustOK(t, s.post("/deployment-events/", key, dep("web", "6", "production", "success")))
	})
}

func TestDRRequiredRule(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		qa := s.user("acme", "qa@example.com", "Quinn", "qa")
		if r := s.post("/deployment-rules/", admin, map[string]any{"name": "Prod needs a DR", "rule_type": "deployment_request_required",
			"environment_names": []string{"production"}, "required_approval_types": []string{"qa"}}); r.status != 201 {
			t.Fatalf("rule: %d %s", r.status, r.body)
		}
		mustOK(t, s.post("/build-events/", key, build("api", "2.0", "completed")))
		blk := expectBlock(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "started")), 428, "APPROVAL_REQUIRED", "Prod needs a DR")
		if roles := fmt.Sprint(blk["details"].(map[string]any)["approver_roles"]); roles != "[owner admin release_manager qa]" {
			t.Errorf("approver_roles = %s", roles)
		}
		dr := s.post("/deployment-requests/", admin, map[string]any{"name": "api 2.0", "items": []map[string]string{{"product_name": "api", "version": "2.0"}},
			"environment_names": []string{"production"}, "approval_slots": []map[string]any{{"approval_type": "qa"}}}).json(t)
		id := dr["id"].(string)
		mustOK(t, s.post("/deployment-requests/"+id+"/activate", admin, nil))
		// Active but not yet approved: still refused.
		expectBlock(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "started")), 428, "APPROVAL_REQUIRED", "Prod needs a DR")
		slot := dr["approval_slots"].([]any)[0].(map[string]any)["id"].(string)
		mustOK(t, s.post("/deployment-requests/"+id+"/slots/"+slot+"/approve", qa, nil))
		if d := mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "started"))); d["preflight_status"] != "passed" {
			t.Errorf("after approval: %v", d)
		}
		// Staging is out of the rule's scope.
		mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "staging", "started")))
	})
}
