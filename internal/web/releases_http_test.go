package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
)

// Plain HTTP tests of the releases pages: refusals, edge cases and what a
// browser test would only slow down.

const pw = "correct horse battery"

func TestReleasePagesRender(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "owner")
	sha := "0123456789abcdef0123456789abcdef01234567"
	dep := s.relEvent("/deployment-events/", map[string]any{"product_name": "api", "version": "1.4.0", "environment_name": "production",
		"status": "started", "deployed_by": "ci-bot", "scm_repository": "https://ci:hunter2@github.com/acme/api.git", "scm_sha": sha,
		"scm_branch": "release/1.4", "build_url": "javascript:alert(1)", "deploy_url": "https://deploy.example.com/runs/7",
		"extra_metadata": map[string]any{"ticket": "REL-7", "canary": true}})
	s.relEvent("/deployment-events/", map[string]any{"product_name": "api", "version": "1.4.0", "environment_name": "production",
		"status": "success"})
	odd := s.relEvent("/deployment-events/", map[string]any{"product_name": "web", "version": "2.0", "environment_name": "staging",
		"status": "success", "scm_repository": "javascript://github.com/%0aalert(1)", "scm_sha": sha, "deploy_url": "data:text/html,<script>x</script>",
		"extra_metadata": map[string]any{"preflight_status": "not an object"}})
	build := s.relEvent("/build-events/", map[string]any{"product_name": "api", "version": "1.4.0", "status": "failed",
		"scm_repository": "https://gitlab.example.org/acme/api", "scm_sha": sha, "scm_branch": "main", "error_message": "tests failed",
		"build_url": "https://ci.example.com/b/1"})
	c := s.relSignIn("ann@acme.test", pw)

	tests := []struct {
		name, path string
		want       []string // in the body
		not        []string
	}{
		{"deployments", "/ui/deployments", []string{"api", "1.4.0", "production", "/ui/deployments/" + dep["id"].(string),
			"/ui/versions/" + dep["version_id"].(string), "completed"}, nil},
		{"deployment: safe links only, credentials dropped", "/ui/deployments/" + dep["id"].(string), []string{
			`href="https://github.com/acme/api.git"`, `href="https://github.com/acme/api/commit/` + sha + `"`,
			`href="https://github.com/acme/api/tree/release/1.4"`, `href="https://deploy.example.com/runs/7"`,
			"javascript:alert(1)", "deployment.started", "deployment.completed", "&#34;ticket&#34;: &#34;REL-7&#34;", "Every rule that applies passed"},
			[]string{`href="javascript:`, "hunter2"}},
		{"deployment: unsafe repository is text", "/ui/deployments/" + odd["id"].(string), []string{"javascript://github.com/%0aalert(1)", sha,
			"data:text/html"}, []string{`href="javascript:`, `href="data:`, "/commit/"}},
		{"builds", "/ui/builds", []string{"/ui/builds/" + build["id"].(string), "failed"}, nil},
		{"build: gitlab links", "/ui/builds/" + build["id"].(string), []string{"tests failed",
			`href="https://gitlab.example.org/acme/api/-/commit/` + sha + `"`, `href="https://ci.example.com/b/1"`}, nil},
		{"version", "/ui/versions/" + dep["version_id"].(string), []string{"Where it has been deployed", "production",
			"Approve version", "No sign-offs yet", "In none of the newest 200 requests"}, nil},
		{"requests", "/ui/deployment-requests", []string{"No deployment requests yet", "New request"}, nil},
		{"new request", "/ui/deployment-requests/new?product=api&version=1.4.0", []string{`value="api 1.4.0"`, `name="slot_qa"`,
			`value="production"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := c.get(tt.path)
			if st != 200 {
				t.Fatalf("GET %s: %d\n%s", tt.path, st, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("GET %s: no %q in the page", tt.path, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(body, n) {
					t.Errorf("GET %s: %q must not be in the page", tt.path, n)
				}
			}
		})
	}
}

func TestReleasePagesRefuse(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "owner")
	s.user("vic@acme.test", pw, "viewer")
	s.deploy("api", "1.0", "production", "success")
	foreign := s.relOtherOrg()
	c := s.relSignIn("ann@acme.test", pw)

	tests := []struct {
		name, path string
		status     int
		detail     string
	}{
		{"unknown deployment status", "/ui/deployments?status=bogus", 400, "Query parameter &#39;status&#39; has an unknown value &#39;bogus&#39;"},
		{"unknown build status", "/ui/builds?status=bogus", 400, "Query parameter &#39;status&#39; has an unknown value"},
		{"forged cursor", "/ui/deployments?cursor=zzz", 400, "not a cursor this server issued"},
		{"unknown request status", "/ui/deployment-requests?status=open", 400, "Unknown status &#39;open&#39;; a deployment request is one of draft, in_progress"},
		{"malformed id", "/ui/deployments/nope", 404, "Not found"},
		{"another org's deployment", "/ui/deployments/" + foreign, 404, "Not found"},
		{"unknown build", "/ui/builds/" + shiplog.NewID(), 404, "Not found"},
		{"unknown version", "/ui/versions/" + shiplog.NewID(), 404, "Not found"},
		{"unknown request", "/ui/deployment-requests/" + shiplog.NewID(), 404, "Not found"},
		{"version lookup without names", "/ui/versions?product=api", 400, "Name the version to open with ?product= and ?version="},
		{"version lookup of a missing version", "/ui/versions?product=api&version=7", 404, "No version 7 of api has been built or deployed yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, body := c.get(tt.path)
			if st != tt.status || !strings.Contains(body, tt.detail) {
				t.Errorf("GET %s: %d, want %d with %q\n%s", tt.path, st, tt.status, tt.detail, body)
			}
		})
	}

	// Org data stays apart: the other org's product is not suggested.
	if _, body := c.get("/ui/deployments"); strings.Contains(body, "secret") {
		t.Error("another org's product appears on the deployments page")
	}
	// A version is found by name and opened by id.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/ui/versions?product=api&version=1.0", nil)
	res, _ := c.do(req)
	loc := res.Header.Get("Location")
	if res.StatusCode != 303 || !strings.HasPrefix(loc, "/ui/versions/") {
		t.Errorf("version lookup: %d %q", res.StatusCode, loc)
	}
	// A viewer sees no sign-off form and no "New request" button.
	vc := s.relSignIn("vic@acme.test", pw)
	if _, body := vc.get(loc); strings.Contains(body, "Approve version") || !strings.Contains(body, "Signing off versions needs") {
		t.Error("viewer: want no sign-off form, and the roles it needs")
	}
	if _, body := vc.get("/ui/deployment-requests"); strings.Contains(body, "New request") {
		t.Error("viewer sees the New request button")
	}
	// ...and a forged sign-off is the API's 403, shown with the page.
	st, _, body := vc.post(loc+"/approvals", url.Values{"approval_type": {"qa"}, "comments": {"looks fine"}})
	if st != 403 || !strings.Contains(body, "Signing off a version needs one of the roles") || !strings.Contains(body, "No sign-offs yet") {
		t.Errorf("viewer sign-off: %d\n%s", st, body)
	}
}

func TestReleasePaging(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "owner")
	for i := range 52 {
		s.deploy("api", fmt.Sprintf("1.0.%d", i), "staging", "success")
	}
	s.deploy("web", "1.0", "staging", "success")
	c := s.relSignIn("ann@acme.test", pw)
	rows := regexp.MustCompile(`href="/ui/deployments/[0-9a-f-]{36}"`)
	older := regexp.MustCompile(`href="(/ui/deployments\?[^"]+)" rel="next"`)

	_, body := c.get("/ui/deployments?product=api")
	if n := len(rows.FindAllString(body, -1)); n != 50 {
		t.Fatalf("first page: %d rows, want 50", n)
	}
	m := older.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("first page: no link to older deployments")
	}
	next := strings.ReplaceAll(m[1], "&amp;", "&")
	if !strings.Contains(next, "product=api") {
		t.Errorf("the older page %q drops the filter", next)
	}
	_, body = c.get(next)
	if n := len(rows.FindAllString(body, -1)); n != 2 || older.MatchString(body) || !strings.Contains(body, "« Newest") {
		t.Errorf("last page: %d rows (want 2), older link %v", n, older.MatchString(body))
	}
	if strings.Contains(body, ">web<") {
		t.Error("the filter lets web through")
	}
}

