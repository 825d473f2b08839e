package contract_test

import (
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// A step is one command of a pipeline, run by both clients: the real
// Versioner CLI and shiplog, each against its own organisation on the same
// server, with the same arguments, variables and files ({url} and {key}
// stand for the server's URL and the organisation's key).
type step struct {
	name   string
	args   []string
	env    map[string]string // over the defaults VERSIONER_API_URL={url}, VERSIONER_API_KEY={key}; "" unsets
	code   int               // the exit code both must give
	id     string            // the "Event ID:" line: "set" (default for 0), "empty", "none" (default otherwise)
	stderr []string          // what both print on stderr
	before func(t *testing.T, s *server, orgs []org)
}

// A scenario is a pipeline: a setup per organisation (rules, settings),
// files in HOME and in the working directory, and steps.
type scenario struct {
	name  string
	setup func(t *testing.T, s *server, o org)
	home  map[string]string // HOME-relative files
	work  map[string]string // working-directory files
	env   map[string]string // for every step
	steps []step
	// serverless: the scenario never reaches the server (it is down).
	serverless bool
}

const sha1 = "0123456789abcdef0123456789abcdef01234567"

func dep(more ...string) []string {
	return append([]string{"track", "deployment"}, more...)
}

func bld(more ...string) []string {
	return append([]string{"track", "build"}, more...)
}

// window is a no-deploy window around the server's clock.
func window(name, env, status string) map[string]any {
	now := fakeclock.Epoch
	return map[string]any{"name": name, "rule_type": "schedule", "status": status, "environment_names": []string{env},
		"schedule": map[string]any{"recurrence": "once", "time_zone": "UTC", "start": now.Add(-24 * time.Hour).Format("2006-01-02T15:04"),
			"end": now.Add(24 * time.Hour).Format("2006-01-02T15:04"), "reason": "release train"}}
}

func rule(t *testing.T, s *server, o org, r map[string]any) {
	t.Helper()
	s.must(t, http.MethodPost, "/deployment-rules/", o.pat, r, http.StatusCreated)
}

// rules creates one rule of every type, enabled on the environments named
// blocked-*, report-only on report-*.
func rules(t *testing.T, s *server, o org) {
	for _, mode := range []struct{ prefix, status string }{{"blocked", "enabled"}, {"report", "report_only"}} {
		p, st := mode.prefix, mode.status
		rule(t, s, o, window("Freeze "+p, p+"-window", st))
		rule(t, s, o, map[string]any{"name": "Staging first " + p, "rule_type": "flow", "status": st,
			"prerequisite_environments": []string{p + "-staging"}, "target_environment": p + "-flow"})
		rule(t, s, o, map[string]any{"name": "Soak " + p, "rule_type": "flow", "status": st,
			"prerequisite_environments": []string{p + "-canary"}, "target_environment": p + "-soak", "soak_minutes": 60})
		rule(t, s, o, map[string]any{"name": "Request " + p, "rule_type": "deployment_request_required", "status": st,
			"environment_names": []string{p + "-request"}, "required_approval_types": []string{"qa"}})
		rule(t, s, o, map[string]any{"name": "Sign-off " + p, "rule_type": "version_approval_required", "status": st,
			"environment_names": []string{p + "-signoff"}, "required_approval_types": []string{"security"}})
	}
}

var (
	github = map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/web-app", "GITHUB_SHA": sha1,
		"GITHUB_REF": "refs/pull/7/merge", "GITHUB_REF_NAME": "7/merge", "GITHUB_HEAD_REF": "feature/login", "GITHUB_BASE_REF": "main",
		"GITHUB_RUN_NUMBER": "42", "GITHUB_RUN_ID": "9001", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_ACTOR": "octocat", "GITHUB_WORKFLOW": "Deploy", "GITHUB_JOB": "prod", "GITHUB_EVENT_NAME": "pull_request"}
	gitlab = map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/platform/gl-app", "CI_COMMIT_SHA": sha1,
		"CI_COMMIT_REF_NAME": "main", "CI_PIPELINE_IID": "17", "CI_PIPELINE_ID": "5551",
		"CI_PIPELINE_URL": "https://gitlab.com/acme/platform/gl-app/-/pipelines/5551", "GITLAB_USER_LOGIN": "jdoe",
		"GITLAB_USER_EMAIL": "jdoe@acme.test", "GITLAB_USER_NAME": "Jane Doe", "CI_JOB_ID": "900", "CI_JOB_NAME": "deploy",
		"CI_JOB_URL": "https://gitlab.com/acme/platform/gl-app/-/jobs/900", "CI_PIPELINE_SOURCE": "push"}
	jenkins = map[string]string{"JENKINS_URL": "https://ci.acme.test/", "GIT_URL": "https://github.com/acme/jk-app.git", "GIT_COMMIT": sha1,
		"GIT_BRANCH": "origin/release/2.x", "BUILD_NUMBER": "311", "BUILD_ID": "311", "BUILD_URL": "https://ci.acme.test/job/jk-app/311/",
		"BUILD_USER": "Jane Doe", "BUILD_USER_ID": "jdoe", "BUILD_USER_EMAIL": "jdoe@acme.test", "JOB_NAME": "jk-app",
		"NODE_NAME": "agent-3", "EXECUTOR_NUMBER": "1"}
	azure = map[string]string{"TF_BUILD": "True", "BUILD_REPOSITORY_NAME": "acme/az-app", "BUILD_SOURCEVERSION": sha1,
		"BUILD_SOURCEBRANCH": "refs/heads/feature/x", "BUILD_SOURCEBRANCHNAME": "x", "BUILD_BUILDNUMBER": "20260101.3", "BUILD_BUILDID": "4411",
		"BUILD_BUILDURI": "vstfs:///Build/Build/4411", "SYSTEM_COLLECTIONURI": "https://dev.azure.com/acme/", "SYSTEM_TEAMPROJECT": "Platform",
		"BUILD_REQUESTEDFOR": "Jane Doe", "BUILD_REQUESTEDFOREMAIL": "jdoe@acme.test"}
)

