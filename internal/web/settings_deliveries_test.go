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
	if n := strings.Count(body, `class="card delivery"`); n != 20 {
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
	if n := strings.Count(body, `class="card delivery"`); n != 5 || strings.Contains(body, "Older deliveries") {
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
