package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog"
)

// The on-call path: Home's banner names the failing channel, its link
// opens the channel's card with the error, and the delivery log sends
// every failed delivery again after a confirmation.
func TestBrowserProblemBannerToRedeliverAllFailed(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	rcv := newHookReceiver(t)
	rcv.answerWith(http.StatusInternalServerError, "database is read-only")
	c := s.hookChannel("Incidents", rcv.URL, "1s")
	s.deploy("api", "1.4.0", "production", "success")
	pollUntil(t, "the delivery fails", func() bool { return s.newestDelivery(c.ID).State == shiplog.DeliveryFailed })

	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")
	link := `#problems a[href="/ui/settings/notifications?kind=webhook#ch-` + c.ID + `"]`
	step(t, ctx, "the banner on Home", chromedp.WaitVisible(chromedp.CSS(link)))
	if got := text(t, ctx, "#problems"); !strings.Contains(got, "Incidents") || !strings.Contains(got, "database is read-only") {
		t.Errorf("the banner says %q", got)
	}
	shot(t, ctx, "home-problems")

	step(t, ctx, "follow the banner to the channel",
		chromedp.Click(chromedp.CSS(link)),
		chromedp.WaitVisible(chromedp.CSS("#ch-"+c.ID)),
	)
	if !evalJS[bool](t, ctx, `document.querySelector('#tab-webhook').getAttribute('aria-selected') === 'true'`) {
		t.Error("the link does not open the webhook tab")
	}
	card := text(t, ctx, "#ch-"+c.ID)
	for _, want := range []string{"failing", "Failing since", "Last error", "HTTP 500", "database is read-only", "Never delivered"} {
		if !strings.Contains(card, want) {
			t.Errorf("the card does not say %q: %s", want, card)
		}
	}

	step(t, ctx, "open the delivery log",
		chromedp.Click(chromedp.CSS(`#ch-`+c.ID+` a[href$="/deliveries"]`)),
		chromedp.WaitVisible(chromedp.CSS("#redeliver-failed")),
	)
	if n := evalJS[int](t, ctx, `document.querySelectorAll('.delivery details[open]').length`); n != 0 {
		t.Errorf("%d deliveries are expanded before asked", n)
	}
	line := text(t, ctx, ".delivery summary")
	for _, want := range []string{"failed", "deployment.completed", "api 1.4.0 → production", "2 of 2 attempts"} {
		if !strings.Contains(line, want) {
			t.Errorf("the log's line does not say %q: %s", want, line)
		}
	}
	step(t, ctx, "expand the line", chromedp.Click(chromedp.CSS(".delivery summary")))
	eventually(t, ctx, "the attempts show", `!!document.querySelector('.delivery details[open] table.attempts')`)
	shot(t, ctx, "settings-delivery-log")

	rcv.answerWith(http.StatusOK, "ok")
	// The confirmation: declined, nothing is sent; accepted, it is.
	sent := len(rcv.hooks())
	evalJS[bool](t, ctx, `window.asked = []; window.confirm = function (m) { window.asked.push(m); return false; }; true`)
	step(t, ctx, "redeliver all failed, then decline", chromedp.Click(chromedp.CSS("#redeliver-failed")))
	if !evalJS[bool](t, ctx, `window.asked.length === 1 && window.asked[0].startsWith('Send every failed delivery of Incidents again?')`) {
		t.Errorf("the confirmation asked %v", evalJS[[]string](t, ctx, `window.asked`))
	}
	evalJS[bool](t, ctx, `window.confirm = function () { return true; }; true`)
	step(t, ctx, "redeliver all failed", chromedp.Click(chromedp.CSS("#redeliver-failed")))
	eventually(t, ctx, "the flash says it", `(document.querySelector('#flash') || {}).textContent.includes('Queued 1 failed delivery again')`)
	pollUntil(t, "the redelivery succeeds", func() bool { return s.newestDelivery(c.ID).State == shiplog.DeliverySucceeded })
	if n := len(rcv.hooks()); n != sent+1 {
		t.Errorf("the receiver got %d requests after the confirmation, want 1", n-sent)
	}

	step(t, ctx, "back Home", chromedp.Navigate(s.url+"/ui/"), chromedp.WaitVisible(chromedp.CSS("#matrix")))
	if evalJS[bool](t, ctx, `!!document.querySelector('#problems')`) {
		t.Errorf("the banner stays after the fix: %s", text(t, ctx, "#problems"))
	}
}
