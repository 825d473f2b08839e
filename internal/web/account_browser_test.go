package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// In Chromium: the account page from the top bar (a token made, shown
// once, revoked), and a person's page (deactivated, a reset link shown
// once); both fit a phone.
func TestBrowserAccountAndPeople(t *testing.T) {
	s := start(t)
	s.cheapSession(t, "ann@acme.test", "correct horse battery", "owner")
	_, dev := s.cheapSession(t, "dev@acme.test", "correct horse battery", "developer")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")

	step(t, ctx, "open the account page from the top bar",
		chromedp.Click(chromedp.CSS(`header .who a[href="/ui/account"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-name`)),
		chromedp.SetValue(chromedp.CSS(`#token-name`), "laptop scripts"),
		chromedp.Click(chromedp.CSS(`form[action="/ui/account/tokens"] button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)),
	)
	tok := evalJS[string](t, ctx, `document.getElementById('new-token').value`)
	if !patRE.MatchString(tok) {
		t.Fatalf("the page shows %q", tok)
	}
	if code := callWithKey(t, s.url, tok, "/deployments/"); code != http.StatusOK {
		t.Fatalf("the new token answers %d", code)
	}
	shot(t, ctx, "account")
	evalJS[bool](t, ctx, `window.confirm = () => true; true`)
	step(t, ctx, "revoke it",
		chromedp.Click(chromedp.CSS(`form[action^="/ui/account/tokens/"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`tr.revoked`)),
	)
	if code := callWithKey(t, s.url, tok, "/deployments/"); code != http.StatusUnauthorized {
		t.Errorf("the revoked token answers %d", code)
	}

	step(t, ctx, "open Dev's page and deactivate them",
		chromedp.Navigate(s.url+"/ui/settings/users/"+dev.ID+"/edit"),
		chromedp.WaitVisible(chromedp.CSS(`#life-h`)),
	)
	evalJS[bool](t, ctx, `window.confirm = () => true; true`)
	step(t, ctx, "deactivate",
		chromedp.Click(chromedp.CSS(`form[action$="/deactivate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/reactivate"]`)),
	)
	if got := text(t, ctx, "main"); !strings.Contains(got, "deactivated") {
		t.Errorf("the page after deactivating: %s", got)
	}
	step(t, ctx, "reactivate and send a reset link",
		chromedp.Click(chromedp.CSS(`form[action$="/reactivate"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/reset-link"]`)),
		chromedp.Click(chromedp.CSS(`form[action$="/reset-link"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#reset-link`)),
	)
	if link := evalJS[string](t, ctx, `document.getElementById('reset-link').value`); !strings.Contains(link, "/ui/reset-password?token=rst_") {
		t.Errorf("the reset link box holds %q", link)
	}
	shot(t, ctx, "settings-user")
	step(t, ctx, "a phone's screen", chromedp.EmulateViewport(375, 800))
	for _, u := range []string{"/ui/account", "/ui/settings/users/" + dev.ID + "/edit"} {
		step(t, ctx, "open "+u, chromedp.Navigate(s.url+u), chromedp.WaitVisible(chromedp.CSS("h1")))
		if w := evalJS[int](t, ctx, `document.documentElement.scrollWidth`); w > 375 {
			t.Errorf("%s is %d px wide on a 375 px screen", u, w)
		}
	}
}
