package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/client"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Every VERSIONER_* variable the Versioner CLI reads fills its field, with
// no SHIPLOG_* variable set at all.
func TestTrackTakesEveryVersionerVariable(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	env := map[string]string{"SHIPLOG_URL": "", "SHIPLOG_API_KEY": "", "VERSIONER_API_URL": s.url, "VERSIONER_API_KEY": s.key,
		"VERSIONER_PRODUCT": "env-app", "VERSIONER_VERSION": "2.0.0", "VERSIONER_ENVIRONMENT": "staging",
		"VERSIONER_SCM_SHA": "abcdef0123456789", "VERSIONER_INVOKE_ID": "run-77", "VERSIONER_DEPLOYED_BY": "jdoe",
		"VERSIONER_DEPLOYED_BY_EMAIL": "jdoe@acme.test", "VERSIONER_DEPLOYED_BY_NAME": "Jane Doe", "VERSIONER_BUILD_NUMBER": "77",
		"VERSIONER_SOURCE_SYSTEM": "buildkite", "VERSIONER_SCM_REPOSITORY": "acme/env-app", "VERSIONER_DEPLOY_URL": "https://ci.acme.test/77",
		"VERSIONER_UI_URL": "https://ui.acme.test", "VERSIONER_FAIL_ON_API_ERROR": "true",
		// The Versioner CLI reads these for builds only.
		"VERSIONER_SCM_BRANCH": "main", "VERSIONER_BUILD_URL": "https://ci.acme.test/b/77",
		"VERSIONER_BUILT_BY": "builder", "VERSIONER_BUILT_BY_EMAIL": "b@acme.test", "VERSIONER_BUILT_BY_NAME": "The Builder"}
	r := s.shiplog(t, call{env: env, args: args("track", "deployment")})
	if r.code != 0 || !strings.Contains(r.stdout, "  Event ID: ") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	d, _ := s.only(t, "env-app")
	got := map[string]string{"version": d.Version, "environment": d.EnvironmentName, "scm_sha": str(d.ScmSHA), "invoke_id": str(d.InvokeID),
		"deployed_by": str(d.DeployedBy), "deployed_by_email": str(d.DeployedByEmail), "deployed_by_name": str(d.DeployedByName),
		"build_number": str(d.BuildNumber), "source_system": str(d.SourceSystem), "scm_repository": str(d.ScmRepository),
		"deploy_url": str(d.DeployURL), "scm_branch": str(d.ScmBranch), "build_url": str(d.BuildURL)}
	want := map[string]string{"version": "2.0.0", "environment": "staging", "scm_sha": "abcdef0123456789", "invoke_id": "run-77",
		"deployed_by": "jdoe", "deployed_by_email": "jdoe@acme.test", "deployed_by_name": "Jane Doe", "build_number": "77",
		"source_system": "buildkite", "scm_repository": "acme/env-app", "deploy_url": "https://ci.acme.test/77", "scm_branch": "", "build_url": ""}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("deployment %s = %q, want %q", k, got[k], w)
		}
	}

	r = s.shiplog(t, call{env: env, args: args("track", "build")})
	if r.code != 0 {
		t.Fatalf("build: exit %d\n%s", r.code, r.stderr)
	}
	bl, err := s.c.Builds(context.Background(), client.Query{ProductName: "env-app"})
	if err != nil || len(bl.Items) != 1 {
		t.Fatalf("builds: %v %v", bl, err)
	}
	b := bl.Items[0]
	got = map[string]string{"version": b.Version, "scm_branch": str(b.ScmBranch), "build_url": str(b.BuildURL), "built_by": str(b.BuiltBy),
		"built_by_email": str(b.BuiltByEmail), "built_by_name": str(b.BuiltByName), "scm_sha": str(b.ScmSHA), "invoke_id": str(b.InvokeID)}
	want = map[string]string{"version": "2.0.0", "scm_branch": "main", "build_url": "https://ci.acme.test/b/77", "built_by": "builder",
		"built_by_email": "b@acme.test", "built_by_name": "The Builder", "scm_sha": "abcdef0123456789", "invoke_id": "run-77"}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("build %s = %q, want %q", k, got[k], w)
		}
	}
}

