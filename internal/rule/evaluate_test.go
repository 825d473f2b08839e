package rule_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/rule"
)

// now is a Sunday afternoon in UTC.
var now = time.Date(2026, 5, 24, 14, 0, 0, 0, time.UTC)

func mins(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }

var attempt = rule.Attempt{ProductName: "api", Version: "1.2.3", EnvironmentName: "production"}

func completed(env string, at time.Time) rule.Deployment {
	return rule.Deployment{ID: "d-" + env, ProductName: "api", Version: "1.2.3", EnvironmentName: env,
		Status: "completed", StartedAt: at.Add(-5 * time.Minute), CompletedAt: at}
}

func running(id string, started time.Time) rule.Deployment {
	return rule.Deployment{ID: id, ProductName: "api", Version: "1.2.2", EnvironmentName: "production",
		Status: "started", StartedAt: started}
}

func scheduleRule(name string, s rule.Schedule) rule.Rule {
	return rule.Rule{Name: name, Type: rule.TypeSchedule, Status: rule.StatusEnabled, Schedule: &s}
}

// activeFreeze blocks now (13:00–15:00 UTC); quietHours does not.
var (
	activeFreeze = func() rule.Rule {
		r := scheduleRule("Afternoon freeze", daily("UTC", "13:00", "15:00"))
		r.Schedule.Reason = "release train"
		return r
	}()
	quietHours = scheduleRule("Quiet hours", daily("UTC", "01:00", "02:00"))
)

func flowRule(name string, prereqs ...string) rule.Rule {
	return rule.Rule{Name: name, Type: rule.TypeFlow, Status: rule.StatusEnabled,
		PrerequisiteEnvironments: prereqs, TargetEnvironment: "production"}
}

func drRule(types ...string) rule.Rule {
	return rule.Rule{Name: "Prod DR", Type: rule.TypeDeploymentRequestRequired, Status: rule.StatusEnabled,
		RequiredApprovalTypes: types}
}

func vaRule(after string, types ...string) rule.Rule {
	return rule.Rule{Name: "Sign-off", Type: rule.TypeVersionApprovalRequired, Status: rule.StatusEnabled,
		RequiredApprovalTypes: types, AfterEnvironment: after}
}

func dr(id, status string, slots ...rule.Slot) rule.DR {
	return rule.DR{ID: id, Name: "Release " + id, Status: status, EnvironmentNames: []string{"staging", "production"},
		Items: []rule.DRItem{{ProductName: "web", Version: "9"}, {ProductName: "api", Version: "1.2.3"}}, Slots: slots}
}

func slot(typ, status string) rule.Slot {
	return rule.Slot{ApprovalType: typ, Status: status, Required: true}
}

func with(r rule.Rule, mut func(*rule.Rule)) rule.Rule { mut(&r); return r }

const concurrency = rule.ConcurrencyRuleName

// ev formats an evaluation line as "name status result".
func ev(name, status, result string) string { return name + " " + status + " " + result }

func passedConcurrency() string { return ev(concurrency, "enabled", "passed") }