func scenarios() []scenario {
	var statuses []step
	for _, st := range []string{"pending", "started", "success", "completed", "failed", "aborted", "in_progress", "deployed", "cancelled", "failure", "queued"} {
		statuses = append(statuses, step{name: "deployment " + st, args: dep("--product", "api", "--version", "1.0."+st, "--environment", "env-"+st, "--status", st)})
	}
	for _, st := range []string{"pending", "started", "completed", "failed", "aborted", "building", "built", "error"} {
		statuses = append(statuses, step{name: "build " + st, args: bld("--product", "api", "--version", "2.0."+st, "--status", st)})
	}
	statuses = append(statuses,
		step{name: "deployment default status", args: dep("--product", "api", "--version", "3", "--environment", "env-default")},
		step{name: "build default status", args: bld("--product", "api", "--version", "3")},
		step{name: "unknown status: the server says 400", args: dep("--product", "api", "--version", "4", "--environment", "e", "--status", "bogus"), code: 4},
		step{name: "unknown build status", args: bld("--product", "api", "--version", "4", "--status", "bogus"), code: 2},
		step{name: "extra arguments are ignored", args: dep("--product", "api", "--version", "5", "--environment", "env-extra", "stray", "words")},
		step{name: "global flags anywhere", args: []string{"track", "--debug", "build", "--product", "api", "--version", "5", "-v"}},
	)

	var ruleSteps []step
	for _, c := range []struct {
		env, title string
		code       int
		pre        []string // a prerequisite deployment's environment
	}{
		{"blocked-window", "Deployment Blocked by Schedule", 5, nil},
		{"blocked-flow", "Deployment Precondition Failed", 5, nil},
		{"blocked-soak", "Deployment Precondition Failed", 5, []string{"blocked-canary"}},
		{"blocked-request", "Deployment Precondition Failed", 5, nil},
		{"blocked-signoff", "Deployment Precondition Failed", 5, nil},
		{"report-window", "", 0, nil},
		{"report-flow", "", 0, nil},
		{"report-soak", "", 0, []string{"report-canary"}},
		{"report-request", "", 0, nil},
		{"report-signoff", "", 0, nil},
	} {
		for _, pre := range c.pre {
			ruleSteps = append(ruleSteps, step{name: "prerequisite " + pre, args: dep("--product", "api", "--version", "7", "--environment", pre)})
		}
		s := step{name: c.env, args: dep("--product", "api", "--version", "7", "--environment", c.env, "--status", "started"), code: c.code}
		if c.title != "" {
			s.stderr = []string{c.title}
		}
		ruleSteps = append(ruleSteps, s)
		// Terminal events are not judged.
		ruleSteps = append(ruleSteps, step{name: c.env + " finished", args: dep("--product", "api", "--version", "7", "--environment", c.env, "--status", "failed")})
	}
	ruleSteps = append(ruleSteps,
		step{name: "running", args: dep("--product", "api", "--version", "8", "--environment", "prod", "--status", "started", "--invoke-id", "run-8")},
		step{name: "concurrent start refused", args: dep("--product", "api", "--version", "9", "--environment", "prod", "--status", "started"), code: 5,
			stderr: []string{"Deployment Conflict"}},
		step{name: "a refusal fails whatever --fail-on-api-error says", args: dep("--product", "api", "--version", "9", "--environment", "prod",
			"--status", "started", "--fail-on-api-error=false"), code: 5},
		step{name: "builds are not judged", args: bld("--product", "api", "--version", "9")},
	)

	configFile := "# the team's settings\napi_url: {url}\napi_key: '{key}'\nproduct: cfg-app\nenvironment: staging\nversion: 1.10\n" +
		"scm_sha: " + sha1 + "\ninvoke_id: cfg-run\ndeployed_by: cfg-user\nbuild_number: 12\nsource_system: buildkite\nfail_on_api_error: true\n"
	every := map[string]string{"VERSIONER_PRODUCT": "env-app", "VERSIONER_VERSION": "2.0.0", "VERSIONER_ENVIRONMENT": "staging",
		"VERSIONER_SCM_SHA": sha1, "VERSIONER_INVOKE_ID": "run-77", "VERSIONER_DEPLOYED_BY": "jdoe",
		"VERSIONER_DEPLOYED_BY_EMAIL": "jdoe@acme.test", "VERSIONER_DEPLOYED_BY_NAME": "Jane Doe", "VERSIONER_BUILD_NUMBER": "77",
		"VERSIONER_SOURCE_SYSTEM": "buildkite", "VERSIONER_SCM_REPOSITORY": "acme/env-app", "VERSIONER_DEPLOY_URL": "https://ci.acme.test/77",
		"VERSIONER_UI_URL": "https://ui.acme.test", "VERSIONER_FAIL_ON_API_ERROR": "true", "VERSIONER_SCM_BRANCH": "main",
		"VERSIONER_BUILD_URL": "https://ci.acme.test/b/77", "VERSIONER_BUILT_BY": "builder", "VERSIONER_BUILT_BY_EMAIL": "b@acme.test",
		"VERSIONER_BUILT_BY_NAME": "The Builder",
		// Read by neither client: status and metadata are flags only.
		"VERSIONER_STATUS": "failed", "VERSIONER_EXTRA_METADATA": `{"x": 1}`}

	ci := func(name string, env map[string]string) scenario {
		return scenario{name: name, env: env, steps: []step{
			{name: "build", args: bld()},
			{name: "build failed", args: bld("--status", "failed")},
			{name: "deployment started", args: dep("--environment", "production", "--status", "started")},
			{name: "deployment finished", args: dep("--environment", "production")},
			{name: "flags win over detection", args: dep("--environment", "qa", "--product", "flagged", "--version", "9", "--deployed-by", "someone")},
		}}
	}

	return []scenario{
		{name: "every status", steps: statuses},
		{name: "immutability", steps: []step{
			{name: "build with a SHA", args: bld("--product", "imm", "--version", "1", "--scm-sha", "aaa")},
			{name: "deployment with another SHA: any 409 is 5", args: dep("--product", "imm", "--version", "1", "--environment", "prod", "--scm-sha", "bbb"), code: 5},
			{name: "the same with --fail-on-api-error=false", args: dep("--product", "imm", "--version", "1", "--environment", "prod", "--scm-sha", "bbb",
				"--fail-on-api-error=false"), code: 5},
			{name: "build with another SHA", args: bld("--product", "imm", "--version", "1", "--scm-sha", "bbb"), code: 2},
			{name: "the same SHA again", args: dep("--product", "imm", "--version", "1", "--environment", "prod", "--scm-sha", "aaa")},
		}},
		{name: "auth failure", steps: []step{
			{name: "deployment, refused key", env: map[string]string{"VERSIONER_API_KEY": "sk_nope_k1_nope"}, args: dep("--product", "a", "--version", "1", "--environment", "e"), code: 4},
			{name: "build, refused key", env: map[string]string{"VERSIONER_API_KEY": "sk_nope_k1_nope"}, args: bld("--product", "a", "--version", "1"), code: 2},
			{name: "deployment, refused key, not fatal", env: map[string]string{"VERSIONER_API_KEY": "sk_nope_k1_nope"},
				args: dep("--product", "a", "--version", "1", "--environment", "e", "--fail-on-api-error=false"), id: "empty"},
			{name: "build, refused key, not fatal by variable", env: map[string]string{"VERSIONER_API_KEY": "sk_nope_k1_nope", "VERSIONER_FAIL_ON_API_ERROR": "false"},
				args: bld("--product", "a", "--version", "1"), id: "empty"},
			{name: "no key", env: map[string]string{"VERSIONER_API_KEY": ""}, args: dep("--product", "a", "--version", "1", "--environment", "e"), code: 1},
			{name: "the key as a flag warns", env: map[string]string{"VERSIONER_API_KEY": ""}, args: dep("--api-key", "{key}", "--product", "a", "--version", "1", "--environment", "e")},
			{name: "missing environment", args: dep("--product", "a", "--version", "1"), code: 1},
			{name: "missing product outside CI", args: bld("--version", "1"), code: 1},
			{name: "bad metadata", args: dep("--product", "a", "--version", "1", "--environment", "e", "--extra-metadata", "[1]"), code: 1},
			{name: "bad time", args: dep("--product", "a", "--version", "1", "--environment", "e", "--completed-at", "yesterday"), code: 1},
		}},
		{name: "server down", serverless: true, env: map[string]string{"VERSIONER_API_URL": down}, steps: []step{
			{name: "deployment", args: dep("--product", "a", "--version", "1", "--environment", "e"), code: 1},
			{name: "build", args: bld("--product", "a", "--version", "1"), code: 2},
			{name: "deployment, not fatal: still 1", args: dep("--product", "a", "--version", "1", "--environment", "e", "--fail-on-api-error=false"), code: 1},
		}},
		{name: "every rule type, blocked and report-only", setup: rules, steps: ruleSteps},
		{name: "skip preflight", setup: func(t *testing.T, s *server, o org) { rule(t, s, o, window("Freeze", "prod", "enabled")) }, steps: []step{
			{name: "refused", args: dep("--product", "api", "--version", "1", "--environment", "prod", "--status", "started"), code: 5,
				stderr: []string{"Deployment Blocked by Schedule"}},
			{name: "skipped with the org key", args: dep("--product", "api", "--version", "1", "--environment", "prod", "--status", "started",
				"--skip-preflight-checks"), stderr: []string{"deprecated"}},
			{name: "people only: 403", before: func(t *testing.T, s *server, orgs []org) {
				for _, o := range orgs {
					s.must(t, http.MethodPatch, "/org-settings/", o.pat, map[string]any{"skip_preflight_checks": "people_only"}, http.StatusOK)
				}
			}, args: dep("--product", "api", "--version", "2", "--environment", "prod2", "--status", "started",
				"--skip-preflight-checks"), code: 4},
		}},
		{name: "pending", setup: func(t *testing.T, s *server, o org) { rule(t, s, o, window("Freeze", "frozen", "enabled")) }, steps: []step{
			{name: "v1 runs", args: dep("--product", "api", "--version", "1", "--environment", "prod", "--status", "started")},
			{name: "v2 queued behind it", args: dep("--product", "api", "--version", "2", "--environment", "prod", "--status", "pending")},
			{name: "queued in a freeze", args: dep("--product", "api", "--version", "2", "--environment", "frozen", "--status", "queued")},
			{name: "v2 cannot start yet", args: dep("--product", "api", "--version", "2", "--environment", "prod", "--status", "started"), code: 5},
			{name: "v1 done", args: dep("--product", "api", "--version", "1", "--environment", "prod")},
			{name: "v2 starts", args: dep("--product", "api", "--version", "2", "--environment", "prod", "--status", "started")},
		}},
		{name: "stale runs", steps: []step{
			{name: "v1 starts and hangs", args: dep("--product", "api", "--version", "1", "--environment", "prod", "--status", "started")},
			{name: "v2 refused while v1 is live", args: dep("--product", "api", "--version", "2", "--environment", "prod", "--status", "started"), code: 5,
				stderr: []string{"Deployment Conflict"}, before: func(t *testing.T, s *server, _ []org) { s.clock.Advance(time.Hour) }},
			{name: "v2 starts once v1 is stale", args: dep("--product", "api", "--version", "2", "--environment", "prod", "--status", "started"),
				before: func(t *testing.T, s *server, _ []org) { s.clock.Advance(time.Hour) }},
		}},
		{name: "configuration file in HOME", home: map[string]string{".versioner/config.yaml": configFile},
			env: map[string]string{"VERSIONER_API_URL": "", "VERSIONER_API_KEY": ""}, steps: []step{
				{name: "everything from the file", args: dep()},
				{name: "a build from the file", args: bld()},
				{name: "global flags before the command", args: []string{"-v", "--ui-url", "https://ui.acme.test", "track", "deployment", "--version", "2"}},
				{name: "variables win over the file", env: map[string]string{"VERSIONER_ENVIRONMENT": "prod"}, args: dep("--version", "3")},
			}},
		{name: "configuration file in the working directory", work: map[string]string{"config.yaml": configFile},
			env: map[string]string{"VERSIONER_API_URL": "", "VERSIONER_API_KEY": ""}, steps: []step{
				{name: "everything from the file", args: dep()},
			}},
		{name: "configuration file by --config", home: map[string]string{"ci/versioner.yml": configFile},
			env: map[string]string{"VERSIONER_API_URL": "", "VERSIONER_API_KEY": ""}, steps: []step{
				{name: "--config after the command", args: dep("--config", "{home}/ci/versioner.yml")},
				{name: "--config before it", args: []string{"--config", "{home}/ci/versioner.yml", "track", "build"}},
			}},
		{name: "every VERSIONER_ variable", env: every, steps: []step{
			{name: "deployment", args: dep()},
			{name: "build", args: bld()},
		}},
		{name: "empty variables count as unset", env: map[string]string{"VERSIONER_PRODUCT": "", "VERSIONER_VERSION": "v", "VERSIONER_ENVIRONMENT": "e"}, steps: []step{
			{name: "no product", args: dep(), code: 1},
			{name: "product by flag", args: dep("--product", "p")},
		}},
		ci("GitHub Actions", github),
		ci("GitLab CI", gitlab),
		ci("Jenkins", jenkins),
		ci("Azure DevOps", azure),
	}
}