// The configuration file: ~/.versioner/config.yaml, else config.yaml in the
// working directory, else --config; flags and variables win over it, and it
// wins over CI detection.
func TestTrackReadsTheVersionerConfigFile(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	home, work := t.TempDir(), t.TempDir()
	base := map[string]string{"SHIPLOG_URL": "", "SHIPLOG_API_KEY": "", "HOME": home}
	writeFile(t, filepath.Join(home, ".versioner", "config.yaml"), "# the team's settings\napi_url: "+s.url+"\napi_key: '"+s.key+
		"'\nproduct: home-app\nenvironment: production\nversion: 1.10\nfail_on_api_error: true\n")
	writeFile(t, filepath.Join(work, "config.yaml"), "api_url: "+s.url+"\napi_key: "+s.key+"\nproduct: work-app\nenvironment: qa\nversion: \"3\"\n")

	r := s.shiplog(t, call{env: base, dir: work, args: args("-v", "track", "deployment")})
	if r.code != 0 || !strings.Contains(r.stderr, "Using config file: "+filepath.Join(home, ".versioner", "config.yaml")) {
		t.Fatalf("home file: exit %d\n%s", r.code, r.stderr)
	}
	if d, _ := s.only(t, "home-app"); d.Version != "1.1" || d.EnvironmentName != "production" {
		t.Errorf("home file: %s %s (a YAML 1.10 is the number 1.1, as for the Versioner CLI)", d.Version, d.EnvironmentName)
	}

	noHome := map[string]string{"SHIPLOG_URL": "", "SHIPLOG_API_KEY": "", "HOME": t.TempDir()}
	if r := s.shiplog(t, call{env: noHome, dir: work, args: args("track", "deployment")}); r.code != 0 {
		t.Fatalf("working directory's file: exit %d\n%s", r.code, r.stderr)
	}
	if d, _ := s.only(t, "work-app"); d.Version != "3" || d.EnvironmentName != "qa" {
		t.Errorf("working directory's file: %s %s", d.Version, d.EnvironmentName)
	}

	explicit := filepath.Join(t.TempDir(), "ci.yml")
	writeFile(t, explicit, "api_url: "+s.url+"\napi_key: "+s.key+"\nproduct: explicit-app\nenvironment: dev\nversion: 4\n")
	if r := s.shiplog(t, call{env: base, dir: work, args: args("--config", explicit, "track", "deployment")}); r.code != 0 {
		t.Fatalf("--config: exit %d\n%s", r.code, r.stderr)
	}
	s.only(t, "explicit-app")

	// Flags, then variables, then the file, then CI.
	gl := map[string]string{"SHIPLOG_URL": "", "SHIPLOG_API_KEY": "", "HOME": home, "GITLAB_CI": "true", "CI_PROJECT_PATH": "acme/ci-app",
		"CI_COMMIT_SHA": "0123456789abcdef0123456789abcdef01234567", "VERSIONER_ENVIRONMENT": "from-env"}
	if r := s.shiplog(t, call{env: gl, dir: work, args: args("track", "deployment", "--version", "9")}); r.code != 0 {
		t.Fatalf("precedence: exit %d\n%s", r.code, r.stderr)
	}
	ds := s.deployments(t, "home-app")
	if len(ds) != 2 || ds[0].Version != "9" || ds[0].EnvironmentName != "from-env" || str(ds[0].SourceSystem) != "gitlab" {
		t.Errorf("precedence: %+v", ds[0])
	}

	// A file that is not YAML is ignored, as the Versioner CLI ignores it.
	bad := filepath.Join(t.TempDir(), ".versioner", "config.yaml")
	writeFile(t, bad, "product = nope\n")
	r = s.shiplog(t, call{env: map[string]string{"HOME": filepath.Dir(filepath.Dir(bad))}, dir: t.TempDir(),
		args: args("-v", "track", "deployment", "--product", "p-bad", "--version", "1", "--environment", "e")})
	if r.code != 0 || !strings.Contains(r.stderr, "ignoring configuration file") {
		t.Errorf("bad file: exit %d\n%s", r.code, r.stderr)
	}
}
