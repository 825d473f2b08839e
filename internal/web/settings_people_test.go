package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
)

var newKeyRE = regexp.MustCompile(`id="new-key" readonly value="(sk_[^"]+)"`)

// callWithKey calls the API with a key, as a pipeline would (curl -H "Authorization: Bearer …").
func callWithKey(t *testing.T, base, key, path string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", base+path, nil)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

func TestSettingsAPIKeys(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	res, body := ss.get("/ui/settings/api-keys")
	wantPage(t, "key list", res, body, http.StatusOK, "<code>k1</code>", "ci", "✓</span> active", "Make key", `aria-current="page">API keys`)

	res, body = ss.post("/ui/settings/api-keys", url.Values{"name": {"   "}})
	wantPage(t, "no name", res, body, http.StatusBadRequest, "Field &#39;name&#39; is required", `role="alert"`)
	res, body = ss.post("/ui/settings/api-keys", url.Values{"name": {strings.Repeat("x", 201)}})
	wantPage(t, "long name", res, body, http.StatusBadRequest, "too long", `value="`+strings.Repeat("x", 201)+`"`)

	res, body = ss.post("/ui/settings/api-keys", url.Values{"name": {"deploy bot"}})
	wantPage(t, "created", res, body, http.StatusOK, "New key k2: deploy bot", "you won't see it again", "<code>k2</code>")
	m := newKeyRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no key on the page:\n%s", mainOf(body))
	}
	key := m[1]
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("the page with the key may be cached: %q", res.Header.Get("Cache-Control"))
	}
	for _, ck := range res.Cookies() {
		if strings.Contains(ck.Value, key[len(key)-10:]) {
			t.Errorf("cookie %s carries the key", ck.Name)
		}
	}
	if code := callWithKey(t, s.url, key, "/products/"); code != http.StatusOK {
		t.Fatalf("the new key answers %d", code)
	}
	// Shown once: the list never has it again.
	if _, body := ss.get("/ui/settings/api-keys"); strings.Contains(body, key[len(key)-12:]) || !strings.Contains(body, "deploy bot") {
		t.Errorf("the key list:\n%s", mainOf(body))
	}

	res, _ = ss.post("/ui/settings/api-keys/k2/revoke", nil)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/settings/api-keys" {
		t.Fatalf("revoke: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, body = ss.get("/ui/settings/api-keys")
	wantPage(t, "after revoke", res, body, http.StatusOK, "Revoked k2 (deploy bot)", "✗</span> revoked")
	if code := callWithKey(t, s.url, key, "/products/"); code != http.StatusUnauthorized {
		t.Errorf("the revoked key answers %d", code)
	}
	res, body = ss.post("/ui/settings/api-keys/k9/revoke", nil)
	wantPage(t, "revoke unknown", res, body, http.StatusNotFound, "No API key k9")
}

func TestSettingsPeoplePagesNeedAnAdmin(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "vic@acme.test", "viewer", "release_manager")
	for _, tt := range []struct{ path, says string }{
		{"/ui/settings/api-keys", "Listing API keys needs one of the roles owner, admin"},
		{"/ui/settings/users", "Listing users needs one of the roles owner, admin"},
	} {
		res, body := ss.get(tt.path)
		wantPage(t, tt.path, res, body, http.StatusForbidden, tt.says, `aria-label="Settings"`)
		if strings.Contains(body, "<form class=\"stack\"") {
			t.Errorf("%s shows a form to someone who may not use it", tt.path)
		}
	}
	res, body := ss.post("/ui/settings/api-keys", url.Values{"name": {"sneaky"}})
	wantPage(t, "create key", res, body, http.StatusForbidden, "Creating API keys needs one of the roles owner, admin")
	res, body = ss.post("/ui/settings/users", url.Values{"email": {"x@acme.test"}, "name": {"X"}, "roles": {"owner"}})
	wantPage(t, "add user", res, body, http.StatusForbidden, "Adding users needs one of the roles owner, admin")
	// A release manager manages rules, though.
	res, body = ss.get("/ui/settings/rules")
	wantPage(t, "rules", res, body, http.StatusOK, "Add rule")
}

