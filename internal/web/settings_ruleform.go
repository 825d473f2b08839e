package web

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/rule"
)

// The rule form's own fields: what each rule type adds (a schedule, a
// flow, approval types), as inputs rather than JSON. The JSON editor stays
// beside it for everything at once; the "editor" field says which of the
// two a submit means. A post without it (an older form, a script) is JSON.

// ruleFields are the form editor's inputs as typed.
type ruleFields struct {
	// schedule
	Recurrence, TimeZone string
	StartTime, EndTime   string // recurring: 15:04
	StartAt, EndAt       string // once: 2006-01-02T15:04
	Days                 []string
	MonthDays, Reason    string
	// flow
	Prereqs, Target string // Prereqs: names in order, comma-separated
	Strict          bool
	Soak, SoakUnit  string // a whole number of minutes, hours or days
	// approvals (deployment request or version)
	Approvals []string
	After     string
}

// weekdays are a weekly schedule's days, in the order people read them.
var weekdays = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}

var recurrences = []string{rule.RecurrenceOnce, rule.RecurrenceDaily, rule.RecurrenceWeekly, rule.RecurrenceMonthly}

// timeZones are suggestions for the time zone input; any IANA name is
// accepted (the API checks it).
var timeZones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Berlin",
	"Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "Europe/Stockholm", "Europe/Warsaw", "Europe/Helsinki",
	"Europe/Athens", "Europe/Istanbul", "Europe/Moscow", "Africa/Johannesburg", "Asia/Dubai", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Shanghai", "Asia/Tokyo", "Asia/Seoul", "Australia/Sydney", "Pacific/Auckland",
	"America/Sao_Paulo", "America/New_York", "America/Toronto", "America/Chicago", "America/Denver",
	"America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"}

var soakUnits = map[string]int{"minutes": 1, "hours": 60, "days": 24 * 60}

// defaultRuleFields prefill a new rule's form: a weekend freeze, staging
// before production with an hour's soak, a QA sign-off.
func defaultRuleFields() ruleFields {
	return ruleFields{Recurrence: rule.RecurrenceWeekly, TimeZone: "UTC", StartTime: "18:00", EndTime: "08:00",
		Days: []string{"friday", "saturday", "sunday"}, Reason: "weekend freeze",
		Prereqs: "staging", Target: "production", Soak: "1", SoakUnit: "hours", Approvals: []string{"qa"}}
}

func parseRuleFields(f url.Values, typ string) ruleFields {
	get := func(k string) string { return strings.TrimSpace(f.Get(k)) }
	rf := ruleFields{Recurrence: get("recurrence"), TimeZone: get("time_zone"), StartTime: get("start_time"),
		EndTime: get("end_time"), StartAt: get("start_at"), EndAt: get("end_at"), Days: f["days"],
		MonthDays: get("month_days"), Reason: get("reason"), Prereqs: get("prerequisite_environments"),
		Target: get("target_environment"), Strict: f.Get("strict_order") != "", Soak: get("soak"), SoakUnit: get("soak_unit"),
		After: get("after_environment")}
	// Each approval type's checkboxes have their own name: both groups are
	// in the page, and only the chosen type's counts.
	if typ == string(rule.TypeVersionApprovalRequired) {
		rf.Approvals = f["va_approval_types"]
	} else {
		rf.Approvals = f["dr_approval_types"]
	}
	return rf
}

