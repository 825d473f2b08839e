package cli_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every outcome of track, with its exit code, against a real server (and,
// for 5xx, a receiver that only fails).
func TestTrackExitCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.rule(t, freeze("Freeze", "frozen", "enabled"))
	s.rule(t, freeze("Soft freeze", "soft", "report_only"))
	s.rule(t, map[string]any{"name": "Staging first", "rule_type": "flow", "product_names": []string{"flowed"},
		"prerequisite_environments": []string{"staging"}, "target_environment": "production"})
	if r := s.shiplog(t, call{args: args("track", "deployment", "--product", "busy", "--version", "1", "--environment", "prod", "--status", "started")}); r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	if r := s.shiplog(t, call{args: args("track", "build", "--product", "sha", "--version", "1", "--scm-sha", "aaa")}); r.code != 0 {
		t.Fatalf("setup: %+v", r)
	}
	down := closedURL(t)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	}))
	t.Cleanup(failing.Close)
	dep := func(product, env string, more ...string) []string {
		return append([]string{"track", "deployment", "--product", product, "--version", "1", "--environment", env}, more...)
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout string
		stderr []string
	}{
		{"recorded", nil, dep("api", "prod"), 0, "✓ Deployment event tracked successfully\n  Event ID: 0", []string{}},
		{"recorded, shiplog's line", nil, dep("api", "prod"), 0, "\n  Recorded: api 1 → prod (completed)\n", nil},
		{"build recorded", nil, args("track", "build", "--product", "api", "--version", "1", "--status", "started"), 0, "✓ Build event tracked successfully\n  Event ID: 0", nil},
		{"status alias", nil, dep("alias", "prod", "--status", "deployed"), 0, "(completed)", nil},
		{"no environment", nil, args("track", "deployment", "--product", "api", "--version", "1"), 1, "", []string{"--environment is required"}},
		{"no product outside CI", nil, args("track", "build", "--version", "1"), 1, "", []string{"--product is required (outside CI there is nothing to take it from)"}},
		{"unknown status: the server judges it", nil, dep("api", "prod", "--status", "yolo"), 4, "", []string{`400 Bad Request: Invalid status 'yolo'`}},
		{"unknown build status", nil, args("track", "build", "--product", "api", "--version", "1", "--status", "yolo"), 2, "", []string{`Invalid status 'yolo'`}},
		{"bad metadata", nil, dep("api", "prod", "--extra-metadata", "[1]"), 1, "", []string{"--extra-metadata must be a JSON object", "got a JSON array"}},
		{"bad time", nil, dep("api", "prod", "--completed-at", "yesterday"), 1, "", []string{"--completed-at must be an RFC 3339 time"}},
		{"no URL", map[string]string{"SHIPLOG_URL": ""}, dep("api", "prod"), 1, "", []string{"no server URL: set SHIPLOG_URL"}},
		{"no key", map[string]string{"SHIPLOG_API_KEY": ""}, dep("api", "prod"), 1, "", []string{"no API key"}},
		{"bad URL", map[string]string{"SHIPLOG_URL": "localhost:8080"}, dep("api", "prod"), 1, "", []string{"must be an http:// or https:// URL"}},
		{"refused key", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope"}, dep("api", "prod"), 4, "",
			[]string{"deployment event for api 1 → prod failed: 401 Unauthorized: Invalid API key", "check SHIPLOG_API_KEY"}},
		{"refused key, build", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope"}, args("track", "build", "--product", "api", "--version", "1"), 2, "",
			[]string{"build event for api 1 failed: 401 Unauthorized"}},
		{"refused key, not fatal", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope"}, dep("api", "prod", "--fail-on-api-error=false"), 0, "  Event ID: \n",
			[]string{"warning: deployment event for api 1 → prod not recorded (--fail-on-api-error=false): 401"}},
		{"refused key, not fatal by VERSIONER_ env", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope", "VERSIONER_FAIL_ON_API_ERROR": "false"},
			dep("api", "prod"), 0, "", []string{"not recorded"}},
		{"version immutability on a build", nil, args("track", "build", "--product", "sha", "--version", "1", "--scm-sha", "bbb"), 2, "",
			[]string{"409 Conflict: Version 1 already exists with different SHA"}},
		{"version immutability on a deployment is 5, as any 409", nil, dep("sha", "prod", "--scm-sha", "bbb"), 5, "",
			[]string{"409 Conflict: Version 1 already exists with different SHA"}},
		{"version immutability is 5 even when API errors do not fail", nil, dep("sha", "prod", "--scm-sha", "bbb", "--fail-on-api-error=false"), 5, "", nil},
		{"server down", map[string]string{"SHIPLOG_URL": down}, dep("api", "prod"), 1, "", []string{"connection refused (4 attempts)"}},
		{"server down fails even when API errors do not", map[string]string{"SHIPLOG_URL": down}, dep("api", "prod", "--fail-on-api-error=false"), 1, "", []string{"connection refused"}},
		{"server down, tolerated as by the Versioner Action", map[string]string{"SHIPLOG_URL": down}, dep("api", "prod", "--fail-on-api-error=false",
			"--fail-on-unreachable=false"), 0, "  Event ID: \n", []string{"not recorded"}},
		{"5xx tolerated by SHIPLOG_FAIL_ON_UNREACHABLE, build", map[string]string{"SHIPLOG_URL": failing.URL, "SHIPLOG_FAIL_ON_UNREACHABLE": "false"},
			args("track", "build", "--product", "api", "--version", "1", "--fail-on-api-error=false"), 0, "", []string{"not recorded"}},
		{"--fail-on-unreachable=false alone changes nothing", map[string]string{"SHIPLOG_URL": down}, dep("api", "prod", "--fail-on-unreachable=false"), 1, "", nil},
		{"server down, build", map[string]string{"SHIPLOG_URL": down}, args("track", "build", "--product", "api", "--version", "1", "--fail-on-api-error=false"), 2, "", []string{"connection refused"}},
		{"5xx until retries run out", map[string]string{"SHIPLOG_URL": failing.URL}, dep("api", "prod"), 1, "", []string{"502 Bad Gateway: Bad Gateway (4 attempts)"}},
		{"5xx until retries run out, build", map[string]string{"SHIPLOG_URL": failing.URL}, args("track", "build", "--product", "api", "--version", "1"), 2, "", nil},
		{"blocked by a schedule", nil, dep("api", "frozen", "--status", "started"), 5, "", []string{"🔒 Deployment Blocked by Schedule: api 1 → frozen",
			"Rule:        Freeze", "Reason:      deployments are blocked", "release train\n", "Code:        NO_DEPLOY_WINDOW (HTTP 423)", "Retry after: 20",
			`"window_name": "Freeze"`, "do not deploy"}},
		{"a block fails even when API errors do not", nil, dep("api", "frozen", "--status", "started", "--fail-on-api-error=false"), 5, "", []string{"Deployment Blocked"}},
		{"blocked by a flow rule", nil, dep("flowed", "production", "--status", "started"), 5, "", []string{"❌ Deployment Precondition Failed", "Staging first", "FLOW_VIOLATION (HTTP 428)"}},
		{"blocked by a running deployment", nil, args("track", "deployment", "--product", "busy", "--version", "2", "--environment", "prod", "--status", "started"), 5, "",
			[]string{"⚠️  Deployment Conflict", "Concurrent deployments", "CONCURRENT_DEPLOYMENT (HTTP 409)"}},
		{"--debug shows the requests on stderr, never the key", nil, append(args("--debug"), dep("debugged", "prod")...), 0, "Event ID: ",
			[]string{"→ POST " + s.url + "/deployment-events/", `→ Request body: {"product_name":"debugged"`, "← Status: 200"}},
		{"extra arguments are ignored, as by the Versioner CLI", nil, dep("extra", "prod", "stray"), 0, "Event ID: ", nil},
		{"global flags after the command", nil, dep("late", "prod", "--ui-url", "https://ui.example", "--config", "/nonexistent.yaml", "-v"), 0, "Product ID: ", nil},
		{"report-only violation", nil, dep("api", "soft", "--status", "started"), 0, "✓ Deployment event tracked successfully", []string{`warning: report-only rule "Soft freeze" failed: deployments are blocked`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.shiplog(t, call{env: tc.env, args: tc.args})
			if r.code != tc.code || !strings.Contains(r.stdout, tc.stdout) {
				t.Errorf("exit %d, stdout %q; want %d, %q\nstderr: %s", r.code, r.stdout, tc.code, tc.stdout, r.stderr)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr+r.stdout, s.key) {
				t.Error("the API key was printed")
			}
		})
	}
}