func TestSettingsUsers(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	res, body := ss.get("/ui/settings/users")
	wantPage(t, "user list", res, body, http.StatusOK, "ann@acme.test", "(you)", "<li>owner</li>", `value="viewer" checked`)

	res, body = ss.post("/ui/settings/users", url.Values{"email": {"Quinn@Acme.test"}, "name": {"Quinn"}, "roles": {"qa", "sre"}, "password": {"short"}})
	wantPage(t, "short password", res, body, http.StatusBadRequest, "at least 12 characters", `value="Quinn@Acme.test"`,
		`value="qa" checked`, `value="sre" checked`, "Enter the password again")
	if strings.Contains(body, `value="short"`) {
		t.Error("the refused page shows the password")
	}
	res, body = ss.post("/ui/settings/users", url.Values{"email": {"quinn@acme.test"}, "name": {"Quinn"}, "roles": {"qa"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", res.StatusCode, mainOf(body))
	}
	res, body = ss.post("/ui/settings/users", url.Values{"email": {"quinn@acme.test"}, "name": {"Q2"}, "roles": {"qa"}})
	wantPage(t, "duplicate", res, body, http.StatusConflict, "A user with email quinn@acme.test already exists")
	res, body = ss.post("/ui/settings/users", url.Values{"email": {"r@acme.test"}, "name": {"R"}})
	wantPage(t, "no roles", res, body, http.StatusBadRequest, "Field &#39;roles&#39; must list at least one role")

	users, err := s.app.Store.UserList(t.Context(), s.org.ID)
	if err != nil {
		t.Fatal(err)
	}
	var quinn, me *shiplog.User
	for _, u := range users {
		switch u.Email {
		case "quinn@acme.test":
			quinn = u
		case "ann@acme.test":
			me = u
		}
	}
	res, body = ss.get("/ui/settings/users/" + quinn.ID + "/edit")
	wantPage(t, "edit form", res, body, http.StatusOK, "Edit quinn@acme.test", `value="qa" checked`, `name="roles_was" value="qa"`)

	res, _ = ss.post("/ui/settings/users/"+quinn.ID, url.Values{"name": {"Quinn Q"}, "roles": {"qa", "security"}, "roles_was": {"qa"}, "email": {"quinn@acme.test"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", res.StatusCode)
	}
	_, body = ss.get("/ui/settings/users")
	if !strings.Contains(body, "Saved quinn@acme.test: qa, security.") || !strings.Contains(body, "Quinn Q") {
		t.Errorf("after edit:\n%s", mainOf(body))
	}
	// People may rename themselves (their roles are not sent when unchanged),
	// but not change their own roles: the API says so, the form keeps the input.
	res, body = ss.post("/ui/settings/users/"+me.ID, url.Values{"name": {"Ann A"}, "roles": {"owner"}, "roles_was": {"owner"}, "email": {"ann@acme.test"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("rename myself: %d\n%s", res.StatusCode, mainOf(body))
	}
	res, body = ss.post("/ui/settings/users/"+me.ID, url.Values{"name": {"Ann B"}, "roles": {"viewer"}, "roles_was": {"owner"}, "email": {"ann@acme.test"}})
	wantPage(t, "own roles", res, body, http.StatusForbidden, "You cannot change your own roles", `value="Ann B"`, `value="viewer" checked`)
	res, body = ss.post("/ui/settings/users/"+quinn.ID, url.Values{"name": {"Quinn"}, "roles_was": {"qa,security"}, "email": {"quinn@acme.test"}})
	wantPage(t, "no roles left", res, body, http.StatusBadRequest, "must list at least one role")
	res, body = ss.get("/ui/settings/users/0190a0b0-0000-7000-8000-000000000001/edit")
	wantPage(t, "unknown user", res, body, http.StatusNotFound, "No such user")
}
