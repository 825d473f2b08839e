package rule_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/rule"
)

func validRules() map[string]rule.Rule {
	s := daily(berlin, "17:00", "09:00")
	return map[string]rule.Rule{
		"schedule": {Name: "Friday freeze", Type: rule.TypeSchedule, Status: rule.StatusEnabled, Schedule: &s,
			ProductNames: []string{"api"}, EnvironmentNames: []string{"production"}},
		"flow": {Name: "Staging first", Type: rule.TypeFlow, Status: rule.StatusReportOnly,
			PrerequisiteEnvironments: []string{"staging", "canary"}, TargetEnvironment: "production",
			StrictOrder: true, SoakMinutes: 1440},
		"dr": {Name: "Prod DR", Type: rule.TypeDeploymentRequestRequired, Status: rule.StatusDisabled,
			RequiredApprovalTypes: []string{"qa", "security"}},
		"va": {Name: "QA sign-off", Type: rule.TypeVersionApprovalRequired, Status: rule.StatusEnabled,
			RequiredApprovalTypes: []string{"qa"}, AfterEnvironment: "staging"},
	}
}

func TestValidateAcceptsValidRules(t *testing.T) {
	t.Parallel()
	for name, r := range validRules() {
		if err := r.Validate(); err != nil {
			t.Errorf("%s: Validate() = %v", name, err)
		}
	}
	for _, s := range []rule.Schedule{
		once("", "2025-12-24T18:00", "2025-12-27T08:00"),
		weekly(newYork, "00:00", "00:00", "saturday", "Sunday"),
		monthly("UTC", "22:00", "02:00", 1, 15, 31),
		daily("Asia/Kolkata", "23:30", "00:30"),
	} {
		r := rule.Rule{Name: "s", Type: rule.TypeSchedule, Status: rule.StatusEnabled, Schedule: &s}
		if err := r.Validate(); err != nil {
			t.Errorf("%+v: Validate() = %v", s, err)
		}
	}
}

