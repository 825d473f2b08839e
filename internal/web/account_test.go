package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

// cheapSession makes a person whose password is hashed at a test's cost
// and signs them in.
func (s *server) cheapSession(t *testing.T, email, password string, roles ...string) (*settingsSession, *shiplog.User) {
	t.Helper()
	h, err := auth.HashPasswordIterations(password, 1)
	if err != nil {
		t.Fatal(err)
	}
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: s.org.ID, Email: email, Name: strings.Split(email, "@")[0], Roles: roles,
		CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
	if err := s.app.Store.Write(t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.UserCreate(ctx, u, h) }); err != nil {
		t.Fatal(err)
	}
	return s.signedIn(t, email, password), u
}

func (s *server) signedIn(t *testing.T, email, password string) *settingsSession {
	t.Helper()
	c := client(t)
	return &settingsSession{t: t, s: s, c: c, csrf: s.signInHTTP(t, c, email, password)}
}

func (s *server) apiAs(t *testing.T, token, method, path string, body string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, s.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// signedOut reports whether the session is sent to the sign-in page.
func (ss *settingsSession) signedOut() bool {
	res, _ := ss.get("/ui/")
	return res.StatusCode == http.StatusSeeOther && strings.HasPrefix(res.Header.Get("Location"), "/ui/sign-in")
}

// TestConsoleRoleChangeHoldsOnNextPage: a demoted admin's console session
// loses the admin pages on its next request, and a promotion holds as fast.
func TestConsoleRoleChangeHoldsOnNextPage(t *testing.T) {
	t.Parallel()
	s := start(t)
	ada, u := s.cheapSession(t, "ada@acme.test", "correct horse battery", "admin")
	if res, body := ada.get("/ui/settings/users"); res.StatusCode != 200 || !strings.Contains(body, "Add a user") {
		t.Fatalf("the admin's users page: %d", res.StatusCode)
	}
	if code := s.apiAs(t, s.owner(), "PATCH", "/users/"+u.ID, `{"roles": ["viewer"]}`); code != 200 {
		t.Fatalf("demote: %d", code)
	}
	res, body := ada.get("/ui/settings/users")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "Listing users needs one of the roles owner, admin; yours: viewer") ||
		strings.Contains(body, "Add a user") {
		t.Errorf("after demotion: %d\n%s", res.StatusCode, mainOf(body))
	}
	if res, _ := ada.post("/ui/settings/api-keys", url.Values{"name": {"sneaky"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("a demoted admin's form: %d", res.StatusCode)
	}
	if code := s.apiAs(t, s.owner(), "PATCH", "/users/"+u.ID, `{"roles": ["admin"]}`); code != 200 {
		t.Fatalf("promote: %d", code)
	}
	if res, _ := ada.get("/ui/settings/users"); res.StatusCode != 200 {
		t.Errorf("after promotion: %d", res.StatusCode)
	}
}

// TestConsoleDeactivationEndsSessionAtOnce: a deactivated person's session
// is signed out on its next request and they cannot sign in until
// reactivated; a deleted person never again.
func TestConsoleDeactivationEndsSessionAtOnce(t *testing.T) {
	t.Parallel()
	s := start(t)
	admin, _ := s.cheapSession(t, "admin@acme.test", "correct horse battery", "owner")
	dev, u := s.cheapSession(t, "dev@acme.test", "correct horse battery", "developer")
	if dev.signedOut() {
		t.Fatal("not signed in")
	}
	// The admin deactivates Dev from the people page.
	res, _ := admin.post("/ui/settings/users/"+u.ID+"/deactivate", nil)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivate: %d", res.StatusCode)
	}
	if _, body := admin.get("/ui/settings/users/" + u.ID + "/edit"); !strings.Contains(body, "deactivated") || !strings.Contains(body, "Reactivate") {
		t.Errorf("the person's page does not say deactivated:\n%s", mainOf(body))
	}
	if !dev.signedOut() {
		t.Error("the deactivated person's session still works")
	}
	res, body := postForm(t, client(t), s.url+"/ui/sign-in", url.Values{"org": {"acme"}, "email": {"dev@acme.test"},
		"password": {"correct horse battery"}, "next": {"/ui/"}})
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "email or password is wrong") {
		t.Errorf("a deactivated person signs in: %d", res.StatusCode)
	}
	if res, _ := admin.post("/ui/settings/users/"+u.ID+"/reactivate", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("reactivate: %d", res.StatusCode)
	}
	dev = s.signedIn(t, "dev@acme.test", "correct horse battery")
	// Deleted: out, and gone from the list.
	if res, _ := admin.post("/ui/settings/users/"+u.ID+"/delete", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", res.StatusCode)
	}
	if !dev.signedOut() {
		t.Error("the deleted person's session still works")
	}
	if _, body := admin.get("/ui/settings/users"); strings.Contains(body, "<td>dev@acme.test</td>") || !strings.Contains(body, "<td>admin@acme.test</td>") {
		t.Error("the deleted person is still listed")
	}
	// Nobody deactivates themselves: the page offers no button, the form refuses.
	if _, body := admin.get("/ui/settings/users/" + adminID(t, s) + "/edit"); strings.Contains(body, "/deactivate") {
		t.Error("one's own page offers Deactivate")
	}
	if res, body := admin.post("/ui/settings/users/"+adminID(t, s)+"/deactivate", nil); res.StatusCode != http.StatusForbidden ||
		!strings.Contains(body, "You cannot deactivate yourself") {
		t.Errorf("deactivating oneself: %d", res.StatusCode)
	}
}