func TestDeploymentRequestForms(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("dee@acme.test", pw, "developer")
	s.user("vic@acme.test", pw, "viewer")
	s.user("quinn@acme.test", pw, "qa")
	s.deploy("api", "1.0", "production", "success")
	dee := s.relSignIn("dee@acme.test", pw)

	form := func(kv ...string) url.Values {
		f := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			f.Add(kv[i], kv[i+1])
		}
		return f
	}
	refusals := []struct {
		name   string
		who    *relClient
		form   url.Values
		status int
		detail string
		keeps  string // typed text shown again
	}{
		{"no environment", dee, form("name", "Q4", "item_product", "api", "item_version", "1.0", "slot_qa", "required"),
			400, "Field &#39;environment_names&#39; must list at least one environment", `value="Q4"`},
		{"half an item", dee, form("name", "Q4", "item_product", "api", "item_version", "", "environment", "production"),
			400, "Field &#39;items[0]&#39; needs product_name and version", `value="api"`},
		{"a link that is not a URL", dee, form("name", "Q4", "environment", "production", "links", "javascript:alert(1)"),
			400, "Field &#39;links&#39; takes http(s) URLs only", "javascript:alert(1)</textarea>"},
		{"a slot choice the form never offers", dee, form("name", "Q4", "environment", "production", "slot_security", "always"),
			400, "The security approval must be required, optional or not needed", `value="Q4"`},
		{"a viewer", s.relSignIn("vic@acme.test", pw), form("name", "Q4", "environment", "production"),
			403, "Creating a deployment request needs one of the roles", `value="Q4"`},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			st, _, body := tt.who.post("/ui/deployment-requests/new", tt.form)
			if st != tt.status || !strings.Contains(body, tt.detail) || !strings.Contains(body, tt.keeps) {
				t.Errorf("%d, want %d with %q keeping %q\n%s", st, tt.status, tt.detail, tt.keeps, body)
			}
		})
	}

	// "Add another item" grows the rows and keeps what was typed.
	st, _, body := dee.post("/ui/deployment-requests/new", form("name", "Q4", "item_product", "api", "item_version", "1.0", "add_item", "1"))
	if st != 200 || strings.Count(body, `name="item_product"`) != 2 || !strings.Contains(body, `id="item-p-2"`) ||
		!strings.Contains(body, `value="Q4"`) {
		t.Errorf("add item: %d\n%s", st, body)
	}

	// Created, it lands on its page as a draft.
	st, loc, _ := dee.post("/ui/deployment-requests/new", form("name", "Q4 release", "description", "Faster checkout.",
		"item_product", "api", "item_version", "1.0", "item_product", "", "item_version", "",
		"environment", "production", "other_environments", "prod-eu, production", "slot_qa", "required", "slot_uat", "optional",
		"links", "https://tickets.example.com/REL-1\nhttps://changelog.example.com"))
	if st != 303 || !strings.HasPrefix(loc, "/ui/deployment-requests/") {
		t.Fatalf("create: %d %q", st, loc)
	}
	id := strings.TrimPrefix(loc, "/ui/deployment-requests/")
	var dr shiplog.DeploymentRequest
	s.relAPIAs(s.apiKey, "GET", "/deployment-requests/"+id, nil, &dr)
	if dr.Status != shiplog.DRDraft || len(dr.Items) != 1 || strings.Join(dr.EnvironmentNames, ",") != "production,prod-eu" ||
		len(dr.Slots) != 2 || dr.Slots[0].ApprovalType != "uat" || dr.Slots[0].Required || !dr.Slots[1].Required || len(dr.Links) != 2 {
		t.Errorf("created: %+v", dr)
	}
	_, body = dee.get(loc)
	if !strings.Contains(body, "Created the draft request “Q4 release”") || !strings.Contains(body, "Opens for decisions when the request is activated") {
		t.Errorf("draft page:\n%s", body)
	}

	// Transitions: refused ones show the API's reason on the page.
	transitions := []struct {
		action string
		who    *relClient
		status int
		text   string
	}{
		{"complete", dee, 409, "Cannot complete a deployment request that is draft"},
		{"activate", s.relSignIn("vic@acme.test", pw), 403, "Activating a deployment request needs one of the roles"},
		{"launch", dee, 404, "No console page at"},
		{"activate", dee, 303, ""},
		{"activate", dee, 409, "Cannot activate a deployment request that is in_progress"},
	}
	for _, tt := range transitions {
		st, _, body := tt.who.post(loc+"/"+tt.action, nil)
		if st != tt.status || !strings.Contains(body, tt.text) {
			t.Errorf("%s: %d, want %d with %q\n%s", tt.action, st, tt.status, tt.text, body)
		}
	}

	// Deciding: without the role it is the API's 403; a refused decision
	// keeps the comment typed; a decision that is neither is a 400.
	qa := dr.Slots[1].ID
	st, _, body = dee.post(loc+"/slots/"+qa, url.Values{"decision": {"approve"}, "comments": {"LGTM from dev"}})
	if st != 403 || !strings.Contains(body, "Your roles (developer) cannot fill a qa approval; it needs one of owner, admin, release_manager, qa") {
		t.Errorf("developer approves qa: %d\n%s", st, body)
	}
	quinn := s.relSignIn("quinn@acme.test", pw)
	long := strings.Repeat("very long comment ", 300)
	if st, _, body := quinn.post(loc+"/slots/"+qa, url.Values{"decision": {"approve"}, "comments": {long}}); st != 400 ||
		!strings.Contains(body, "Field &#39;comments&#39; is too long") || !strings.Contains(body, long+"</textarea>") {
		t.Errorf("long comment: %d\n%s", st, body)
	}
	if st, _, body := quinn.post(loc+"/slots/"+qa, url.Values{"decision": {"maybe"}}); st != 400 || !strings.Contains(body, "Choose Approve or Reject") {
		t.Errorf("decision maybe: %d\n%s", st, body)
	}
	if st, _, _ := quinn.post(loc+"/slots/"+qa, url.Values{"decision": {"reject"}, "comments": {"Regression in checkout."}}); st != 303 {
		t.Errorf("qa rejects: %d", st)
	}
	_, body = quinn.get(loc)
	if !strings.Contains(body, "Rejected the qa approval; the request is now rejected.") || !strings.Contains(body, "Regression in checkout.") ||
		!strings.Contains(body, "nothing more can change") {
		t.Errorf("after rejection:\n%s", body)
	}
	if st, _, body := quinn.post(loc+"/slots/"+qa, url.Values{"decision": {"approve"}}); st != 409 || !strings.Contains(body, "Cannot decide a slot of a deployment request that is rejected") {
		t.Errorf("decide twice: %d\n%s", st, body)
	}
	// The version page lists the request that ships it.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/ui/versions?product=api&version=1.0", nil)
	res, _ := dee.do(req)
	if _, body := dee.get(res.Header.Get("Location")); !strings.Contains(body, `href="/ui/deployment-requests/`+id+`"`) {
		t.Errorf("version page does not list its request:\n%s", body)
	}
}