func TestEvaluate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rules   []rule.Rule
		h       rule.History
		a       *rule.Attempt // default attempt
		now     time.Time     // default now
		code    string        // blocked code; "" = allowed
		status  int
		blocker string
		retry   time.Time
		details map[string]any // subset of Blocked.Details, compared as JSON
		evals   []string
		warns   []string
	}{
		{name: "nothing to check", evals: []string{passedConcurrency()}},

		// Concurrency.
		{name: "another run in progress", h: rule.History{Running: []rule.Deployment{running("d-9", mins(-20))}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "d-9", "conflicting_deployment_status": "started",
				"conflicting_deployment_started": "2026-05-24T13:40:00Z", "conflicting_deployment_version": "1.2.2"},
			evals: []string{ev(concurrency, "enabled", "failed")}},
		{name: "the earliest of several runs is reported",
			h:    rule.History{Running: []rule.Deployment{running("d-2", mins(-5)), running("d-1", mins(-30)), running("d-3", mins(-1))}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "d-1", "running_deployments": 3},
			evals:   []string{ev(concurrency, "enabled", "failed")}},
		{name: "the attempt's own record is not a conflict",
			a: &rule.Attempt{ProductName: "api", Version: "1.2.3", EnvironmentName: "production", DeploymentID: "me"},
			h: rule.History{Running: []rule.Deployment{running("me", mins(-1))}}, evals: []string{passedConcurrency()}},
		{name: "finished, other-environment and other-product runs are ignored",
			h: rule.History{Running: []rule.Deployment{
				with2(running("a", mins(-1)), func(d *rule.Deployment) { d.Status = "completed" }),
				with2(running("b", mins(-1)), func(d *rule.Deployment) { d.EnvironmentName = "staging" }),
				with2(running("c", mins(-1)), func(d *rule.Deployment) { d.ProductName = "web" }),
			}},
			evals: []string{passedConcurrency()}},
		{name: "a run with empty identifying fields is trusted",
			h:    rule.History{Running: []rule.Deployment{{ID: "x"}}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "x", "conflicting_deployment_status": "started",
				"conflicting_deployment_started": nil},
			evals: []string{ev(concurrency, "enabled", "failed")}},

		// Stale runs: quiet for the horizon (2 h here) or longer, a run blocks nothing.
		{name: "a run quiet for exactly the horizon is stale",
			h:     rule.History{StaleAfter: 2 * time.Hour, Running: []rule.Deployment{running("d-9", mins(-120))}},
			evals: []string{passedConcurrency()}},
		{name: "a run quiet for just under the horizon still blocks, naming when it stops",
			h: rule.History{StaleAfter: 2 * time.Hour, Running: []rule.Deployment{
				with2(running("d-9", mins(-120).Add(time.Microsecond)), func(d *rule.Deployment) { d.DeployedBy = "Jane Doe" })}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "d-9", "conflicting_deployment_deployed_by": "Jane Doe",
				"conflicting_deployment_stale_at": "2026-05-24T14:00:00Z"},
			evals: []string{ev(concurrency, "enabled", "failed")}},
		{name: "a later event keeps a long run alive",
			h: rule.History{StaleAfter: 2 * time.Hour, Running: []rule.Deployment{
				with2(running("d-9", mins(-600)), func(d *rule.Deployment) { d.LastEventAt = mins(-119) })}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "d-9", "conflicting_deployment_stale_at": "2026-05-24T14:01:00Z"},
			evals:   []string{ev(concurrency, "enabled", "failed")}},
		{name: "a stale run does not hide a live one",
			h:    rule.History{StaleAfter: time.Hour, Running: []rule.Deployment{running("old", mins(-300)), running("live", mins(-10))}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "live", "running_deployments": 1},
			evals:   []string{ev(concurrency, "enabled", "failed")}},
		{name: "horizon 0: runs never go stale",
			h:    rule.History{Running: []rule.Deployment{running("d-9", mins(-60*24*365))}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "d-9"},
			evals:   []string{ev(concurrency, "enabled", "failed")}},
		{name: "a run with no known time is never provably stale",
			h:    rule.History{StaleAfter: time.Minute, Running: []rule.Deployment{{ID: "x"}}},
			code: rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			details: map[string]any{"conflicting_deployment_id": "x"},
			evals:   []string{ev(concurrency, "enabled", "failed")}},

		// Schedule.
		{name: "inside a no-deploy window", rules: []rule.Rule{activeFreeze},
			code: rule.CodeNoDeployWindow, status: 423, blocker: "Afternoon freeze", retry: mins(60),
			details: map[string]any{"window_name": "Afternoon freeze", "window_start": "2026-05-24T13:00:00Z",
				"window_end": "2026-05-24T15:00:00Z", "reason": "release train", "time_zone": "UTC", "recurrence": "daily"},
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "enabled", "failed")}},
		{name: "window details are in the rule's zone",
			rules: []rule.Rule{scheduleRule("Berlin freeze", daily(berlin, "15:00", "17:00"))},
			code:  rule.CodeNoDeployWindow, status: 423, blocker: "Berlin freeze", retry: mins(60),
			details: map[string]any{"window_start": "2026-05-24T15:00:00+02:00", "window_end": "2026-05-24T17:00:00+02:00",
				"time_zone": berlin, "reason": ""},
			evals: []string{passedConcurrency(), ev("Berlin freeze", "enabled", "failed")}},
		{name: "outside every window", rules: []rule.Rule{quietHours},
			evals: []string{passedConcurrency(), ev("Quiet hours", "enabled", "passed")}},
		{name: "touching windows: retry after the last", now: time.Date(2026, 5, 23, 10, 0, 0, 0, time.UTC),
			rules: []rule.Rule{scheduleRule("Weekend", weekly("UTC", "00:00", "00:00", "saturday", "sunday"))},
			code:  rule.CodeNoDeployWindow, status: 423, blocker: "Weekend", retry: time.Date(2026, 5, 25, 0, 0, 0, 0, time.UTC),
			evals: []string{passedConcurrency(), ev("Weekend", "enabled", "failed")}},

		// Scope.
		{name: "scope: product listed", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.ProductNames = []string{"web", "api"} })},
			code: rule.CodeNoDeployWindow, status: 423, blocker: "Afternoon freeze", retry: mins(60),
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "enabled", "failed")}},
		{name: "scope: product not listed", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.ProductNames = []string{"web"} })},
			evals: []string{passedConcurrency()}},
		{name: "scope: names are case-sensitive", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.ProductNames = []string{"API"} })},
			evals: []string{passedConcurrency()}},
		{name: "scope: environment listed", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.EnvironmentNames = []string{"production"} })},
			code: rule.CodeNoDeployWindow, status: 423, blocker: "Afternoon freeze", retry: mins(60),
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "enabled", "failed")}},
		{name: "scope: environment not listed", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.EnvironmentNames = []string{"staging"} })},
			evals: []string{passedConcurrency()}},
		{name: "scope: product listed but environment not", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) {
			r.ProductNames, r.EnvironmentNames = []string{"api"}, []string{"staging"}
		})}, evals: []string{passedConcurrency()}},
		{name: "scope: flow applies only to its target",
			rules: []rule.Rule{with(flowRule("Staging first", "staging"), func(r *rule.Rule) { r.TargetEnvironment = "canary" })},
			evals: []string{passedConcurrency()}},

		// Modes.
		{name: "disabled rules are not evaluated", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.Status = rule.StatusDisabled })},
			evals: []string{passedConcurrency()}},
		{name: "report_only failure warns and allows", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.Status = rule.StatusReportOnly })},
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "report_only", "failed")},
			warns: []string{ev("Afternoon freeze", "report_only", "failed")}},
		{name: "report_only pass is listed, not warned", rules: []rule.Rule{with(quietHours, func(r *rule.Rule) { r.Status = rule.StatusReportOnly })},
			evals: []string{passedConcurrency(), ev("Quiet hours", "report_only", "passed")}},
		{name: "an unknown status is enforced", rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.Status = "block" })},
			code: rule.CodeInvalidRule, status: 428, blocker: "Afternoon freeze",
			details: map[string]any{"field": "status", "rule_type": "schedule"},
			evals:   []string{passedConcurrency(), ev("Afternoon freeze", "block", "failed")}},
		{name: "an applicable invalid rule fails closed",
			rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) {
				r.Schedule = &rule.Schedule{Recurrence: "daily", TimeZone: "Mars/Olympus", Start: "01:00", End: "02:00"}
			})},
			code: rule.CodeInvalidRule, status: 428, blocker: "Afternoon freeze",
			details: map[string]any{"field": "schedule.time_zone"},
			evals:   []string{passedConcurrency(), ev("Afternoon freeze", "enabled", "failed")}},

		// Flow.
		{name: "flow: prerequisite missing", rules: []rule.Rule{flowRule("Staging first", "staging", "canary")},
			h:    rule.History{VersionDeployments: []rule.Deployment{completed("canary", mins(-90))}},
			code: rule.CodeFlowViolation, status: 428, blocker: "Staging first",
			details: map[string]any{"missing_environments": []string{"staging"}, "prerequisite_environments": []string{"staging", "canary"},
				"target_environment": "production", "strict_order": false},
			evals: []string{passedConcurrency(), ev("Staging first", "enabled", "failed")}},
		{name: "flow: failed, aborted, started and other versions' deployments do not count",
			rules: []rule.Rule{flowRule("Staging first", "staging")},
			h: rule.History{VersionDeployments: []rule.Deployment{
				with2(completed("staging", mins(-90)), func(d *rule.Deployment) { d.Status = "failed" }),
				with2(completed("staging", mins(-80)), func(d *rule.Deployment) { d.Status = "aborted" }),
				with2(completed("staging", mins(-70)), func(d *rule.Deployment) { d.Status = "started" }),
				with2(completed("staging", mins(-60)), func(d *rule.Deployment) { d.Version = "1.2.2" }),
				with2(completed("staging", mins(-60)), func(d *rule.Deployment) { d.ProductName = "web" }),
			}},
			code: rule.CodeFlowViolation, status: 428, blocker: "Staging first",
			details: map[string]any{"missing_environments": []string{"staging"}},
			evals:   []string{passedConcurrency(), ev("Staging first", "enabled", "failed")}},
		{name: "flow: all prerequisites completed, any order",
			rules: []rule.Rule{flowRule("Staging first", "staging", "canary")},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("canary", mins(-90)), completed("staging", mins(-60))}},
			evals: []string{passedConcurrency(), ev("Staging first", "enabled", "passed")}},
		{name: "flow strict: out of order",
			rules: []rule.Rule{with(flowRule("Ordered", "staging", "canary"), func(r *rule.Rule) { r.StrictOrder = true })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("canary", mins(-90)), completed("staging", mins(-60))}},
			code:  rule.CodeFlowViolation, status: 428, blocker: "Ordered",
			details: map[string]any{"completed_order": []string{"canary", "staging"}, "missing_environments": []string{}, "strict_order": true},
			evals:   []string{passedConcurrency(), ev("Ordered", "enabled", "failed")}},
		{name: "flow strict: first completions decide (a later redeploy does not reorder)",
			rules: []rule.Rule{with(flowRule("Ordered", "staging", "canary"), func(r *rule.Rule) { r.StrictOrder = true })},
			h: rule.History{VersionDeployments: []rule.Deployment{
				completed("staging", mins(-30)), completed("canary", mins(-60)), completed("staging", mins(-90)),
			}},
			evals: []string{passedConcurrency(), ev("Ordered", "enabled", "passed")}},
		{name: "flow strict: equal times pass",
			rules: []rule.Rule{with(flowRule("Ordered", "staging", "canary"), func(r *rule.Rule) { r.StrictOrder = true })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("canary", mins(-60)), completed("staging", mins(-60))}},
			evals: []string{passedConcurrency(), ev("Ordered", "enabled", "passed")}},
		{name: "flow soak: too short, retry when the latest prerequisite has soaked",
			rules: []rule.Rule{with(flowRule("Soak", "staging", "canary"), func(r *rule.Rule) { r.SoakMinutes = 60 })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-30)), completed("canary", mins(-15))}},
			code:  rule.CodeInsufficientSoakTime, status: 428, blocker: "Soak", retry: mins(45),
			details: map[string]any{"soak_environment": "canary", "soak_required_minutes": 60, "soak_elapsed_minutes": 15,
				"soak_started": "2026-05-24T13:45:00Z"},
			evals: []string{passedConcurrency(), ev("Soak", "enabled", "failed")}},
		{name: "flow soak: retry is exact to the nanosecond",
			rules: []rule.Rule{with(flowRule("Soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 1440 })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-90).Add(1500*time.Millisecond))}},
			code:  rule.CodeInsufficientSoakTime, status: 428, blocker: "Soak", retry: mins(1440 - 90).Add(1500 * time.Millisecond),
			details: map[string]any{"soak_elapsed_minutes": 89},
			evals:   []string{passedConcurrency(), ev("Soak", "enabled", "failed")}},
		{name: "flow soak: exactly enough",
			rules: []rule.Rule{with(flowRule("Soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 60 })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-60))}},
			evals: []string{passedConcurrency(), ev("Soak", "enabled", "passed")}},
		{name: "flow soak: counted from the first completion in the environment",
			rules: []rule.Rule{with(flowRule("Soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 60 })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-5)), completed("staging", mins(-120))}},
			evals: []string{passedConcurrency(), ev("Soak", "enabled", "passed")}},
		{name: "flow soak: missing CompletedAt falls back to StartedAt",
			rules: []rule.Rule{with(flowRule("Soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 60 })},
			h: rule.History{VersionDeployments: []rule.Deployment{
				{ProductName: "api", Version: "1.2.3", EnvironmentName: "staging", Status: "completed", StartedAt: mins(-50)},
			}},
			code: rule.CodeInsufficientSoakTime, status: 428, blocker: "Soak", retry: mins(10),
			evals: []string{passedConcurrency(), ev("Soak", "enabled", "failed")}},
		{name: "flow soak: no time at all gets no soak credit",
			rules: []rule.Rule{with(flowRule("Soak", "staging"), func(r *rule.Rule) { r.SoakMinutes = 60 })},
			h:     rule.History{VersionDeployments: []rule.Deployment{{EnvironmentName: "staging", Status: "completed"}}},
			code:  rule.CodeInsufficientSoakTime, status: 428, blocker: "Soak", retry: mins(60),
			evals: []string{passedConcurrency(), ev("Soak", "enabled", "failed")}},
		{name: "flow: missing environments are reported before soak",
			rules: []rule.Rule{with(flowRule("Soak", "staging", "canary"), func(r *rule.Rule) { r.SoakMinutes = 60 })},
			h:     rule.History{VersionDeployments: []rule.Deployment{completed("staging", mins(-5))}},
			code:  rule.CodeFlowViolation, status: 428, blocker: "Soak",
			evals: []string{passedConcurrency(), ev("Soak", "enabled", "failed")}},

		// Deployment request required.
		{name: "dr: none at all", rules: []rule.Rule{drRule("qa", "security")},
			code: rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			details: map[string]any{"required_approvals": 2, "current_approvals": 0, "missing_approval_types": []string{"qa", "security"},
				"required_approval_types": []string{"qa", "security"}, "approved_approval_types": []string{}},
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: in progress with every listed type approved",
			rules: []rule.Rule{drRule("qa", "security")},
			h:     rule.History{DRs: []rule.DR{dr("7", "in_progress", slot("qa", "approved"), slot("security", "approved"), slot("uat", "pending"))}},
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "passed")}},
		{name: "dr: approved DR", rules: []rule.Rule{drRule("qa")},
			h:     rule.History{DRs: []rule.DR{dr("7", "approved", slot("qa", "approved"))}},
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "passed")}},
		{name: "dr: one type still pending",
			rules: []rule.Rule{drRule("qa", "security")},
			h:     rule.History{DRs: []rule.DR{dr("7", "in_progress", slot("qa", "approved"), slot("security", "pending"))}},
			code:  rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			details: map[string]any{"required_approvals": 2, "current_approvals": 1, "missing_approval_types": []string{"security"},
				"approved_approval_types": []string{"qa"}, "deployment_request_id": "7", "deployment_request_name": "Release 7",
				"deployment_request_status": "in_progress"},
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: the closest DR is reported",
			rules: []rule.Rule{drRule("qa", "security", "uat")},
			h: rule.History{DRs: []rule.DR{
				dr("1", "in_progress", slot("qa", "approved")),
				dr("2", "in_progress", slot("qa", "approved"), slot("uat", "approved")),
				dr("3", "in_progress"),
			}},
			code: rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			details: map[string]any{"current_approvals": 2, "deployment_request_id": "2", "missing_approval_types": []string{"security"}},
			evals:   []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: approvals split across DRs do not add up",
			rules: []rule.Rule{drRule("qa", "security")},
			h:     rule.History{DRs: []rule.DR{dr("1", "in_progress", slot("qa", "approved")), dr("2", "in_progress", slot("security", "approved"))}},
			code:  rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			details: map[string]any{"current_approvals": 1, "deployment_request_id": "1"},
			evals:   []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: draft, rejected, completed and cancelled DRs do not count",
			rules: []rule.Rule{drRule("qa")},
			h: rule.History{DRs: []rule.DR{
				dr("1", "draft", slot("qa", "approved")), dr("2", "rejected", slot("qa", "approved")),
				dr("3", "completed", slot("qa", "approved")), dr("4", "cancelled", slot("qa", "approved")),
			}},
			code: rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			details: map[string]any{"current_approvals": 0},
			evals:   []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: a rejected slot disqualifies the DR",
			rules: []rule.Rule{drRule("qa")},
			h:     rule.History{DRs: []rule.DR{dr("1", "in_progress", slot("qa", "approved"), slot("security", "rejected"))}},
			code:  rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: for another environment",
			rules: []rule.Rule{drRule("qa")},
			h: rule.History{DRs: []rule.DR{with3(dr("1", "approved", slot("qa", "approved")), func(d *rule.DR) {
				d.EnvironmentNames = []string{"staging"}
			})}},
			code: rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},
		{name: "dr: for another version",
			rules: []rule.Rule{drRule("qa")},
			h: rule.History{DRs: []rule.DR{with3(dr("1", "approved", slot("qa", "approved")), func(d *rule.DR) {
				d.Items = []rule.DRItem{{ProductName: "api", Version: "1.2.2"}}
			})}},
			code: rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			evals: []string{passedConcurrency(), ev("Prod DR", "enabled", "failed")}},

		// Version approval required.
		{name: "va: present", rules: []rule.Rule{vaRule("", "qa", "security")},
			h:     rule.History{VersionApprovals: []rule.VersionApproval{{Type: "security", At: mins(-10)}, {Type: "qa", At: mins(-300)}}},
			evals: []string{passedConcurrency(), ev("Sign-off", "enabled", "passed")}},
		{name: "va: one missing", rules: []rule.Rule{vaRule("", "qa", "security")},
			h:    rule.History{VersionApprovals: []rule.VersionApproval{{Type: "qa", At: mins(-10)}, {Type: "uat", At: mins(-10)}}},
			code: rule.CodeQualityApprovalRequired, status: 428, blocker: "Sign-off",
			details: map[string]any{"required_approvals": 2, "current_approvals": 1, "missing_approval_types": []string{"security"},
				"approved_approval_types": []string{"qa"}, "required_approval_types": []string{"qa", "security"}},
			evals: []string{passedConcurrency(), ev("Sign-off", "enabled", "failed")}},
		{name: "va after staging: approvals before the first completion there do not count",
			rules: []rule.Rule{vaRule("staging", "qa")},
			h: rule.History{
				VersionDeployments: []rule.Deployment{completed("staging", mins(-60)), completed("staging", mins(-20))},
				VersionApprovals:   []rule.VersionApproval{{Type: "qa", At: mins(-61)}},
			},
			code: rule.CodeQualityApprovalRequired, status: 428, blocker: "Sign-off",
			details: map[string]any{"after_environment": "staging", "after_environment_completed_at": "2026-05-24T13:00:00Z",
				"current_approvals": 0, "missing_approval_types": []string{"qa"}},
			evals: []string{passedConcurrency(), ev("Sign-off", "enabled", "failed")}},
		{name: "va after staging: an approval at the completion instant counts",
			rules: []rule.Rule{vaRule("staging", "qa")},
			h: rule.History{
				VersionDeployments: []rule.Deployment{completed("staging", mins(-60))},
				VersionApprovals:   []rule.VersionApproval{{Type: "qa", At: mins(-61)}, {Type: "qa", At: mins(-60)}},
			},
			evals: []string{passedConcurrency(), ev("Sign-off", "enabled", "passed")}},
		{name: "va after staging: never completed there, nothing counts",
			rules: []rule.Rule{vaRule("staging", "qa")},
			h: rule.History{
				VersionDeployments: []rule.Deployment{with2(completed("staging", mins(-60)), func(d *rule.Deployment) { d.Status = "failed" })},
				VersionApprovals:   []rule.VersionApproval{{Type: "qa", At: mins(-1)}},
			},
			code: rule.CodeQualityApprovalRequired, status: 428, blocker: "Sign-off",
			details: map[string]any{"after_environment_completed_at": nil, "current_approvals": 0},
			evals:   []string{passedConcurrency(), ev("Sign-off", "enabled", "failed")}},

		// Ordering.
		{name: "order: concurrency first, then schedule, flow, DR, version approval",
			rules: []rule.Rule{vaRule("", "qa"), drRule("qa"), flowRule("Staging first", "staging"), activeFreeze},
			h:     rule.History{Running: []rule.Deployment{running("d-9", mins(-20))}},
			code:  rule.CodeConcurrentDeployment, status: 409, blocker: concurrency,
			evals: []string{ev(concurrency, "enabled", "failed"), ev("Afternoon freeze", "enabled", "failed"),
				ev("Staging first", "enabled", "failed"), ev("Prod DR", "enabled", "failed"), ev("Sign-off", "enabled", "failed")}},
		{name: "order: without concurrency the schedule wins",
			rules: []rule.Rule{vaRule("", "qa"), drRule("qa"), flowRule("Staging first", "staging"), activeFreeze},
			code:  rule.CodeNoDeployWindow, status: 423, blocker: "Afternoon freeze", retry: mins(60),
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "enabled", "failed"),
				ev("Staging first", "enabled", "failed"), ev("Prod DR", "enabled", "failed"), ev("Sign-off", "enabled", "failed")}},
		{name: "order: within a type by name",
			rules: []rule.Rule{with(activeFreeze, func(r *rule.Rule) { r.Name = "B freeze" }), quietHours,
				with(activeFreeze, func(r *rule.Rule) { r.Name = "A freeze" })},
			code: rule.CodeNoDeployWindow, status: 423, blocker: "A freeze", retry: mins(60),
			evals: []string{passedConcurrency(), ev("A freeze", "enabled", "failed"), ev("B freeze", "enabled", "failed"),
				ev("Quiet hours", "enabled", "passed")}},
		{name: "order: an unknown rule type sorts last and fails closed",
			rules: []rule.Rule{{Name: "Aardvark", Type: "max_concurrency", Status: rule.StatusEnabled}, vaRule("", "qa")},
			h:     rule.History{VersionApprovals: []rule.VersionApproval{{Type: "qa"}}},
			code:  rule.CodeInvalidRule, status: 428, blocker: "Aardvark",
			details: map[string]any{"field": "rule_type", "rule_type": "max_concurrency"},
			evals:   []string{passedConcurrency(), ev("Sign-off", "enabled", "passed"), ev("Aardvark", "enabled", "failed")}},
		{name: "order: a report_only failure before an enforced one",
			rules: []rule.Rule{drRule("qa"), with(activeFreeze, func(r *rule.Rule) { r.Status = rule.StatusReportOnly })},
			code:  rule.CodeApprovalRequired, status: 428, blocker: "Prod DR",
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "report_only", "failed"), ev("Prod DR", "enabled", "failed")},
			warns: []string{ev("Afternoon freeze", "report_only", "failed")}},
		{name: "order: several report_only failures, nothing blocks",
			rules: []rule.Rule{with(drRule("qa"), func(r *rule.Rule) { r.Status = rule.StatusReportOnly }),
				with(activeFreeze, func(r *rule.Rule) { r.Status = rule.StatusReportOnly }), quietHours},
			evals: []string{passedConcurrency(), ev("Afternoon freeze", "report_only", "failed"), ev("Quiet hours", "enabled", "passed"),
				ev("Prod DR", "report_only", "failed")},
			warns: []string{ev("Afternoon freeze", "report_only", "failed"), ev("Prod DR", "report_only", "failed")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a, n := attempt, now
			if tt.a != nil {
				a = *tt.a
			}
			if !tt.now.IsZero() {
				n = tt.now
			}
			v := rule.Evaluate(tt.rules, a, tt.h, n)
			if got := lines(v.Evaluated); !slices.Equal(got, tt.evals) {
				t.Errorf("Evaluated =\n  %q\nwant\n  %q", got, tt.evals)
			}
			if got := lines(v.Warnings); !slices.Equal(got, tt.warns) {
				t.Errorf("Warnings = %q, want %q", got, tt.warns)
			}
			if tt.code == "" {
				if v.Blocked != nil {
					t.Fatalf("Blocked = %+v, want allowed", v.Blocked)
				}
				if v.PreflightStatus() != "passed" {
					t.Errorf("PreflightStatus = %q", v.PreflightStatus())
				}
				return
			}
			b := v.Blocked
			if b == nil {
				t.Fatalf("allowed, want %s", tt.code)
			}
			if v.PreflightStatus() != "failed" {
				t.Errorf("PreflightStatus = %q", v.PreflightStatus())
			}
			if b.Code != tt.code || b.HTTPStatus != tt.status || b.RuleName != tt.blocker {
				t.Errorf("Blocked = %s %d %q, want %s %d %q", b.Code, b.HTTPStatus, b.RuleName, tt.code, tt.status, tt.blocker)
			}
			if b.Message == "" {
				t.Error("empty message")
			}
			switch {
			case tt.retry.IsZero() && b.RetryAfter != nil:
				t.Errorf("RetryAfter = %v, want none", *b.RetryAfter)
			case !tt.retry.IsZero() && (b.RetryAfter == nil || !b.RetryAfter.Equal(tt.retry)):
				t.Errorf("RetryAfter = %v, want %v", b.RetryAfter, tt.retry)
			}
			for k, want := range tt.details {
				got, ok := b.Details[k]
				if !ok {
					t.Errorf("details[%q] missing (have %v)", k, b.Details)
					continue
				}
				if g, w := jsonOf(t, got), jsonOf(t, want); g != w {
					t.Errorf("details[%q] = %s, want %s", k, g, w)
				}
			}
			// The blocking evaluation carries the violation's message.
			i := slices.IndexFunc(v.Evaluated, func(e rule.Evaluation) bool { return e.RuleName == b.RuleName })
			if i < 0 || v.Evaluated[i].ErrorMessage != b.Message {
				t.Errorf("Evaluated has no line for %q with its message", b.RuleName)
			}
		})
	}
}

func with2(d rule.Deployment, mut func(*rule.Deployment)) rule.Deployment { mut(&d); return d }
func with3(d rule.DR, mut func(*rule.DR)) rule.DR                         { mut(&d); return d }

func lines(es []rule.Evaluation) []string {
	var out []string
	for _, e := range es {
		out = append(out, ev(e.RuleName, e.Status, e.EvaluationResult))
		if (e.EvaluationResult == "failed") != (e.ErrorMessage != "") {
			out = append(out, fmt.Sprintf("(bad error_message %q for %s)", e.ErrorMessage, e.EvaluationResult))
		}
	}
	return out
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEvaluateIgnoresInputOrder(t *testing.T) {
	t.Parallel()
	rules := []rule.Rule{vaRule("", "qa"), drRule("qa"), flowRule("Staging first", "staging"), activeFreeze, quietHours,
		with(activeFreeze, func(r *rule.Rule) { r.Name = "A"; r.Status = rule.StatusReportOnly })}
	want := rule.Evaluate(rules, attempt, rule.History{}, now)
	for i := range 20 {
		shuffled := slices.Clone(rules)
		// A deterministic permutation per iteration.
		for j := range shuffled {
			k := (j*7 + i*3) % len(shuffled)
			shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
		}
		got := rule.Evaluate(shuffled, attempt, rule.History{}, now)
		if jsonOf(t, got.Evaluated) != jsonOf(t, want.Evaluated) || got.Blocked.RuleName != want.Blocked.RuleName {
			t.Fatalf("permutation %d: %v, want %v", i, lines(got.Evaluated), lines(want.Evaluated))
		}
	}
}

func TestEvaluateDoesNotModifyInputs(t *testing.T) {
	t.Parallel()
	rules := []rule.Rule{with(flowRule("F", "staging", "canary"), func(r *rule.Rule) { r.SoakMinutes = 60; r.StrictOrder = true }),
		drRule("qa"), activeFreeze}
	before := jsonOf(t, rules)
	v := rule.Evaluate(rules, attempt, rule.History{VersionDeployments: []rule.Deployment{completed("canary", mins(-5)), completed("staging", mins(-1))}}, now)
	// Mutating returned details must not reach the rule either.
	for _, vi := range v.Violations {
		for k, d := range vi.Details {
			if s, ok := d.([]string); ok && len(s) > 0 {
				s[0] = "mutated " + k
			}
		}
	}
	if after := jsonOf(t, rules); after != before {
		t.Fatalf("rules changed:\n%s\n%s", before, after)
	}
}

func TestMinutes(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{0: "0 min", time.Minute: "1 min", 90 * time.Minute: "1 h 30 min",
		2 * time.Hour: "2 h", 25 * time.Hour: "1 d 1 h", 30 * 24 * time.Hour: "30 d"} {
		if got := rule.Minutes(d); got != want {
			t.Errorf("Minutes(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestConcurrencyMessageNamesTheRun(t *testing.T) {
	t.Parallel()
	d := running("d-9", mins(-30))
	d.DeployedBy = "Jane Doe"
	v := rule.Evaluate(nil, attempt, rule.History{StaleAfter: 2 * time.Hour, Running: []rule.Deployment{d}}, now)
	want := "another deployment of api to production is in progress (d-9, version 1.2.2, started 2026-05-24T13:30:00Z by Jane Doe); " +
		"unless it finishes, it stops blocking at 2026-05-24T15:30:00Z (2 h after its last event)"
	if v.Blocked == nil || v.Blocked.Message != want {
		t.Fatalf("message:\n%v\nwant\n%s", v.Blocked, want)
	}
}
