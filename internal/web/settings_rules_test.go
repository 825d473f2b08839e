package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
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
