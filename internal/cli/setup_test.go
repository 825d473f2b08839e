package cli_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestFirstRunLinks: org create prints a setup link before its key (still
// alone on the last line); org setup-link prints another while nobody can
// sign in; user create without a password prints a link for that person:
// the sign-in page's command works as written.
func TestFirstRunLinks(t *testing.T) {
	t.Parallel()
	db := "sqlite://" + filepath.Join(t.TempDir(), "s.db")
	code, out, errs := run(t, "org", "create", "acme", "--db", db, "--base-url", "https://shiplog.example/")
	if code != 0 {
		t.Fatalf("org create: %d %s", code, errs)
	}
	if !strings.Contains(out, "\nhttps://shiplog.example/ui/setup?token=rst_") {
		t.Errorf("org create printed no setup link:\n%s", out)
	}
	if m := keyPattern.FindStringSubmatch(lastLine(out)); m == nil {
		t.Errorf("the key is not on the last line:\n%s", out)
	}
	code, out, _ = run(t, "org", "setup-link", "--org", "acme", "--db", db, "--base-url", "https://shiplog.example")
	if code != 0 || !strings.HasPrefix(lastLine(out), "https://shiplog.example/ui/setup?token=rst_") {
		t.Errorf("org setup-link: %d %q", code, out)
	}
	// The command the sign-in page shows, as written there.
	code, out, errs = run(t, "user", "create", "--org", "acme", "--email", "you@example.com", "--name", "Your Name", "--role", "owner", "--db", db)
	if code != 0 || !strings.HasPrefix(lastLine(out), "http://127.0.0.1:8080/ui/setup?token=rst_") {
		t.Errorf("user create without a password: %d %q %s", code, out, errs)
	}
	code, out, _ = run(t, "user", "list", "--org", "acme", "--db", db)
	if code != 0 || !strings.Contains(out, "owner@acme.invalid") || !strings.Contains(out, "you@example.com") {
		t.Errorf("user list: %q", out)
	}
}
