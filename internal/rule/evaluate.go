package rule

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Evaluate decides whether attempt a may start now. It is pure: the verdict
// depends only on its arguments. See the package comment for the order and
// the semantics of each check.
func Evaluate(rules []Rule, a Attempt, h History, now time.Time) Verdict {
	var v Verdict
	record := func(name string, status Status, fail *Violation) {
		e := Evaluation{RuleName: name, Status: string(status), EvaluationResult: ResultPassed}
		if fail != nil {
			fail.RuleName = name
			e.ErrorMessage = fail.Message
			e.EvaluationResult = ResultFailed
			v.Violations = append(v.Violations, fail)
			if status == StatusReportOnly {
				v.Warnings = append(v.Warnings, e)
			} else if v.Blocked == nil {
				v.Blocked = fail
			}
		}
		v.Evaluated = append(v.Evaluated, e)
	}

	record(ConcurrencyRuleName, StatusEnabled, checkConcurrency(a, h, now))
	for _, r := range sortRules(rules) {
		if r.Status == StatusDisabled || !r.appliesTo(a) {
			continue
		}
		record(r.Name, r.Status, r.check(a, h, now))
	}
	return v
}

func typeRank(t Type) int {
	if i := slices.Index(typeOrder[:], t); i >= 0 {
		return i
	}
	return len(typeOrder)
}

// sortRules orders by type, name, id; equal keys keep their input order.
func sortRules(rules []Rule) []*Rule {
	out := make([]*Rule, len(rules))
	for i := range rules {
		out[i] = &rules[i]
	}
	slices.SortStableFunc(out, func(x, y *Rule) int {
		return cmp.Or(
			cmp.Compare(typeRank(x.Type), typeRank(y.Type)),
			strings.Compare(x.Name, y.Name),
			strings.Compare(x.ID, y.ID),
		)
	})
	return out
}

// appliesTo is the scope check: listed (or unrestricted) product and
// environment; flow rules only for their target environment.
func (r *Rule) appliesTo(a Attempt) bool {
	if len(r.ProductNames) > 0 && !slices.Contains(r.ProductNames, a.ProductName) {
		return false
	}
	if len(r.EnvironmentNames) > 0 && !slices.Contains(r.EnvironmentNames, a.EnvironmentName) {
		return false
	}
	if r.Type == TypeFlow && r.TargetEnvironment != a.EnvironmentName {
		return false
	}
	return true
}

// check evaluates one applicable rule; nil means it passed.
func (r *Rule) check(a Attempt, h History, now time.Time) *Violation {
	if err := r.validate(); err != nil {
		return &Violation{
			HTTPStatus: http.StatusPreconditionRequired,
			Code:       CodeInvalidRule,
			Message:    fmt.Sprintf("rule %q is invalid (%s); fix or disable it", r.Name, err),
			Details:    map[string]any{"rule_type": string(r.Type), "field": err.Field, "error": err.Message},
		}
	}
	switch r.Type {
	case TypeSchedule:
		return r.checkSchedule(now)
	case TypeFlow:
		return r.checkFlow(a, h, now)
	case TypeDeploymentRequestRequired:
		return r.checkDR(a, h)
	default:
		return r.checkVersionApproval(a, h, now)
	}
}

// Stale reports whether a running deployment has gone quiet for the
// stale-run horizon (0: never): at exactly the horizon it is stale.
func Stale(d Deployment, horizon time.Duration, now time.Time) bool {
	if horizon <= 0 {
		return false
	}
	last := d.LastEventAt
	if last.IsZero() {
		last = d.StartedAt
	}
	if last.IsZero() {
		return false // never heard of at a known time: not provably quiet
	}
	return !now.Before(last.Add(horizon))
}

