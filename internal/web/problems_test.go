package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// hookChannel adds a webhook channel on rcv subscribed to finished deployments.
func (s *server) hookChannel(name, rcvURL string, retry ...string) apiv1.Channel {
	s.t.Helper()
	var c apiv1.Channel
	in := map[string]any{"kind": "webhook", "name": name, "url": rcvURL, "events": []string{"deployment.completed"}}
	if len(retry) > 0 {
		in["retry_schedule"] = retry
	}
	s.api("POST", "/notification-channels/", in, &c)
	return c
}

// apiOK is api for calls whose answer the test does not read.
func (s *server) apiOK(method, path string, in any) {
	s.t.Helper()
	if st := s.api(method, path, in, nil); st >= 300 {
		s.t.Fatalf("%s %s: %d", method, path, st)
	}
}

func (s *server) channelNow(id string) apiv1.Channel {
	s.t.Helper()
	var c apiv1.Channel
	s.api("GET", "/notification-channels/"+id, nil, &c)
	return c
}

// problemsOf is Home's banner, "" when there is none.
func problemsOf(body string) string {
	i := strings.Index(body, `<section class="problems"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</section>")
	return body[i : i+j]
}

// aroundNow is a no-deploy window from yesterday to tomorrow.
func aroundNow() map[string]any {
	now := time.Now().UTC()
	return map[string]any{"recurrence": "once", "time_zone": "UTC", "start": now.AddDate(0, 0, -1).Format("2006-01-02T15:04"),
		"end": now.AddDate(0, 0, 1).Format("2006-01-02T15:04"), "reason": "release freeze"}
}

func TestHomeProblemBanner(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	viewer := s.consoleSession(t, "vic@acme.test", "viewer")

	// Healthy: a channel that delivers, one that has had nothing to
	// deliver, a report-only freeze in force. No banner.
	good := newHookReceiver(t)
	ok := s.hookChannel("good", good.URL)
	var quiet apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "quiet", "url": good.URL,
		"events": []string{"build.completed"}}, &quiet)
	s.api("POST", "/deployment-rules/", map[string]any{"name": "Dry run", "rule_type": "schedule", "status": "report_only",
		"schedule": aroundNow()}, &struct{}{})
	s.deploy("api", "1.0.0", "production", "success")
	pollUntil(t, "the delivery succeeds", func() bool { return s.newestDelivery(ok.ID).State == shiplog.DeliverySucceeded })
	res, body := ss.get("/ui/")
	wantPage(t, "healthy home", res, body, http.StatusOK, "What is deployed where")
	if p := problemsOf(body); p != "" {
		t.Errorf("a healthy org shows problems: %s", p)
	}

	// A failing channel and one shiplog switched off (410 Gone).
	bad := newHookReceiver(t)
	bad.answerWith(http.StatusBadRequest, `{"error":"unknown product"}`)
	broken := s.hookChannel("broken", bad.URL)
	goneRcv := newHookReceiver(t)
	goneRcv.answerWith(http.StatusGone, "gone")
	gone := s.hookChannel("gone", goneRcv.URL)
	s.deploy("api", "1.0.1", "production", "success")
	pollUntil(t, "broken fails", func() bool { return s.newestDelivery(broken.ID).State == shiplog.DeliveryFailed })
	pollUntil(t, "gone is switched off", func() bool { return s.channelNow(gone.ID).DisabledReason != "" })

	_, body = ss.get("/ui/")
	p := problemsOf(body)
	for _, want := range []string{
		`href="/ui/settings/notifications?kind=webhook#ch-` + broken.ID + `"`, "Notification channel broken", "has failed since",
		"unknown product",
		`href="/ui/settings/notifications?kind=webhook#ch-` + gone.ID + `"`, "Notification channel gone", "was switched off by shiplog",
		"disabled by shiplog",
	} {
		if !strings.Contains(p, want) {
			t.Errorf("the banner does not say %q: %s", want, p)
		}
	}
	if strings.Contains(p, "#ch-"+ok.ID) || strings.Contains(p, "#ch-"+quiet.ID) || strings.Contains(p, "Dry run") {
		t.Errorf("the banner lists what is fine: %s", p)
	}

	// Switched off and on while failing: the worker's mark is cleared, the
	// channel still fails until a delivery succeeds.
	s.apiOK("PATCH", "/notification-channels/"+broken.ID, map[string]any{"enabled": false})
	s.apiOK("PATCH", "/notification-channels/"+broken.ID, map[string]any{"enabled": true})
	if c := s.channelNow(broken.ID); c.FailingSince != nil || !c.Enabled {
		t.Fatalf("after off and on: %+v", c.Channel)
	}
	_, body = ss.get("/ui/")
	if p := problemsOf(body); !strings.Contains(p, "Notification channel broken") || !strings.Contains(p, "failed its last delivery") {
		t.Errorf("a channel switched off and on while failing is not on the banner: %s", p)
	}

	// A no-deploy window in force: on the banner, linking to the rule.
	var freeze struct {
		ID string `json:"id"`
	}
	s.api("POST", "/deployment-rules/", map[string]any{"name": "Freeze", "rule_type": "schedule", "status": "enabled",
		"environment_names": []string{"production"}, "schedule": aroundNow()}, &freeze)
	_, body = viewer.get("/ui/")
	p = problemsOf(body)
	for _, want := range []string{`href="/ui/settings/rules/` + freeze.ID + `/edit"`, "No-deploy window Freeze",
		"blocks every product to production until", "release freeze", "deploys blocked", "Notification channel broken"} {
		if !strings.Contains(p, want) {
			t.Errorf("the viewer's banner does not say %q: %s", want, p)
		}
	}

	// Fixed: a success clears the channel; a disabled rule blocks nothing.
	bad.answerWith(http.StatusOK, "ok")
	s.apiOK("PATCH", "/deployment-rules/"+freeze.ID, map[string]any{"status": "disabled"})
	s.apiOK("DELETE", "/notification-channels/"+gone.ID, nil)
	var tr apiv1.TestResult
	s.api("POST", "/notification-channels/"+broken.ID+"/test", nil, &tr)
	if !tr.OK {
		t.Fatalf("test send: %+v", tr)
	}
	_, body = ss.get("/ui/")
	if p := problemsOf(body); p != "" {
		t.Errorf("problems after the fixes: %s", p)
	}
}

// cardOf is one channel's card on the notifications page.
func cardOf(body, id string) string {
	i := strings.Index(body, `<article class="card channel" id="ch-`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</article>")
	return body[i : i+j]
}

