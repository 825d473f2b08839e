package rule_test

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/rule"
)

func compact(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	return b.String()
}

// TestBodyJSON pins the exact preflight error bodies (versioner.md §4.6,
// nested under "detail" as the CLI and the GitHub Action parse them).
func TestBodyJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		rules []rule.Rule
		h     rule.History
		want  string
	}{
		{"concurrency", nil, rule.History{Running: []rule.Deployment{running("d-9", mins(-20))}}, `{"detail": {
			"code": "CONCURRENT_DEPLOYMENT",
			"details": {"conflicting_deployment_id": "d-9", "conflicting_deployment_started": "2026-05-24T13:40:00Z",
				"conflicting_deployment_status": "started", "conflicting_deployment_version": "1.2.2",
				"rule_name": "Concurrent deployments", "running_deployments": 1},
			"error": "deployment_blocked",
			"message": "another deployment of api to production is in progress (d-9, version 1.2.2, started 2026-05-24T13:40:00Z)"}}`},
		{"schedule", []rule.Rule{activeFreeze}, rule.History{}, `{"detail": {
			"code": "NO_DEPLOY_WINDOW",
			"details": {"reason": "release train", "recurrence": "daily", "rule_name": "Afternoon freeze", "time_zone": "UTC",
				"window_end": "2026-05-24T15:00:00Z", "window_name": "Afternoon freeze", "window_start": "2026-05-24T13:00:00Z"},
			"error": "deployment_blocked",
			"message": "deployments are blocked by no-deploy window \"Afternoon freeze\" until 2026-05-24T15:00:00Z (UTC): release train",
			"retry_after": "2026-05-24T15:00:00Z"}}`},
		{"flow", []rule.Rule{flowRule("Staging first", "staging", "canary")},
			rule.History{VersionDeployments: []rule.Deployment{completed("canary", mins(-1))}}, `{"detail": {
			"code": "FLOW_VIOLATION",
			"details": {"missing_environments": ["staging"], "prerequisite_environments": ["staging", "canary"],
				"rule_name": "Staging first", "strict_order": false, "target_environment": "production"},
			"error": "deployment_blocked",
			"message": "api 1.2.3 must be deployed to staging, canary before production; not yet completed in staging"}}`},
		{"soak, retry_after rounded up to the second",
			[]rule.Rule{with(flowRule("Staging soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 1440 })},
			rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-90).Add(1500*time.Millisecond))}}, `{"detail": {
			"code": "INSUFFICIENT_SOAK_TIME",
			"details": {"prerequisite_environments": ["staging"], "rule_name": "Staging soak", "soak_elapsed_minutes": 89,
				"soak_environment": "staging", "soak_required_minutes": 1440, "soak_started": "2026-05-24T12:30:01Z",
				"strict_order": false, "target_environment": "production"},
			"error": "deployment_blocked",
			"message": "api 1.2.3 must soak 1440 minutes in staging before production; 89 minutes so far, allowed from 2026-05-25T12:30:01Z",
			"retry_after": "2026-05-25T12:30:02Z"}}`},
		{"dr", []rule.Rule{drRule("qa", "security")},
			rule.History{DRs: []rule.DR{dr("7", "in_progress", slot("qa", "approved"), slot("security", "pending"))}}, `{"detail": {
			"code": "APPROVAL_REQUIRED",
			"details": {"approved_approval_types": ["qa"], "current_approvals": 1, "deployment_request_id": "7",
				"deployment_request_name": "Release 7", "deployment_request_status": "in_progress",
				"missing_approval_types": ["security"], "required_approval_types": ["qa", "security"],
				"required_approvals": 2, "rule_name": "Prod DR"},
			"error": "deployment_blocked",
			"message": "production deployment of api 1.2.3 requires an approved deployment request with qa, security approval(s); deployment request \"Release 7\" is missing security"}}`},
		{"version approval", []rule.Rule{vaRule("staging", "qa")},
			rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-90))}}, `{"detail": {
			"code": "QUALITY_APPROVAL_REQUIRED",
			"details": {"after_environment": "staging", "after_environment_completed_at": "2026-05-24T12:30:00Z",
				"approved_approval_types": [], "current_approvals": 0, "missing_approval_types": ["qa"],
				"required_approval_types": ["qa"], "required_approvals": 1, "rule_name": "Sign-off"},
			"error": "deployment_blocked",
			"message": "api 1.2.3 requires qa approval(s) before deploying to production; missing qa (approvals count only from its completion in staging at 2026-05-24T12:30:00Z)"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := rule.Evaluate(tt.rules, attempt, tt.h, now)
			if v.Blocked == nil {
				t.Fatal("not blocked")
			}
			if got, want := jsonOf(t, v.Blocked.Body()), compact(t, tt.want); got != want {
				t.Errorf("Body() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// TestBodyAsClientsParseIt decodes the body the way the CLI
// (internal/api/client.go) and the GitHub Action read it.
func TestBodyAsClientsParseIt(t *testing.T) {
	t.Parallel()
	v := rule.Evaluate([]rule.Rule{activeFreeze}, attempt, rule.History{}, now)
	raw := jsonOf(t, v.Blocked.Body())
	var body struct {
		Detail struct {
			Error      string         `json:"error"`
			Message    string         `json:"message"`
			Code       string         `json:"code"`
			RetryAfter string         `json:"retry_after"`
			Details    map[string]any `json:"details"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(raw), &body); err != nil {
		t.Fatal(err)
	}
	d := body.Detail
	if d.Error != "deployment_blocked" || d.Code != "NO_DEPLOY_WINDOW" || d.Details["rule_name"] != "Afternoon freeze" || d.Message == "" {
		t.Errorf("parsed %+v", d)
	}
	if ra, err := time.Parse(time.RFC3339, d.RetryAfter); err != nil || !ra.Equal(mins(60)) {
		t.Errorf("retry_after %q (%v)", d.RetryAfter, err)
	}
}

