package web

import (
	"encoding/json"
	"net/url"
	"reflect"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/rule"
)

// A saved rule read into the form and saved again is the same rule.
func TestRuleFieldsRoundTrip(t *testing.T) {
	t.Parallel()
	for _, r := range []rule.Rule{
		{Type: rule.TypeSchedule, Schedule: &rule.Schedule{Recurrence: "weekly", TimeZone: "Europe/Berlin", Start: "18:00", End: "08:00",
			Days: []string{"friday", "saturday"}, Reason: "weekend"}},
		{Type: rule.TypeSchedule, Schedule: &rule.Schedule{Recurrence: "once", TimeZone: "UTC", Start: "2026-12-24T18:00", End: "2026-12-27T08:00"}},
		{Type: rule.TypeSchedule, Schedule: &rule.Schedule{Recurrence: "monthly", TimeZone: "UTC", Start: "00:00", End: "06:00", MonthDays: []int{1, 15}}},
		{Type: rule.TypeFlow, PrerequisiteEnvironments: []string{"staging", "canary"}, TargetEnvironment: "production", StrictOrder: true, SoakMinutes: 2160},
		{Type: rule.TypeFlow, PrerequisiteEnvironments: []string{"staging"}, TargetEnvironment: "production", SoakMinutes: 90},
		{Type: rule.TypeFlow, PrerequisiteEnvironments: []string{"staging"}, TargetEnvironment: "production"},
		{Type: rule.TypeDeploymentRequestRequired, RequiredApprovalTypes: []string{"qa", "security"}},
		{Type: rule.TypeVersionApprovalRequired, RequiredApprovalTypes: []string{"uat"}, AfterEnvironment: "staging"},
	} {
		m, err := fieldsOf(r).settings(r.Type)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		b, _ := json.Marshal(m)
		var back rule.Rule
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		back.Type = r.Type
		if !reflect.DeepEqual(back, r) {
			t.Errorf("round trip of %+v gave %+v", r, back)
		}
	}
}

// FuzzRuleFields: whatever is typed, the form editor answers settings the
// API can read, or a refusal that is the user's to fix.
func FuzzRuleFields(f *testing.F) {
	f.Add("flow", "weekly", "1, 15", "36", "hours", "staging, prod")
	f.Add("schedule", "monthly", "0,,32", "-1", "weeks", ",")
	f.Add("schedule", "once", "x", "99999999999999999999", "days", "")
	f.Fuzz(func(t *testing.T, typ, recurrence, monthDays, soak, unit, prereqs string) {
		v := url.Values{"recurrence": {recurrence}, "month_days": {monthDays}, "soak": {soak}, "soak_unit": {unit},
			"prerequisite_environments": {prereqs}, "days": {"friday"}, "dr_approval_types": {"qa"}}
		m, err := parseRuleFields(v, typ).settings(rule.Type(typ))
		if err != nil {
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Fatalf("%v is not the user's mistake", err)
			}
			return
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("settings %v do not marshal: %v", m, err)
		}
		var r rule.Rule
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("settings %s are not a rule's: %v", b, err)
		}
		if r.SoakMinutes < 0 || r.SoakMinutes > rule.MaxSoakMinutes {
			t.Fatalf("soak %d minutes out of range from %q %q", r.SoakMinutes, soak, unit)
		}
	})
}
