package contract_test

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// actionRun is one run of the real GitHub Action (node dist/index.js) with
// its inputs as INPUT_* variables in a GitHub Actions environment.
type actionRun struct {
	code    int
	stdout  string
	outputs map[string]string
	summary string
}

func runAction(t *testing.T, index string, s *server, o org, inputs map[string]string) actionRun {
	t.Helper()
	dir := t.TempDir()
	output, summary, event := filepath.Join(dir, "output"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "event.json")
	writeFile(t, event, `{"head_commit": {"author": {"name": "Octo Cat", "email": "octo@acme.test"}}}`)
	writeFile(t, output, "") // the runner creates both files before a step
	writeFile(t, summary, "")
	env := map[string]string{"GITHUB_OUTPUT": output, "GITHUB_STEP_SUMMARY": summary, "GITHUB_EVENT_PATH": event,
		"RUNNER_TEMP": dir, "INPUT_API_URL": s.url, "INPUT_API_KEY": o.key}
	for k, v := range actionGitHub {
		env[k] = v
	}
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	r := run(t, invocation{bin: "node", args: []string{index}, env: env, home: dir, dir: dir})
	ar := actionRun{code: r.code, stdout: r.stdout + r.stderr, outputs: map[string]string{}}
	b, _ := os.ReadFile(output)
	ar.outputs = parseOutputs(string(b))
	sb, _ := os.ReadFile(summary)
	ar.summary = string(sb)
	return ar
}

// actionGitHub is a push to main as the runner describes it.
var actionGitHub = map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/web-app", "GITHUB_SHA": sha1,
	"GITHUB_REF": "refs/heads/main", "GITHUB_REF_NAME": "main", "GITHUB_RUN_NUMBER": "42", "GITHUB_RUN_ID": "9001",
	"GITHUB_SERVER_URL": "https://github.com", "GITHUB_ACTOR": "octocat", "GITHUB_WORKFLOW": "Deploy", "GITHUB_JOB": "prod",
	"GITHUB_EVENT_NAME": "push", "GITHUB_API_URL": "https://api.github.com", "GITHUB_GRAPHQL_URL": "https://api.github.com/graphql"}

