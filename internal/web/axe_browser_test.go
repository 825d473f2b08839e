package web_test

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/cli"
	"github.com/shiplog/shiplog/internal/web"
)

// axe-core, vendored from npm for this test (docs/dependencies.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axePage is a console page the accessibility walk visits: the route it
// covers and the path to open (ids filled in once the data exists).
type axePage struct {
	route, path string
}

// notWalked are GET routes that are not pages: assets, fragments, streams,
// raw JSON, redirects.
var notWalked = []string{"GET /ui/static/", "GET /ui/fragments/matrix", "GET /ui/fragments/first-steps", "GET /ui/live", "GET /ui/deployments/{id}/raw",
	"GET /ui/builds/{id}/raw", "GET /ui/settings", "GET /ui/settings/{$}", "GET /ui/versions"}

// axeFinding is one serious or critical axe violation on one node.
type axeFinding struct {
	ID, Impact, Help, Target, Summary string
}

// TestBrowserAxeEveryPage visits every console page in the light and the
// dark colour scheme, at 1280 and at 375 px, with data in every state the
// pages show (a failed and a refused deployment, a failing channel, an
// open request, rules of each kind), runs axe-core in each and fails on any
// serious or critical finding. A new page without an entry in the walk
// fails too.
func TestBrowserAxeEveryPage(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "shiplog.db")
	s := startDB(t, db)
	owner := s.user("ann@acme.test", "correct horse battery", "owner")
	// Another org, new, whose first owner has a setup link to open.
	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), []string{"org", "create", "beta", "--db", db, "--base-url", s.url}, &out, &errb); code != 0 {
		t.Fatalf("org create: exit %d: %s", code, errb.String())
	}
	setup := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, s.url+"/ui/setup?token=") {
			setup = strings.TrimPrefix(l, s.url)
		}
	}
	if setup == "" {
		t.Fatalf("org create printed no setup link:\n%s", out.String())
	}
	dee := s.user("dee@acme.test", pw, "developer")
	s.deploy("api", "1.4.0", "staging", "success")
	s.deploy("api", "1.4.0", "prod-eu", "success")
	s.deploy("api", "1.3.0", "prod-us", "success")
	s.deploy("api", "1.5.0", "prod-us", "failed")
	s.deploy("web", "2.0.0", "production", "success")
	s.deploy("web", "2.1.0", "staging", "started")
	build := s.relEvent("/build-events/", map[string]any{"product_name": "api", "version": "1.4.0", "status": "success",
		"scm_sha": "0123456789abcdef0123456789abcdef01234567", "scm_branch": "main", "build_number": "42"})
	var rl map[string]any
	s.api("POST", "/deployment-rules/", map[string]any{"name": "Staging first", "rule_type": "flow", "status": "enabled",
		"prerequisite_environments": []string{"staging"}, "target_environment": "production", "soak_minutes": 30}, &rl)
	s.api("POST", "/deployment-rules/", map[string]any{"name": "Weekend freeze", "rule_type": "schedule", "status": "report_only",
		"schedule": map[string]any{"recurrence": "weekly", "time_zone": "Europe/Berlin", "start": "18:00", "end": "08:00",
			"days": []string{"friday", "saturday"}}}, nil)
	// The flow rule refuses web 2.2.0 in production: a blocked run.
	if st := s.api("POST", "/deployment-events/", map[string]any{"product_name": "web", "version": "2.2.0",
		"environment_name": "production", "status": "started"}, nil); st < 400 {
		t.Fatalf("the refused start answered %d", st)
	}
	var ch apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "Incidents", "url": "http://127.0.0.1:1/hook",
		"events": []string{"deployment.completed", "deployment.failed"}}, &ch)
	s.deploy("api", "1.4.0", "prod-us", "success")
	dr := s.relDR(s.relPAT(dee), map[string]any{"name": "api 1.4.0 to production", "description": "Checkout fixes.",
		"items": []shiplog.DRItem{{ProductName: "api", Version: "1.4.0"}}, "environment_names": []string{"production"},
		"approval_slots": []map[string]any{{"approval_type": "qa"}}}, true)
	var deps apiv1.List[*shiplog.Deployment]
	s.api("GET", "/deployments/?limit=50", nil, &deps)
	blocked := ""
	for _, d := range deps.Items {
		if d.PreflightStatus != nil && *d.PreflightStatus == "failed" {
			blocked = d.ID
		}
	}
	if blocked == "" {
		t.Fatal("no refused deployment to show")
	}

	const publicPages = 3 // the first pages are seen signed out
	pages := []axePage{
		{"GET /ui/sign-in", "/ui/sign-in"},
		{"GET /ui/reset-password", "/ui/reset-password?token=not-a-real-token"},
		{"GET /ui/setup", setup},
		{"GET /ui/{$}", "/ui/"},
		{"GET /ui/connect", "/ui/connect"},
		{"GET /ui/deployments", "/ui/deployments"},
		{"GET /ui/deployments/{id}", "/ui/deployments/" + blocked},
		{"GET /ui/builds", "/ui/builds"},
		{"GET /ui/builds/{id}", "/ui/builds/" + fmt.Sprint(build["id"])},
		{"GET /ui/versions/{id}", "/ui/versions/" + deps.Items[0].VersionID},
		{"GET /ui/deployment-requests", "/ui/deployment-requests"},
		{"GET /ui/deployment-requests/new", "/ui/deployment-requests/new"},
		{"GET /ui/deployment-requests/{id}", "/ui/deployment-requests/" + dr.ID},
		{"GET /ui/insight", "/ui/insight?env_type=all"},
		{"GET /ui/settings/notifications", "/ui/settings/notifications?kind=webhook"},
		{"GET /ui/settings/notifications/new", "/ui/settings/notifications/new?kind=webhook"},
		{"GET /ui/settings/notifications/{id}/edit", "/ui/settings/notifications/" + ch.ID + "/edit"},
		{"GET /ui/settings/notifications/{id}/deliveries", "/ui/settings/notifications/" + ch.ID + "/deliveries"},
		{"GET /ui/settings/api-keys", "/ui/settings/api-keys"},
		{"GET /ui/settings/users", "/ui/settings/users"},
		{"GET /ui/settings/users/{id}/edit", "/ui/settings/users/" + dee.ID + "/edit"},
		{"GET /ui/settings/rules", "/ui/settings/rules"},
		{"GET /ui/settings/rules/new", "/ui/settings/rules/new?type=schedule"},
		{"GET /ui/settings/rules/{id}/edit", "/ui/settings/rules/" + fmt.Sprint(rl["id"]) + "/edit"},
		{"GET /ui/settings/environments", "/ui/settings/environments"},
		{"GET /ui/account", "/ui/account"},
		{"not found", "/ui/no-such-page"},
	}
	walked := map[string]bool{}
	for _, p := range pages {
		walked[p.route] = true
	}
	ws := &web.Server{}
	ws.Handler()
	for _, r := range ws.Routes() {
		if strings.HasPrefix(r, "GET /ui/") && !walked[r] && !slices.Contains(notWalked, r) {
			t.Errorf("console page %s is not in the accessibility walk: add it to pages in TestBrowserAxeEveryPage", r)
		}
	}

	ctx := browser(t)
	// The checker finds what it should: a planted image without a text
	// alternative is a critical finding.
	runAxe(t, ctx, s.url+"/ui/sign-in")
	evalJS[bool](t, ctx, `(document.body.insertAdjacentHTML("beforeend", '<img src="data:,">'), true)`)
	if got := axeCheck(t, ctx, "a planted violation"); len(got) != 1 || got[0].ID != "image-alt" {
		t.Fatalf("axe on a page with an image without alt found %+v, want image-alt", got)
	}
	var findings []string
	for _, scheme := range []string{"light", "dark"} {
		for _, width := range []int64{1280, 375} {
			step(t, ctx, fmt.Sprintf("emulate %s at %d px", scheme, width),
				chromedp.EmulateViewport(width, 900),
				chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
					_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
						Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}})
					return err
				}))
			// Signed out for the public pages, then signed in for the rest.
			step(t, ctx, "sign out", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
				_, err := cdp.Call(ctx, tg, network.ClearBrowserCookies, cdp.Empty{})
				return err
			}))
			for i, p := range pages {
				if i == publicPages {
					s.signIn(t, ctx, owner.Email, "correct horse battery")
				}
				for _, f := range runAxe(t, ctx, s.url+p.path) {
					findings = append(findings, fmt.Sprintf("%s, %d px, %s: %s (%s) %s at %s: %s",
						scheme, width, p.path, f.ID, f.Impact, f.Help, f.Target, f.Summary))
				}
			}
			if scheme == "dark" && width == 1280 {
				step(t, ctx, "open insight", chromedp.Navigate(s.url+"/ui/insight?env_type=all"), chromedp.WaitVisible(chromedp.CSS(".tiles")))
				shot(t, ctx, "insight-dark")
				// The charts follow the scheme: no white box, light text.
				bg := evalJS[string](t, ctx, `getComputedStyle(document.querySelector(".chart")).backgroundColor + " " +
					getComputedStyle([...document.querySelectorAll(".chart svg text")].find(x => x.getBoundingClientRect().width > 0)).fill`)
				if bg != "rgb(13, 17, 23) rgb(230, 237, 243)" {
					t.Errorf("dark insight chart: background and text %q, want the dark scheme's", bg)
				}
				step(t, ctx, "open home", chromedp.Navigate(s.url+"/ui/"), chromedp.WaitVisible(chromedp.CSS("table.matrix")))
				shot(t, ctx, "home-dark")
			}
		}
	}
	if len(findings) > 0 {
		t.Errorf("%d serious or critical axe findings:\n%s", len(findings), strings.Join(findings, "\n"))
	}
}

