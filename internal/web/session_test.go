package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// client is a cookie-keeping HTTP client that does not follow redirects,
// so tests see where the console sends them.
func client(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func postForm(t *testing.T, c *http.Client, u string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := c.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// signInHTTP signs c in and returns the session's CSRF token.
func (s *server) signInHTTP(t *testing.T, c *http.Client, email, password string) string {
	t.Helper()
	res, body := postForm(t, c, s.url+"/ui/sign-in", url.Values{"org": {"acme"}, "email": {email}, "password": {password}, "next": {"/ui/"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in answered %d: %s", res.StatusCode, body)
	}
	_, page := get(t, c, s.url+"/ui/")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the home page:\n%s", page)
	}
	return m[1]
}

func TestSignInSessionAndCSRF(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	c := client(t)

	res, _ := get(t, c, s.url+"/ui/deployments?status=failed")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/sign-in?next=%2Fui%2Fdeployments%3Fstatus%3Dfailed" {
		t.Errorf("signed out: %d to %q, want 303 to the sign-in page with next", res.StatusCode, res.Header.Get("Location"))
	}
	for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
		if res.Header.Get(h) == "" {
			t.Errorf("header %s missing", h)
		}
	}

	// The redirect after sign-in stays inside the console.
	res, _ = postForm(t, c, s.url+"/ui/sign-in", url.Values{"org": {"acme"}, "email": {"ANN@acme.test"},
		"password": {"correct horse battery"}, "next": {"//evil.example/x"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/" {
		t.Fatalf("sign-in: %d to %q, want 303 to /ui/", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "shiplog_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Lax", session)
	}
	res, body := get(t, c, s.url+"/ui/")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "What is deployed where") {
		t.Fatalf("home after sign-in: %d", res.StatusCode)
	}
	token := csrfRE.FindStringSubmatch(body)[1]

	// A form post without the session's token is refused and changes nothing.
	res, body = postForm(t, c, s.url+"/ui/sign-out", url.Values{"csrf_token": {"forged"}})
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "did not come from this console") {
		t.Errorf("sign-out with a forged token: %d", res.StatusCode)
	}
	if res, _ := get(t, c, s.url+"/ui/"); res.StatusCode != http.StatusOK {
		t.Errorf("still signed in after the forged post: %d", res.StatusCode)
	}
	res, _ = postForm(t, c, s.url+"/ui/sign-out", url.Values{"csrf_token": {token}})
	if res.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", res.StatusCode)
	}
	// The old cookie is dead in the database, not just in this browser.
	c2 := client(t)
	u, _ := url.Parse(s.url + "/ui/")
	c2.Jar.SetCookies(u, []*http.Cookie{{Name: "shiplog_session", Value: session.Value, Path: "/ui/"}})
	if res, _ := get(t, c2, s.url+"/ui/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("a signed-out session's cookie still works: %d", res.StatusCode)
	}
}

func TestSignInThrottled(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	c := client(t)
	wrong := url.Values{"org": {"acme"}, "email": {"ann@acme.test"}, "password": {"guess"}}
	for i := range 5 {
		if res, _ := postForm(t, c, s.url+"/ui/sign-in", wrong); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d answered %d, want 401", i+1, res.StatusCode)
		}
	}
	// Now even the right password waits: the account is throttled.
	right := url.Values{"org": {"acme"}, "email": {"ann@acme.test"}, "password": {"correct horse battery"}}
	res, body := postForm(t, c, s.url+"/ui/sign-in", right)
	if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || !strings.Contains(body, "Too many failed sign-ins") {
		t.Errorf("sixth try: %d Retry-After=%q", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Unknown users and users without a password fail the same way.
	s.user("bob@acme.test", "", "viewer")
	for _, email := range []string{"nobody@acme.test", "bob@acme.test"} {
		res, body := postForm(t, c, s.url+"/ui/sign-in", url.Values{"org": {"acme"}, "email": {email}, "password": {""}})
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter the organization") {
			t.Errorf("%s with an empty password: %d", email, res.StatusCode)
		}
		res, body = postForm(t, c, s.url+"/ui/sign-in", url.Values{"org": {"acme"}, "email": {email}, "password": {"x"}})
		if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "email or password is wrong") {
			t.Errorf("%s: %d", email, res.StatusCode)
		}
	}
}

func TestBrowserLinksLandInTheConsole(t *testing.T) {
	s := start(t)
	c := client(t)
	res, _ := get(t, c, s.url+"/deployment-requests/0190a0b0-0000-7000-8000-000000000001", "Accept", "text/html,application/xhtml+xml")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/deployment-requests/0190a0b0-0000-7000-8000-000000000001" {
		t.Errorf("email link in a browser: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	// API clients keep the API's answer.
	res, body := get(t, c, s.url+"/deployment-requests/0190a0b0-0000-7000-8000-000000000001", "Accept", "application/json")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, `"detail"`) {
		t.Errorf("API client: %d %s", res.StatusCode, body)
	}
	res, _ = get(t, c, s.url+"/", "Accept", "text/html")
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/" {
		t.Errorf("/ in a browser: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	res, _ = get(t, c, s.url+"/ui/static/htmx-2.0.11.min.js")
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("static file: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}
