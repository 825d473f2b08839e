package web_test

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog/internal/cli"
)

// TestBrowserFirstRunSetup: `shiplog org create` prints a setup link; the
// first owner opens it, chooses name, address and password, and lands on
// Home signed in. The link then no longer works, and the password does.
func TestBrowserFirstRunSetup(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "shiplog.db")
	s := startDB(t, db)
	ctx := browser(t)

	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), []string{"org", "create", "beta", "--db", db, "--base-url", s.url}, &out, &errb); code != 0 {
		t.Fatalf("org create: exit %d: %s", code, errb.String())
	}
	var link string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, s.url+"/ui/setup?token=") {
			link = l
		}
	}
	if link == "" {
		t.Fatalf("org create printed no setup link:\n%s", out.String())
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); !strings.HasPrefix(lines[len(lines)-1], "sk_beta_k1_") {
		t.Errorf("the API key is not alone on the last line:\n%s", out.String())
	}

	step(t, ctx, "open the setup link",
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS("#name")),
	)
	if h := text(t, ctx, "h1"); h != "Set up beta" {
		t.Errorf("setup page heading %q", h)
	}
	shot(t, ctx, "first-run-setup")
	step(t, ctx, "passwords that differ",
		chromedp.SetValue(chromedp.CSS("#name"), "Bea Owner"),
		chromedp.SetValue(chromedp.CSS("#email"), "bea@beta.test"),
		chromedp.SetValue(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.SetValue(chromedp.CSS("#confirm-password"), "correct horse staple"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	)
	if got := text(t, ctx, `[role="alert"]`); !strings.Contains(got, "differ") {
		t.Errorf("differing passwords say %q", got)
	}
	step(t, ctx, "set up",
		chromedp.SetValue(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.SetValue(chromedp.CSS("#confirm-password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top")),
	)
	eventually(t, ctx, "signed in on Home", `location.pathname === "/ui/" && document.querySelector(".who").textContent.includes("Bea Owner")`)
	if got := text(t, ctx, ".who .org"); got != "beta" {
		t.Errorf("signed in to %q, want beta", got)
	}

	// The link is spent; signing in with the chosen password works.
	step(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(`.who button`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	)
	if got := text(t, ctx, `[role="alert"]`); !strings.Contains(got, "not valid") {
		t.Errorf("the used link says %q", got)
	}
	step(t, ctx, "sign in with the chosen password",
		chromedp.Navigate(s.url+"/ui/sign-in"),
		chromedp.SetValue(chromedp.CSS("#org"), "beta"),
		chromedp.SetValue(chromedp.CSS("#email"), "bea@beta.test"),
		chromedp.SetValue(chromedp.CSS("#password"), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("header.top")),
	)
}
