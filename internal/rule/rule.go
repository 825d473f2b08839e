package rule

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Type is a rule's kind.
type Type string

const (
	TypeSchedule                  Type = "schedule"
	TypeFlow                      Type = "flow"
	TypeDeploymentRequestRequired Type = "deployment_request_required"
	TypeVersionApprovalRequired   Type = "version_approval_required"
)

// typeOrder lists the rule types in evaluation order.
var typeOrder = [...]Type{TypeSchedule, TypeFlow, TypeDeploymentRequestRequired, TypeVersionApprovalRequired}

// Status is a rule's mode.
type Status string

const (
	StatusEnabled    Status = "enabled"
	StatusReportOnly Status = "report_only"
	StatusDisabled   Status = "disabled"
)

// Preflight codes (versioner.md §4.6), plus CodeInvalidRule for a stored rule
// that no longer validates (clients tolerate unknown codes).
const (
	CodeConcurrentDeployment    = "CONCURRENT_DEPLOYMENT"
	CodeNoDeployWindow          = "NO_DEPLOY_WINDOW"
	CodeFlowViolation           = "FLOW_VIOLATION"
	CodeInsufficientSoakTime    = "INSUFFICIENT_SOAK_TIME"
	CodeApprovalRequired        = "APPROVAL_REQUIRED"
	CodeQualityApprovalRequired = "QUALITY_APPROVAL_REQUIRED"
	CodeInvalidRule             = "INVALID_RULE"
)

// ConcurrencyRuleName is the rule_name of the built-in concurrency check.
const ConcurrencyRuleName = "Concurrent deployments"

// Evaluation results.
const (
	ResultPassed = "passed"
	ResultFailed = "failed"
)

// Recurrences of a schedule.
const (
	RecurrenceOnce    = "once"
	RecurrenceDaily   = "daily"
	RecurrenceWeekly  = "weekly"
	RecurrenceMonthly = "monthly"
)

// Limits Validate enforces.
const (
	MaxNameLength   = 200
	MaxListLength   = 100
	MaxReasonLength = 1000
	MaxSoakMinutes  = 366 * 24 * 60
)

// Layouts of Schedule.Start and Schedule.End.
const (
	OnceLayout  = "2006-01-02T15:04"
	ClockLayout = "15:04"
)

// Rule is one deployment rule. JSON names follow the API (rule_type, …), and
// Validate's messages name fields by them.
type Rule struct {
	ID                       string    `json:"id,omitempty"`
	Name                     string    `json:"name"`
	Type                     Type      `json:"rule_type"`
	Status                   Status    `json:"status"`
	ProductNames             []string  `json:"product_names,omitempty"`     // scope; exact names; empty = all
	EnvironmentNames         []string  `json:"environment_names,omitempty"` // scope; exact names; empty = all
	Schedule                 *Schedule `json:"schedule,omitempty"`          // schedule
	PrerequisiteEnvironments []string  `json:"prerequisite_environments,omitempty"`
	TargetEnvironment        string    `json:"target_environment,omitempty"` // flow: applies only when deploying here
	StrictOrder              bool      `json:"strict_order,omitempty"`       // flow: prerequisites reached in listed order
	SoakMinutes              int       `json:"soak_minutes,omitempty"`       // flow: minimum time since the (last) prerequisite completion
	RequiredApprovalTypes    []string  `json:"required_approval_types,omitempty"`
	AfterEnvironment         string    `json:"after_environment,omitempty"` // version approvals count only from the first completion there
}

// Schedule is a set of no-deploy windows (see the package comment for how
// local times map to instants).
type Schedule struct {
	Recurrence string   `json:"recurrence"`          // once, daily, weekly, monthly
	TimeZone   string   `json:"time_zone,omitempty"` // IANA; default UTC
	Start      string   `json:"start"`               // once: OnceLayout; others: ClockLayout
	End        string   `json:"end"`                 // as Start; recurring: End <= Start ends the next day
	Days       []string `json:"days,omitempty"`      // weekly: monday … sunday (any case)
	MonthDays  []int    `json:"month_days,omitempty"`
	Reason     string   `json:"reason,omitempty"`
}

// FieldError is what Validate returns: the offending field's API name and a
// message meant for the caller. Error() is "field: message".
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// Validate checks every field and returns the first problem, in field order,
// as a *FieldError (nil if the rule is valid). Status is required: callers
// that default it must do so first.
func (r *Rule) Validate() error {
	if err := r.validate(); err != nil {
		return err
	}
	return nil
}