func checkConcurrency(a Attempt, h History, now time.Time) *Violation {
	var running []Deployment
	for _, d := range h.Running {
		if (d.Status != "" && d.Status != "started") ||
			(a.DeploymentID != "" && d.ID == a.DeploymentID) ||
			!matches(d.ProductName, a.ProductName) || !matches(d.EnvironmentName, a.EnvironmentName) ||
			Stale(d, h.StaleAfter, now) {
			continue
		}
		running = append(running, d)
	}
	if len(running) == 0 {
		return nil
	}
	c := slices.MinFunc(running, func(x, y Deployment) int {
		return cmp.Or(x.StartedAt.Compare(y.StartedAt), strings.Compare(x.ID, y.ID))
	})
	status := cmp.Or(c.Status, "started")
	msg := fmt.Sprintf("another deployment of %s to %s is in progress (%s", a.ProductName, a.EnvironmentName, c.ID)
	if c.Version != "" {
		msg += ", version " + c.Version
	}
	if !c.StartedAt.IsZero() {
		msg += ", started " + c.StartedAt.UTC().Format(time.RFC3339)
	}
	if c.DeployedBy != "" {
		msg += " by " + c.DeployedBy
	}
	msg += ")"
	details := map[string]any{
		"conflicting_deployment_id":      c.ID,
		"conflicting_deployment_status":  status,
		"conflicting_deployment_started": timeOrNil(c.StartedAt, time.UTC),
		"conflicting_deployment_version": c.Version,
		"running_deployments":            len(running),
	}
	if c.DeployedBy != "" {
		details["conflicting_deployment_deployed_by"] = c.DeployedBy
	}
	if last := cmp.Or(c.LastEventAt, c.StartedAt); h.StaleAfter > 0 && !last.IsZero() {
		at := last.Add(h.StaleAfter).UTC().Format(time.RFC3339)
		details["conflicting_deployment_stale_at"] = at
		msg += fmt.Sprintf("; unless it finishes, it stops blocking at %s (%s after its last event)", at, Minutes(h.StaleAfter))
	}
	return &Violation{
		HTTPStatus: http.StatusConflict,
		Code:       CodeConcurrentDeployment,
		Message:    msg,
		Details:    details,
	}
}

// Minutes writes a horizon for people: "2 h", "90 min", "1 d 1 h".
func Minutes(d time.Duration) string {
	m := int(d / time.Minute)
	var parts []string
	for _, u := range []struct {
		n    int
		name string
	}{{24 * 60, "d"}, {60, "h"}, {1, "min"}} {
		if m >= u.n {
			parts = append(parts, fmt.Sprintf("%d %s", m/u.n, u.name))
			m %= u.n
		}
	}
	if len(parts) == 0 {
		return "0 min"
	}
	return strings.Join(parts, " ")
}

// matches treats an empty recorded value as "not given" (trusted).
func matches(recorded, want string) bool { return recorded == "" || recorded == want }

func timeOrNil(t time.Time, loc *time.Location) any {
	if t.IsZero() {
		return nil
	}
	return t.In(loc).Format(time.RFC3339)
}

func (r *Rule) checkSchedule(now time.Time) *Violation {
	c, _ := r.Schedule.compile() // validated by check
	w, ok := c.active(now)
	if !ok {
		return nil
	}
	zone := c.loc.String()
	msg := fmt.Sprintf("deployments are blocked by no-deploy window %q", r.Name)
	var retry *time.Time
	if !w.End.IsZero() {
		end := w.End.UTC()
		retry = &end
		msg += " until " + w.End.In(c.loc).Format(time.RFC3339) + " (" + zone + ")"
	}
	if r.Schedule.Reason != "" {
		msg += ": " + r.Schedule.Reason
	}
	return &Violation{
		HTTPStatus: http.StatusLocked,
		Code:       CodeNoDeployWindow,
		Message:    msg,
		RetryAfter: retry,
		Details: map[string]any{
			"window_name":  r.Name,
			"window_start": timeOrNil(w.Start, c.loc),
			"window_end":   timeOrNil(w.End, c.loc),
			"reason":       r.Schedule.Reason,
			"time_zone":    zone,
			"recurrence":   r.Schedule.Recurrence,
		},
	}
}

