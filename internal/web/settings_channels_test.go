package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/apiv1"
)

// apiChannelID finds a channel's id by name through the API.
func (s *server) apiChannelID(name string) string {
	s.t.Helper()
	var list apiv1.List[apiv1.Channel]
	s.api("GET", "/notification-channels/", nil, &list)
	for _, c := range list.Items {
		if c.Name == name {
			return c.ID
		}
	}
	s.t.Fatalf("no channel %q", name)
	return ""
}

func (s *server) apiChannel(id string) apiv1.Channel {
	s.t.Helper()
	var c apiv1.Channel
	s.api("GET", "/notification-channels/"+id, nil, &c)
	return c
}

// defaultChannel adds what `shiplog org create` gives every org.
func (s *server) defaultChannel() {
	s.t.Helper()
	var c apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "email", "name": "Default deployment result e-mails",
		"recipients": []string{"owners"}, "events": []string{"deployment.completed", "deployment.failed"}}, &c)
}

func TestSettingsTabsAndDefaultChannel(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.defaultChannel()
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	res, _ := ss.get("/ui/settings")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/settings/notifications" {
		t.Errorf("/ui/settings: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	// Every org starts with the default result e-mails; the Email tab counts it.
	res, body := ss.get("/ui/settings/notifications?kind=email")
	wantPage(t, "email tab", res, body, http.StatusOK, `aria-selected="true" aria-controls="channels-panel">Email <span class="count">1</span>`,
		"Default deployment result e-mails", "owners", "<code>deployment.completed</code>", `role="switch" aria-checked="true"`,
		`aria-current="page">Notifications</a>`)
	res, body = ss.get("/ui/settings/notifications?kind=nonsense")
	wantPage(t, "unknown tab", res, body, http.StatusOK, `aria-selected="true" aria-controls="channels-panel">Slack`, "No Slack channels yet")
}

func TestSettingsSlackChannelKeepsItsURLSecret(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	const hook = "https://hooks.slack.com/services/T0001/B0001/verysecretpart1234"
	res, body := ss.post("/ui/settings/notifications", url.Values{"kind": {"slack"}, "name": {"#deployments"}, "enabled": {"on"},
		"url": {hook}, "events": {"deployment.completed", "deployment.failed"}, "env_types": {"PRODUCTION"}, "products": {"api-*, web"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/settings/notifications?kind=slack" {
		t.Fatalf("create: %d %q\n%s", res.StatusCode, res.Header.Get("Location"), mainOf(body))
	}
	id := s.apiChannelID("#deployments")
	res, body = ss.get("/ui/settings/notifications?kind=slack")
	wantPage(t, "slack tab", res, body, http.StatusOK, "Added #deployments", "https://hooks.slack.com/…1234", "PRODUCTION", "api-*, web")
	if strings.Contains(body, "verysecretpart") {
		t.Error("the list shows the Slack URL")
	}

	// The edit form never has the URL; saving it empty keeps the URL.
	res, body = ss.get("/ui/settings/notifications/" + id + "/edit")
	wantPage(t, "edit form", res, body, http.StatusOK, "https://hooks.slack.com/…1234", "leave the field empty to keep it", `value="api-*, web"`)
	if strings.Contains(body, "verysecretpart") {
		t.Error("the edit form shows the Slack URL")
	}
	form := url.Values{"kind": {"slack"}, "name": {"#deploys"}, "enabled": {"on"}, "url": {""}, "events": {"deployment.failed"},
		"products": {""}, "retry_schedule": {"1s, 2s"}, "retry_schedule_was": {"1s, 2s"}}
	res, body = ss.post("/ui/settings/notifications/"+id, form)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", res.StatusCode, mainOf(body))
	}
	c := s.apiChannel(id)
	if c.Name != "#deploys" || c.URL != "https://hooks.slack.com/…1234" || len(c.Events) != 1 || len(c.ProductNamesFilter) != 0 ||
		len(c.EnvironmentTypesFilter) != 0 || strings.Join(c.RetrySchedule, ",") != "1s,2s" {
		t.Errorf("after save: %+v %v", c.Channel, c.URL)
	}
	// A changed schedule is sent.
	form.Set("retry_schedule", "5s, 5m")
	if res, body := ss.post("/ui/settings/notifications/"+id, form); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("save schedule: %d\n%s", res.StatusCode, mainOf(body))
	}
	if c := s.apiChannel(id); strings.Join(c.RetrySchedule, ",") != "5s,5m0s" {
		t.Errorf("schedule %v", c.RetrySchedule)
	}

	// Delete asks the API and comes back to the tab.
	res, _ = ss.post("/ui/settings/notifications/"+id+"/delete", url.Values{"kind": {"slack"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/settings/notifications?kind=slack" {
		t.Errorf("delete: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if code := s.api("GET", "/notification-channels/"+id, nil, nil); code != http.StatusNotFound {
		t.Errorf("deleted channel answers %d", code)
	}
}

func TestSettingsWebhookSecrets(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	rcv := newHookReceiver(t)
	res, body := ss.post("/ui/settings/notifications", url.Values{"kind": {"webhook"}, "name": {"signed"}, "enabled": {"on"},
		"url": {rcv.URL}, "signature_scheme": {"versioner"}, "secret": {"a-long-random-secret"}, "events": {"deployment.completed"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", res.StatusCode, mainOf(body))
	}
	id := s.apiChannelID("signed")
	_, body = ss.get("/ui/settings/notifications?kind=webhook")
	wantPage(t, "webhook tab", res, body, http.StatusSeeOther, "signed (versioner, secret ending …cret)", rcv.URL)
	_, body = ss.get("/ui/settings/notifications/" + id + "/edit")
	if strings.Contains(body, "a-long-random-secret") || !strings.Contains(body, "Remove the secret") {
		t.Errorf("edit form and the secret:\n%s", mainOf(body))
	}
	// An empty secret field keeps it; the box removes it.
	form := url.Values{"kind": {"webhook"}, "name": {"signed"}, "enabled": {"on"}, "url": {rcv.URL}, "signature_scheme": {"versioner"},
		"events": {"deployment.completed"}}
	ss.post("/ui/settings/notifications/"+id, form)
	if c := s.apiChannel(id); c.SecretHint == nil {
		t.Fatal("saving without a secret removed it")
	}
	form.Set("remove_secret", "on")
	ss.post("/ui/settings/notifications/"+id, form)
	if c := s.apiChannel(id); c.SecretHint != nil {
		t.Errorf("the secret is still there: %v", *c.SecretHint)
	}

	// A generated standard-webhooks secret is shown on the answer, once.
	res, body = ss.post("/ui/settings/notifications", url.Values{"kind": {"webhook"}, "name": {"standard"}, "enabled": {"on"},
		"url": {rcv.URL}, "signature_scheme": {"standard-webhooks"}, "events": {"deployment.completed"}})
	wantPage(t, "generated secret", res, body, http.StatusOK, "Signing secret for standard", `value="whsec_`, "you won't see it again", "Added standard")
	if res, body := ss.get("/ui/settings/notifications?kind=webhook"); strings.Contains(body, "whsec_") {
		t.Errorf("the secret is shown again (%d)", res.StatusCode)
	}
}

func TestSettingsChannelFormRefusals(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.defaultChannel()
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	base := func(kind string, kv ...string) url.Values {
		f := url.Values{"kind": {kind}, "name": {"typed name"}, "enabled": {"on"}, "events": {"deployment.completed"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				f.Del(kv[i])
			} else {
				f.Set(kv[i], kv[i+1])
			}
		}
		return f
	}
	for _, tt := range []struct {
		name   string
		form   url.Values
		status int
		says   []string
	}{
		{"no events", base("webhook", "url", "http://127.0.0.1:9/x", "events", "", "secret", "typed-secret-value"), 400,
			[]string{"Field &#39;events&#39; must list at least one event type", "Enter the secret again", `value="typed name"`, `value="http://127.0.0.1:9/x"`}},
		{"governance events are for webhooks", base("slack", "url", "https://hooks.slack.com/services/x", "events", "dr.created"), 400,
			[]string{"delivered by webhook channels only"}},
		{"a webhook needs a URL", base("webhook"), 400, []string{"Field &#39;url&#39; is required for webhook channels"}},
		{"a webhook URL must be http", base("webhook", "url", "ftp://example.com/x"), 400, []string{"URL must start with http:// or https://"}},
		{"Slack needs a URL", base("slack"), 400, []string{"Field &#39;url&#39; is required for Slack channels"}},
		{"email needs good addresses", base("email", "recipients", "ops@example.com, not an address"), 400,
			[]string{"invalid address &#39;not an address&#39;", "ops@example.com, not an address"}},
		{"a bad delay", base("email", "recipients", "owners", "retry_schedule", "5 minutes"), 400, []string{"invalid delay &#39;5 minutes&#39;"}},
		{"a bad product pattern", base("email", "recipients", "owners", "products", "a*b"), 400, []string{"product_names_filter"}},
		{"an unknown kind", base("pager", "url", "https://example.com"), 400, []string{"Field &#39;kind&#39; must be one of slack, email, webhook"}},
		{"a missing name", base("email", "recipients", "owners", "name", ""), 400, []string{"Field &#39;name&#39; is required"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, body := ss.post("/ui/settings/notifications", tt.form)
			wantPage(t, tt.name, res, body, tt.status, append(tt.says, `role="alert"`)...)
			if strings.Contains(body, "typed-secret-value") {
				t.Error("the refused page shows the secret")
			}
		})
	}
	// A forged form changes nothing.
	res, body := postForm(t, ss.c, s.url+"/ui/settings/notifications", base("email", "recipients", "owners"))
	wantPage(t, "no CSRF token", res, body, http.StatusForbidden, "did not come from this console")
	var list apiv1.List[apiv1.Channel]
	s.api("GET", "/notification-channels/", nil, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d channels after the refusals, want the default one", len(list.Items))
	}
	// Unknown channels are a 404 page.
	res, body = ss.get("/ui/settings/notifications/0190a0b0-0000-7000-8000-000000000001/edit")
	wantPage(t, "unknown channel", res, body, http.StatusNotFound, "Not found")
}

func TestSettingsSwitchAndTestOverHTTP(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	rcv := newHookReceiver(t)
	rcv.answerWith(http.StatusTeapot, "I'm a teapot, not a webhook receiver")
	var c apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "hook", "url": rcv.URL,
		"events": []string{"deployment.completed"}}, &c)

	// htmx: the switch answers the channel's card.
	res, body := ss.htmx("PATCH", "/ui/settings/notifications/"+c.ID+"/enabled", url.Values{"enabled": {"false"}})
	wantPage(t, "switch off", res, body, http.StatusOK, `id="ch-`+c.ID+`"`, `aria-checked="false"`, "⊘</span> off", `name="enabled" value="true"`)
	if strings.Contains(body, "<html") {
		t.Error("the switch answered a whole page")
	}
	if s.apiChannel(c.ID).Enabled {
		t.Error("still enabled")
	}
	// Without JavaScript the form posts and the list comes back.
	res, _ = ss.post("/ui/settings/notifications/"+c.ID+"/enabled", url.Values{"enabled": {"true"}})
	if res.StatusCode != http.StatusSeeOther || !s.apiChannel(c.ID).Enabled {
		t.Errorf("switch on without htmx: %d", res.StatusCode)
	}

	// Test: the receiver's answer, inline for htmx and on the list without it.
	res, body = ss.htmx("POST", "/ui/settings/notifications/"+c.ID+"/test", nil)
	wantPage(t, "test (htmx)", res, body, http.StatusOK, "✗</span> not delivered", `<strong class="status-code">418</strong>`,
		"I&#39;m a teapot, not a webhook receiver", " ms</strong>")
	res, body = ss.post("/ui/settings/notifications/"+c.ID+"/test", nil)
	wantPage(t, "test (form)", res, body, http.StatusOK, `<strong class="status-code">418</strong>`, "Delivery log")
	if n := len(rcv.hooks()); n != 2 {
		t.Errorf("the receiver got %d requests, want 2", n)
	}
	// A refused htmx request lands in the page's message area.
	res, body = ss.htmx("POST", "/ui/settings/notifications/0190a0b0-0000-7000-8000-000000000001/test", nil)
	if res.Header.Get("HX-Retarget") != "#flash" || !strings.Contains(body, "Not found") {
		t.Errorf("test of an unknown channel: %d %q %s", res.StatusCode, res.Header.Get("HX-Retarget"), body)
	}

	// Another org sees none of it.
	other := s.secondOrg(t, "globex", "gil@globex.test")
	for _, path := range []string{"/edit", "/deliveries"} {
		res, body := other.get("/ui/settings/notifications/" + c.ID + path)
		wantPage(t, "other org "+path, res, body, http.StatusNotFound, "Not found")
	}
	res, _ = other.htmx("PATCH", "/ui/settings/notifications/"+c.ID+"/enabled", url.Values{"enabled": {"false"}})
	if !s.apiChannel(c.ID).Enabled || !strings.Contains(res.Header.Get("HX-Retarget"), "flash") {
		t.Error("another org switched the channel off")
	}
}