// settings is the part of the API body the form editor fills for typ.
func (rf ruleFields) settings(typ rule.Type) (map[string]any, error) {
	switch typ {
	case rule.TypeSchedule:
		sch := map[string]any{"recurrence": rf.Recurrence, "time_zone": rf.TimeZone, "reason": rf.Reason,
			"start": rf.StartTime, "end": rf.EndTime}
		if rf.Recurrence == rule.RecurrenceOnce {
			sch["start"], sch["end"] = rf.StartAt, rf.EndAt
		}
		if rf.Recurrence == rule.RecurrenceWeekly {
			sch["days"] = rf.Days
		}
		if rf.Recurrence == rule.RecurrenceMonthly {
			days, err := monthDays(rf.MonthDays)
			if err != nil {
				return nil, err
			}
			sch["month_days"] = days
		}
		return map[string]any{"schedule": sch}, nil
	case rule.TypeFlow:
		soak := 0
		if rf.Soak != "" {
			n, err := strconv.Atoi(rf.Soak)
			unit, ok := soakUnits[rf.SoakUnit]
			if err != nil || n < 0 || !ok || n > rule.MaxSoakMinutes/unit {
				return nil, shiplog.Errorf(shiplog.EINVALID, "The soak time must be a whole number of minutes, hours or days, at most 366 days")
			}
			soak = n * unit
		}
		return map[string]any{"prerequisite_environments": splitField(rf.Prereqs), "target_environment": rf.Target,
			"strict_order": rf.Strict, "soak_minutes": soak}, nil
	case rule.TypeDeploymentRequestRequired:
		return map[string]any{"required_approval_types": rf.Approvals}, nil
	case rule.TypeVersionApprovalRequired:
		return map[string]any{"required_approval_types": rf.Approvals, "after_environment": rf.After}, nil
	}
	return map[string]any{}, nil // an unknown type: the API names it
}

func monthDays(s string) ([]int, error) {
	var out []int
	for _, p := range splitField(s) {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 31 {
			return nil, shiplog.Errorf(shiplog.EINVALID, "Days of the month are numbers from 1 to 31, separated by commas; %q is not one", p)
		}
		out = append(out, n)
	}
	return out, nil
}

// fieldsOf fills the form editor from a saved rule; what the rule's type
// does not use keeps the defaults, ready if the type is changed.
func fieldsOf(r rule.Rule) ruleFields {
	rf := defaultRuleFields()
	if s := r.Schedule; s != nil {
		rf.Recurrence, rf.TimeZone, rf.Reason, rf.Days = s.Recurrence, s.TimeZone, s.Reason, s.Days
		if rf.TimeZone == "" {
			rf.TimeZone = "UTC"
		}
		if s.Recurrence == rule.RecurrenceOnce {
			rf.StartAt, rf.EndAt = s.Start, s.End
		} else {
			rf.StartTime, rf.EndTime = s.Start, s.End
		}
		days := make([]string, len(s.MonthDays))
		for i, d := range s.MonthDays {
			days[i] = strconv.Itoa(d)
		}
		rf.MonthDays = strings.Join(days, ", ")
		for i, d := range rf.Days {
			rf.Days[i] = strings.ToLower(d)
		}
	}
	if r.Type == rule.TypeFlow {
		rf.Prereqs, rf.Target, rf.Strict = strings.Join(r.PrerequisiteEnvironments, ", "), r.TargetEnvironment, r.StrictOrder
		rf.Soak, rf.SoakUnit = strconv.Itoa(r.SoakMinutes), "minutes"
		for _, u := range []string{"days", "hours"} {
			if r.SoakMinutes > 0 && r.SoakMinutes%soakUnits[u] == 0 {
				rf.Soak, rf.SoakUnit = strconv.Itoa(r.SoakMinutes/soakUnits[u]), u
				break
			}
		}
	}
	if len(r.RequiredApprovalTypes) > 0 {
		rf.Approvals = r.RequiredApprovalTypes
	}
	rf.After = r.AfterEnvironment
	return rf
}

// ruleFormChoices are the form editor's fixed options.
type ruleFormChoices struct {
	Recurrences, Weekdays, TimeZones, ApprovalTypes, SoakUnits []string
}

var ruleChoices = ruleFormChoices{Recurrences: recurrences, Weekdays: weekdays, TimeZones: timeZones,
	ApprovalTypes: shiplog.ApprovalTypes, SoakUnits: []string{"minutes", "hours", "days"}}

// HasDay and HasApproval tell the template which boxes are ticked.
func (rf ruleFields) HasDay(d string) bool      { return slices.Contains(rf.Days, d) }
func (rf ruleFields) HasApproval(t string) bool { return slices.Contains(rf.Approvals, t) }