// firstCompletions maps each environment to the version's first completion
// there.
func firstCompletions(a Attempt, h History, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, d := range h.VersionDeployments {
		if d.Status != "completed" || !matches(d.ProductName, a.ProductName) || !matches(d.Version, a.Version) {
			continue
		}
		t := d.CompletedAt
		if t.IsZero() {
			t = d.StartedAt
		}
		if t.IsZero() {
			t = now // completed at an unknown time: no soak credit
		}
		if prev, ok := out[d.EnvironmentName]; !ok || t.Before(prev) {
			out[d.EnvironmentName] = t
		}
	}
	return out
}

func (r *Rule) checkFlow(a Attempt, h History, now time.Time) *Violation {
	done := firstCompletions(a, h, now)
	prereqs := slices.Clone(r.PrerequisiteEnvironments)
	var missing []string
	for _, env := range prereqs {
		if _, ok := done[env]; !ok {
			missing = append(missing, env)
		}
	}
	details := map[string]any{
		"prerequisite_environments": prereqs,
		"target_environment":        r.TargetEnvironment,
		"strict_order":              r.StrictOrder,
	}
	if len(missing) > 0 {
		details["missing_environments"] = missing
		return &Violation{
			HTTPStatus: http.StatusPreconditionRequired,
			Code:       CodeFlowViolation,
			Message: fmt.Sprintf("%s %s must be deployed to %s before %s; not yet completed in %s",
				a.ProductName, a.Version, strings.Join(prereqs, ", "), r.TargetEnvironment, strings.Join(missing, ", ")),
			Details: details,
		}
	}
	if r.StrictOrder {
		for i := 1; i < len(prereqs); i++ {
			before, after := prereqs[i-1], prereqs[i]
			if done[after].Before(done[before]) {
				reached := slices.Clone(prereqs)
				slices.SortStableFunc(reached, func(x, y string) int { return done[x].Compare(done[y]) })
				details["missing_environments"] = []string{}
				details["completed_order"] = reached
				return &Violation{
					HTTPStatus: http.StatusPreconditionRequired,
					Code:       CodeFlowViolation,
					Message: fmt.Sprintf("%s %s must reach %s in that order before %s; it completed in %s before %s",
						a.ProductName, a.Version, strings.Join(prereqs, ", "), r.TargetEnvironment, after, before),
					Details: details,
				}
			}
		}
	}
	if r.SoakMinutes == 0 {
		return nil
	}
	last := prereqs[0]
	for _, env := range prereqs[1:] {
		if done[env].After(done[last]) {
			last = env
		}
	}
	since := done[last]
	need := time.Duration(r.SoakMinutes) * time.Minute
	elapsed := now.Sub(since)
	if elapsed >= need {
		return nil
	}
	ready := since.Add(need).UTC()
	details["soak_environment"] = last
	details["soak_started"] = since.UTC().Format(time.RFC3339)
	details["soak_required_minutes"] = r.SoakMinutes
	details["soak_elapsed_minutes"] = int(max(elapsed, 0) / time.Minute)
	return &Violation{
		HTTPStatus: http.StatusPreconditionRequired,
		Code:       CodeInsufficientSoakTime,
		Message: fmt.Sprintf("%s %s must soak %s in %s before %s; %s so far, allowed from %s",
			a.ProductName, a.Version, minutes(r.SoakMinutes), last, r.TargetEnvironment,
			minutes(int(max(elapsed, 0)/time.Minute)), ready.Format(time.RFC3339)),
		RetryAfter: &ready,
		Details:    details,
	}
}

func minutes(n int) string {
	if n == 1 {
		return "1 minute"
	}
	return fmt.Sprintf("%d minutes", n)
}

// drCandidate is a DR that covers the attempt, with the required types it has
// approved.
type drCandidate struct {
	dr       *DR
	approved []string
}

