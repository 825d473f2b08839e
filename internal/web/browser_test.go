package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserSignInAndHome(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	ctx := browser(t)

	// A page asked for before signing in comes back after it.
	step(t, ctx, "open a deep link signed out",
		chromedp.Navigate(s.url+"/ui/?filter=1"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
	shot(t, ctx, "sign-in")
	step(t, ctx, "wrong password",
		chromedp.SetValue(chromedp.CSS("#org"), "acme"),
		chromedp.SetValue(chromedp.CSS("#email"), "ann@acme.test"),
		chromedp.SetValue(chromedp.CSS("#password"), "wrong"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	)
	if got := text(t, ctx, `[role="alert"]`); !strings.Contains(got, "email or password is wrong") {
		t.Errorf("wrong password says %q", got)
	}

	s.deploy("api", "1.4.0", "production", "success")
	s.deploy("api", "1.5.0", "staging", "success")
	s.deploy("web", "2.0.0", "production", "success")
	s.deploy("web", "2.0.0", "staging", "success")
	s.deploy("web", "2.1.0", "staging", "started")
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")

	// Environments run left to right as code travels: staging before production.
	heads := text(t, ctx, "table.matrix thead")
	if i, j := strings.Index(heads, "staging"), strings.Index(heads, "production"); i < 0 || j < 0 || i > j {
		t.Errorf("matrix columns %q: want staging before production", heads)
	}
	// api runs different versions in staging and production: drift.
	if got := text(t, ctx, "table.matrix tr.drift th"); !strings.Contains(got, "api") {
		t.Errorf("drift row is %q, want api", got)
	}
	webRow := text(t, ctx, "table.matrix tbody tr:not(.drift)")
	if !strings.Contains(webRow, "2.0.0") || !strings.Contains(webRow, "2.1.0") || !strings.Contains(webRow, "started") {
		t.Errorf("web row %q: want 2.0.0 deployed and 2.1.0 started", webRow)
	}
	shot(t, ctx, "home")
	fitsPhone(t, ctx, "the home page")

	// Filters persist: only drift rows, then a fresh visit keeps the filter.
	step(t, ctx, "filter to drift",
		chromedp.Click(chromedp.CSS(`input[name="drift"]`)),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
	)
	eventually(t, ctx, "the filtered page loads", `location.search.includes("drift=1") && document.readyState === "complete"`)
	step(t, ctx, "come back without the filter in the URL",
		chromedp.Navigate(s.url+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS("table.matrix")),
	)
	if rows := text(t, ctx, "table.matrix tbody"); strings.Contains(rows, "web") {
		t.Errorf("drift filter did not persist: rows %q", rows)
	}

	step(t, ctx, "sign out",
		chromedp.Click(chromedp.CSS(`.who button`)),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.Navigate(s.url+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
	)
}

func TestBrowserLiveFeed(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "viewer")
	s.deploy("api", "1.0.0", "production", "success")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")
	eventually(t, ctx, "the feed connects", `document.querySelector("#live-state").dataset.state === "open"`)
	// Mark the page: a reload would lose the mark.
	eventually(t, ctx, "mark the page", `(window.notReloaded = true)`)

	s.deploy("api", "1.1.0", "production", "started")
	eventually(t, ctx, "the started deployment appears in the feed",
		`document.querySelector("#feed li.fresh") !== null && document.querySelector("#feed li.fresh").textContent.includes("api 1.1.0 → production")`)
	s.deploy("api", "1.1.0", "production", "success")
	eventually(t, ctx, "the matrix shows 1.1.0 deployed without a reload",
		`window.notReloaded === true && document.querySelector("table.matrix a.ver").textContent === "1.1.0"`)
	if got := text(t, ctx, "#feed li.fresh .badge"); got != "deployment.completed" {
		t.Errorf("newest feed entry is %q, want deployment.completed", got)
	}
	shot(t, ctx, "home-live")
}
