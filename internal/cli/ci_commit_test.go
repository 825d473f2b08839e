package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/cidetect"
)

// gitRepo makes a repository with one commit at a fixed committer date and
// returns its directory and the commit's SHA.
func gitRepo(t *testing.T) (string, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	dir := t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test",
			"GIT_AUTHOR_DATE=2025-03-04T05:06:07+02:00", "GIT_COMMITTER_DATE=2025-03-04T05:06:07+02:00")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run("init", "-q")
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("add", "f")
	run("commit", "-q", "-m", "one")
	return dir, run("rev-parse", "HEAD")
}

func TestGitCommitTime(t *testing.T) {
	dir, sha := gitRepo(t)
	for _, c := range []struct {
		name, dir, sha, want string
		ok                   bool
	}{
		{"full sha, in UTC", dir, sha, "2025-03-04T03:06:07Z", true},
		{"short sha", dir, sha[:8], "2025-03-04T03:06:07Z", true},
		{"unknown commit", dir, strings.Repeat("ab", 20), "", false},
		{"an option is not a sha", dir, "--output=/tmp/x", "", false},
		{"a revision expression is not a sha", dir, "HEAD~1", "", false},
		{"empty", dir, "", "", false},
		{"not a repository", t.TempDir(), sha, "", false},
	} {
		got, ok := gitCommitTime(t.Context(), c.dir, c.sha)
		if got != c.want || ok != c.ok {
			t.Errorf("%s: gitCommitTime = %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}
}

func TestMetadataCarriesTheCommitTime(t *testing.T) {
	dir, sha := gitRepo(t)
	t.Chdir(dir)
	meta := func(extra string) map[string]string {
		f := &eventFlags{ScmSHA: sha, ExtraMetadata: extra}
		raw, err := f.meta(cidetect.Info{})
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		return m
	}
	if got := meta("")["vi_commit_timestamp"]; got != "2025-03-04T03:06:07Z" {
		t.Errorf("detected commit time = %q", got)
	}
	// A commit time the user gave, under any key the server reads, wins.
	m := meta(`{"commit_time": "2025-01-01T00:00:00Z"}`)
	if _, ok := m["vi_commit_timestamp"]; ok || m["commit_time"] != "2025-01-01T00:00:00Z" {
		t.Errorf("user's commit time overridden: %v", m)
	}
}