func (r *Rule) checkDR(a Attempt, h History) *Violation {
	var best *drCandidate
	for i := range h.DRs {
		dr := &h.DRs[i]
		if !dr.covers(a) {
			continue
		}
		c := &drCandidate{dr: dr}
		for _, t := range r.RequiredApprovalTypes {
			if slices.ContainsFunc(dr.Slots, func(s Slot) bool { return s.ApprovalType == t && s.Status == "approved" }) {
				c.approved = append(c.approved, t)
			}
		}
		if len(c.approved) == len(r.RequiredApprovalTypes) {
			return nil
		}
		if best == nil || len(c.approved) > len(best.approved) ||
			(len(c.approved) == len(best.approved) && dr.ID < best.dr.ID) {
			best = c
		}
	}
	required := slices.Clone(r.RequiredApprovalTypes)
	details := map[string]any{
		"required_approvals":      len(required),
		"current_approvals":       0,
		"required_approval_types": required,
		"approved_approval_types": []string{},
		"missing_approval_types":  slices.Clone(required),
	}
	msg := fmt.Sprintf("%s deployment of %s %s requires an approved deployment request with %s approval(s)",
		a.EnvironmentName, a.ProductName, a.Version, strings.Join(required, ", "))
	if best == nil {
		msg += "; no active deployment request covers it"
	} else {
		missing := without(required, best.approved)
		details["current_approvals"] = len(best.approved)
		details["approved_approval_types"] = nonNil(best.approved)
		details["missing_approval_types"] = missing
		details["deployment_request_id"] = best.dr.ID
		details["deployment_request_name"] = best.dr.Name
		details["deployment_request_status"] = best.dr.Status
		msg += fmt.Sprintf("; deployment request %q is missing %s", cmp.Or(best.dr.Name, best.dr.ID), strings.Join(missing, ", "))
	}
	return &Violation{
		HTTPStatus: http.StatusPreconditionRequired,
		Code:       CodeApprovalRequired,
		Message:    msg,
		Details:    details,
	}
}

// covers: active (in_progress or approved, no rejected slot), for the
// target environment, shipping this product version.
func (d *DR) covers(a Attempt) bool {
	if d.Status != "in_progress" && d.Status != "approved" {
		return false
	}
	if slices.ContainsFunc(d.Slots, func(s Slot) bool { return s.Status == "rejected" }) {
		return false
	}
	return slices.Contains(d.EnvironmentNames, a.EnvironmentName) &&
		slices.Contains(d.Items, DRItem{ProductName: a.ProductName, Version: a.Version})
}

func (r *Rule) checkVersionApproval(a Attempt, h History, now time.Time) *Violation {
	required := slices.Clone(r.RequiredApprovalTypes)
	details := map[string]any{
		"required_approvals":      len(required),
		"required_approval_types": required,
	}
	var since time.Time
	deployedThere := true
	if r.AfterEnvironment != "" {
		details["after_environment"] = r.AfterEnvironment
		since, deployedThere = firstCompletions(a, h, now)[r.AfterEnvironment]
		details["after_environment_completed_at"] = timeOrNil(since, time.UTC)
	}
	var have []string
	if deployedThere {
		for _, t := range required {
			if slices.ContainsFunc(h.VersionApprovals, func(va VersionApproval) bool {
				return va.Type == t && !va.At.Before(since)
			}) {
				have = append(have, t)
			}
		}
	}
	if len(have) == len(required) {
		return nil
	}
	missing := without(required, have)
	details["current_approvals"] = len(have)
	details["approved_approval_types"] = nonNil(have)
	details["missing_approval_types"] = missing
	msg := fmt.Sprintf("%s %s requires %s approval(s) before deploying to %s; missing %s",
		a.ProductName, a.Version, strings.Join(required, ", "), a.EnvironmentName, strings.Join(missing, ", "))
	switch {
	case r.AfterEnvironment != "" && !deployedThere:
		msg += fmt.Sprintf(" (approvals count only once it has completed in %s, which it has not)", r.AfterEnvironment)
	case r.AfterEnvironment != "":
		msg += fmt.Sprintf(" (approvals count only from its completion in %s at %s)",
			r.AfterEnvironment, since.UTC().Format(time.RFC3339))
	}
	return &Violation{
		HTTPStatus: http.StatusPreconditionRequired,
		Code:       CodeQualityApprovalRequired,
		Message:    msg,
		Details:    details,
	}
}

func without(all, remove []string) []string {
	out := []string{}
	for _, s := range all {
		if !slices.Contains(remove, s) {
			out = append(out, s)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
