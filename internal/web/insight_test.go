package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

func TestBrowserInsight(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "viewer")
	s.deploy("api", "1.0.0", "production", "success")
	s.deploy("api", "1.1.0", "production", "failed")
	s.deploy("api", "1.2.0", "production", "success")
	s.deploy("web", "2.0.0", "staging", "success")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")
	step(t, ctx, "open insight", chromedp.Navigate(s.url+"/ui/insight"), chromedp.WaitVisible(chromedp.CSS(".tiles")))

	// The headline is production's by default: 2 completed, 1 failed of 3;
	// web's staging run is not in it.
	if got := text(t, ctx, "#t-cfr + p"); got != "33.3%" {
		t.Errorf("production change failure rate tile = %q, want 33.3%%", got)
	}
	if got := text(t, ctx, "#env-switch [aria-current]"); got != "production environments" {
		t.Errorf("the switch shows %q chosen, want production environments", got)
	}
	if rows := text(t, ctx, "table.insight tbody"); !strings.Contains(rows, "api") || strings.Contains(rows, "web") {
		t.Errorf("production groups %q: want api alone", rows)
	}
	// Charts fill the width: one drawn per breakpoint, the one that fits shown.
	visible := `[...document.querySelectorAll('.chart svg[role="img"][aria-label]')].filter(s => s.getBoundingClientRect().width > 0)`
	eventually(t, ctx, "two wide charts with accessible names",
		visible+`.length === 2 && `+visible+`.every(s => s.dataset.width === "1200" && s.getBoundingClientRect().width > 1000)`)

	// The switch to every environment: the org's totals, 3 completed, 1 failed of 4.
	step(t, ctx, "switch to all environments", chromedp.Click(chromedp.CSS(`#env-switch a:not([aria-current])`)))
	eventually(t, ctx, "all environments", `document.querySelector("#env-switch [aria-current]").textContent === "all environments"`)
	if got := text(t, ctx, "#t-cfr + p"); got != "25%" {
		t.Errorf("change failure rate tile = %q, want 25%%", got)
	}
	if got := text(t, ctx, ".tiles section:first-child p:last-child"); !strings.HasPrefix(got, "3 completed") {
		t.Errorf("frequency tile = %q, want 3 completed", got)
	}
	rows := text(t, ctx, "table.insight tbody")
	if !strings.Contains(rows, "api") || !strings.Contains(rows, "web") || !strings.Contains(rows, "33.3%") {
		t.Errorf("groups table %q: want api (33.3%% failures) and web", rows)
	}
	shot(t, ctx, "insight")
	// At 375 px the phone's chart is shown, its text at least 11 px high.
	step(t, ctx, "narrow the window", chromedp.EmulateViewport(375, 800))
	eventually(t, ctx, "the narrow charts, text readable", visible+`.length === 2 && `+visible+
		`.every(s => s.dataset.width === "360" && [...s.querySelectorAll("text")].every(x => x.getBoundingClientRect().height >= 11))`)
	shot(t, ctx, "insight-narrow")
	fitsPhone(t, ctx, "the insight page")

	// A group's link narrows the charts to that product and environment.
	step(t, ctx, "open api in production", chromedp.Click(chromedp.CSS(`table.insight a`)))
	eventually(t, ctx, "narrowed to api", `document.querySelector("h1").textContent.includes("api in production")`)
	if got := text(t, ctx, "#t-cfr + p"); got != "33.3%" {
		t.Errorf("api in production: failure rate %q, want 33.3%%", got)
	}
}

func TestInsightRefusesBadWindows(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "viewer")
	c := client(t)
	s.signInHTTP(t, c, "ann@acme.test", "correct horse battery")
	res, body := get(t, c, s.url+"/ui/insight?from=yesterday")
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "from") {
		t.Errorf("bad from: %d", res.StatusCode)
	}
	// An unknown product is the API's 404, with its message.
	res, body = get(t, c, s.url+"/ui/insight?product=nothing-here")
	if res.StatusCode != http.StatusNotFound || !strings.Contains(body, "nothing-here") {
		t.Errorf("unknown product: %d %s", res.StatusCode, body)
	}
	s.deploy("api", "1.0.0", "production", "success")
	res, body = get(t, c, s.url+"/ui/insight?product=api&from=2020-01-01&to=2020-01-31")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "No deployment finished in this window") {
		t.Errorf("empty window: %d", res.StatusCode)
	}
}
