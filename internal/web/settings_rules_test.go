package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/rule"
)

func (s *server) apiRules() []map[string]any {
	s.t.Helper()
	var list struct {
		Items []map[string]any `json:"items"`
	}
	s.api("GET", "/deployment-rules/", nil, &list)
	return list.Items
}

func TestSettingsRules(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "admin")
	res, body := ss.get("/ui/settings/rules")
	wantPage(t, "empty list", res, body, http.StatusOK, "No rules", "Add rule")
	res, body = ss.get("/ui/settings/rules/new?type=flow")
	wantPage(t, "new flow form", res, body, http.StatusOK, `value="flow" data-template=`, "selected",
		"&#34;prerequisite_environments&#34;: [&#34;staging&#34;]", `value="enabled" checked`)

	form := func(name, typ, status, products, envs, config string) url.Values {
		return url.Values{"name": {name}, "rule_type": {typ}, "status": {status}, "product_names": {products},
			"environment_names": {envs}, "config": {config}}
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		says   []string
	}{
		{"not JSON", form("Freeze", "schedule", "enabled", "", "", `{"schedule": {`), 400,
			[]string{"The rule&#39;s settings are not valid JSON", `value="Freeze"`, "{&#34;schedule&#34;: {"}},
		{"not an object", form("Freeze", "schedule", "enabled", "", "", `["schedule"]`), 400, []string{"must be a JSON object"}},
		{"two objects", form("Freeze", "schedule", "enabled", "", "", `{} {}`), 400, []string{"one JSON object"}},
		{"the API's field message", form("Freeze", "schedule", "enabled", "", "production",
			`{"schedule": {"recurrence": "daily", "time_zone": "Mars/Olympus", "start": "18:00", "end": "08:00"}}`), 400,
			[]string{"schedule.time_zone: &#34;Mars/Olympus&#34; is not an IANA time zone", `value="production"`}},
		{"fields of another type", form("Flow", "schedule", "enabled", "", "", `{"soak_minutes": 5}`), 400,
			[]string{"soak_minutes: is only for rule_type flow"}},
		{"a name", form("", "flow", "enabled", "", "", ""), 400, []string{"name: is required"}},
		{"an unknown type", form("X", "vibes", "enabled", "", "", "{}"), 400, []string{"rule_type: must be one of"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := ss.post("/ui/settings/rules", tt.form)
			wantPage(t, tt.name, res, body, tt.status, append(tt.says, `role="alert"`)...)
		})
	}
	if n := len(s.apiRules()); n != 0 {
		t.Fatalf("%d rules after refusals", n)
	}

	res, body = ss.post("/ui/settings/rules", form("Staging first", "flow", "report_only", "api, web", "",
		`{"prerequisite_environments": ["staging"], "target_environment": "production", "strict_order": true, "soak_minutes": 60}`))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, mainOf(body))
	}
	rs := s.apiRules()
	if len(rs) != 1 || rs[0]["status"] != "report_only" || rs[0]["soak_minutes"] != 60.0 || len(rs[0]["product_names"].([]any)) != 2 {
		t.Fatalf("created %v", rs)
	}
	id := rs[0]["id"].(string)
	res, body = ss.get("/ui/settings/rules")
	wantPage(t, "list", res, body, http.StatusOK, "Saved rule Staging first.", "to <strong>production</strong> after staging, soaked 60 min",
		"api, web", "◐</span> report only")

	// The edit form holds the type's fields as JSON, without the form's own.
	res, body = ss.get("/ui/settings/rules/" + id + "/edit")
	wantPage(t, "edit form", res, body, http.StatusOK, `value="Staging first"`, `value="report_only" checked`, `value="api, web"`,
		"&#34;soak_minutes&#34;: 60")
	cfg := body[strings.Index(body, `data-rule-config>`):]
	cfg = cfg[:strings.Index(cfg, "</textarea>")]
	for _, f := range []string{"&#34;name&#34;", "&#34;rule_type&#34;", "&#34;id&#34;", "created_at"} {
		if strings.Contains(cfg, f) {
			t.Errorf("the JSON settings hold %s: %s", f, cfg)
		}
	}

	// Saving replaces the rule: a field taken out of the JSON is gone, not kept.
	res, body = ss.post("/ui/settings/rules/"+id, form("Staging, then prod", "flow", "enabled", "", "",
		`{"prerequisite_environments": ["staging", "canary"], "target_environment": "production"}`))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", res.StatusCode, mainOf(body))
	}
	got := s.apiRules()[0]
	raw, _ := json.Marshal(got)
	if got["name"] != "Staging, then prod" || got["status"] != "enabled" || got["soak_minutes"] != nil || got["strict_order"] != nil ||
		got["product_names"] != nil || len(got["prerequisite_environments"].([]any)) != 2 {
		t.Errorf("after edit: %s", raw)
	}
	// Switching the type drops the old type's fields too.
	res, body = ss.post("/ui/settings/rules/"+id, form("Needs QA", "deployment_request_required", "enabled", "", "production",
		`{"required_approval_types": ["qa"]}`))
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change type: %d\n%s", res.StatusCode, mainOf(body))
	}
	if got := s.apiRules()[0]; got["rule_type"] != "deployment_request_required" || got["target_environment"] != nil {
		raw, _ := json.Marshal(got)
		t.Errorf("after type change: %s", raw)
	}
	// An edit the API refuses comes back as typed.
	res, body = ss.post("/ui/settings/rules/"+id, form("Needs QA", "deployment_request_required", "enabled", "", "", `{"required_approval_types": ["QA"]}`))
	wantPage(t, "bad edit", res, body, http.StatusBadRequest, "&#34;QA&#34; is not an approval type", "[&#34;QA&#34;]")

	res, _ = ss.post("/ui/settings/rules/"+id+"/delete", nil)
	if res.StatusCode != http.StatusSeeOther || len(s.apiRules()) != 0 {
		t.Errorf("delete: %d, %d rules left", res.StatusCode, len(s.apiRules()))
	}

	// Roles are the API's: a developer sees the rules but may not change them.
	dev := s.consoleSession(t, "dee@acme.test", "developer")
	res, body = dev.get("/ui/settings/rules")
	if res.StatusCode != http.StatusOK || strings.Contains(body, "Add rule") {
		t.Errorf("developer's rule list: %d, offers Add rule: %v", res.StatusCode, strings.Contains(body, "Add rule"))
	}
	res, body = dev.post("/ui/settings/rules", form("Mine", "deployment_request_required", "enabled", "", "", `{"required_approval_types": ["qa"]}`))
	wantPage(t, "developer adds", res, body, http.StatusForbidden, "Creating a deployment rule needs one of the roles owner, admin, release_manager, sre")
}