var selectedTabRE = regexp.MustCompile(`id="tab-([a-z]+)" [^>]*aria-selected="true"`)

func TestChannelCardsTellHealth(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	good, bad := newHookReceiver(t), newHookReceiver(t)
	bad.answerWith(http.StatusBadRequest, `{"error":"no such team"}`)
	never := s.hookChannel("never", good.URL)
	s.apiOK("PATCH", "/notification-channels/"+never.ID, map[string]any{"events": []string{"build.completed"}})
	ok := s.hookChannel("ok", good.URL)
	failing := s.hookChannel("failing", bad.URL)
	flipped := s.hookChannel("flipped", bad.URL)
	off := s.hookChannel("off", good.URL)
	s.deploy("api", "2.0.0", "production", "success")
	pollUntil(t, "ok delivers", func() bool { return s.newestDelivery(ok.ID).State == shiplog.DeliverySucceeded })
	pollUntil(t, "off delivers", func() bool { return s.newestDelivery(off.ID).State == shiplog.DeliverySucceeded })
	pollUntil(t, "failing fails", func() bool { return s.newestDelivery(failing.ID).State == shiplog.DeliveryFailed })
	pollUntil(t, "flipped fails", func() bool { return s.newestDelivery(flipped.ID).State == shiplog.DeliveryFailed })
	for _, c := range []apiv1.Channel{flipped, off} {
		s.apiOK("PATCH", "/notification-channels/"+c.ID, map[string]any{"enabled": false})
	}
	s.apiOK("PATCH", "/notification-channels/"+flipped.ID, map[string]any{"enabled": true})

	// No kind asked: the page opens on the tab with channels, not Slack's.
	res, body := ss.get("/ui/settings/notifications")
	wantPage(t, "notifications", res, body, http.StatusOK)
	if m := selectedTabRE.FindStringSubmatch(body); m == nil || m[1] != "webhook" {
		t.Errorf("the page opens on tab %v, want webhook", m)
	}
	for _, tc := range []struct {
		c    apiv1.Channel
		want []string
		not  []string
	}{
		{never, []string{"○</span> never delivered"}, []string{"healthy", "Last delivered"}},
		{ok, []string{"✓</span> healthy", "Last delivered"}, []string{"Last error"}},
		{failing, []string{"✗</span> failing", "Failing since", "Last error", "no such team"}, []string{"healthy", "Last delivered"}},
		{flipped, []string{"✗</span> failing", "Last delivery failed", "Last error", "no such team", "Never delivered"}, []string{"healthy", "Failing since"}},
		{off, []string{"⊘</span> off", "Last delivered"}, []string{"healthy", "Last error"}},
	} {
		card := cardOf(body, tc.c.ID)
		if card == "" {
			t.Errorf("no card for %s", tc.c.Name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(card, w) {
				t.Errorf("%s's card does not say %q:\n%s", tc.c.Name, w, card)
			}
		}
		for _, w := range tc.not {
			if strings.Contains(card, w) {
				t.Errorf("%s's card says %q:\n%s", tc.c.Name, w, card)
			}
		}
	}
	// The switch answers with the card, health included.
	res, body = ss.htmx("PATCH", "/ui/settings/notifications/"+failing.ID+"/enabled", url.Values{"enabled": {"false"}})
	wantPage(t, "switch off", res, body, http.StatusOK, "⊘</span> off", "Last error", "no such team")
}
