package cli

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// The commit's time lets DORA's lead time start where the change did
// (docs/dora.md). CI systems rarely say it, but the checkout knows: ask git
// for the committer date of the SHA being reported. Anything unusual (no
// git, not a checkout, a shallow clone without that commit, a slow disk)
// just leaves the key out; lead time then starts from the build.

var commitSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// commitTimeKey is the first of the keys internal/dora reads.
const commitTimeKey = "vi_commit_timestamp"

// gitCommitTime returns the committer date of sha in the repository at
// dir ("" is the working directory), as RFC 3339.
func gitCommitTime(ctx context.Context, dir, sha string) (string, bool) {
	if !commitSHA.MatchString(sha) {
		return "", false // never hand git an option or a revision expression
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", "show", "-s", "--format=%cI", sha+"^{commit}", "--")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return "", false
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(out)))
	if err != nil {
		return "", false
	}
	return t.UTC().Format(time.RFC3339), true
}

// hasCommitTime reports whether m already carries a commit time under any
// key the server reads, so a value the user gave is never second-guessed.
func (m metadata) hasCommitTime() bool {
	for k := range m {
		if strings.Contains(k, "commit_time") {
			return true
		}
	}
	return false
}