func adminID(t *testing.T, s *server) string {
	t.Helper()
	u, err := s.app.Store.UserByEmail(t.Context(), s.org.ID, "admin@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

var patRE = regexp.MustCompile(`pat_[0-9A-Za-z]{16}_[0-9A-Za-z]{43}`)

// TestConsoleAccountTokensAndPassword: the account page makes a token
// (shown once), revokes it, and changes the password given the old one;
// the other sessions end, this one stays.
func TestConsoleAccountTokensAndPassword(t *testing.T) {
	t.Parallel()
	s := start(t)
	me, _ := s.cheapSession(t, "qa@acme.test", "correct horse battery", "qa")
	other := s.signedIn(t, "qa@acme.test", "correct horse battery")

	res, body := me.post("/ui/account/tokens", url.Values{"name": {"laptop"}})
	tok := patRE.FindString(body)
	if res.StatusCode != 200 || tok == "" || !strings.Contains(body, "you won't see it again") {
		t.Fatalf("make a token: %d\n%s", res.StatusCode, mainOf(body))
	}
	if code := s.apiAs(t, tok, "GET", "/products/", ""); code != 200 {
		t.Fatalf("the new token: %d", code)
	}
	_, page := me.get("/ui/account")
	if strings.Contains(page, tok) || !strings.Contains(page, "laptop") {
		t.Fatalf("the account page shows the token again, or not its name:\n%s", mainOf(page))
	}
	tokenID := tok[4:20]
	rowID := regexp.MustCompile(`/ui/account/tokens/([0-9a-f-]{36})/revoke`).FindStringSubmatch(page)
	if rowID == nil {
		t.Fatalf("no revoke form:\n%s", mainOf(page))
	}
	if res, _ := me.post("/ui/account/tokens/"+rowID[1]+"/revoke", nil); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke: %d", res.StatusCode)
	}
	if code := s.apiAs(t, tok, "GET", "/products/", ""); code != http.StatusUnauthorized {
		t.Errorf("the revoked token: %d", code)
	}
	if _, page := me.get("/ui/account"); !strings.Contains(page, "Revoked token "+tokenID) || !strings.Contains(page, "revoked") {
		t.Errorf("after revoking:\n%s", mainOf(page))
	}

	for _, c := range []struct {
		old, new, confirm string
		status            int
		says              string
	}{
		{"not my password", "a brand new password", "a brand new password", 403, "The current password is wrong"},
		{"correct horse battery", "a brand new password", "a different one", 400, "confirmation differ"},
		{"correct horse battery", "short", "short", 400, "at least 12 characters"},
	} {
		res, body := me.post("/ui/account/password", url.Values{"old_password": {c.old}, "new_password": {c.new}, "confirm_password": {c.confirm}})
		if res.StatusCode != c.status || !strings.Contains(body, c.says) {
			t.Errorf("change %q → %q: %d, want %d saying %q", c.old, c.new, res.StatusCode, c.status, c.says)
		}
	}
	res, _ = me.post("/ui/account/password", url.Values{"old_password": {"correct horse battery"}, "new_password": {"a brand new password"},
		"confirm_password": {"a brand new password"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", res.StatusCode)
	}
	if me.signedOut() {
		t.Error("the session that changed the password was signed out")
	}
	if !other.signedOut() {
		t.Error("another session survived the password change")
	}
	s.signedIn(t, "qa@acme.test", "a brand new password")
}

// TestConsoleResetLink: an admin issues a reset link on the person's page
// (no SMTP: shown once), the person sets a password with it, once.
func TestConsoleResetLink(t *testing.T) {
	t.Parallel()
	s := start(t)
	admin, _ := s.cheapSession(t, "admin@acme.test", "correct horse battery", "owner")
	_, u := s.cheapSession(t, "new@acme.test", "forgotten password", "viewer")
	res, body := admin.post("/ui/settings/users/"+u.ID+"/reset-link", nil)
	link := regexp.MustCompile(`value="(http://[^"]+/ui/reset-password\?token=rst_[^"]+)"`).FindStringSubmatch(body)
	if res.StatusCode != 200 || link == nil {
		t.Fatalf("issue: %d\n%s", res.StatusCode, mainOf(body))
	}
	target := strings.ReplaceAll(link[1], "&amp;", "&")
	c := client(t)
	res, page := get(t, c, target)
	tok, _ := url.Parse(target)
	if res.StatusCode != 200 || !strings.Contains(page, `name="token" value="`+tok.Query().Get("token")+`"`) {
		t.Fatalf("the link's page: %d\n%s", res.StatusCode, page)
	}
	form := url.Values{"token": {tok.Query().Get("token")}, "new_password": {"my own new password"}, "confirm_password": {"my own new password"}}
	res, _ = postForm(t, c, s.url+"/ui/reset-password", form)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/sign-in" {
		t.Fatalf("set: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	s.signedIn(t, "new@acme.test", "my own new password")
	form.Set("new_password", "someone else's try")
	form.Set("confirm_password", "someone else's try")
	res, page = postForm(t, client(t), s.url+"/ui/reset-password", form)
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(page, "This password reset link is not valid") {
		t.Errorf("the second use: %d\n%s", res.StatusCode, page)
	}
}