func TestValidateMessages(t *testing.T) {
	t.Parallel()
	base := validRules()
	sched := func(mut func(*rule.Schedule)) func(*rule.Rule) {
		return func(r *rule.Rule) {
			s := *r.Schedule
			mut(&s)
			r.Schedule = &s
		}
	}
	tests := []struct {
		name string
		base string
		mut  func(*rule.Rule)
		want string // exact Error()
	}{
		{"name required", "va", func(r *rule.Rule) { r.Name = " " }, "name: is required"},
		{"name spaces", "va", func(r *rule.Rule) { r.Name = "x " }, "name: must not start or end with spaces"},
		{"name too long", "va", func(r *rule.Rule) { r.Name = strings.Repeat("n", 201) }, "name: must be at most 200 characters"},
		{"type unknown", "va", func(r *rule.Rule) { r.Type = "freeze" },
			`rule_type: must be one of schedule, flow, deployment_request_required, version_approval_required, got "freeze"`},
		{"status missing", "va", func(r *rule.Rule) { r.Status = "" },
			`status: must be one of enabled, report_only, disabled, got ""`},
		{"status unknown", "va", func(r *rule.Rule) { r.Status = "block" },
			`status: must be one of enabled, report_only, disabled, got "block"`},
		{"product empty name", "va", func(r *rule.Rule) { r.ProductNames = []string{"api", ""} },
			"product_names: must not contain empty names"},
		{"product duplicate", "va", func(r *rule.Rule) { r.ProductNames = []string{"api", "api"} },
			`product_names: lists "api" twice`},
		{"environment padded", "va", func(r *rule.Rule) { r.EnvironmentNames = []string{" prod"} },
			`environment_names: " prod" must not start or end with spaces`},
		{"environment name too long", "va", func(r *rule.Rule) { r.EnvironmentNames = []string{strings.Repeat("e", 201)} },
			"environment_names: names must be at most 200 characters"},
		{"too many environments", "va", func(r *rule.Rule) { r.EnvironmentNames = make([]string, 101) },
			"environment_names: must have at most 100 entries"},

		{"field of another type", "va", func(r *rule.Rule) { r.SoakMinutes = 5 },
			"soak_minutes: is only for rule_type flow"},
		{"schedule on flow", "flow", func(r *rule.Rule) { s := daily("", "01:00", "02:00"); r.Schedule = &s },
			"schedule: is only for rule_type schedule"},
		{"after_environment on dr", "dr", func(r *rule.Rule) { r.AfterEnvironment = "staging" },
			"after_environment: is only for rule_type version_approval_required"},
		{"approvals on schedule", "schedule", func(r *rule.Rule) { r.RequiredApprovalTypes = []string{"qa"} },
			"required_approval_types: is only for rule_type deployment_request_required, version_approval_required"},

		{"schedule missing", "schedule", func(r *rule.Rule) { r.Schedule = nil }, "schedule: is required for rule_type schedule"},
		{"recurrence missing", "schedule", sched(func(s *rule.Schedule) { s.Recurrence = "" }),
			"schedule.recurrence: is required (once, daily, weekly or monthly)"},
		{"recurrence unknown", "schedule", sched(func(s *rule.Schedule) { s.Recurrence = "yearly" }),
			`schedule.recurrence: must be one of once, daily, weekly, monthly, got "yearly"`},
		{"zone unknown", "schedule", sched(func(s *rule.Schedule) { s.TimeZone = "Mars/Olympus" }),
			`schedule.time_zone: "Mars/Olympus" is not an IANA time zone (e.g. UTC, America/New_York, Europe/Berlin)`},
		{"zone Local", "schedule", sched(func(s *rule.Schedule) { s.TimeZone = "Local" }),
			"schedule.time_zone: must be an IANA time zone such as Europe/Berlin, not Local"},
		{"start malformed", "schedule", sched(func(s *rule.Schedule) { s.Start = "9:00" }),
			`schedule.start: must be a local time like 18:00 (00:00 to 23:59), got "9:00"`},
		{"start not digits", "schedule", sched(func(s *rule.Schedule) { s.Start = "ab:cd" }),
			`schedule.start: must be a local time like 18:00 (00:00 to 23:59), got "ab:cd"`},
		{"end out of range", "schedule", sched(func(s *rule.Schedule) { s.End = "24:00" }),
			`schedule.end: must be a local time like 18:00 (00:00 to 23:59), got "24:00"`},
		{"daily never ends", "schedule", sched(func(s *rule.Schedule) { s.End = s.Start }),
			"schedule.end: equals schedule.start on every day, so the window would never end; use an end time before the start time to cross midnight, or disable the rule"},
		{"weekly every day never ends", "schedule", sched(func(s *rule.Schedule) {
			*s = weekly("", "06:00", "06:00", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
		}), "schedule.end: equals schedule.start on every day, so the window would never end; use an end time before the start time to cross midnight, or disable the rule"},
		{"once datetime malformed", "schedule", sched(func(s *rule.Schedule) { *s = once("", "2025-12-24 18:00", "2025-12-27T08:00") }),
			`schedule.start: must be a local date and time like 2026-12-24T18:00, got "2025-12-24 18:00"`},
		{"once impossible date", "schedule", sched(func(s *rule.Schedule) { *s = once("", "2025-02-01T00:00", "2025-02-30T00:00") }),
			`schedule.end: must be a local date and time like 2026-12-24T18:00, got "2025-02-30T00:00"`},
		{"once end before start", "schedule", sched(func(s *rule.Schedule) { *s = once("", "2025-12-24T18:00", "2025-12-24T18:00") }),
			"schedule.end: must be after schedule.start (2025-12-24T18:00), got 2025-12-24T18:00"},
		{"weekly without days", "schedule", sched(func(s *rule.Schedule) { *s = weekly("", "01:00", "02:00") }),
			"schedule.days: needs at least one weekday for recurrence weekly"},
		{"weekly bad day", "schedule", sched(func(s *rule.Schedule) { *s = weekly("", "01:00", "02:00", "fri") }),
			`schedule.days: "fri" is not a weekday (monday … sunday)`},
		{"weekly duplicate day", "schedule", sched(func(s *rule.Schedule) { *s = weekly("", "01:00", "02:00", "friday", "Friday") }),
			`schedule.days: lists "Friday" twice`},
		{"days on daily", "schedule", sched(func(s *rule.Schedule) { s.Days = []string{"friday"} }),
			"schedule.days: is only for recurrence weekly"},
		{"monthly without days", "schedule", sched(func(s *rule.Schedule) { *s = monthly("", "01:00", "02:00") }),
			"schedule.month_days: needs at least one day of the month (1 to 31) for recurrence monthly"},
		{"monthly day 32", "schedule", sched(func(s *rule.Schedule) { *s = monthly("", "01:00", "02:00", 32) }),
			"schedule.month_days: 32 is not a day of the month (1 to 31)"},
		{"monthly day 0", "schedule", sched(func(s *rule.Schedule) { *s = monthly("", "01:00", "02:00", 0) }),
			"schedule.month_days: 0 is not a day of the month (1 to 31)"},
		{"monthly duplicate", "schedule", sched(func(s *rule.Schedule) { *s = monthly("", "01:00", "02:00", 5, 5) }),
			"schedule.month_days: lists 5 twice"},
		{"month days on weekly", "schedule", sched(func(s *rule.Schedule) { *s = weekly("", "01:00", "02:00", "monday"); s.MonthDays = []int{1} }),
			"schedule.month_days: is only for recurrence monthly"},
		{"reason too long", "schedule", sched(func(s *rule.Schedule) { s.Reason = strings.Repeat("r", 1001) }),
			"schedule.reason: must be at most 1000 characters"},

		{"flow without prerequisites", "flow", func(r *rule.Rule) { r.PrerequisiteEnvironments = nil },
			"prerequisite_environments: needs at least one environment for rule_type flow"},
		{"flow duplicate prerequisite", "flow", func(r *rule.Rule) { r.PrerequisiteEnvironments = []string{"staging", "staging"} },
			`prerequisite_environments: lists "staging" twice`},
		{"flow without target", "flow", func(r *rule.Rule) { r.TargetEnvironment = "" },
			"target_environment: is required for rule_type flow"},
		{"flow target in prerequisites", "flow", func(r *rule.Rule) { r.TargetEnvironment = "staging" },
			`prerequisite_environments: must not contain the target environment "staging"`},
		{"flow negative soak", "flow", func(r *rule.Rule) { r.SoakMinutes = -1 },
			"soak_minutes: must be between 0 and 527040, got -1"},
		{"flow soak over a year", "flow", func(r *rule.Rule) { r.SoakMinutes = 527041 },
			"soak_minutes: must be between 0 and 527040, got 527041"},
		{"flow scoped by environment", "flow", func(r *rule.Rule) { r.EnvironmentNames = []string{"production"} },
			"environment_names: must be empty for rule_type flow (it applies to target_environment)"},

		{"dr without types", "dr", func(r *rule.Rule) { r.RequiredApprovalTypes = nil },
			"required_approval_types: needs at least one approval type for rule_type deployment_request_required"},
		{"va without types", "va", func(r *rule.Rule) { r.RequiredApprovalTypes = []string{} },
			"required_approval_types: needs at least one approval type for rule_type version_approval_required"},
		{"approval type uppercase", "dr", func(r *rule.Rule) { r.RequiredApprovalTypes = []string{"QA"} },
			`required_approval_types: "QA" is not an approval type (lowercase letters, digits, '_', '-', '.'; e.g. qa, security)`},
		{"too many approval types", "dr", func(r *rule.Rule) { r.RequiredApprovalTypes = make([]string, 101) },
			"required_approval_types: must have at most 100 entries"},
		{"approval type duplicate", "va", func(r *rule.Rule) { r.RequiredApprovalTypes = []string{"qa", "qa"} },
			`required_approval_types: lists "qa" twice`},
		{"after environment padded", "va", func(r *rule.Rule) { r.AfterEnvironment = "staging " },
			`after_environment: "staging " must not start or end with spaces`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := base[tt.base]
			tt.mut(&r)
			err := r.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("Validate() =\n  %q\nwant\n  %q", err.Error(), tt.want)
			}
			var fe *rule.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(tt.want, fe.Field+": ") {
				t.Errorf("error %T %v is not a *FieldError naming its field", err, err)
			}
		})
	}
}