var blank = regexp.MustCompile(`\s+`)

// runAxe opens path, injects axe-core and returns its serious and critical
// violations. axe is evaluated over the DevTools protocol, which the
// page's Content-Security-Policy does not govern, so the page is tested
// with its real policy in place.
func runAxe(t *testing.T, ctx context.Context, u string) []axeFinding {
	t.Helper()
	step(t, ctx, "open "+u, chromedp.Navigate(u), chromedp.WaitReady("body"))
	eventually(t, ctx, "the page settles", `document.readyState === "complete"`)
	return axeCheck(t, ctx, u)
}

// axeCheck injects axe-core into the page as it is and runs it.
func axeCheck(t *testing.T, ctx context.Context, u string) []axeFinding {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.Evaluate[bool]("if (!window.axe) {\n"+axeSource+"\n}\ntrue")); err != nil {
		t.Fatalf("inject axe into %s: %v", u, err)
	}
	raw, err := chromedp.Run(sctx, chromedp.Evaluate[[]axeFinding](`axe.run(document, {
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]},
		resultTypes: ["violations"]
	}).then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical").flatMap(v =>
		v.nodes.map(n => ({ID: v.id, Impact: v.impact, Help: v.help, Target: n.target.join(" "), Summary: n.failureSummary || ""}))))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run axe on %s: %v", u, err)
	}
	for i := range raw {
		raw[i].Summary = blank.ReplaceAllString(raw[i].Summary, " ")
	}
	path, _ := url.Parse(u)
	t.Logf("axe: %s: %d serious or critical", path.Path, len(raw))
	return raw
}