// Flags win over SHIPLOG_*, which win over VERSIONER_*; a key given as a
// flag works with a warning.
func TestTrackConfigPrecedence(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	down := closedURL(t)
	const warning = "--api-key is visible to other users in process lists"
	for _, tc := range []struct {
		name    string
		env     map[string]string
		flags   []string
		code    int
		warning bool
	}{
		{"VERSIONER_ variables alone", map[string]string{"SHIPLOG_URL": "", "SHIPLOG_API_KEY": "", "VERSIONER_API_URL": s.url, "VERSIONER_API_KEY": s.key}, nil, 0, false},
		{"SHIPLOG_URL wins over VERSIONER_API_URL", map[string]string{"SHIPLOG_URL": down, "VERSIONER_API_URL": s.url}, nil, 1, false},
		{"SHIPLOG_API_KEY wins over VERSIONER_API_KEY", map[string]string{"VERSIONER_API_KEY": "sk_acme_k1_nope"}, nil, 0, false},
		{"--api-url wins over SHIPLOG_URL", map[string]string{"SHIPLOG_URL": down}, []string{"--api-url", s.url}, 0, false},
		{"--url is --api-url", map[string]string{"SHIPLOG_URL": down}, []string{"--url=" + s.url}, 0, false},
		{"--api-key wins, with a warning", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope"}, []string{"--api-key", s.key}, 0, true},
		{"--fail-on-api-error wins over the variable", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope", "VERSIONER_FAIL_ON_API_ERROR": "false"},
			[]string{"--fail-on-api-error=true"}, 4, false},
		{"SHIPLOG_FAIL_ON_API_ERROR wins over VERSIONER_", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope", "SHIPLOG_FAIL_ON_API_ERROR": "true",
			"VERSIONER_FAIL_ON_API_ERROR": "false"}, nil, 4, false},
		{"every empty SHIPLOG_ variable counts as unset", map[string]string{"SHIPLOG_OUTPUT": "\x00", "SHIPLOG_FAIL_ON_UNREACHABLE": "\x00",
			"SHIPLOG_FAIL_ON_API_ERROR": "\x00", "SHIPLOG_UI_URL": "\x00"}, nil, 0, false},
		{"an empty SHIPLOG_URL does not hide VERSIONER_API_URL", map[string]string{"SHIPLOG_URL": "", "VERSIONER_API_URL": s.url}, nil, 0, false},
		{"an empty SHIPLOG_API_KEY does not hide VERSIONER_API_KEY", map[string]string{"SHIPLOG_API_KEY": "", "VERSIONER_API_KEY": s.key}, nil, 0, false},
		{"VERSIONER_FAIL_ON_API_ERROR reads as ParseBool, anything else false", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope",
			"VERSIONER_FAIL_ON_API_ERROR": "no"}, nil, 0, false},
		{"global flags before the command", nil, nil, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := append(args("track", "deployment", "--product", "p", "--version", "1", "--environment", "e"), tc.flags...)
			if tc.name == "global flags before the command" {
				a = args("--debug", "-v", "--api-url", s.url, "--ui-url", "https://ui.example", "track", "deployment", "--product", "p", "--version", "1", "--environment", "e")
			}
			r := s.shiplog(t, call{env: tc.env, args: a})
			if r.code != tc.code || strings.Contains(r.stderr, warning) != tc.warning {
				t.Errorf("exit %d (want %d), warning %v (want %v)\n%s", r.code, tc.code, !tc.warning, tc.warning, r.stderr)
			}
		})
	}
}

