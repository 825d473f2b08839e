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

	s.deploy("api", "1.4.0", "prod-eu", "success")
	s.deploy("api", "1.5.0", "prod-us", "success")
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
	// api's two production regions run different versions: drift.
	if got := text(t, ctx, "table.matrix tr.drift th"); !strings.Contains(got, "api") || !strings.Contains(got, "production: 1.4.0 ≠ 1.5.0") {
		t.Errorf("drift row is %q, want api split in production", got)
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

// Drift is a split between environments of one type, not promotion: dev
// and staging ahead of production is how code travels. A refused or failed
// attempt shows in its cell as loudly as a success, times read "ago" with
// the exact local time on hover, and at 375 px production comes first.
func TestBrowserDriftOnlyAcrossSameTypeEnvironments(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "viewer")
	for _, env := range []string{"dev", "staging", "production"} {
		s.deploy("promoted", map[string]string{"dev": "3.0.0", "staging": "2.9.0", "production": "2.8.0"}[env], env, "success")
	}
	s.deploy("split", "1.4.0", "prod-eu", "success")
	s.deploy("split", "1.5.0", "prod-us", "success")
	s.deploy("split", "1.5.0", "staging", "success")
	s.deploy("broken", "5.0.0", "production", "success")
	s.deploy("broken", "5.1.0", "production", "failed")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")

	drifted := evalJS[[]string](t, ctx, `[...document.querySelectorAll("table.matrix tr.drift th")].map(th => th.textContent.trim())`)
	if len(drifted) != 1 || !strings.HasPrefix(drifted[0], "split") || !strings.Contains(drifted[0], "production: 1.4.0 ≠ 1.5.0") {
		t.Errorf("drift rows %q: want split alone, in production", drifted)
	}
	marked := evalJS[[]string](t, ctx, `[...document.querySelectorAll("table.matrix td[data-drift]")].map(td => td.dataset.env)`)
	if strings.Join(marked, ",") != "prod-eu,prod-us" {
		t.Errorf("cells marked drift: %q, want prod-eu and prod-us", marked)
	}
	if got := text(t, ctx, `table.matrix td.cell-failed`); !strings.Contains(got, "5.1.0") || !strings.Contains(got, "failed") ||
		!strings.Contains(got, "5.0.0") {
		t.Errorf("failed cell says %q, want the failed 5.1.0 above the deployed 5.0.0", got)
	}
	// Times: "just now" in words, the exact time in the viewer's zone on hover.
	eventually(t, ctx, "times read as ago", `(() => { const el = document.querySelector("table.matrix time");
		return el && el.dataset.local === "1" && /just now|min ago/.test(el.textContent) && el.title.length > 10 })()`)
	shot(t, ctx, "home-drift")

	step(t, ctx, "narrow the window", chromedp.EmulateViewport(375, 800))
	first := evalJS[string](t, ctx, `(() => {
		const row = [...document.querySelectorAll("table.matrix tbody tr")].find(tr => tr.querySelector("th").textContent.trim().startsWith("broken"));
		const cells = [...row.querySelectorAll("td")].filter(td => getComputedStyle(td).display !== "none");
		cells.sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top);
		return cells[0].dataset.env + " " + (cells[0].getBoundingClientRect().right <= 375);
	})()`)
	if first != "production true" {
		t.Errorf("at 375 px the first environment shown is %q, want production, on screen", first)
	}
	shot(t, ctx, "home-narrow")
	if w := evalJS[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
		t.Errorf("home at 375 px is %d px wide", w)
	}
}
