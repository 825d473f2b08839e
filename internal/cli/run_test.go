//go:build unix

package cli_test

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// run's exit code is the command's, and the deployment ends as the command did.
func TestRunExitCodes(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tc := range []struct {
		name    string
		script  string
		code    int
		status  string
		signal  string
		message string
	}{
		{"success", "exit 0", 0, "completed", "", "deployment completed"},
		{"failure", "exit 3", 3, "failed", "", "deployment failed"},
		{"high exit code", "exit 200", 200, "failed", "", "exit 200"},
		{"killed by a signal", "kill -KILL $$", 137, "failed", "SIGKILL", "killed by SIGKILL, exit 137"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			product := "run-" + strings.ReplaceAll(tc.name, " ", "-")
			r := s.shiplog(t, call{args: args("run", "--product", product, "--version", "1", "--environment", "prod", "--extra-metadata", `{"ticket": "OPS-9"}`,
				"--", "sh", "-c", tc.script)})
			if r.code != tc.code || !strings.Contains(r.stderr, tc.message) || !strings.Contains(r.stderr, "deployment started") {
				t.Errorf("exit %d, want %d; stderr:\n%s", r.code, tc.code, r.stderr)
			}
			d, meta := s.only(t, product)
			if string(d.Status) != tc.status || meta["vi_run_exit_code"] != float64(tc.code) || meta["ticket"] != "OPS-9" ||
				(tc.signal != "" && meta["vi_run_signal"] != tc.signal) || d.CompletedAt == nil || d.StartedAt == nil {
				t.Errorf("deployment %s, metadata %v", d.Status, meta)
			}
			if _, ok := meta["vi_run_duration_seconds"].(float64); !ok {
				t.Errorf("no duration: %v", meta)
			}
			full, err := s.c.Deployment(t.Context(), d.ID)
			if err != nil || len(full.Events) != 2 || full.Events[0].Status != "started" {
				t.Errorf("timeline: %v %+v", err, full)
			}
		})
	}
}

// stdin, stdout and stderr are the command's own.
func TestRunPassesStreams(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	r := s.shiplog(t, call{stdin: "hello\nworld\n", args: args("run", "--product", "io", "--version", "1", "--environment", "prod", "--",
		"sh", "-c", `read a; read b; echo "out:$a $b"; echo "err:$a" >&2; exit 0`)})
	if r.code != 0 || r.stdout != "out:hello world\n" || !strings.Contains(r.stderr, "err:hello\n") {
		t.Errorf("exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
	// With --output json, stdout is still only the command's; the report is on stderr.
	r = s.shiplog(t, call{args: args("run", "--product", "io", "--version", "2", "--environment", "prod", "-o", "json", "--", "echo", "just this")})
	if r.code != 0 || r.stdout != "just this\n" {
		t.Fatalf("exit %d, stdout %q", r.code, r.stdout)
	}
	m := jsonReport(t, r.stderr)
	cmd, _ := m["command"].(map[string]any)
	if m["outcome"] != "recorded" || cmd["ran"] != true || cmd["exit_code"] != 0.0 || cmd["status"] != "completed" {
		t.Errorf("report: %v", m)
	}
}

// A refused deployment does not run; a missing command records nothing;
// an unreachable server stops the run unless API errors are not fatal.
func TestRunDoesNotRun(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.rule(t, freeze("Freeze", "frozen", "enabled"))
	dir := t.TempDir()
	down := closedURL(t)
	for _, tc := range []struct {
		name   string
		env    map[string]string
		env2   string
		flags  []string
		cmd    []string
		code   int
		ran    bool
		stderr []string
	}{
		{"blocked", nil, "frozen", nil, nil, 5, false, []string{"🔒 Deployment Blocked by Schedule", "Freeze", "shiplog: sh was not run"}},
		{"blocked, even when API errors are not fatal", nil, "frozen", []string{"--fail-on-api-error=false"}, nil, 5, false, []string{"was not run"}},
		{"server down", map[string]string{"SHIPLOG_URL": down}, "prod", nil, nil, 1, false, []string{"connection refused", "was not run"}},
		{"server down, not fatal", map[string]string{"SHIPLOG_URL": down}, "prod", []string{"--fail-on-api-error=false"}, nil, 0, true,
			[]string{"deployment event for down 1 → prod not recorded"}},
		{"refused key", map[string]string{"SHIPLOG_API_KEY": "sk_acme_k1_nope"}, "prod", nil, nil, 4, false, []string{"401", "was not run"}},
		{"no such command", nil, "prod", nil, []string{"no-such-command-xyz"}, 127, false, []string{`exec: "no-such-command-xyz": executable file not found`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			marker := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			cmd := tc.cmd
			if cmd == nil {
				cmd = []string{"sh", "-c", `touch "$0"`, marker}
			}
			product := map[bool]string{true: "down", false: "no-run-" + strings.ReplaceAll(tc.name, " ", "-")}[tc.env != nil && tc.env["SHIPLOG_URL"] != ""]
			a := append(append(args("run", "--product", product, "--version", "1", "--environment", tc.env2), tc.flags...), "--")
			r := s.shiplog(t, call{env: tc.env, args: append(a, cmd...)})
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.stderr)
			}
			if _, err := os.Stat(marker); (err == nil) != tc.ran {
				t.Errorf("command ran: %v, want %v", err == nil, tc.ran)
			}
			for _, want := range tc.stderr {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
		})
	}
	if ds := s.deployments(t, "no-run-no-such-command"); len(ds) != 0 {
		t.Errorf("a missing command recorded %d deployments", len(ds))
	}
}

// SIGTERM and SIGINT reach the command (once: it runs in its own process
// group), the deployment is aborted, and shiplog exits with the command's code.
func TestRunSignals(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		name string
		code int
	}{{syscall.SIGTERM, "TERM", 143}, {syscall.SIGINT, "INT", 130}, {syscall.SIGHUP, "HUP", 129}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			product := "sig-" + tc.name
			// The trap counts the signals it gets and exits after the
			// first with the conventional code.
			script := `n=0; trap 'n=$((n+1)); echo "got ` + tc.name + ` $n"; exit ` + strconv.Itoa(tc.code) + `' ` + tc.name + `; echo ready; while :; do sleep 1; done`
			cmd := s.command(call{args: args("run", "--product", product, "--version", "1", "--environment", "prod", "--", "sh", "-c", script)})
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := bufio.NewReader(stdout)
			if l, err := lines.ReadString('\n'); err != nil || l != "ready\n" {
				_ = cmd.Process.Kill()
				t.Fatalf("first line %q, %v\n%s", l, err, stderr.String())
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(lines)
			_ = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != tc.code || string(rest) != "got "+tc.name+" 1\n" {
				t.Errorf("exit %d (want %d), command said %q\n%s", code, tc.code, rest, stderr.String())
			}
			d, meta := s.only(t, product)
			if d.Status != "aborted" || meta["vi_run_signal"] != "SIG"+tc.name || meta["vi_run_exit_code"] != float64(tc.code) {
				t.Errorf("deployment %s, metadata %v", d.Status, meta)
			}
			if !strings.Contains(stderr.String(), "deployment aborted: "+product+" 1 → prod (interrupted by SIG"+tc.name) {
				t.Errorf("stderr:\n%s", stderr.String())
			}
		})
	}
}

