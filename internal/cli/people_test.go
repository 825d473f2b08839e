package cli_test

import (
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/testutil/smtptest"
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

// TestTokenCommandsAgainstServer: without --org, token list|revoke ask a
// running server as the person whose token is given: their own tokens;
// another person's is refused.
func TestTokenCommandsAgainstServer(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	mustRun := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, args...)
		if code != 0 {
			t.Fatalf("%v: %d %s", args, code, errs)
		}
		return out
	}
	mustRun("org", "create", "acme", "--db", db)
	mustRun("user", "create", "--org", "acme", "--email", "ada@example.com", "--name", "Ada", "--role", "owner", "--db", db)
	mustRun("user", "create", "--org", "acme", "--email", "dev@example.com", "--name", "Dev", "--role", "developer", "--db", db)
	dev := lastLine(mustRun("token", "create", "--org", "acme", "--email", "dev@example.com", "--db", db))
	dev2 := lastLine(mustRun("token", "create", "--org", "acme", "--email", "dev@example.com", "--name", "ci", "--db", db))
	ada := lastLine(mustRun("token", "create", "--org", "acme", "--email", "ada@example.com", "--db", db))
	srv := serve(t, db)

	list := mustRun("token", "list", "--api-url", srv.url, "--token", dev)
	if !strings.Contains(list, dev[4:20]) || !strings.Contains(list, dev2[4:20]) || strings.Contains(list, ada[4:20]) {
		t.Fatalf("dev's list:\n%s", list)
	}
	if all := mustRun("token", "list", "--api-url", srv.url, "--token", ada); !strings.Contains(all, dev[4:20]) || !strings.Contains(all, ada[4:20]) {
		t.Errorf("the owner's list:\n%s", all)
	}
	code, _, errs := run(t, "token", "revoke", "--api-url", srv.url, "--token", dev, ada[4:20])
	if code == 0 || !strings.Contains(errs, "Revoking another person's tokens needs one of the roles owner, admin") {
		t.Errorf("revoking another's token: %d %s", code, errs)
	}
	if out := mustRun("token", "revoke", "--api-url", srv.url, "--token", dev, dev2); !strings.Contains(out, "Revoked token "+dev2[4:20]) {
		t.Errorf("revoke: %s", out)
	}
	code, _, errs = run(t, "token", "list", "--api-url", srv.url, "--token", dev2)
	if code == 0 || !strings.Contains(errs, "Invalid authentication credentials") {
		t.Errorf("the revoked token lists: %d %s", code, errs)
	}
	code, _, errs = run(t, "token", "list")
	if code == 0 || !strings.Contains(errs, "pass --org") {
		t.Errorf("neither --org nor a server: %d %s", code, errs)
	}
}

// TestResetLinkCommandEmails: with --smtp-url the link goes to the person
// over SMTP and the command prints no link.
func TestResetLinkCommandEmails(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	relay := smtptest.Start(t)
	for _, args := range [][]string{
		{"org", "create", "acme"},
		{"user", "create", "--org", "acme", "--email", "dev@example.com", "--name", "Dev", "--role", "developer"},
	} {
		if code, _, errs := run(t, append(args, "--db", db)...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	code, out, errs := run(t, "user", "reset-link", "--org", "acme", "--email", "dev@example.com", "--db", db,
		"--smtp-url", relay.URL(), "--mail-from", "shiplog@example.com", "--base-url", "https://ship.example.com")
	if code != 0 || strings.Contains(out, "rst_") || !strings.Contains(out, "Emailed a password reset link to dev@example.com") {
		t.Fatalf("reset-link: %d %s %s", code, out, errs)
	}
	select {
	case m := <-relay.Mail:
		body := strings.ReplaceAll(string(m.Data), "=\r\n", "")
		if len(m.To) != 1 || m.To[0] != "dev@example.com" || !strings.Contains(body, "https://ship.example.com/ui/reset-password?token=3Drst_") &&
			!strings.Contains(body, "https://ship.example.com/ui/reset-password?token=rst_") {
			t.Errorf("mail to %v:\n%s", m.To, body)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no mail")
	}
}
