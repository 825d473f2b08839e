package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog"
)

var drEvents = []string{"dr.created", "dr.activated", "dr.deactivated", "dr.approved", "dr.rejected", "dr.completed", "dr.cancelled"}

// fitsPhone checks the page needs no sideways scrolling at 375 px (wide
// tables scroll inside their own region).
func fitsPhone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	step(t, ctx, "narrow the window for "+what, chromedp.EmulateViewport(375, 800))
	w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	step(t, ctx, "widen the window again", chromedp.EmulateViewport(1280, 900))
	if err != nil || w > 375 {
		t.Errorf("%s at 375 px wide: page is %d px wide (%v)", what, w, err)
	}
}

// The approval email's link, opened by an approver: approve, see it on the
// page, and the org's webhook hears of it. Someone without the role sees no
// button, and a forged approval is refused by the API.
func TestBrowserApproveDeploymentRequest(t *testing.T) {
	s := start(t)
	dee := s.user("dee@acme.test", pw, "developer")
	s.user("quinn@acme.test", pw, "qa")
	s.user("vic@acme.test", pw, "viewer")
	s.deploy("api", "2.4.1", "staging", "success")
	rc := relNewReceiver(t)
	var ch map[string]any
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "governance", "url": rc.URL, "events": drEvents}, &ch)
	optional := false
	dr := s.relDR(s.relPAT(dee), map[string]any{"name": "api 2.4.1 to production", "description": "Faster checkout.\nFixes REL-7.",
		"items": []shiplog.DRItem{{ProductName: "api", Version: "2.4.1"}}, "environment_names": []string{"production"},
		"links":          []string{"https://tickets.example.com/REL-7"},
		"approval_slots": []map[string]any{{"approval_type": "qa"}, {"approval_type": "compliance", "required": &optional}}}, true)
	rc.next(t, "dr.activated")
	qa, compliance := dr.Slots[0].ID, dr.Slots[1].ID

	ctx := browser(t)
	s.signIn(t, ctx, "quinn@acme.test", pw)
	step(t, ctx, "open the link of the approval email",
		chromedp.Navigate(s.url+"/deployment-requests/"+dr.ID),
		chromedp.WaitVisible(chromedp.CSS("#slot-"+qa+` button[value="approve"]`)),
	)
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/ui/deployment-requests/"+dr.ID) {
		t.Errorf("the email link landed on %s", loc)
	}
	if got := text(t, ctx, "#slot-"+compliance); !strings.Contains(got, "Needs one of the roles: owner, admin, release_manager, compliance") {
		t.Errorf("the compliance slot, for a qa: %q", got)
	}
	shot(t, ctx, "deployment-request")
	fitsPhone(t, ctx, "the request page")

	step(t, ctx, "approve the qa slot",
		chromedp.SetValue(chromedp.CSS("#c-"+qa), "Regression suite green."),
		chromedp.Click(chromedp.CSS("#slot-"+qa+` button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS("#slot-"+qa+`[data-status="approved"]`)),
	)
	if got := text(t, ctx, `#flash [role="status"]`); got != "Approved the qa approval; the request is now approved." {
		t.Errorf("flash: %q", got)
	}
	if got := text(t, ctx, "#slot-"+qa); !strings.Contains(got, "quinn as qa") || !strings.Contains(got, "Regression suite green.") {
		t.Errorf("decided slot: %q", got)
	}
	if got := text(t, ctx, "#dr-status"); !strings.Contains(got, "approved") {
		t.Errorf("request status: %q", got)
	}
	p := rc.next(t, "dr.approved")
	if p["dr_id"] != dr.ID || p["approval_type"] != "qa" || p["approver_role"] != "qa" || p["slot_status"] != "approved" ||
		p["status"] != "approved" || p["actor"] != "quinn" || p["comments"] != "Regression suite green." {
		t.Errorf("dr.approved webhook: %v", p)
	}

	// Approved, the request takes no more decisions: its optional slot
	// stays open but undecidable (docs/governance.md).
	if got := text(t, ctx, "#slot-"+compliance); !strings.Contains(got, "Not decided; the request is approved.") {
		t.Errorf("the optional slot of the approved request: %q", got)
	}
	// A second request, still in progress, for the viewer's forgery.
	open := s.relDR(s.relPAT(dee), map[string]any{"name": "api 2.4.1 to eu", "items": []shiplog.DRItem{{ProductName: "api", Version: "2.4.1"}},
		"environment_names": []string{"eu"}, "approval_slots": []map[string]any{{"approval_type": "compliance"}}}, true)
	compliance = open.Slots[0].ID

	step(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".who button")), chromedp.WaitVisible(chromedp.CSS("#password")))
	s.signIn(t, ctx, "vic@acme.test", pw)
	step(t, ctx, "a viewer opens a request in progress",
		chromedp.Navigate(s.url+"/ui/deployment-requests/"+open.ID),
		chromedp.WaitVisible(chromedp.CSS("#slot-"+compliance+" .needs")),
	)
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("form.decide, button[value=approve], button[value=reject]").length`)); err != nil || n != 0 {
		t.Errorf("a viewer sees %d decision controls (%v)", n, err)
	}
	type answer struct {
		Status int
		Body   string
	}
	forged, err := chromedp.Run(ctx, chromedp.Evaluate[answer](`(async () => {
		const csrf = document.querySelector('input[name="csrf_token"]').value;
		const r = await fetch("/ui/deployment-requests/`+open.ID+`/slots/`+compliance+`", {method: "POST",
			body: new URLSearchParams({csrf_token: csrf, decision: "approve", comments: "forged"})});
		return {status: r.status, body: await r.text()};
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || forged.Status != 403 || !strings.Contains(forged.Body, "Approving a slot needs one of the roles") {
		t.Errorf("forged approval: %d %v\n%s", forged.Status, err, forged.Body)
	}
	var after shiplog.DeploymentRequest
	s.relAPIAs(s.apiKey, "GET", "/deployment-requests/"+open.ID, nil, &after)
	if after.Slots[0].Status != shiplog.SlotPending {
		t.Errorf("after the forged approval the compliance slot is %s", after.Slots[1].Status)
	}
}

// Deployment history, filtered, to one deployment's page, to its version,
// signed off there.
func TestBrowserDeploymentsToVersion(t *testing.T) {
	s := start(t)
	s.user("quinn@acme.test", pw, "qa")
	sha := "9f3c2a17be04d5e6a8c1f0b2d3e4f5a6b7c8d9e0"
	run := map[string]any{"product_name": "api", "version": "1.4.0", "environment_name": "staging", "deployed_by": "ci-bot",
		"deployed_by_name": "Release Bot", "scm_repository": "https://github.com/acme/api", "scm_sha": sha, "scm_branch": "main",
		"build_url": "https://ci.example.com/acme/api/runs/812", "deploy_url": "https://deploy.example.com/api/812", "invoke_id": "812",
		"extra_metadata": map[string]any{"ticket": "REL-7", "canary_percent": 10}}
	run["status"] = "started"
	s.relEvent("/deployment-events/", run)
	run["status"] = "success"
	s.relEvent("/deployment-events/", run)
	s.relEvent("/build-events/", map[string]any{"product_name": "api", "version": "1.4.0", "status": "success", "scm_sha": sha,
		"scm_branch": "main", "scm_repository": "https://github.com/acme/api", "build_number": "812", "built_by": "ci-bot"})
	s.relEvent("/build-events/", map[string]any{"product_name": "web", "version": "2.1.0", "status": "failed", "build_number": "77",
		"error_message": "lint failed"})
	s.deploy("api", "1.3.0", "production", "success")
	s.deploy("api", "1.4.0", "production", "success")
	s.deploy("web", "2.0.0", "staging", "failed")
	s.deploy("web", "2.0.0", "production", "success")

	ctx := browser(t)
	s.signIn(t, ctx, "quinn@acme.test", pw)
	step(t, ctx, "open the deployments", chromedp.Click(chromedp.CSS(`nav a[href="/ui/deployments"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.runs")))
	shot(t, ctx, "deployments")
	fitsPhone(t, ctx, "the deployments page")
	step(t, ctx, "filter to api in staging",
		chromedp.SetValue(chromedp.CSS("#f-product"), "api"),
		chromedp.SetValue(chromedp.CSS("#f-env"), "staging"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#f-env[value="staging"]`)),
	)
	if rows := text(t, ctx, "table.runs tbody"); strings.Contains(rows, "production") || strings.Contains(rows, "web") || !strings.Contains(rows, "1.4.0") {
		t.Errorf("filtered rows: %q", rows)
	}
	step(t, ctx, "open the deployment",
		chromedp.Click(chromedp.CSS("table.runs tbody tr td a")),
		chromedp.WaitVisible(chromedp.CSS("ol.timeline")),
	)
	if got := text(t, ctx, "ol.timeline"); !strings.Contains(got, "deployment.started") || !strings.Contains(got, "deployment.completed") {
		t.Errorf("timeline: %q", got)
	}
	if got := text(t, ctx, "#scm-h + dl"); !strings.Contains(got, sha) || !strings.Contains(got, "main") {
		t.Errorf("source: %q", got)
	}
	if got := text(t, ctx, "pre.metadata"); !strings.Contains(got, `"ticket": "REL-7"`) {
		t.Errorf("metadata: %q", got)
	}
	shot(t, ctx, "deployment")
	fitsPhone(t, ctx, "the deployment page")

	step(t, ctx, "open its version",
		chromedp.Click(chromedp.CSS("h1 a.mono")),
		chromedp.WaitVisible(chromedp.CSS("table.where")),
	)
	if got := text(t, ctx, "table.where"); strings.Index(got, "staging") > strings.Index(got, "production") || strings.Contains(got, "1.3.0") {
		t.Errorf("where deployed: %q", got)
	}
	step(t, ctx, "approve the version",
		chromedp.SetValue(chromedp.CSS("#a-type"), "qa"),
		chromedp.SetValue(chromedp.CSS("#a-env"), "production"),
		chromedp.SetValue(chromedp.CSS("#a-comments"), "Load tests passed."),
		chromedp.Click(chromedp.CSS(`form.approve button[type="submit"]`)),
	)
	eventually(t, ctx, "the sign-off is saved", `document.querySelector('#flash [role="status"]')?.textContent.includes("Signed off")`)
	if got := text(t, ctx, "#appr-h + div table"); !strings.Contains(got, "Load tests passed.") || !strings.Contains(got, "quinn as qa") {
		t.Errorf("sign-offs: %q", got)
	}
	if got := text(t, ctx, `#flash [role="status"]`); got != "Signed off qa on api 1.4.0." {
		t.Errorf("flash: %q", got)
	}
	shot(t, ctx, "version")
	fitsPhone(t, ctx, "the version page")

	step(t, ctx, "open the builds", chromedp.Click(chromedp.CSS(`nav a[href="/ui/builds"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.runs")))
	if got := text(t, ctx, "table.runs tbody"); !strings.Contains(got, "lint") && !strings.Contains(got, "failed") {
		t.Errorf("builds: %q", got)
	}
	shot(t, ctx, "builds")
}

// A developer writes a request in the form (with a second item), creates
// it and activates it; the list shows it waiting.
func TestBrowserCreateDeploymentRequest(t *testing.T) {
	s := start(t)
	dee := s.user("dee@acme.test", pw, "developer")
	s.deploy("api", "2.4.1", "staging", "success")
	s.deploy("web", "3.0.0", "staging", "success")
	s.deploy("web", "3.0.0", "production", "success")
	tok := s.relPAT(dee)
	s.relDR(tok, map[string]any{"name": "Hotfix web 3.0.0", "items": []shiplog.DRItem{{ProductName: "web", Version: "3.0.0"}},
		"environment_names": []string{"production"}}, true)
	s.relDR(tok, map[string]any{"name": "Payments rework", "items": []shiplog.DRItem{{ProductName: "api", Version: "2.4.1"}},
		"environment_names": []string{"staging", "production"}, "approval_slots": []map[string]any{{"approval_type": "security"}}}, false)

	ctx := browser(t)
	s.signIn(t, ctx, "dee@acme.test", pw)
	step(t, ctx, "open a new request",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/deployment-requests"]`)),
		// The list's own filter first: Home may link to a new request too,
		// and a click on the page being left finds a node that goes away.
		chromedp.WaitVisible(chromedp.CSS("#f-status")),
		chromedp.Click(chromedp.CSS(`a[href="/ui/deployment-requests/new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#dr-name")),
		chromedp.SetValue(chromedp.CSS("#dr-name"), "Q4 checkout release"),
		chromedp.SetValue(chromedp.CSS("#dr-desc"), "Faster checkout; new payment provider."),
		chromedp.SetValue(chromedp.CSS("#item-p-1"), "api"),
		chromedp.SetValue(chromedp.CSS("#item-v-1"), "2.4.1"),
		chromedp.Click(chromedp.CSS(`button[name="add_item"]`)),
		chromedp.WaitVisible(chromedp.CSS("#item-p-2")),
	)
	eventually(t, ctx, "the new row has the focus", `document.activeElement?.id === "item-p-2"`)
	step(t, ctx, "fill in the rest",
		chromedp.SetValue(chromedp.CSS("#item-p-2"), "web"),
		chromedp.SetValue(chromedp.CSS("#item-v-2"), "3.0.0"),
		chromedp.Click(chromedp.CSS(`input[name="environment"][value="production"]`)),
		chromedp.Click(chromedp.CSS(`input[name="slot_qa"][value="required"]`)),
		chromedp.Click(chromedp.CSS(`input[name="slot_security"][value="optional"]`)),
		chromedp.SetValue(chromedp.CSS("#dr-links"), "https://tickets.example.com/REL-9"),
	)
	shot(t, ctx, "deployment-request-new")
	fitsPhone(t, ctx, "the new-request form")
	step(t, ctx, "create it",
		chromedp.Click(chromedp.CSS(`.dr-form button.primary`)),
		chromedp.WaitVisible(chromedp.CSS("#dr-status")),
	)
	if got := text(t, ctx, "h1"); !strings.Contains(got, "Q4 checkout release") || !strings.Contains(got, "draft") {
		t.Errorf("created: %q", got)
	}
	if got := text(t, ctx, "#req-h + dl"); !strings.Contains(got, "api 2.4.1") || !strings.Contains(got, "web 3.0.0") {
		t.Errorf("items: %q", got)
	}
	step(t, ctx, "activate it", chromedp.Click(chromedp.CSS(`form[action$="/activate"] button`)))
	// The created page already shows a message: wait for the new state itself.
	eventually(t, ctx, "the request is active", `document.querySelector("#dr-status")?.textContent.includes("in progress")`)
	if got := text(t, ctx, "#dr-status"); !strings.Contains(got, "in progress") {
		t.Errorf("after activation: %q", got)
	}
	step(t, ctx, "back to the list",
		chromedp.Click(chromedp.CSS(`nav a[href="/ui/deployment-requests"]`)),
		chromedp.WaitVisible(chromedp.CSS("table.runs")),
	)
	if got := text(t, ctx, "table.runs tbody tr"); !strings.Contains(got, "Q4 checkout release") || !strings.Contains(got, "0 of 1 required") {
		t.Errorf("newest request in the list: %q", got)
	}
	shot(t, ctx, "deployment-requests")
	step(t, ctx, "filter to drafts",
		chromedp.SetValue(chromedp.CSS("#f-status"), "draft"),
		chromedp.Click(chromedp.CSS(`form.filters button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/ui/deployment-requests"]:not(nav a)`)),
	)
	if got := text(t, ctx, "table.runs tbody"); !strings.Contains(got, "Payments rework") {
		t.Errorf("drafts: %q", got)
	}
}

// Lists tell when it happened: backfilled deployments fall into place by
// their own time, builds show their build time, and at 1280 px the
// deployments table fits with long names, "By" included. A refusal on a
// deployment's page has the whole row to be read in.
func TestBrowserRunListsByTimeAndFit(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "viewer")
	long := "payments-reconciliation-service-with-a-very-long-name"
	for _, d := range []struct{ version, at string }{{"3.0.0", "2026-05-03T10:00:00Z"}, {"1.0.0", "2026-05-01T10:00:00Z"},
		{"2.0.0", "2026-05-02T10:00:00Z"}} {
		s.relEvent("/deployment-events/", map[string]any{"product_name": long, "version": d.version,
			"environment_name": "production-europe-west-frankfurt-primary", "status": "success", "completed_at": d.at,
			"deployed_by": "release-automation-bot-for-the-payments-platform@example.com"})
	}
	s.relEvent("/build-events/", map[string]any{"product_name": "api", "version": "1.0.0", "status": "success",
		"started_at": "2026-04-30T09:00:00Z", "completed_at": "2026-04-30T09:12:00Z"})
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")
	step(t, ctx, "open deployments", chromedp.Navigate(s.url+"/ui/deployments"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
	order := evalJS[[]string](t, ctx, `[...document.querySelectorAll("table.runs tbody tr td:nth-child(3)")].map(td => td.textContent.trim())`)
	if strings.Join(order, " ") != "3.0.0 2.0.0 1.0.0" {
		t.Errorf("deployments listed %q, want by when they happened: 3.0.0 2.0.0 1.0.0", order)
	}
	if got := evalJS[string](t, ctx, `document.querySelector("table.runs time").getAttribute("datetime")`); got != "2026-05-03T10:00:00Z" {
		t.Errorf("the newest row's time is %q", got)
	}
	fit := evalJS[string](t, ctx, `(() => { const r = document.querySelector(".scroll"), by = [...document.querySelectorAll("table.runs th")].pop();
		return (r.scrollWidth <= r.clientWidth) + " " + by.textContent + " " + (by.getBoundingClientRect().right <= r.getBoundingClientRect().right) })()`)
	if fit != "true By true" {
		t.Errorf("at 1280 px the deployments table: fits, last column, on screen = %q", fit)
	}
	shot(t, ctx, "deployments")
	step(t, ctx, "open builds", chromedp.Navigate(s.url+"/ui/builds"), chromedp.WaitVisible(chromedp.CSS("table.runs")))
	if got := evalJS[string](t, ctx, `document.querySelector("table.runs thead th").textContent + " " +
		document.querySelector("table.runs tbody time").getAttribute("datetime")`); got != "Built 2026-04-30T09:12:00Z" {
		t.Errorf("builds show %q, want the build time", got)
	}

	// A report-only rule's message is read whole, not cut in a third of the page.
	s.api("POST", "/deployment-rules/", map[string]any{"name": "Staging first", "rule_type": "flow", "status": "report_only",
		"prerequisite_environments": []string{"staging"}, "target_environment": "production", "soak_minutes": 30}, nil)
	out := s.relEvent("/deployment-events/", map[string]any{"product_name": "web", "version": "2.2.0",
		"environment_name": "production", "status": "started"})
	id, _ := out["id"].(string)
	step(t, ctx, "open the warned deployment", chromedp.Navigate(s.url+"/ui/deployments/"+id), chromedp.WaitVisible(chromedp.CSS("#preflight td.rule-message")))
	whole := evalJS[string](t, ctx, `(() => { const card = document.getElementById("preflight"), td = [...card.querySelectorAll("td.rule-message")].pop(),
		region = card.querySelector(".scroll");
		return (card.getBoundingClientRect().width > 1000) + " " + (region.scrollWidth <= region.clientWidth) + " " + (td.textContent.length > 20) })()`)
	if whole != "true true true" {
		t.Errorf("the preflight card: full width, message not cut, message there = %q", whole)
	}
	shot(t, ctx, "deployment-preflight")
}
