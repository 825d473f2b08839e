package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/client"
)

func TestWorkflowCommandEscaping(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"a: b, c", "a: b, c", "a%3A b%2C c"},
		{"100% done\r\nnext", "100%25 done%0D%0Anext", "100%25 done%0D%0Anext"},
		{"::error::x", "::error::x", "%3A%3Aerror%3A%3Ax"},
	} {
		if got := escapeData(tc.in); got != tc.data {
			t.Errorf("escapeData(%q) = %q, want %q", tc.in, got, tc.data)
		}
		if got := escapeProperty(tc.in); got != tc.prop {
			t.Errorf("escapeProperty(%q) = %q, want %q", tc.in, got, tc.prop)
		}
	}
	var b bytes.Buffer
	g := &github{on: true, w: &b}
	g.annotate("warning", "Rule: a, b", "line 1\nline 2")
	if got := b.String(); got != "::warning title=Rule%3A a%2C b::line 1%0Aline 2\n" {
		t.Errorf("annotation %q", got)
	}
}

func TestGitHubOffDoesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b bytes.Buffer
	env := map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(dir, "s"), "GITHUB_OUTPUT": filepath.Join(dir, "o")}
	g := newGitHub(func(k string) string { return env[k] }, &b)
	g.annotate("error", "t", "m")
	g.addSummary("x", &b)
	g.setOutputs([][2]string{{"a", "b"}}, &b)
	if b.Len() != 0 {
		t.Errorf("wrote %q outside GitHub Actions", b.String())
	}
	if _, err := os.Stat(env["GITHUB_OUTPUT"]); err == nil {
		t.Error("wrote GITHUB_OUTPUT outside GitHub Actions")
	}
}

func TestGitHubFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var stderr bytes.Buffer
	out := filepath.Join(dir, "o")
	g := &github{on: true, w: &stderr, output: out, summary: filepath.Join(dir, "missing", "s")}
	g.setOutputs([][2]string{{"deployment_id", "d1"}, {"empty", ""}, {"evil", "a\nb=c"}}, &stderr)
	g.setOutputs([][2]string{{"build_id", "b1"}}, &stderr)
	if b, _ := os.ReadFile(out); string(b) != "deployment_id=d1\nbuild_id=b1\n" {
		t.Errorf("outputs %q", b)
	}
	g.addSummary("x", &stderr)
	if !strings.Contains(stderr.String(), "warning: could not write") {
		t.Errorf("an unwritable summary should warn: %q", stderr.String())
	}
	if got := mdTable([][2]string{{"A", "x|y"}, {"B", ""}, {"C", "<b>\nz"}}); got != "| | |\n|---|---|\n| A | x\\|y |\n| C | &lt;b&gt; z |\n" {
		t.Errorf("table %q", got)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	block := &client.APIError{StatusCode: 423, Block: &client.Block{Code: "NO_DEPLOY_WINDOW"}}
	api := &client.APIError{StatusCode: 401}
	net := &client.NetworkError{Err: errors.New("refused")}
	for _, tc := range []struct {
		err     error
		fail    bool
		outcome string
		code    int
	}{
		{block, true, outcomeBlocked, exitBlocked},
		{block, false, outcomeBlocked, exitBlocked},
		{fmt.Errorf("wrapped: %w", block), false, outcomeBlocked, exitBlocked},
		{api, true, outcomeAPIError, exitAPI},
		{api, false, outcomeNotRecorded, exitOK},
		{net, true, outcomeNetworkError, exitFailure},
		{net, false, outcomeNotRecorded, exitOK},
		{&client.NetworkError{Err: context.Canceled}, false, outcomeInterrupted, exitFailure},
		{errors.New("other"), false, outcomeUsage, exitFailure},
	} {
		if o, c := classify(tc.err, tc.fail); o != tc.outcome || c != tc.code {
			t.Errorf("classify(%v, %v) = %s %d, want %s %d", tc.err, tc.fail, o, c, tc.outcome, tc.code)
		}
	}
}

func TestBlockRows(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		block  client.Block
		want   [][2]string
	}{
		{423, client.Block{Message: "frozen until 18:00", Code: "NO_DEPLOY_WINDOW", RetryAfter: "2026-01-01T18:00:00Z",
			Details: []byte(`{"rule_name": "Freeze", "reason": "holidays"}`)},
			[][2]string{{"Rule", "Freeze"}, {"Reason", "frozen until 18:00 (holidays)"}, {"Code", "NO_DEPLOY_WINDOW (HTTP 423)"}, {"Retry after", "2026-01-01T18:00:00Z"}}},
		{423, client.Block{Message: "frozen: holidays", Code: "NO_DEPLOY_WINDOW", Details: []byte(`{"rule_name": "F", "reason": "holidays"}`)},
			[][2]string{{"Rule", "F"}, {"Reason", "frozen: holidays"}, {"Code", "NO_DEPLOY_WINDOW (HTTP 423)"}, {"Retry after", ""}}},
		{428, client.Block{Message: "m", Details: []byte(`[1]`)},
			[][2]string{{"Rule", ""}, {"Reason", "m"}, {"Code", "(HTTP 428)"}, {"Retry after", ""}}},
	} {
		got := blockRows(tc.status, &tc.block)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("blockRows(%d, %+v) = %v, want %v", tc.status, tc.block, got, tc.want)
		}
	}
	for status, want := range map[int]string{409: "⚠️  Deployment Conflict", 423: "🔒 Deployment Blocked by Schedule",
		428: "❌ Deployment Precondition Failed", 418: "❌ Deployment Precondition Failed"} {
		if got := blockTitle(status); got != want {
			t.Errorf("blockTitle(%d) = %q", status, got)
		}
	}
}