// --output json prints exactly one object on stdout, whatever happened.
func TestTrackJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.rule(t, freeze("Freeze", "frozen", "enabled"))
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		outcome string
		check   func(t *testing.T, m map[string]any)
	}{
		{"recorded", nil, args("track", "deployment", "--product", "api", "--version", "1", "--environment", "prod", "-o", "json",
			"--extra-metadata", `{"ticket": "OPS-1"}`), 0, "recorded", func(t *testing.T, m map[string]any) {
			resp, _ := m["response"].(map[string]any)
			meta, _ := resp["extra_metadata"].(map[string]any)
			if resp["id"] == "" || resp["status"] != "completed" || meta["ticket"] != "OPS-1" || m["event"] != "deployment" {
				t.Errorf("response: %v", m)
			}
		}},
		{"blocked", nil, args("track", "deployment", "--product", "api", "--version", "1", "--environment", "frozen", "--status", "started",
			"--output=json"), 5, "blocked", func(t *testing.T, m map[string]any) {
			b, _ := m["block"].(map[string]any)
			details, _ := b["details"].(map[string]any)
			if m["status_code"] != 423.0 || b["code"] != "NO_DEPLOY_WINDOW" || b["retry_after"] == "" || details["rule_name"] != "Freeze" {
				t.Errorf("block: %v", m)
			}
		}},
		{"API error", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope"}, args("track", "build", "--product", "api", "--version", "1", "-o", "json"),
			2, "api_error", func(t *testing.T, m map[string]any) {
				if m["status_code"] != 401.0 || m["message"] != "Invalid API key" {
					t.Errorf("%v", m)
				}
			}},
		{"not recorded", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope", "SHIPLOG_OUTPUT": "json"},
			args("track", "build", "--product", "api", "--version", "1", "--fail-on-api-error=false"), 0, "not_recorded", nil},
		{"network error", map[string]string{"SHIPLOG_URL": closedURL(t)}, args("track", "deployment", "--product", "api", "--version", "1", "--environment", "e", "-o", "json"),
			1, "network_error", nil},
		{"network error, build", map[string]string{"SHIPLOG_URL": closedURL(t)}, args("track", "build", "--product", "api", "--version", "1", "-o", "json"),
			2, "network_error", nil},
		{"usage", nil, args("track", "build", "--version", "1", "-o", "json"), 1, "usage_error", func(t *testing.T, m map[string]any) {
			if !strings.Contains(m["message"].(string), "--product is required") {
				t.Errorf("%v", m)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.shiplog(t, call{env: tc.env, args: tc.args})
			m := jsonReport(t, r.stdout)
			if r.code != tc.code || m["outcome"] != tc.outcome || m["exit_code"] != float64(tc.code) {
				t.Errorf("exit %d, %v; want %d %s\nstderr: %s", r.code, m, tc.code, tc.outcome, r.stderr)
			}
			if strings.Contains(r.stderr, "✓") || strings.Contains(r.stderr, "Deployment Blocked") {
				t.Errorf("human output in JSON mode: %s", r.stderr)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
}

// In GitHub Actions, what is not given comes from the environment, and the
// step gets outputs, a job summary and annotations.
func TestTrackInGitHubActions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.rule(t, freeze("Freeze", "frozen", "enabled"))
	s.rule(t, freeze("Soft freeze", "soft", "report_only"))
	dir := t.TempDir()
	summary, output := filepath.Join(dir, "summary.md"), filepath.Join(dir, "output")
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/web-app", "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
		"GITHUB_REF_NAME": "main", "GITHUB_RUN_NUMBER": "42", "GITHUB_RUN_ID": "9001", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_ACTOR": "octocat", "GITHUB_WORKFLOW": "Deploy", "GITHUB_JOB": "prod", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": output}

	r := s.shiplog(t, call{env: gh, args: args("track", "deployment", "--environment", "production", "--deployed-by-name", "Octo Cat",
		"--extra-metadata", `{"vi_gh_job": "overridden", "ticket": "OPS-7"}`)})
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	d, meta := s.only(t, "web-app")
	for name, got := range map[string]*string{"scm_sha": d.ScmSHA, "scm_repository": d.ScmRepository,
		"build_number": d.BuildNumber, "invoke_id": d.InvokeID, "deploy_url": d.DeployURL, "deployed_by": d.DeployedBy,
		"deployed_by_name": d.DeployedByName, "source_system": d.SourceSystem} {
		want := map[string]string{"scm_sha": gh["GITHUB_SHA"], "scm_repository": "acme/web-app", "build_number": "42",
			"invoke_id": "9001", "deploy_url": "https://github.com/acme/web-app/actions/runs/9001", "deployed_by": "octocat",
			"deployed_by_name": "Octo Cat", "source_system": "github"}[name]
		if got == nil || *got != want {
			t.Errorf("%s = %v, want %q", name, got, want)
		}
	}
	if d.ScmBranch != nil {
		t.Errorf("scm_branch %q on a deployment: the Versioner CLI sends none", *d.ScmBranch)
	}
	if d.Version != "01234567" || meta["vi_gh_workflow"] != "Deploy" || meta["vi_gh_job"] != "overridden" || meta["ticket"] != "OPS-7" {
		t.Errorf("version %q, metadata %v", d.Version, meta)
	}
	out, _ := os.ReadFile(output)
	for _, want := range []string{"deployment_id=" + d.ID + "\n", "version_id=" + d.VersionID + "\n", "product_id=" + d.ProductID + "\n",
		"environment_id=" + d.EnvironmentID + "\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("GITHUB_OUTPUT lacks %q:\n%s", want, out)
		}
	}

	r = s.shiplog(t, call{env: gh, args: args("track", "build", "--status", "failed")})
	out, _ = os.ReadFile(output)
	if r.code != 0 || !strings.Contains(string(out), "build_id=") {
		t.Errorf("build: %d %s\n%s", r.code, r.stderr, out)
	}

	r = s.shiplog(t, call{env: gh, args: args("track", "deployment", "--environment", "soft", "--status", "started")})
	if r.code != 0 || !strings.Contains(r.stderr, "::warning title=Report-only rule violation%3A Soft freeze::deployments are blocked") {
		t.Errorf("report-only: %d\n%s", r.code, r.stderr)
	}
	r = s.shiplog(t, call{env: gh, args: args("track", "deployment", "--environment", "frozen", "--status", "started")})
	if r.code != 5 || !strings.Contains(r.stderr, "::error title=Deployment blocked by rule Freeze::deployments are blocked") ||
		!strings.Contains(r.stderr, "(retry after 20") {
		t.Errorf("blocked: %d\n%s", r.code, r.stderr)
	}
	r = s.shiplog(t, call{env: gh, args: args("track", "deployment", "--environment", "x", "--api-key", "sk_acme_k1_nope",
		"--fail-on-api-error=false")})
	if r.code != 0 || !strings.Contains(r.stderr, "::warning title=shiplog%3A deployment event not recorded::401 Unauthorized") {
		t.Errorf("swallowed error: %d\n%s", r.code, r.stderr)
	}
	r = s.shiplog(t, call{env: gh, args: args("track", "deployment", "--environment", "x", "--api-key", "sk_acme_k1_nope")})
	if r.code != 4 || !strings.Contains(r.stderr, "::error title=shiplog%3A deployment event failed::401 Unauthorized") {
		t.Errorf("error: %d\n%s", r.code, r.stderr)
	}

	sum, _ := os.ReadFile(summary)
	for _, want := range []string{"### 🚀 shiplog: deployment completed", "| Product | web-app |", "| Environment | production |",
		"| Deployment | " + d.ID + " |", "[View in shiplog →](" + s.url + "/manage/deployments?view=" + d.ID + ")", "### 🔨 shiplog: build failed", "**⚠️ Report-only rule violations**", "- **Soft freeze**: deployments are blocked",
		"### 🔒 Deployment Blocked by Schedule: web-app 01234567 → frozen", "| Rule | Freeze |", "| Retry after | 20", "<details><summary>Details</summary>"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
}

// Each CI system the spec lists is recognised by the binary: its name
// becomes source_system and its repository and commit fill product and version.
func TestTrackDetectsEveryCI(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	const sha = "fedcba9876543210fedcba9876543210fedcba98"
	for _, tc := range []struct {
		system           string
		env              map[string]string
		product, version string
	}{
		{"github", map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/gh-app", "GITHUB_SHA": sha}, "gh-app", "fedcba98"},
		{"gitlab", map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/group/gl-app", "CI_COMMIT_SHA": sha}, "gl-app", "fedcba98"},
		{"jenkins", map[string]string{"JENKINS_URL": "https://ci", "GIT_URL": "git@github.com:acme/jk-app.git", "BUILD_NUMBER": "12"}, "jk-app", "12"},
		{"circleci", map[string]string{"CIRCLECI": "true", "CIRCLE_PROJECT_USERNAME": "acme", "CIRCLE_PROJECT_REPONAME": "cc-app", "CIRCLE_SHA1": sha}, "cc-app", "fedcba98"},
		{"bitbucket", map[string]string{"BITBUCKET_BUILD_NUMBER": "3", "BITBUCKET_REPO_SLUG": "bb-app", "BITBUCKET_COMMIT": sha}, "bb-app", "fedcba98"},
		{"azure-devops", map[string]string{"TF_BUILD": "True", "BUILD_REPOSITORY_NAME": "az-app", "BUILD_BUILDNUMBER": "20260101.1"}, "az-app", "20260101.1"},
		{"travis", map[string]string{"TRAVIS": "true", "TRAVIS_REPO_SLUG": "acme/tr-app", "TRAVIS_COMMIT": sha}, "tr-app", "fedcba98"},
		{"rundeck", map[string]string{"RD_JOB_ID": "j", "RD_JOB_NAME": "rd-app", "RD_JOB_EXECID": "77"}, "rd-app", "77"},
	} {
		t.Run(tc.system, func(t *testing.T) {
			t.Parallel()
			r := s.shiplog(t, call{env: tc.env, args: args("track", "deployment", "--environment", "qa", "-v")})
			if r.code != 0 || !strings.Contains(r.stderr, "detected CI: "+tc.system) {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			d, _ := s.only(t, tc.product)
			if d.Version != tc.version || d.SourceSystem == nil || *d.SourceSystem != tc.system {
				t.Errorf("version %q, source %v; want %q, %q", d.Version, d.SourceSystem, tc.version, tc.system)
			}
		})
	}
}
