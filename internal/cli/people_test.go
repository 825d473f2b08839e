package cli_test

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var tokenPattern = regexp.MustCompile(`^pat_([0-9A-Za-z]{16})_[0-9A-Za-z]{43}$`)

// TestTokenAndPeopleCommands: token list|revoke, and a person's lifecycle
// from the command line: deactivate, reactivate, a printed reset link,
// delete; the last active admin stays.
func TestTokenAndPeopleCommands(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, append(args, "--db", db)...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out
	}
	mustFail := func(want string, args ...string) {
		t.Helper()
		code, _, errs := run(t, append(args, "--db", db)...)
		if code == 0 || !strings.Contains(errs, want) {
			t.Errorf("%v: %d %q; want a failure saying %q", args, code, errs, want)
		}
	}
	mustRun("org", "create", "acme")
	mustRun("user", "create", "--org", "acme", "--email", "ada@example.com", "--name", "Ada", "--role", "owner")
	mustRun("user", "create", "--org", "acme", "--email", "dev@example.com", "--name", "Dev", "--role", "developer")
	tok := lastLine(mustRun("token", "create", "--org", "acme", "--email", "dev@example.com", "--name", "laptop"))
	m := tokenPattern.FindStringSubmatch(tok)
	if m == nil {
		t.Fatalf("token %q", tok)
	}
	mustRun("token", "create", "--org", "acme", "--email", "ada@example.com")

	list := mustRun("token", "list", "--org", "acme")
	if !strings.Contains(list, m[1]) || !strings.Contains(list, "dev@example.com") || !strings.Contains(list, "laptop") ||
		strings.Contains(list, tok[25:]) || strings.Count(list, "\n") != 3 {
		t.Fatalf("token list:\n%s", list)
	}
	if own := mustRun("token", "list", "--org", "acme", "--email", "ada@example.com"); strings.Contains(own, m[1]) || strings.Count(own, "\n") != 2 {
		t.Errorf("ada's tokens:\n%s", own)
	}
	out := mustRun("token", "revoke", "--org", "acme", tok)
	if !strings.Contains(out, "Revoked token "+m[1]+" of dev@example.com") {
		t.Errorf("revoke: %s", out)
	}
	if list := mustRun("token", "list", "--org", "acme", "--email", "dev@example.com"); strings.Contains(list, "\t-\n") || strings.HasSuffix(strings.TrimSpace(list), " -") {
		t.Errorf("the revoked token shows no revocation:\n%s", list)
	}
	mustFail(`no personal access token "nope"`, "token", "revoke", "--org", "acme", "nope")

	mustRun("user", "deactivate", "--org", "acme", "--email", "dev@example.com")
	if l := mustRun("user", "list", "--org", "acme"); !strings.Contains(l, "deactivated") || !strings.Contains(l, "ada@example.com") {
		t.Errorf("user list:\n%s", l)
	}
	mustFail("is deactivated", "user", "reset-link", "--org", "acme", "--email", "dev@example.com")
	mustRun("user", "reactivate", "--org", "acme", "--email", "dev@example.com")

	link := lastLine(mustRun("user", "reset-link", "--org", "acme", "--email", "dev@example.com", "--base-url", "https://ship.example.com/"))
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host != "ship.example.com" || u.Path != "/ui/reset-password" ||
		!regexp.MustCompile(`^rst_[0-9A-Za-z]{16}_[0-9A-Za-z]{43}$`).MatchString(u.Query().Get("token")) {
		t.Fatalf("reset link %q", link)
	}

	// The last active admin stays, even from the command line.
	mustFail("is the last active admin", "user", "deactivate", "--org", "acme", "--email", "ada@example.com")
	mustFail("is the last active admin", "user", "delete", "--org", "acme", "--email", "ada@example.com")

	mustRun("user", "delete", "--org", "acme", "--email", "dev@example.com")
	if l := mustRun("user", "list", "--org", "acme"); strings.Contains(l, "dev@example.com") {
		t.Errorf("the deleted person is listed:\n%s", l)
	}
	mustFail("has no user dev@example.com", "user", "delete", "--org", "acme", "--email", "dev@example.com")
	// The address is free again.
	mustRun("user", "create", "--org", "acme", "--email", "dev@example.com", "--name", "Dev Two", "--role", "viewer")
}