// The form editor: each type's settings as inputs, saved as the API's
// rule, and read back into the same inputs on the edit page.
func TestSettingsRulesForm(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "admin")
	common := func(name, typ string) url.Values {
		return url.Values{"name": {name}, "rule_type": {typ}, "status": {"enabled"}, "editor": {"form"},
			// The other types' inputs are posted too; only the chosen type's count.
			"recurrence": {"daily"}, "start_time": {"01:00"}, "end_time": {"02:00"}, "soak": {"3"}, "soak_unit": {"hours"},
			"dr_approval_types": {"security"}, "va_approval_types": {"uat"}, "config": {`{"not": "used"}`}}
	}
	with := func(v url.Values, kv ...string) url.Values {
		for i := 0; i < len(kv); i += 2 {
			v[kv[i]] = append(v[kv[i]][:0:0], strings.Split(kv[i+1], "|")...)
		}
		return v
	}
	for _, tt := range []struct {
		name string
		form url.Values
		want string // the saved rule's fields, as JSON
	}{
		{"weekly freeze", with(common("Weekend freeze", "schedule"), "recurrence", "weekly", "time_zone", "Europe/Berlin",
			"start_time", "18:00", "end_time", "08:00", "days", "friday|saturday", "reason", "weekend"),
			`"schedule":{"recurrence":"weekly","time_zone":"Europe/Berlin","start":"18:00","end":"08:00","days":["friday","saturday"],"reason":"weekend"}`},
		{"one-off window", with(common("Launch", "schedule"), "recurrence", "once", "time_zone", "UTC",
			"start_at", "2026-12-24T18:00", "end_at", "2026-12-27T08:00"),
			`"schedule":{"recurrence":"once","time_zone":"UTC","start":"2026-12-24T18:00","end":"2026-12-27T08:00"}`},
		{"monthly", with(common("Month end", "schedule"), "recurrence", "monthly", "time_zone", "UTC", "month_days", "28, 1"),
			`"schedule":{"recurrence":"monthly","time_zone":"UTC","start":"01:00","end":"02:00","month_days":[28,1]}`},
		{"flow with a soak", with(common("Canary first", "flow"), "prerequisite_environments", "staging, canary",
			"target_environment", "production", "strict_order", "1", "soak", "36", "soak_unit", "hours"),
			`"prerequisite_environments":["staging","canary"],"target_environment":"production","strict_order":true,"soak_minutes":2160`},
		{"request required", with(common("Needs sign-off", "deployment_request_required"), "dr_approval_types", "qa|security"),
			`"required_approval_types":["qa","security"]`},
		{"version approval", with(common("QA'd versions", "version_approval_required"), "va_approval_types", "qa",
			"after_environment", "staging"),
			`"required_approval_types":["qa"],"after_environment":"staging"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := ss.post("/ui/settings/rules", tt.form)
			if res.StatusCode != http.StatusSeeOther {
				t.Fatalf("create: %d\n%s", res.StatusCode, mainOf(body))
			}
			var saved map[string]any
			for _, r := range s.apiRules() {
				if r["name"] == tt.form.Get("name") {
					saved = r
				}
			}
			raw, _ := json.Marshal(saved)
			var r rule.Rule
			_ = json.Unmarshal(raw, &r)
			r.ID, r.Name, r.Type, r.Status = "", "", "", ""
			got, _ := json.Marshal(r)
			if !strings.Contains(string(got), tt.want) {
				t.Errorf("saved %s\nwant it to hold %s", got, tt.want)
			}
			// The edit page's form shows the rule again.
			_, body = ss.get("/ui/settings/rules/" + saved["id"].(string) + "/edit")
			if !strings.Contains(body, `name="editor" value="form" data-rule-editor checked`) {
				t.Errorf("the edit page does not open on the form editor")
			}
			for _, k := range []string{"time_zone", "target_environment", "after_environment", "month_days"} {
				if v := tt.form.Get(k); v != "" && tt.form.Get("rule_type") != "deployment_request_required" &&
					!strings.Contains(body, `name="`+k+`" value="`+strings.ReplaceAll(v, "'", "&#39;")) {
					t.Errorf("edit page lacks %s=%q", k, v)
				}
			}
		})
	}
	// A soak the form cannot read, and a month day out of range, are the
	// form's own refusals, shown with what was typed.
	res, body := ss.post("/ui/settings/rules", with(common("Bad soak", "flow"), "prerequisite_environments", "staging",
		"target_environment", "production", "soak", "1.5"))
	wantPage(t, "bad soak", res, body, http.StatusBadRequest, "The soak time must be a whole number", `value="Bad soak"`, `value="1.5"`)
	res, body = ss.post("/ui/settings/rules", with(common("Bad days", "schedule"), "recurrence", "monthly", "month_days", "0, 32"))
	wantPage(t, "bad month days", res, body, http.StatusBadRequest, "Days of the month are numbers from 1 to 31", `value="0, 32"`)
	// The API's refusal names the field, as with the JSON.
	res, body = ss.post("/ui/settings/rules", with(common("Mars", "schedule"), "time_zone", "Mars/Olympus"))
	wantPage(t, "bad zone", res, body, http.StatusBadRequest, "schedule.time_zone: &#34;Mars/Olympus&#34; is not an IANA time zone")
}
