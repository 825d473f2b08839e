package web

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

func ptr(s string) *string { return &s }

func TestLinkOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, text, href string
	}{
		{"https://ci.example.com/runs/1", "https://ci.example.com/runs/1", "https://ci.example.com/runs/1"},
		{"  HTTP://Example.com/a b ", "http://Example.com/a%20b", "http://Example.com/a%20b"},
		{"https://user:token@github.com/acme/api.git", "https://github.com/acme/api.git", "https://github.com/acme/api.git"},
		{"javascript:alert(1)", "javascript:alert(1)", ""},
		{"JavaScript://example.com/%0aalert(1)", "JavaScript://example.com/%0aalert(1)", ""},
		{"data:text/html,<b>x</b>", "data:text/html,<b>x</b>", ""},
		{"//evil.example.com/x", "//evil.example.com/x", ""},
		{"/ui/admin", "/ui/admin", ""},
		{"https:evil", "https:evil", ""},
		{"https://", "https://", ""},
		{"git@github.com:acme/api.git", "git@github.com:acme/api.git", ""},
		{"acme/api", "acme/api", ""},
	}
	for _, tt := range tests {
		if got := linkOf(tt.in); got.Text != tt.text || got.Href != tt.href {
			t.Errorf("linkOf(%q) = %+v, want text %q href %q", tt.in, got, tt.text, tt.href)
		}
	}
}

func TestSCMLinks(t *testing.T) {
	t.Parallel()
	sha := "0123456789abcdef0123456789abcdef01234567"
	tests := []struct {
		name                 string
		repo, sha, branch    *string
		repoHref, commitHref string
		branchHref           string
	}{
		{"github", ptr("https://github.com/acme/api.git"), ptr(sha), ptr("feature/x y"), "https://github.com/acme/api.git",
			"https://github.com/acme/api/commit/" + sha, "https://github.com/acme/api/tree/feature/x%20y"},
		{"github enterprise", ptr("https://github.acme.corp/acme/api/"), ptr(sha), ptr("refs/heads/main"), "https://github.acme.corp/acme/api/",
			"https://github.acme.corp/acme/api/commit/" + sha, "https://github.acme.corp/acme/api/tree/main"},
		{"gitlab", ptr("https://gitlab.com/acme/api"), ptr("abc1234"), ptr("main"), "https://gitlab.com/acme/api",
			"https://gitlab.com/acme/api/-/commit/abc1234", "https://gitlab.com/acme/api/-/tree/main"},
		{"bitbucket", ptr("https://bitbucket.org/acme/api"), ptr(sha), ptr("main"), "https://bitbucket.org/acme/api",
			"https://bitbucket.org/acme/api/commits/" + sha, "https://bitbucket.org/acme/api/branch/main"},
		{"unknown host: the repository only", ptr("https://git.example.com/acme/api"), ptr(sha), ptr("main"),
			"https://git.example.com/acme/api", "", ""},
		{"a sha that is not hex", ptr("https://github.com/acme/api"), ptr("v1.2/../../x"), ptr("../../settings"),
			"https://github.com/acme/api", "", ""},
		{"no repository URL", ptr("acme/api"), ptr(sha), nil, "", "", ""},
		{"javascript repository", ptr("javascript:alert(1)//github.com"), ptr(sha), ptr("main"), "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := scmLinks(tt.repo, tt.sha, tt.branch)
			href := func(l *link) string {
				if l == nil {
					return ""
				}
				return l.Href
			}
			if href(got.Repository) != tt.repoHref || href(got.Commit) != tt.commitHref || href(got.Branch) != tt.branchHref {
				t.Errorf("got %q %q %q", href(got.Repository), href(got.Commit), href(got.Branch))
			}
		})
	}
	if scmLinks(nil, ptr(""), nil) != nil {
		t.Error("no source at all should be nil")
	}
}

func TestPreflightOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status *string
		meta   string
		want   *preflight
	}{
		{"never judged", nil, `{"ticket": "x"}`, nil},
		{"passed, no metadata", ptr("passed"), ``, &preflight{Status: "passed"}},
		{"report-only failure", ptr("passed"), `{"preflight_status": {"status": "passed", "rules_evaluated": [
			{"rule_name": "Staging first", "error_message": "", "status": "enabled", "evaluation_result": "passed"},
			{"rule_name": "Freeze", "error_message": "Frozen until Monday", "status": "report_only", "evaluation_result": "failed"}]}}`,
			&preflight{Status: "passed", Warnings: 1, Rules: []ruleResult{
				{RuleName: "Staging first", Status: "enabled", EvaluationResult: "passed"},
				{RuleName: "Freeze", ErrorMessage: "Frozen until Monday", Status: "report_only", EvaluationResult: "failed"}}}},
		{"status from metadata only", nil, `{"preflight_status": {"status": "skipped"}}`, &preflight{Status: "skipped"}},
		{"pipeline's own shape is ignored", ptr("failed"), `{"preflight_status": "green"}`, &preflight{Status: "failed"}},
		{"rules of the wrong shape are ignored", ptr("passed"), `{"preflight_status": {"rules_evaluated": [1, 2]}}`, &preflight{Status: "passed"}},
		{"not JSON", nil, `{{{`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := preflightOf(tt.status, json.RawMessage(tt.meta)); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDRForm(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	tests := []struct {
		name string
		form string
		want apiv1.DRInput
		err  string
	}{
		{"empty", "", apiv1.DRInput{Links: []string{}, Items: []shiplog.DRItem{}, EnvironmentNames: []string{}, ApprovalSlots: []apiv1.SlotInput{}}, ""},
		{"everything", "name=+Q4+&description=notes&links=https://a.example%0D%0A%0D%0Ahttps://b.example+&" +
			"item_product=api&item_version=1.0&item_product=&item_version=&item_product=web&item_version=&" +
			"environment=production&environment=staging&other_environments=prod-eu,+staging,%0Aqa&" +
			"slot_qa=required&slot_uat=optional&slot_security=&slot_unknown=required",
			apiv1.DRInput{Name: "Q4", Description: "notes", Links: []string{"https://a.example", "https://b.example"},
				Items:            []shiplog.DRItem{{ProductName: "api", Version: "1.0"}, {ProductName: "web"}},
				EnvironmentNames: []string{"production", "staging", "prod-eu", "qa"},
				ApprovalSlots:    []apiv1.SlotInput{{ApprovalType: "uat", Required: &no}, {ApprovalType: "qa", Required: &yes}}}, ""},
		{"more versions than products", "item_version=1.0&item_version=2.0&item_product=api",
			apiv1.DRInput{Links: []string{}, Items: []shiplog.DRItem{{ProductName: "api", Version: "1.0"}, {Version: "2.0"}},
				EnvironmentNames: []string{}, ApprovalSlots: []apiv1.SlotInput{}}, ""},
		{"a choice the form never offers", "name=x&slot_compliance=always", apiv1.DRInput{}, "The compliance approval must be required, optional or not needed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.form)
			_, got, err := parseDRForm(q)
			if tt.err != "" {
				if err == nil || shiplog.ErrorMessage(err) != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v (%v)\nwant %+v", got, err, tt.want)
			}
		})
	}
}

func TestByEnvironment(t *testing.T) {
	t.Parallel()
	dep := func(env string, typ shiplog.EnvType, id string) *shiplog.Deployment {
		return &shiplog.Deployment{ID: id, EnvironmentName: env, EnvironmentType: typ}
	}
	got := byEnvironment([]*shiplog.Deployment{dep("prod", shiplog.EnvProduction, "5"), dep("stage", shiplog.EnvStaging, "4"),
		dep("prod", shiplog.EnvProduction, "3"), dep("dev", shiplog.EnvDevelopment, "2"), dep("lab", "custom", "1")})
	var order []string
	for _, e := range got {
		ids := []string{}
		for _, d := range e.Deployments {
			ids = append(ids, d.ID)
		}
		order = append(order, e.Name+":"+strings.Join(ids, ","))
	}
	if strings.Join(order, " ") != "dev:2 stage:4 prod:5,3 lab:1" {
		t.Errorf("grouped %v", order)
	}
}

// FuzzWebURL: whatever a pipeline sends, an accepted link is an http(s)
// URL with a host and no credentials, and the same again when re-parsed.
func FuzzWebURL(f *testing.F) {
	for _, s := range []string{"https://github.com/acme/api", "javascript:alert(1)", "https://u:p@h/x", "HTTP://h", "https:x",
		"//h/x", " https://h/\x00", "data:,x", "https://h/%zz", "http://[::1]:80/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		href, ok := webURL(raw)
		if !ok {
			if l := linkOf(raw); l.Href != "" {
				t.Fatalf("linkOf(%q) links %q though webURL refused it", raw, l.Href)
			}
			return
		}
		u, err := url.Parse(href)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			t.Fatalf("webURL(%q) = %q: not a plain http(s) URL (%v)", raw, href, err)
		}
		lower := strings.ToLower(href)
		if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
			t.Fatalf("webURL(%q) = %q", raw, href)
		}
	})
}