// In GitHub Actions run writes the outputs, the summary and, for a failed
// command, an error annotation.
func TestRunInGitHubActions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := t.TempDir()
	summary, output := filepath.Join(dir, "summary.md"), filepath.Join(dir, "output")
	gh := map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "acme/runner", "GITHUB_SHA": "1111222233334444",
		"GITHUB_RUN_ID": "5", "GITHUB_STEP_SUMMARY": summary, "GITHUB_OUTPUT": output}
	r := s.shiplog(t, call{env: gh, args: args("run", "--environment", "prod", "--", "sh", "-c", "exit 2")})
	if r.code != 2 || !strings.Contains(r.stderr, "::error title=Deployment failed::sh: exit 2 after") {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	d, _ := s.only(t, "runner")
	out, _ := os.ReadFile(output)
	sum, _ := os.ReadFile(summary)
	if !strings.Contains(string(out), "deployment_id="+d.ID) || !strings.Contains(string(sum), "### 🚀 shiplog: deployment failed") ||
		!strings.Contains(string(sum), "| Command | exit 2 after") || *d.InvokeID != "5" {
		t.Errorf("outputs %q\nsummary %s", out, sum)
	}
}

// A report-only violation of the started event is reported once, not again
// with the end (whose record keeps the evaluation).
func TestRunWarnsOnce(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.rule(t, freeze("Soft freeze", "soft", "report_only"))
	r := s.shiplog(t, call{args: args("run", "--product", "warned", "--version", "1", "--environment", "soft", "--", "true")})
	if r.code != 0 || strings.Count(r.stderr, `report-only rule "Soft freeze" failed`) != 1 {
		t.Errorf("exit %d\n%s", r.code, r.stderr)
	}
	if d, _ := s.only(t, "warned"); d.Status != "completed" {
		t.Errorf("status %s", d.Status)
	}
}

// A signal while started is in flight: the command never runs.
func TestRunInterruptedBeforeTheCommand(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{}, 1)
	// The receiver holds the started event until the client gives up, so
	// the signal surely comes first.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // so the server notices the client leave
		arrived <- struct{}{}
		<-r.Context().Done()
	}))
	t.Cleanup(slow.Close)
	s := &ciServer{url: slow.URL, key: "sk_acme_k1_x"}
	marker := filepath.Join(t.TempDir(), "ran")
	cmd := s.command(call{args: args("run", "--product", "p", "--version", "1", "--environment", "prod", "--", "touch", marker)})
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	<-arrived
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted by SIGINT before touch ran") {
		t.Errorf("exit %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the command ran")
	}
}