// parseOutputs reads $GITHUB_OUTPUT's name<<delimiter … delimiter records.
func parseOutputs(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			if k, v, ok := strings.Cut(lines[i], "="); ok {
				out[k] = v
			}
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

// TestVersionerActionContract runs the real GitHub Action against shiplog on
// both stores, and the same steps through shiplog with the Versioner CLI's
// configuration in the same GitHub Actions environment: both succeed or
// fail alike, and store the same run.
func TestVersionerActionContract(t *testing.T) {
	t.Parallel()
	index := filepath.Join(peers(t), "versioner-github-action", "dist", "index.js")
	if _, err := os.Stat(index); err != nil {
		t.Skipf("contract test skipped: the Versioner GitHub Action is not at %s: %v", index, err)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("contract test skipped: node is not installed (.ci/run installs nodejs)")
	}
	_, shiplogBin := build(t)
	stores(t, func(t *testing.T, newDB func(*testing.T) string) {
		s := startServer(t, newDB(t))
		act, ship := s.org(t, "action"), s.org(t, "shiplog")
		for _, o := range []org{act, ship} {
			rule(t, s, o, window("Freeze", "frozen", "enabled"))
			rule(t, s, o, window("Soft freeze", "soft", "report_only"))
		}
		shiplogRun := func(more map[string]string, args ...string) result {
			env := map[string]string{"VERSIONER_API_URL": s.url, "VERSIONER_API_KEY": ship.key}
			for k, v := range actionGitHub {
				env[k] = v
			}
			for k, v := range more {
				env[k] = v
			}
			dir := t.TempDir()
			env["GITHUB_OUTPUT"], env["GITHUB_STEP_SUMMARY"] = filepath.Join(dir, "o"), filepath.Join(dir, "s")
			return run(t, invocation{bin: shiplogBin, args: args, env: env, home: dir, dir: dir})
		}
		for _, tc := range []struct {
			name   string
			inputs map[string]string
			args   []string // the same step for shiplog
			ok     bool
			seen   []string          // in the Action's log
			env    map[string]string // shiplog's variables beyond the defaults
			before func()
		}{
			{"deployment", map[string]string{"version": "1.0.0", "environment": "production"},
				dep("--version", "1.0.0", "--environment", "production"), true, []string{"Deployment tracked successfully"}, nil, nil},
			{"build", map[string]string{"version": "1.0.1", "event_type": "build", "status": "completed"},
				bld("--version", "1.0.1", "--status", "completed"), true, []string{"Build tracked successfully"}, nil, nil},
			{"started", map[string]string{"version": "1.1.0", "environment": "staging", "status": "started"},
				dep("--version", "1.1.0", "--environment", "staging", "--status", "started"), true, nil, nil, nil},
			{"pending behind a running deployment", map[string]string{"version": "1.2.0", "environment": "staging", "status": "pending"},
				dep("--version", "1.2.0", "--environment", "staging", "--status", "pending"), true, nil, nil, nil},
			{"concurrent start refused", map[string]string{"version": "1.3.0", "environment": "staging", "status": "started"},
				dep("--version", "1.3.0", "--environment", "staging", "--status", "started"), false, []string{"Deployment Conflict"}, nil, nil},
			{"blocked by a window", map[string]string{"version": "1.0.0", "environment": "frozen", "status": "started"},
				dep("--version", "1.0.0", "--environment", "frozen", "--status", "started"), false, []string{"Deployment Blocked by Schedule"}, nil, nil},
			{"report-only window", map[string]string{"version": "1.0.0", "environment": "soft", "status": "started"},
				dep("--version", "1.0.0", "--environment", "soft", "--status", "started"), true, []string{"::warning::Report-only rule violation: Soft freeze"}, nil, nil},
			{"failure recorded, then fails the step", map[string]string{"version": "1.0.0", "environment": "qa", "status": "failure"},
				dep("--version", "1.0.0", "--environment", "qa", "--status", "failure"), true, []string{"Deployment failed"}, nil, nil},
			{"metadata and another product", map[string]string{"version": "1.0.1", "environment": "qa", "product_name": "other", "metadata": `{"ticket": "OPS-1"}`},
				dep("--version", "1.0.1", "--environment", "qa", "--product", "other", "--extra-metadata", `{"ticket": "OPS-1"}`), true, nil, nil, nil},
			{"refused key", map[string]string{"version": "1.0.2", "environment": "qa", "api_key": "sk_nope_k1_nope"},
				dep("--version", "1.0.2", "--environment", "qa"), false, []string{"Authentication failed"}, map[string]string{"VERSIONER_API_KEY": "sk_nope_k1_nope"}, nil},
			{"refused key, not fatal", map[string]string{"version": "1.0.2", "environment": "qa", "api_key": "sk_nope_k1_nope", "fail_on_api_error": "false"},
				dep("--version", "1.0.2", "--environment", "qa", "--fail-on-api-error=false"), true, []string{"Continuing workflow"},
				map[string]string{"VERSIONER_API_KEY": "sk_nope_k1_nope"}, nil},
			{"server down", map[string]string{"version": "1.0.2", "environment": "qa", "api_url": down},
				dep("--version", "1.0.2", "--environment", "qa"), false, []string{"Connection refused"}, map[string]string{"VERSIONER_API_URL": down}, nil},
			{"a stale run stops blocking", map[string]string{"version": "1.3.0", "environment": "staging", "status": "started"},
				dep("--version", "1.3.0", "--environment", "staging", "--status", "started"), true, nil, nil, func() { s.clock.Advance(2 * time.Hour) }},
		} {
			if tc.before != nil {
				tc.before()
			}
			a := runAction(t, index, s, act, tc.inputs)
			r := shiplogRun(tc.env, tc.args...)
			actionOK := a.code == 0 && !strings.Contains(a.stdout, "::error::")
			if tc.name == "failure recorded, then fails the step" {
				actionOK = a.outputs["deployment_id"] != "" // recorded; the step itself fails by design
			}
			if actionOK != tc.ok || (r.code == 0) != tc.ok {
				t.Errorf("%s: Action exit %d (ok %v), shiplog exit %d; want ok %v\nAction:\n%s\nshiplog:\n%s%s", tc.name, a.code, actionOK,
					r.code, tc.ok, a.stdout, r.stdout, r.stderr)
			}
			for _, want := range tc.seen {
				if !strings.Contains(a.stdout, want) {
					t.Errorf("%s: the Action's log lacks %q:\n%s", tc.name, want, a.stdout)
				}
			}
			// The summary's "View in Versioner" link leads to shiplog's console.
			if id := a.outputs["deployment_id"]; tc.ok && id != "" {
				link := s.url + "/manage/deployments?view=" + id
				if !strings.Contains(a.summary, link) {
					t.Errorf("%s: summary lacks %s:\n%s", tc.name, link, a.summary)
				}
				c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
				res, err := c.Get(link)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/deployments/"+id {
					t.Errorf("%s: %s answered %d → %q", tc.name, link, res.StatusCode, res.Header.Get("Location"))
				}
			}
			if id := a.outputs["build_id"]; id != "" {
				if vid := a.outputs["version_id"]; !strings.Contains(a.summary, "/manage/catalog?tab=versions&amp;view="+vid) &&
					!strings.Contains(a.summary, "/manage/catalog?tab=versions&view="+vid) {
					t.Errorf("%s: summary lacks the version link:\n%s", tc.name, a.summary)
				}
			}
		}
		// What both stored for the same pipeline: the fields the Action and
		// the CLI both send.
		shared := []string{"product_name", "version", "environment_name", "status", "scm_sha", "scm_repository", "source_system",
			"build_number", "invoke_id", "deploy_url", "deployed_by", "preflight_status"}
		want, got := s.records(t, act), s.records(t, ship)
		if len(want["deployments"]) != len(got["deployments"]) || len(want["builds"]) != len(got["builds"]) {
			t.Fatalf("Action stored %d deployments and %d builds, shiplog %d and %d\n%s\n%s", len(want["deployments"]), len(want["builds"]),
				len(got["deployments"]), len(got["builds"]), jsonText(want), jsonText(got))
		}
		for i := range want["deployments"] {
			w, g := want["deployments"][i].(map[string]any), got["deployments"][i].(map[string]any)
			for _, k := range shared {
				if jsonText(w[k]) != jsonText(g[k]) {
					t.Errorf("deployment %d: %s is %s by the Action, %s by shiplog", i, k, jsonText(w[k]), jsonText(g[k]))
				}
			}
		}
	})
}