// FuzzPreflightOf: metadata is the pipeline's JSON; reading the verdict
// from it never fails and never counts more warnings than rules.
func FuzzPreflightOf(f *testing.F) {
	f.Add("passed", `{"preflight_status": {"status": "passed", "rules_evaluated": [{"rule_name": "a", "status": "report_only", "evaluation_result": "failed"}]}}`)
	f.Add("", `{"preflight_status": []}`)
	f.Add("failed", `null`)
	f.Add("", `{"preflight_status": {"rules_evaluated": {"x": 1}}}`)
	f.Fuzz(func(t *testing.T, status, meta string) {
		var st *string
		if status != "" {
			st = &status
		}
		p := preflightOf(st, json.RawMessage(meta))
		if p != nil && p.Warnings > len(p.Rules) {
			t.Fatalf("%d warnings of %d rules", p.Warnings, len(p.Rules))
		}
		if p == nil && status != "" {
			t.Fatalf("status %q lost", status)
		}
	})
}

// FuzzParseDRForm: any form body becomes either a refusal or a request
// whose lists hold no blanks and no repeated environments.
func FuzzParseDRForm(f *testing.F) {
	f.Add("name=Q4&item_product=api&item_version=1.0&environment=prod&other_environments=a,b,,a&slot_qa=required&links=https://x")
	f.Add("item_product=&item_product=&item_version=x&slot_uat=optional&slot_qa=nope")
	f.Add("other_environments=%0D%0A,%20,&links=%20%0A")
	f.Fuzz(func(t *testing.T, body string) {
		q, err := url.ParseQuery(body)
		if err != nil {
			return
		}
		form, in, err := parseDRForm(q)
		if err != nil {
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Fatalf("refusal %v is not invalid input", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range in.EnvironmentNames {
			if strings.TrimSpace(e) != e || e == "" || seen[e] {
				t.Fatalf("environment %q blank, untrimmed or repeated in %q", e, in.EnvironmentNames)
			}
			seen[e] = true
		}
		for _, l := range in.Links {
			if l == "" || strings.ContainsAny(l, " \t\r\n") {
				t.Fatalf("link %q", l)
			}
		}
		for _, it := range in.Items {
			if it.ProductName == "" && it.Version == "" {
				t.Fatal("blank item sent")
			}
		}
		if len(in.Items) > len(form.Items) || len(in.ApprovalSlots) > len(shiplog.ApprovalTypes) {
			t.Fatalf("%d items of %d rows, %d slots", len(in.Items), len(form.Items), len(in.ApprovalSlots))
		}
	})
}
