package cli_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestPreflight(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.rule(t, freeze("Freeze", "frozen", "enabled"))
	s.rule(t, freeze("Soft freeze", "soft", "report_only"))
	// A server from before preflight existed (or another API-compatible one)
	// answers 404 or 405 on the path.
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/preflight/" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"detail": "Not Found"}`))
			return
		}
		w.WriteHeader(http.StatusMethodNotAllowed)
		_, _ = w.Write([]byte(`{"detail": "Method Not Allowed"}`))
	}))
	t.Cleanup(old.Close)
	pf := func(env string, more ...string) []string {
		return append([]string{"preflight", "--product", "api", "--version", "1.0", "--environment", env}, more...)
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"allowed", nil, pf("prod"), 0, []string{"✓ Deployment allowed now: api 1.0 → prod", "passed  Concurrent deployments"}, nil},
		{"allowed with a report-only failure", nil, pf("soft"), 0, []string{"failed  Soft freeze (report only)"},
			[]string{`warning: report-only rule "Soft freeze" failed`}},
		{"blocked", nil, pf("frozen"), 5, nil, []string{"🔒 Deployment Blocked by Schedule: api 1.0 → frozen", "Rule:        Freeze",
			"Retry after: 20", "The deployment would be refused now."}},
		{"blocked, whatever --fail-on-api-error says", nil, pf("frozen", "--fail-on-api-error=false"), 5, nil, []string{"Freeze"}},
		{"no preflight endpoint", map[string]string{"SHIPLOG_URL": old.URL}, pf("prod"), 4, nil,
			[]string{"preflight check for api 1.0 → prod failed: this server has no preflight endpoint (POST /preflight/ answered 404: Not Found)"}},
		{"no preflight endpoint, not fatal", map[string]string{"SHIPLOG_URL": old.URL + "/v2"}, pf("prod", "--fail-on-api-error=false"), 0, nil,
			[]string{"warning: preflight check for api 1.0 → prod skipped (--fail-on-api-error=false): this server has no preflight endpoint", "405"}},
		{"no environment", nil, args("preflight", "--product", "api", "--version", "1"), 1, nil, []string{"--environment is required"}},
		{"version from CI", map[string]string{"GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/api", "CI_COMMIT_SHA": "abcdef0123456789"},
			args("preflight", "--environment", "prod"), 0, []string{"allowed now: api abcdef01 → prod"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := s.shiplog(t, call{env: tc.env, args: tc.args})
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, tc.code, r.stdout, r.stderr)
			}
			for _, want := range tc.stdout {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
				}
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}

	r := s.shiplog(t, call{args: pf("frozen", "-o", "json")})
	m := jsonReport(t, r.stdout)
	if b, _ := m["block"].(map[string]any); r.code != 5 || m["outcome"] != "blocked" || b["code"] != "NO_DEPLOY_WINDOW" {
		t.Errorf("JSON block: %d %v", r.code, m)
	}
	r = s.shiplog(t, call{args: pf("soft", "-o", "json")})
	m = jsonReport(t, r.stdout)
	if ws, _ := m["warnings"].([]any); r.code != 0 || m["outcome"] != "allowed" || len(ws) != 1 {
		t.Errorf("JSON allowed: %d %v", r.code, m)
	}
	if ds := s.deployments(t, "api"); len(ds) != 0 {
		t.Errorf("preflight recorded %d deployments", len(ds))
	}
}
