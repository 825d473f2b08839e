package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// backdate makes a run look as if it last reported ago: a pipeline that
// died hours before the page is opened.
func (s *server) backdate(id string, ago time.Duration) {
	s.t.Helper()
	err := s.app.Store.Write(s.t.Context(), func(ctx context.Context, tx store.Tx) error {
		d, err := tx.DeploymentGet(ctx, s.org.ID, id)
		if err != nil {
			return err
		}
		then := time.Now().Add(-ago).UTC().Truncate(time.Microsecond)
		d.StartedAt, d.UpdatedAt, d.DeployedAt = &then, then, then
		return tx.DeploymentUpdate(ctx, d)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// Issue 12 on the deployment page: who skipped the checks, a stuck run's
// stale note, and "Mark aborted" (the API's POST /deployments/{id}/abort,
// called in-process for the signed-in person).
func TestDeploymentPageSkipAndAbort(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "owner")
	s.user("vic@acme.test", pw, "viewer")
	skipped := s.relEvent("/deployment-events/", map[string]any{"product_name": "web", "version": "1", "environment_name": "production",
		"status": "started", "skip_preflight_checks": true})
	run := s.relEvent("/deployment-events/", map[string]any{"product_name": "api", "version": "1", "environment_name": "production",
		"status": "started", "deployed_by_name": "Jane Doe"})
	id := run["id"].(string)
	c := s.relSignIn("ann@acme.test", pw)
	vic := s.relSignIn("vic@acme.test", pw)

	st, body := c.get("/ui/deployments/" + skipped["id"].(string))
	if st != 200 || !strings.Contains(body, `id="skipped-by">API key k1</strong>`) || !strings.Contains(body, "sent by API key k1") {
		t.Errorf("skipped run's page: %d\n%s", st, body)
	}
	st, body = c.get("/ui/deployments/" + id)
	if st != 200 || !strings.Contains(body, `action="/ui/deployments/`+id+`/abort"`) || strings.Contains(body, `id="stale"`) {
		t.Fatalf("running run's page: %d\n%s", st, body)
	}
	if _, body := vic.get("/ui/deployments/" + id); strings.Contains(body, "/abort") {
		t.Error("a viewer is offered Mark aborted")
	}
	s.backdate(id, 3*time.Hour)
	if _, body := c.get("/ui/deployments/" + id); !strings.Contains(body, `id="stale"`) || !strings.Contains(body, "No word from this run for 2 h") {
		t.Errorf("stale note missing:\n%s", body)
	}

	// The API's refusals are shown on the page, and change nothing.
	if st, _, body := vic.post("/ui/deployments/"+id+"/abort", nil); st != http.StatusForbidden || !strings.Contains(body, "roles") {
		t.Errorf("viewer's abort: %d\n%s", st, body)
	}
	if st, _, body := c.post("/ui/deployments/"+id+"/abort", url.Values{"reason": {strings.Repeat("x", 1001)}}); st != http.StatusBadRequest ||
		!strings.Contains(body, "reason") {
		t.Errorf("long reason: %d\n%s", st, body)
	}
	if st, _, _ := c.post("/ui/deployments/"+shiplog.NewID()+"/abort", nil); st != http.StatusNotFound {
		t.Errorf("unknown run: %d", st)
	}
	st, loc, body := c.post("/ui/deployments/"+id+"/abort", url.Values{"reason": {"runner died"}})
	if st != http.StatusSeeOther || loc != "/ui/deployments/"+id {
		t.Fatalf("abort: %d %q\n%s", st, loc, body)
	}
	_, body = c.get("/ui/deployments/" + id)
	if !strings.Contains(body, "deployment.aborted") || !strings.Contains(body, "sent by ann &lt;ann@acme.test&gt;") ||
		!strings.Contains(body, "runner died") || strings.Contains(body, `/abort"`) {
		t.Errorf("page after the abort:\n%s", body)
	}
	if st, _, body := c.post("/ui/deployments/"+id+"/abort", nil); st != http.StatusConflict || !strings.Contains(body, "already aborted") {
		t.Errorf("second abort: %d\n%s", st, body)
	}
}

// Issue 12 on Settings → Deployment rules: owners and admins set who may
// skip the checks and the stale-run horizon; others read them.
func TestPreflightSettingsControl(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "owner")
	s.user("rm@acme.test", pw, "release_manager")
	c := s.relSignIn("ann@acme.test", pw)
	rm := s.relSignIn("rm@acme.test", pw)

	_, body := c.get("/ui/settings/rules")
	if !strings.Contains(body, `id="preflight-settings"`) || !strings.Contains(body, `value="anyone" selected`) ||
		!strings.Contains(body, `value="120"`) {
		t.Fatalf("settings form:\n%s", body)
	}
	for _, bad := range []struct{ policy, minutes, want string }{
		{"people_only", "abc", "whole number of minutes"},
		{"people_only", "-5", "stale_run_minutes"},
		{"everyone", "60", "anyone, people_only, nobody"},
	} {
		st, _, body := c.post("/ui/settings/preflight", url.Values{"skip_preflight_checks": {bad.policy}, "stale_run_minutes": {bad.minutes}})
		if st != http.StatusBadRequest || !strings.Contains(body, bad.want) {
			t.Errorf("%v: %d\n%s", bad, st, body)
		}
	}
	st, loc, _ := c.post("/ui/settings/preflight", url.Values{"skip_preflight_checks": {"people_only"}, "stale_run_minutes": {"30"}})
	if st != http.StatusSeeOther || loc != "/ui/settings/rules" {
		t.Fatalf("save: %d %q", st, loc)
	}
	var set shiplog.OrgSettings
	s.api("GET", "/org-settings/", nil, &set)
	if set.SkipPreflightChecks != shiplog.SkipPeopleOnly || set.StaleRunMinutes != 30 || set.UpdatedBy == nil || *set.UpdatedBy != "ann <ann@acme.test>" {
		t.Errorf("stored: %+v", set)
	}
	// A release manager manages rules but not these settings.
	_, body = rm.get("/ui/settings/rules")
	if strings.Contains(body, `id="preflight-settings"`) || !strings.Contains(body, "people_only") || !strings.Contains(body, "30 minutes") {
		t.Errorf("release manager's view:\n%s", body)
	}
	if st, _, body := rm.post("/ui/settings/preflight", url.Values{"skip_preflight_checks": {"anyone"}, "stale_run_minutes": {"120"}}); st != http.StatusForbidden ||
		!strings.Contains(body, "roles") {
		t.Errorf("release manager's save: %d\n%s", st, body)
	}
}

// The same in a browser: the owner tightens the policy, then clears a
// stuck run with the button (and its confirmation).
func TestMarkAbortedInBrowser(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", pw, "owner")
	run := s.relEvent("/deployment-events/", map[string]any{"product_name": "api", "version": "1", "environment_name": "production",
		"status": "started", "deployed_by_name": "Jane Doe"})
	id := run["id"].(string)
	s.backdate(id, 3*time.Hour)
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", pw)

	step(t, ctx, "tighten the skip policy",
		chromedp.Navigate(s.url+"/ui/settings/rules"),
		chromedp.WaitVisible(chromedp.CSS(`#skip-policy`)),
		chromedp.SetValue(chromedp.CSS(`#skip-policy`), "nobody"),
		chromedp.SetValue(chromedp.CSS(`#stale-minutes`), "45"),
		chromedp.Click(chromedp.CSS(`#preflight-settings button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash .msg`)),
	)
	if got := evalJS[string](t, ctx, `document.getElementById('skip-policy').value`); got != "nobody" {
		t.Errorf("policy after saving: %q", got)
	}
	step(t, ctx, "open the stuck run", chromedp.Navigate(s.url+"/ui/deployments/"+id), chromedp.WaitVisible(chromedp.CSS(`#stale`)))
	if got := text(t, ctx, "#stale"); !strings.Contains(got, "45 min") {
		t.Errorf("stale note: %q", got)
	}
	evalJS[bool](t, ctx, `window.confirm = () => true; true`)
	step(t, ctx, "mark it aborted",
		chromedp.SetValue(chromedp.CSS(`#abort-reason`), "runner died"),
		chromedp.Click(chromedp.CSS(`form.abort button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#flash .msg`)),
	)
	eventually(t, ctx, "the run is aborted", `document.querySelector('main h1').textContent.includes('aborted')`)
	if got := text(t, ctx, ".timeline"); !strings.Contains(got, "sent by ann") {
		t.Errorf("timeline: %q", got)
	}
	var d shiplog.Deployment
	s.api("GET", "/deployments/"+id, nil, &d)
	if d.Status != shiplog.StatusAborted {
		t.Errorf("stored: %s", d.Status)
	}
}