func (r *Rule) validate() *FieldError {
	if strings.TrimSpace(r.Name) == "" {
		return fieldErr("name", "is required")
	}
	if r.Name != strings.TrimSpace(r.Name) {
		return fieldErr("name", "must not start or end with spaces")
	}
	if len(r.Name) > MaxNameLength {
		return fieldErr("name", "must be at most %d characters", MaxNameLength)
	}
	if !slices.Contains(typeOrder[:], r.Type) {
		return fieldErr("rule_type", "must be one of %s, got %q", joinTypeList(typeOrder[:]), r.Type)
	}
	if r.Status != StatusEnabled && r.Status != StatusReportOnly && r.Status != StatusDisabled {
		return fieldErr("status", "must be one of enabled, report_only, disabled, got %q", r.Status)
	}
	if err := validNames("product_names", r.ProductNames); err != nil {
		return err
	}
	if err := validNames("environment_names", r.EnvironmentNames); err != nil {
		return err
	}
	if err := r.onlyFor(); err != nil {
		return err
	}
	switch r.Type {
	case TypeSchedule:
		if r.Schedule == nil {
			return fieldErr("schedule", "is required for rule_type schedule")
		}
		if err := r.Schedule.validate(); err != nil {
			return err
		}
	case TypeFlow:
		if len(r.EnvironmentNames) > 0 {
			return fieldErr("environment_names", "must be empty for rule_type flow (it applies to target_environment)")
		}
		if len(r.PrerequisiteEnvironments) == 0 {
			return fieldErr("prerequisite_environments", "needs at least one environment for rule_type flow")
		}
		if err := validNames("prerequisite_environments", r.PrerequisiteEnvironments); err != nil {
			return err
		}
		if strings.TrimSpace(r.TargetEnvironment) == "" {
			return fieldErr("target_environment", "is required for rule_type flow")
		}
		if err := validName("target_environment", r.TargetEnvironment); err != nil {
			return err
		}
		if slices.Contains(r.PrerequisiteEnvironments, r.TargetEnvironment) {
			return fieldErr("prerequisite_environments", "must not contain the target environment %q", r.TargetEnvironment)
		}
		if r.SoakMinutes < 0 || r.SoakMinutes > MaxSoakMinutes {
			return fieldErr("soak_minutes", "must be between 0 and %d, got %d", MaxSoakMinutes, r.SoakMinutes)
		}
	case TypeDeploymentRequestRequired, TypeVersionApprovalRequired:
		if len(r.RequiredApprovalTypes) == 0 {
			return fieldErr("required_approval_types", "needs at least one approval type for rule_type %s", r.Type)
		}
		if err := validApprovalTypes(r.RequiredApprovalTypes); err != nil {
			return err
		}
		if r.AfterEnvironment != "" {
			if err := validName("after_environment", r.AfterEnvironment); err != nil {
				return err
			}
		}
	}
	return nil
}

// onlyFor rejects fields set on a rule type that does not use them, so a
// mistyped rule is not silently weaker than its author meant.
func (r *Rule) onlyFor() *FieldError {
	type field struct {
		name  string
		set   bool
		types []Type
	}
	flow := []Type{TypeFlow}
	approvals := []Type{TypeDeploymentRequestRequired, TypeVersionApprovalRequired}
	for _, f := range []field{
		{"schedule", r.Schedule != nil, []Type{TypeSchedule}},
		{"prerequisite_environments", len(r.PrerequisiteEnvironments) > 0, flow},
		{"target_environment", r.TargetEnvironment != "", flow},
		{"strict_order", r.StrictOrder, flow},
		{"soak_minutes", r.SoakMinutes != 0, flow},
		{"required_approval_types", len(r.RequiredApprovalTypes) > 0, approvals},
		{"after_environment", r.AfterEnvironment != "", []Type{TypeVersionApprovalRequired}},
	} {
		if f.set && !slices.Contains(f.types, r.Type) {
			return fieldErr(f.name, "is only for rule_type %s", joinTypeList(f.types))
		}
	}
	return nil
}

func validName(field, s string) *FieldError {
	switch {
	case strings.TrimSpace(s) == "":
		return fieldErr(field, "must not contain empty names")
	case s != strings.TrimSpace(s):
		return fieldErr(field, "%q must not start or end with spaces", s)
	case len(s) > MaxNameLength:
		return fieldErr(field, "names must be at most %d characters", MaxNameLength)
	}
	return nil
}

func validNames(field string, names []string) *FieldError {
	if len(names) > MaxListLength {
		return fieldErr(field, "must have at most %d entries", MaxListLength)
	}
	for i, n := range names {
		if err := validName(field, n); err != nil {
			return err
		}
		if slices.Contains(names[:i], n) {
			return fieldErr(field, "lists %q twice", n)
		}
	}
	return nil
}

