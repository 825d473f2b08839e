package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// evalJS runs an expression in the page and returns its value.
func evalJS[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// The flow: sign in, add a webhook channel through the form, press
// Test against a loopback receiver and read its answer on the page.
func TestBrowserSettingsWebhookChannelTest(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	rcv := newHookReceiver(t)
	rcv.answerWith(http.StatusOK, `{"received":true,"by":"dora-feed"}`)
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")

	step(t, ctx, "open Settings → Notifications → Webhook",
		chromedp.Click(chromedp.CSS(`header nav a[href="/ui/settings/notifications"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.subnav a[aria-current="page"]`)),
		chromedp.Click(chromedp.CSS(`#tab-webhook`)),
		chromedp.WaitVisible(chromedp.CSS(`#tab-webhook[aria-selected="true"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/ui/settings/notifications/new?kind=webhook"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#ch-name`)),
	)
	if !evalJS[bool](t, ctx, `document.querySelector('input[name="events"][value="deployment.completed"]').checked && document.querySelector('input[name="events"][value="deployment.failed"]').checked`) {
		t.Error("the form does not start with the deployment results ticked")
	}
	if evalJS[bool](t, ctx, `!!document.querySelector('input[name="events"][value="dr.created"]')`) == false {
		t.Error("a webhook form does not offer governance events")
	}
	step(t, ctx, "fill in the form",
		chromedp.SetValue(chromedp.CSS(`#ch-name`), "DORA feed"),
		chromedp.SetValue(chromedp.CSS(`#ch-url`), rcv.URL+"/hooks/shiplog"),
		chromedp.SetValue(chromedp.CSS(`#ch-secret`), "a-long-random-secret"),
		chromedp.Click(chromedp.CSS(`input[name="events"][value="deployment.started"]`)),
		chromedp.Click(chromedp.CSS(`input[name="env_types"][value="PRODUCTION"]`)),
		chromedp.SetValue(chromedp.CSS(`#ch-products`), "api-*"),
	)
	shot(t, ctx, "settings-channel-form")
	step(t, ctx, "save",
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.channel .test-button`)),
	)
	if got := text(t, ctx, "#flash"); !strings.Contains(got, "Added DORA feed") {
		t.Errorf("flash after save: %q", got)
	}
	card := text(t, ctx, ".channel")
	for _, want := range []string{"DORA feed", "/hooks/shiplog", "signed (versioner", "deployment.started", "deployment.completed", "deployment.failed", "PRODUCTION", "api-*"} {
		if !strings.Contains(card, want) {
			t.Errorf("the card does not say %q: %s", want, card)
		}
	}

	step(t, ctx, "press Test", chromedp.Click(chromedp.CSS(`.channel .test-button`)))
	eventually(t, ctx, "the receiver's answer shows", `(document.querySelector('.test-result .status-code') || {}).textContent === '200'`)
	answer := text(t, ctx, ".test-result")
	for _, want := range []string{"delivered", `"by":"dora-feed"`, " ms"} {
		if !strings.Contains(answer, want) {
			t.Errorf("the answer does not say %q: %s", want, answer)
		}
	}
	hs := rcv.hooks()
	if len(hs) != 1 {
		t.Fatalf("the receiver got %d requests", len(hs))
	}
	if !hs[0].signedBy("a-long-random-secret") || hs[0].header.Get("X-Versioner-Event") != "deployment.completed" {
		t.Errorf("the test request: signature %q, event %q", hs[0].header.Get("X-Versioner-Signature"), hs[0].header.Get("X-Versioner-Event"))
	}
	shot(t, ctx, "settings-notifications")

	fitsAPhone(t, ctx, s.url+"/ui/settings/notifications?kind=webhook", s.url+"/ui/settings/notifications/new?kind=webhook")
}

// fitsAPhone checks that pages are no wider than a 375 px screen (wide
// tables scroll inside their own box).
func fitsAPhone(t *testing.T, ctx context.Context, urls ...string) {
	t.Helper()
	step(t, ctx, "a phone's screen", chromedp.EmulateViewport(375, 800))
	for _, u := range urls {
		step(t, ctx, "open "+u, chromedp.Navigate(u), chromedp.WaitVisible(chromedp.CSS(".subnav")))
		if w := evalJS[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("%s is %d px wide on a 375 px screen", u, w)
		}
	}
}

// The enabled switch, and a failed delivery redelivered from the log.
func TestBrowserSettingsSwitchAndRedeliver(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	rcv := newHookReceiver(t)
	rcv.answerWith(http.StatusBadRequest, `{"error":"unknown product"}`)
	var c apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "Incidents", "url": rcv.URL,
		"events": []string{"deployment.completed"}}, &c)
	s.deploy("api", "1.4.0", "production", "success")
	pollUntil(t, "the delivery fails", func() bool { return s.newestDelivery(c.ID).State == shiplog.DeliveryFailed })

	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")
	step(t, ctx, "open the webhook tab",
		chromedp.Navigate(s.url+"/ui/settings/notifications?kind=webhook"),
		chromedp.WaitVisible(chromedp.CSS(`.channel .switch[aria-checked="true"]`)),
		chromedp.Click(chromedp.CSS(`.channel .switch`)),
	)
	eventually(t, ctx, "the switch is off", `document.querySelector('.channel .switch').getAttribute('aria-checked') === 'false'`)
	if got := text(t, ctx, ".channel .ch-head"); !strings.Contains(got, "off") {
		t.Errorf("the card head says %q", got)
	}
	if s.apiChannel(c.ID).Enabled {
		t.Error("the API still has the channel enabled")
	}
	step(t, ctx, "reload: it stays off, then switch it on",
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS(`.channel .switch[aria-checked="false"]`)),
		chromedp.Click(chromedp.CSS(`.channel .switch`)),
	)
	eventually(t, ctx, "the switch is on", `document.querySelector('.channel .switch').getAttribute('aria-checked') === 'true'`)
	if !s.apiChannel(c.ID).Enabled {
		t.Error("the API has the channel disabled")
	}

	step(t, ctx, "open the delivery log",
		chromedp.Click(chromedp.CSS(`a[href="/ui/settings/notifications/`+c.ID+`/deliveries"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.delivery summary`)),
		chromedp.Click(chromedp.CSS(`.delivery summary`)),
		chromedp.WaitVisible(chromedp.CSS(`.delivery form.redeliver button`)),
	)
	entry := text(t, ctx, ".delivery")
	for _, want := range []string{"deployment.completed", "failed", "400", "1 of 3 attempts"} {
		if !strings.Contains(entry, want) {
			t.Errorf("the log entry does not say %q: %s", want, entry)
		}
	}
	rcv.answerWith(http.StatusOK, `{"ok":true}`)
	step(t, ctx, "redeliver", chromedp.Click(chromedp.CSS(`.delivery form.redeliver button`)))
	eventually(t, ctx, "the redelivery succeeds", `document.querySelector('.delivery .badge').textContent.includes('succeeded') && document.querySelectorAll('.delivery table.attempts tbody tr').length === 2`)
	if got := text(t, ctx, "#flash"); !strings.Contains(got, "Queued the delivery again") {
		t.Errorf("flash after redeliver: %q", got)
	}
	if hs := rcv.hooks(); len(hs) != 2 || hs[0].header.Get("webhook-id") != hs[1].header.Get("webhook-id") {
		t.Errorf("the receiver got %d requests", len(hs))
	}
	shot(t, ctx, "settings-deliveries")
	fitsAPhone(t, ctx, s.url+"/ui/settings/notifications/"+c.ID+"/deliveries")
}

// API keys (made, used as a pipeline would, revoked), users and rules.
func TestBrowserSettingsKeysUsersRules(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")

	step(t, ctx, "make an API key",
		chromedp.Navigate(s.url+"/ui/settings/api-keys"),
		chromedp.SetValue(chromedp.CSS(`#key-name`), "github-actions deploy"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/settings/api-keys"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-key`)),
	)
	if got := text(t, ctx, ".once"); !strings.Contains(got, "you won't see it again") {
		t.Errorf("the new key's box says %q", got)
	}
	key := evalJS[string](t, ctx, `document.getElementById('new-key').value`)
	if !strings.HasPrefix(key, "sk_acme_k2_") {
		t.Fatalf("the page shows %q", key)
	}
	if code := callWithKey(t, s.url, key, "/deployments/"); code != http.StatusOK {
		t.Fatalf("the new key answers %d", code)
	}
	step(t, ctx, "copy it", chromedp.Click(chromedp.CSS(`[data-copy="new-key"]`)))
	eventually(t, ctx, "the copy button answers", `document.querySelector('.copy-status').textContent !== ''`)
	shot(t, ctx, "settings-api-keys")
	evalJS[bool](t, ctx, `window.confirm = () => true; true`)
	step(t, ctx, "revoke it",
		chromedp.Click(chromedp.CSS(`form[action="/ui/settings/api-keys/k2/revoke"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.revoked`)),
	)
	if code := callWithKey(t, s.url, key, "/deployments/"); code != http.StatusUnauthorized {
		t.Errorf("the revoked key answers %d", code)
	}

	step(t, ctx, "add a user",
		chromedp.Click(chromedp.CSS(`.subnav a[href="/ui/settings/users"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#u-email`)),
		chromedp.SetValue(chromedp.CSS(`#u-email`), "quinn@acme.test"),
		chromedp.SetValue(chromedp.CSS(`#u-name`), "Quinn"),
		chromedp.Click(chromedp.CSS(`input[name="roles"][value="qa"]`)),
		chromedp.SetValue(chromedp.CSS(`#u-password`), "a long console password"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/settings/users"] button[type="submit"]`)),
	)
	eventually(t, ctx, "the user is listed", `document.querySelector('table.users tbody').textContent.includes('quinn@acme.test')`)
	if got := text(t, ctx, "#flash"); !strings.Contains(got, "Added quinn@acme.test") {
		t.Errorf("flash after adding: %q", got)
	}
	shot(t, ctx, "settings-users")

	step(t, ctx, "add a weekend freeze from the schedule template",
		chromedp.Click(chromedp.CSS(`.subnav a[href="/ui/settings/rules"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/ui/settings/rules/new"]`)),
		chromedp.Click(chromedp.CSS(`input[name="editor"][value="json"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#r-config`)),
		chromedp.SetValue(chromedp.CSS(`#r-name`), "Weekend freeze"),
		chromedp.SetValue(chromedp.CSS(`#r-envs`), "production"),
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
		chromedp.Click(chromedp.CSS(`a[href="/ui/settings/rules/new"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#r-recurrence`)),
	)
	// Switching the type shows its fields; choosing JSON shows them as JSON.
	evalJS[bool](t, ctx, `const s = document.getElementById('r-type'); s.value = 'flow'; s.dispatchEvent(new Event('change', {bubbles: true})); true`)
	step(t, ctx, "the flow's fields, then the JSON editor",
		chromedp.WaitVisible(chromedp.CSS(`#r-target`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#r-recurrence`)),
		chromedp.Click(chromedp.CSS(`input[name="editor"][value="json"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#r-config`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#r-target`)),
	)
	if cfg := evalJS[string](t, ctx, `document.getElementById('r-config').value`); !strings.Contains(cfg, `"target_environment": "production"`) {
		t.Errorf("the flow template did not replace the schedule's: %s", cfg)
	}
	step(t, ctx, "a mistake in the JSON",
		chromedp.SetValue(chromedp.CSS(`#r-name`), "Staging first"),
		chromedp.SetValue(chromedp.CSS(`#r-config`), `{"prerequisite_environments": ["staging"], "target_environment": "production", "soak_minutes": -5}`),
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)),
	)
	if got := text(t, ctx, `[role="alert"]`); !strings.Contains(got, "soak_minutes: must be between 0 and") {
		t.Errorf("the API's message is %q", got)
	}
	step(t, ctx, "fix it and save",
		chromedp.SetValue(chromedp.CSS(`#r-config`), `{"prerequisite_environments": ["staging"], "target_environment": "production", "soak_minutes": 60}`),
		chromedp.Click(chromedp.CSS(`input[name="status"][value="report_only"]`)),
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
	)
	if got := text(t, ctx, "table.rules tbody"); !strings.Contains(got, "Staging first") || !strings.Contains(got, "report only") ||
		!strings.Contains(got, "Weekend freeze") {
		t.Errorf("the rule list says %q", got)
	}
	shot(t, ctx, "settings-rules")
	fitsAPhone(t, ctx, s.url+"/ui/settings/api-keys", s.url+"/ui/settings/users", s.url+"/ui/settings/rules", s.url+"/ui/settings/rules/new")
}

// Rules as a form: a weekly freeze in a time zone, a flow with a soak in
// hours, and the edit page reading them back; the JSON is one click away.
func TestBrowserRuleForm(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	s.deploy("api", "1.0.0", "staging", "success")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")
	step(t, ctx, "a weekly freeze in Berlin",
		chromedp.Navigate(s.url+"/ui/settings/rules/new"),
		chromedp.WaitVisible(chromedp.CSS(`#r-recurrence`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#r-config`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#r-start-at`)),
		chromedp.SetValue(chromedp.CSS(`#r-name`), "Weekend freeze"),
		chromedp.SetValue(chromedp.CSS(`#r-tz`), "Europe/Berlin"),
		chromedp.SetValue(chromedp.CSS(`#r-start-time`), "17:30"),
		chromedp.Click(chromedp.CSS(`input[name="days"][value="sunday"]`)),   // off
		chromedp.Click(chromedp.CSS(`input[name="days"][value="thursday"]`)), // on
	)
	shot(t, ctx, "settings-rule-form")
	step(t, ctx, "save it",
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
	)
	rs := s.apiRules()
	if len(rs) != 1 {
		t.Fatalf("%d rules", len(rs))
	}
	sch, _ := json.Marshal(rs[0]["schedule"])
	if want := `{"days":["thursday","friday","saturday"],"end":"08:00","reason":"weekend freeze","recurrence":"weekly","start":"17:30","time_zone":"Europe/Berlin"}`; string(sch) != want {
		t.Errorf("saved schedule %s, want %s", sch, want)
	}

	step(t, ctx, "a flow with a 36 hour soak",
		chromedp.Navigate(s.url+"/ui/settings/rules/new?type=flow"),
		chromedp.WaitVisible(chromedp.CSS(`#r-target`)),
		chromedp.SetValue(chromedp.CSS(`#r-name`), "Canary soak"),
		chromedp.SetValue(chromedp.CSS(`#r-prereqs`), "staging, canary"),
		chromedp.Click(chromedp.CSS(`input[name="strict_order"]`)),
		chromedp.SetValue(chromedp.CSS(`#r-soak`), "36"),
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
	)
	var id string
	for _, r := range s.apiRules() {
		if r["name"] == "Canary soak" {
			id, _ = r["id"].(string)
			if r["soak_minutes"] != 2160.0 || r["strict_order"] != true || r["target_environment"] != "production" {
				t.Errorf("saved flow %v", r)
			}
		}
	}
	// The edit page reads it back in days or hours, and the JSON editor
	// starts from what the form shows.
	step(t, ctx, "edit it", chromedp.Navigate(s.url+"/ui/settings/rules/"+id+"/edit"), chromedp.WaitVisible(chromedp.CSS(`#r-soak`)))
	if got := evalJS[string](t, ctx, `document.getElementById("r-soak").value + " " + document.getElementById("r-soak-unit").value`); got != "36 hours" {
		t.Errorf("edit form soak %q, want 36 hours", got)
	}
	step(t, ctx, "as JSON",
		chromedp.SetValue(chromedp.CSS(`#r-soak`), "2"),
		chromedp.SetValue(chromedp.CSS(`#r-soak-unit`), "days"),
		chromedp.Click(chromedp.CSS(`input[name="editor"][value="json"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#r-config`)),
	)
	if cfg := evalJS[string](t, ctx, `document.getElementById('r-config').value`); !strings.Contains(cfg, `"soak_minutes": 2880`) {
		t.Errorf("the JSON editor starts from %s, want the form's 2 days", cfg)
	}
	step(t, ctx, "save the JSON",
		chromedp.SetValue(chromedp.CSS(`#r-config`), `{"prerequisite_environments": ["staging"], "target_environment": "production", "soak_minutes": 45}`),
		chromedp.Click(chromedp.CSS(`form.settings-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.rules`)),
	)
	if got := text(t, ctx, "table.rules tbody"); !strings.Contains(got, "soaked 45 min") {
		t.Errorf("the rule list says %q, want the JSON's 45 min", got)
	}
	fitsAPhone(t, ctx, s.url+"/ui/settings/rules/new", s.url+"/ui/settings/rules/"+id+"/edit")
}