// TestVersionerCLIContract runs every scenario with the real Versioner CLI
// and with shiplog, each in its own organisation on the scenario's own
// server, step by step, and compares exit codes, "Event ID:" lines, what
// both print on stderr, and the stored records.
func TestVersionerCLIContract(t *testing.T) {
	t.Parallel()
	versioner, shiplogBin := build(t)
	stores(t, func(t *testing.T, newDB func(*testing.T) string) {
		for _, sc := range scenarios() {
			if sc.serverless && strings.HasSuffix(t.Name(), "postgres") {
				continue // no store involved: SQLite's run covers it
			}
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				compare(t, startServer(t, newDB(t)), sc, versioner, shiplogBin)
			})
		}
	})
}

// client is one of the two binaries under comparison, with its org.
type client struct {
	name, bin string
	org       org
	home, dir string
}

func compare(t *testing.T, s *server, sc scenario, versioner, shiplogBin string) {
	clients := []*client{{name: "versioner", bin: versioner}, {name: "shiplog", bin: shiplogBin}}
	for _, c := range clients {
		c.org = s.org(t, c.name)
		c.home, c.dir = t.TempDir(), t.TempDir()
		if sc.setup != nil {
			sc.setup(t, s, c.org)
		}
		subst := func(v string) string {
			return strings.NewReplacer("{url}", s.url, "{key}", c.org.key, "{home}", c.home).Replace(v)
		}
		for name, body := range sc.home {
			writeFile(t, filepath.Join(c.home, name), subst(body))
		}
		for name, body := range sc.work {
			writeFile(t, filepath.Join(c.dir, name), subst(body))
		}
	}
	for _, st := range sc.steps {
		if st.before != nil {
			st.before(t, s, []org{clients[0].org, clients[1].org})
		}
		results := make([]result, len(clients))
		var wg sync.WaitGroup
		for i, c := range clients {
			subst := strings.NewReplacer("{url}", s.url, "{key}", c.org.key, "{home}", c.home).Replace
			env := map[string]string{"VERSIONER_API_URL": s.url, "VERSIONER_API_KEY": c.org.key}
			for _, m := range []map[string]string{sc.env, st.env} {
				for k, v := range m {
					env[k] = subst(v)
				}
			}
			args := make([]string, len(st.args))
			for j, a := range st.args {
				args[j] = subst(a)
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = run(t, invocation{bin: c.bin, args: args, env: env, home: c.home, dir: c.dir})
			}()
		}
		wg.Wait()
		wantID := st.id
		if wantID == "" {
			wantID = map[bool]string{true: "set", false: "none"}[st.code == 0]
		}
		for i, c := range clients {
			r := results[i]
			show := func() string { return "\nstdout:\n" + r.stdout + "stderr:\n" + r.stderr }
			if r.code != st.code {
				t.Errorf("%s: %s exited %d, want %d%s", st.name, c.name, r.code, st.code, show())
			}
			id, ok := r.eventID()
			switch got := map[bool]string{true: "set", false: "none"}[ok]; {
			case ok && id == "":
				got = "empty"
				fallthrough
			default:
				if got != wantID {
					t.Errorf("%s: %s's Event ID line is %s (%q), want %s%s", st.name, c.name, got, id, wantID, show())
				}
			}
			if ok && id != "" && !sc.serverless {
				if code, _ := s.api(t, http.MethodGet, "/deployments/"+id, c.org.key, nil); code != http.StatusOK {
					if code, _ := s.api(t, http.MethodGet, "/builds/"+id, c.org.key, nil); code != http.StatusOK {
						t.Errorf("%s: %s's Event ID %s is no deployment or build of its org", st.name, c.name, id)
					}
				}
			}
			for _, want := range st.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("%s: %s's stderr lacks %q%s", st.name, c.name, want, show())
				}
			}
			if strings.Contains(r.stdout+r.stderr, c.org.key) && c.name == "shiplog" {
				t.Errorf("%s: shiplog printed the API key", st.name)
			}
		}
	}
	if sc.serverless {
		return
	}
	want, got := s.records(t, clients[0].org), s.records(t, clients[1].org)
	if !reflect.DeepEqual(want, got) {
		t.Errorf("stored records differ.\nVersioner CLI:\n%s\nshiplog:\n%s", jsonText(want), jsonText(got))
	}
}