// validApprovalTypes accepts machine values (qa, code_review, …): lowercase
// letters, digits, '_', '-' and '.'. Matching is exact, so "QA" would never
// be satisfied; rejecting it here catches the typo.
func validApprovalTypes(types []string) *FieldError {
	const field = "required_approval_types"
	if len(types) > MaxListLength {
		return fieldErr(field, "must have at most %d entries", MaxListLength)
	}
	for i, t := range types {
		if t == "" || len(t) > 64 || strings.Trim(t, "abcdefghijklmnopqrstuvwxyz0123456789_-.") != "" {
			return fieldErr(field, "%q is not an approval type (lowercase letters, digits, '_', '-', '.'; e.g. qa, security)", t)
		}
		if slices.Contains(types[:i], t) {
			return fieldErr(field, "lists %q twice", t)
		}
	}
	return nil
}

func joinTypeList(ts []Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// Attempt is the deployment being checked.
type Attempt struct {
	ProductName, Version, EnvironmentName string
	// DeploymentID optionally names the attempt's own deployment record; a
	// History.Running entry with that id is not a conflict.
	DeploymentID string
}

// Deployment is a recorded deployment. Status is canonical: pending,
// started, completed, failed or aborted.
type Deployment struct {
	ID, ProductName, Version, EnvironmentName, Status string
	StartedAt, CompletedAt                            time.Time
	// LastEventAt is when the run was last heard of (its latest event);
	// zero: StartedAt stands in. DeployedBy names who runs it, for the
	// refusal message; optional.
	LastEventAt time.Time
	DeployedBy  string
}

// VersionApproval is a sign-off recorded on the version.
type VersionApproval struct {
	Type, EnvironmentName string
	At                    time.Time
}

// DR is a deployment request.
type DR struct {
	ID, Name, Status string
	EnvironmentNames []string
	Items            []DRItem
	Slots            []Slot
}

// DRItem is one product version a DR ships.
type DRItem struct{ ProductName, Version string }

// Slot is one approval a DR asks for; Status is pending, approved or
// rejected. A deployment_request_required rule asks for its own listed
// types, so Required is not consulted; any rejected slot disqualifies the DR
// (one rejection rejects the whole request).
type Slot struct {
	ApprovalType, Status string
	Required             bool
}

// History is what the caller loads for one attempt.
type History struct {
	VersionDeployments []Deployment // this product+version's deployments in every environment (any status)
	Running            []Deployment // this product's started deployments in the target environment, other runs only
	VersionApprovals   []VersionApproval
	DRs                []DR // the org's in_progress or approved DRs that include this product+version
	// StaleAfter is the org's stale-run horizon: a Running deployment last
	// heard of at least this long ago is stale and blocks nothing. 0: runs
	// never go stale.
	StaleAfter time.Duration
}

// Evaluation is one line of extra_metadata.preflight_status.rules_evaluated.
type Evaluation struct {
	RuleName         string `json:"rule_name"`
	ErrorMessage     string `json:"error_message"`
	Status           string `json:"status"`            // the rule's mode
	EvaluationResult string `json:"evaluation_result"` // passed or failed
}

// Violation is a failed check, ready to become a preflight error body.
type Violation struct {
	HTTPStatus int
	Code       string
	Message    string
	RuleName   string
	RetryAfter *time.Time
	Details    map[string]any // code-specific keys (versioner.md §4.6); Body adds rule_name
}

// Verdict is the outcome of Evaluate.
type Verdict struct {
	Blocked   *Violation   // first enforced failure, nil if allowed
	Evaluated []Evaluation // every applicable non-disabled check, in evaluation order
	Warnings  []Evaluation // report_only failures, in evaluation order
	// Violations holds every failure (enforced or not), in evaluation order;
	// Blocked is the first enforced one.
	Violations []*Violation
}

// PreflightStatus is "failed" when the attempt is blocked, else "passed".
func (v Verdict) PreflightStatus() string {
	if v.Blocked != nil {
		return ResultFailed
	}
	return ResultPassed
}

// Body is the preflight error body the clients parse (versioner.md §4.6):
// {"detail": {"error": "deployment_blocked", "message", "code",
// "retry_after" (RFC 3339, UTC, rounded up to the second; omitted when
// unknown), "details": {"rule_name", …}}}.
func (v *Violation) Body() map[string]any {
	if v == nil {
		return nil
	}
	details := make(map[string]any, len(v.Details)+1)
	for k, val := range v.Details {
		details[k] = val
	}
	details["rule_name"] = v.RuleName
	d := map[string]any{
		"error":   "deployment_blocked",
		"message": v.Message,
		"code":    v.Code,
		"details": details,
	}
	if v.RetryAfter != nil {
		d["retry_after"] = formatRetryAfter(*v.RetryAfter)
	}
	return map[string]any{"detail": d}
}

// formatRetryAfter rounds up to the whole second so a client that retries at
// the given time is never early.
func formatRetryAfter(t time.Time) string {
	u := t.UTC()
	if tr := u.Truncate(time.Second); !tr.Equal(u) {
		u = tr.Add(time.Second)
	}
	return u.Format(time.RFC3339)
}
