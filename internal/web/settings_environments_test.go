package web_test

import (
	"net/url"
	"strings"
	"testing"
)

// Issue 14: the console shows each environment's type and lets an admin
// fix it; others see the type only.
func TestSettingsEnvironmentTypes(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "admin")
	s.user("vic@acme.test", pw, "viewer")
	s.deploy("api", "1", "prd", "success")
	s.deploy("api", "1", "blue", "success")
	ann := s.relSignIn("ann@acme.test", pw)
	vic := s.relSignIn("vic@acme.test", pw)

	st, body := ann.get("/ui/settings/environments")
	if st != 200 || !strings.Contains(body, `<th scope="row">prd</th>`) || !strings.Contains(body, `<option value="production" selected>`) {
		t.Fatalf("admin's page: %d\n%s", st, body)
	}
	var blue string
	for _, e := range s.envs() {
		if e["name"] == "blue" {
			blue = e["id"].(string)
			if e["type"] != "development" {
				t.Fatalf("blue inferred as %v", e["type"])
			}
		}
	}
	st, loc, _ := ann.post("/ui/settings/environments/"+blue, url.Values{"type": {"production"}})
	if st != 303 || loc != "/ui/settings/environments" {
		t.Fatalf("save: %d %q", st, loc)
	}
	for _, e := range s.envs() {
		if e["name"] == "blue" && e["type"] != "production" {
			t.Errorf("blue is %v after the change", e["type"])
		}
	}
	if _, body := ann.get("/ui/settings/environments"); !strings.Contains(body, "blue is now production") {
		t.Error("no confirmation")
	}
	// A viewer sees the types but no form; posting anyway is refused.
	st, body = vic.get("/ui/settings/environments")
	if st != 200 || strings.Contains(body, `action="/ui/settings/environments/`) || !strings.Contains(body, `<span class="envtype">production</span>`) {
		t.Errorf("viewer's page: %d", st)
	}
	if st, _, _ := vic.post("/ui/settings/environments/"+blue, url.Values{"type": {"test"}}); st == 303 {
		t.Error("a viewer changed a type")
	}
	for _, e := range s.envs() {
		if e["name"] == "blue" && e["type"] != "production" {
			t.Errorf("blue is %v after a viewer's attempt", e["type"])
		}
	}
}

func (s *server) envs() []map[string]any {
	s.t.Helper()
	var list struct {
		Items []map[string]any `json:"items"`
	}
	s.api("GET", "/environments/?limit=100", nil, &list)
	return list.Items
}
