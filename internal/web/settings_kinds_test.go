package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Teams and Discord get their tabs and forms from their registration: the
// URL is a secret as Slack's is; a webhook's format is chosen on its form.
func TestSettingsTeamsDiscordAndWebhookFormat(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	for _, k := range []struct{ kind, label, url string }{
		{"teams", "Microsoft Teams", "http://127.0.0.1:9/workflows/secretpart1234"},
		{"discord", "Discord", "http://127.0.0.1:9/api/webhooks/1/secretpart5678"},
	} {
		res, body := ss.get("/ui/settings/notifications/new?kind=" + k.kind)
		wantPage(t, k.kind+" form", res, body, http.StatusOK, "Add "+k.label+" channel", "It is a secret")
		res, body = ss.post("/ui/settings/notifications", url.Values{"kind": {k.kind}, "name": {"ops-" + k.kind}, "enabled": {"on"},
			"url": {k.url}, "events": {"deployment.failed"}})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("create %s: %d\n%s", k.kind, res.StatusCode, mainOf(body))
		}
		res, body = ss.get("/ui/settings/notifications?kind=" + k.kind)
		wantPage(t, k.kind+" tab", res, body, http.StatusOK, "ops-"+k.kind, k.label+` <span class="count">1</span>`)
		if strings.Contains(body, "secretpart") {
			t.Errorf("the %s tab shows the URL", k.kind)
		}
		id := s.apiChannelID("ops-" + k.kind)
		// Saving with the URL left empty keeps it.
		res, body = ss.post("/ui/settings/notifications/"+id, url.Values{"kind": {k.kind}, "name": {"ops-" + k.kind}, "enabled": {"on"},
			"url": {""}, "events": {"deployment.failed", "deployment.completed"}})
		if c := s.apiChannel(id); res.StatusCode != http.StatusSeeOther || len(c.Events) != 2 || !strings.HasSuffix(c.URL, "1234") && !strings.HasSuffix(c.URL, "5678") {
			t.Errorf("save %s: %d %+v %s\n%s", k.kind, res.StatusCode, c.Events, c.URL, mainOf(body))
		}
	}

	rcv := newHookReceiver(t)
	res, body := ss.post("/ui/settings/notifications", url.Values{"kind": {"webhook"}, "name": {"qovery"}, "enabled": {"on"},
		"url": {rcv.URL}, "format": {"qovery"}, "events": {"deployment.started", "deployment.failed"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create qovery webhook: %d\n%s", res.StatusCode, mainOf(body))
	}
	id := s.apiChannelID("qovery")
	if c := s.apiChannel(id); c.Format != "qovery" {
		t.Errorf("format = %q", c.Format)
	}
	res, body = ss.get("/ui/settings/notifications/" + id + "/edit")
	wantPage(t, "webhook edit form", res, body, http.StatusOK, `<option value="qovery" selected>`)
	// Build events have no Qovery event: the form says so.
	res, body = ss.post("/ui/settings/notifications", url.Values{"kind": {"webhook"}, "name": {"q2"}, "enabled": {"on"},
		"url": {rcv.URL}, "format": {"qovery"}, "events": {"build.completed"}})
	wantPage(t, "refused", res, body, http.StatusBadRequest, "deployment.started, deployment.completed")
	res, body = ss.post("/ui/settings/notifications", url.Values{"kind": {"webhook"}, "name": {"f"}, "enabled": {"on"},
		"url": {rcv.URL}, "format": {"flowdock"}, "events": {"deployment.completed"}})
	wantPage(t, "flowdock", res, body, http.StatusBadRequest, "Flowdock shut down in 2023")
}
