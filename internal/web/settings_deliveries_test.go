package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

func (s *server) newestDelivery(channelID string) apiv1.DeliveryDetail {
	s.t.Helper()
	var list apiv1.List[*shiplog.Delivery]
	s.api("GET", "/notification-channels/"+channelID+"/deliveries?limit=1", nil, &list)
	if len(list.Items) == 0 {
		s.t.Fatal("no deliveries")
	}
	var d apiv1.DeliveryDetail
	s.api("GET", "/deliveries/"+list.Items[0].ID, nil, &d)
	return d
}

var cursorRE = regexp.MustCompile(`href="(/ui/settings/notifications/[^"]+/deliveries\?cursor=[^"]+)">Older deliveries`)

func TestSettingsDeliveryLogPagesAndRedelivers(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	rcv := newHookReceiver(t)
	var c apiv1.Channel
	s.api("POST", "/notification-channels/", map[string]any{"kind": "webhook", "name": "log", "url": rcv.URL,
		"events": []string{"deployment.completed"}}, &c)
	for i := range 25 {
		s.deploy("api", fmt.Sprintf("1.0.%d", i), "production", "success")
	}
	pollUntil(t, "25 deliveries arrive", func() bool { return len(rcv.hooks()) == 25 })
	pollUntil(t, "25 deliveries are recorded", func() bool { return s.newestDelivery(c.ID).State == shiplog.DeliverySucceeded })

	// Newest first, 20 to a page.
	log := "/ui/settings/notifications/" + c.ID + "/deliveries"
	res, body := ss.get(log)
	wantPage(t, "first page", res, body, http.StatusOK, "Delivery log of log", "✓</span> succeeded", "<strong>200</strong>",
		"1 of 3 attempts", `&#34;version&#34;: &#34;1.0.24&#34;`, "Older deliveries →")
	if n := strings.Count(body, `class="delivery"`); n != 20 {
		t.Errorf("first page has %d deliveries", n)
	}
	if strings.Contains(body, `hx-trigger="every`) {
		t.Error("a page with nothing queued refreshes itself")
	}
	m := cursorRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no link to older deliveries")
	}
	res, body = ss.get(strings.ReplaceAll(m[1], "&amp;", "&"))
	wantPage(t, "second page", res, body, http.StatusOK, "← Newest", `&#34;version&#34;: &#34;1.0.0&#34;`)
	if n := strings.Count(body, `class="delivery"`); n != 5 || strings.Contains(body, "Older deliveries") {
		t.Errorf("second page has %d deliveries", n)
	}

	// A delivery in flight is queued: no Redeliver button, the page
	// refreshes itself, and the API's refusal shows if one is asked anyway.
	hold := make(chan struct{})
	rcv.mu.Lock()
	rcv.hold = hold
	rcv.mu.Unlock()
	s.deploy("api", "2.0.0", "production", "success")
	pollUntil(t, "the held delivery arrives", func() bool { return len(rcv.hooks()) == 26 })
	held := s.newestDelivery(c.ID)
	_, body = ss.get(log)
	wantPage(t, "log while queued", res, body, http.StatusOK, `hx-trigger="every 2s"`, "◐</span> queued")
	if strings.Contains(body, "/deliveries/"+held.ID+"/redeliver") {
		t.Error("a queued delivery offers Redeliver")
	}
	res, body = ss.htmx("POST", log+"/"+held.ID+"/redeliver", nil)
	if res.Header.Get("HX-Retarget") != "#flash" || !strings.Contains(body, "is still queued") {
		t.Errorf("redeliver in flight: %d %q %s", res.StatusCode, res.Header.Get("HX-Retarget"), body)
	}
	rcv.mu.Lock()
	rcv.hold = nil
	rcv.mu.Unlock()
	close(hold)
	pollUntil(t, "the held delivery succeeds", func() bool { return s.newestDelivery(c.ID).State == shiplog.DeliverySucceeded })

	// Redeliver a finished one: queued again, sent with the same webhook-id.
	res, _ = ss.post(log+"/"+held.ID+"/redeliver", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != log {
		t.Fatalf("redeliver: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	pollUntil(t, "the redelivery arrives", func() bool { return len(rcv.hooks()) == 27 })
	pollUntil(t, "the redelivery is recorded", func() bool {
		d := s.newestDelivery(c.ID)
		return len(d.Attempts) == 2 && d.State == shiplog.DeliverySucceeded
	})
	if hs := rcv.hooks(); hs[26].header.Get("webhook-id") != held.ID || hs[25].header.Get("webhook-id") != held.ID {
		t.Errorf("webhook-ids %q, %q; want %s", hs[25].header.Get("webhook-id"), hs[26].header.Get("webhook-id"), held.ID)
	}
	res, body = ss.get(log)
	wantPage(t, "log after redelivery", res, body, http.StatusOK, "Queued the delivery again", "2 of")

	// Redelivering what is not the org's is the API's 404.
	res, body = ss.htmx("POST", log+"/0190a0b0-0000-7000-8000-000000000001/redeliver", url.Values{})
	if !strings.Contains(body, "Not found") {
		t.Errorf("redeliver unknown: %d %s", res.StatusCode, body)
	}
}

var logLineRE = regexp.MustCompile(`<li class="delivery" id="d-[^"]+" data-state="([a-z]+)">`)

// logStates lists the states of the log's lines, top to bottom.
func logStatesOf(body string) []string {
	var out []string
	for _, m := range logLineRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out
}

// The log filtered by outcome and by channel, and "Redeliver all failed"
// against a receiver that answers 500 and then 200.
func TestSettingsDeliveryLogFilterAndRedeliverAllFailed(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	viewer := s.consoleSession(t, "vic@acme.test", "viewer")
	rcv := newHookReceiver(t)
	rcv.answerWith(http.StatusInternalServerError, "down for maintenance")
	c := s.hookChannel("flaky", rcv.URL, "1s")
	other := s.hookChannel("other", newHookReceiver(t).URL)
	for _, v := range []string{"3.0.0", "3.0.1"} {
		s.deploy("api", v, "production", "success")
	}
	pollUntil(t, "both deliveries fail", func() bool {
		var list apiv1.List[*shiplog.Delivery]
		s.api("GET", "/notification-channels/"+c.ID+"/deliveries?state=failed", nil, &list)
		return len(list.Items) == 2
	})
	rcv.answerWith(http.StatusOK, "ok")
	s.deploy("web", "7.1.0", "staging", "success")
	pollUntil(t, "the third succeeds", func() bool { return s.newestDelivery(c.ID).State == shiplog.DeliverySucceeded })

	log := "/ui/settings/notifications/" + c.ID + "/deliveries"
	res, body := ss.get(log)
	wantPage(t, "the whole log", res, body, http.StatusOK, "<summary class=\"d-line\">", "api 3.0.1 → production",
		"web 7.1.0 → staging", "2 of 2 attempts", "1 of 2 attempts", "Redeliver all failed",
		`data-confirm="Send every failed delivery of flaky again?`, `<option value="`+other.ID+`" >other (webhook)</option>`)
	if got := logStatesOf(body); strings.Join(got, " ") != "succeeded failed failed" {
		t.Errorf("the log's lines: %v", got)
	}
	res, body = ss.get(log + "?state=failed")
	wantPage(t, "failed only", res, body, http.StatusOK, `<option value="failed" selected>failed</option>`)
	if got := logStatesOf(body); strings.Join(got, " ") != "failed failed" {
		t.Errorf("failed only: %v", got)
	}
	res, body = ss.get(log + "?state=succeeded")
	if got := logStatesOf(body); strings.Join(got, " ") != "succeeded" {
		t.Errorf("succeeded only: %d %v", res.StatusCode, got)
	}
	res, body = ss.get(log + "?state=cancelled")
	wantPage(t, "cancelled only", res, body, http.StatusOK, "No cancelled deliveries.")

	// The channel filter opens the other channel's log, keeping the outcome.
	res, _ = ss.get(log + "?channel=" + other.ID + "&state=failed")
	if want := "/ui/settings/notifications/" + other.ID + "/deliveries?state=failed"; res.StatusCode != http.StatusSeeOther ||
		res.Header.Get("Location") != want {
		t.Errorf("channel filter: %d %q, want %s", res.StatusCode, res.Header.Get("Location"), want)
	}

	// A viewer reads the log but is not offered the bulk redeliver, and
	// the API's refusal stands if they post it anyway.
	_, body = viewer.get(log)
	if strings.Contains(body, "Redeliver all failed") {
		t.Error("a viewer is offered Redeliver all failed")
	}
	res, body = viewer.post("/ui/settings/notifications/"+c.ID+"/redeliver-failed", nil)
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("viewer bulk redeliver: %d %s", res.StatusCode, mainOf(body))
	}

	res, _ = ss.post("/ui/settings/notifications/"+c.ID+"/redeliver-failed", url.Values{"state": {"failed"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != log+"?state=failed" {
		t.Fatalf("redeliver all failed: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	pollUntil(t, "both are sent again", func() bool { return len(rcv.hooks()) == 2*2+1+2 })
	pollUntil(t, "nothing has failed any more", func() bool {
		var list apiv1.List[*shiplog.Delivery]
		s.api("GET", "/notification-channels/"+c.ID+"/deliveries?state=failed,queued", nil, &list)
		return len(list.Items) == 0
	})
	hs := rcv.hooks()
	if hs[5].header.Get("webhook-id") == hs[6].header.Get("webhook-id") || hs[5].header.Get("webhook-id") == "" {
		t.Errorf("the redeliveries are not two distinct deliveries: %q %q", hs[5].header.Get("webhook-id"), hs[6].header.Get("webhook-id"))
	}
	res, body = ss.get(log + "?state=failed")
	wantPage(t, "after the bulk redeliver", res, body, http.StatusOK, "Queued 2 failed deliveries again", "No failed deliveries.")
	if strings.Contains(body, `id="redeliver-failed"`) {
		t.Error("Redeliver all failed is offered with nothing failed")
	}
	_, body = ss.get(log)
	if got := logStatesOf(body); strings.Join(got, " ") != "succeeded succeeded succeeded" {
		t.Errorf("the log after: %v", got)
	}
}