func TestSoakMessageSingular(t *testing.T) {
	t.Parallel()
	r := with(flowRule("Soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 1 })
	v := rule.Evaluate([]rule.Rule{r}, attempt, rule.History{VersionDeployments: []rule.Deployment{completed("staging", now)}}, now)
	if want := "api 1.2.3 must soak 1 minute in staging before production; 0 minutes so far, allowed from 2026-05-24T14:01:00Z"; v.Blocked == nil || v.Blocked.Message != want {
		t.Errorf("Blocked = %+v, want message %q", v.Blocked, want)
	}
}

func TestBodyDetailsAreCopied(t *testing.T) {
	t.Parallel()
	v := &rule.Violation{Code: "X", RuleName: "r", Details: map[string]any{"k": 1}}
	b := v.Body()
	b["detail"].(map[string]any)["details"].(map[string]any)["k"] = 2
	if v.Details["k"] != 1 || len(v.Details) != 1 {
		t.Errorf("Body wrote into Details: %v", v.Details)
	}
	if got := jsonOf(t, v.Body()); got != `{"detail":{"code":"X","details":{"k":1,"rule_name":"r"},"error":"deployment_blocked","message":""}}` {
		t.Errorf("Body() = %s", got)
	}
	var nilV *rule.Violation
	if nilV.Body() != nil {
		t.Error("nil Violation has a body")
	}
}

// TestReportOnlyMetadata pins the rules_evaluated entries the GitHub Action
// turns into warnings (status report_only, evaluation_result failed).
func TestReportOnlyMetadata(t *testing.T) {
	t.Parallel()
	rules := []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.Status = rule.StatusReportOnly }), quietHours}
	v := rule.Evaluate(rules, attempt, rule.History{}, now)
	if v.Blocked != nil || v.PreflightStatus() != "passed" {
		t.Fatalf("blocked: %+v", v.Blocked)
	}
	want := compact(t, `[
		{"rule_name": "Concurrent deployments", "error_message": "", "status": "enabled", "evaluation_result": "passed"},
		{"rule_name": "Afternoon freeze",
		 "error_message": "deployments are blocked by no-deploy window \"Afternoon freeze\" until 2026-05-24T15:00:00Z (UTC): release train",
		 "status": "report_only", "evaluation_result": "failed"},
		{"rule_name": "Quiet hours", "error_message": "", "status": "enabled", "evaluation_result": "passed"}]`)
	if got := jsonOf(t, v.Evaluated); got != want {
		t.Errorf("rules_evaluated =\n%s\nwant\n%s", got, want)
	}
	if got := jsonOf(t, v.Warnings); got != compact(t, `[{"rule_name": "Afternoon freeze",
		"error_message": "deployments are blocked by no-deploy window \"Afternoon freeze\" until 2026-05-24T15:00:00Z (UTC): release train",
		"status": "report_only", "evaluation_result": "failed"}]`) {
		t.Errorf("Warnings = %s", got)
	}
	if len(v.Violations) != 1 || v.Violations[0].Code != rule.CodeNoDeployWindow {
		t.Errorf("Violations = %+v", v.Violations)
	}
}
