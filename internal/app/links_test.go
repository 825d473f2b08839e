package app_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Issue 12: the "View in Versioner" links the real CLI and Action print
// (…/manage/deployments?view=<id>, …/manage/versions?view=<version id>,
// …/manage/catalog?tab=versions&view=<version id>) land on the console page
// of the same record.
func TestManageLinksRedirect(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		d := mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success")))
		b := mustOK(t, s.post("/build-events/", key, build("api", "1.1", "completed")))
		depID, verID := d["id"].(string), b["version_id"].(string)
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string) (int, string, string) {
			t.Helper()
			req, err := http.NewRequest(http.MethodGet, s.url+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept", "text/html") // a browser; the links carry no credentials
			res, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return res.StatusCode, res.Header.Get("Location"), string(body)
		}
		for _, tt := range []struct{ path, want string }{
			{"/manage/deployments?view=" + depID, "/ui/deployments/" + depID},
			{"/manage/deployments?view=" + strings.ToUpper(depID), "/ui/deployments/" + depID},
			{"/manage/versions?view=" + verID, "/ui/versions/" + verID},
			{"/manage/catalog?tab=versions&view=" + verID, "/ui/versions/" + verID},
			{"/manage/catalog?view=" + verID, "/ui/versions/" + verID},
			{"/manage/catalog?tab=products", "/ui/"},
			{"/manage/deployments", "/ui/deployments"},
			{"/manage/versions", "/ui/"},
		} {
			status, loc, body := get(tt.path)
			if status != http.StatusSeeOther || loc != tt.want {
				t.Errorf("GET %s: %d to %q, want 303 to %q (%s)", tt.path, status, loc, tt.want, body)
			}
		}
		// A crafted view never steers the redirect elsewhere, nor is echoed.
		for _, view := range []string{"//evil.example.com", "https://evil.example.com/x", "../../api-keys", "x\x00y",
			strings.Repeat("a", 1<<16), "\xff\xfe"} {
			path := "/manage/deployments?view=" + url.QueryEscape(view)
			status, loc, body := get(path)
			if status != http.StatusNotFound || loc != "" || !strings.Contains(body, "is not a deployment id") || strings.Contains(body, "evil") {
				t.Errorf("GET %.60s: %d %q %.200s", path, status, loc, body)
			}
		}
		// The target is the console: without a session it asks to sign in.
		status, loc, _ := get("/ui/deployments/" + depID)
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/sign-in") {
			t.Errorf("console page without a session: %d %q", status, loc)
		}
	})
}

// Issue 14, "Links in notifications are dead in a browser": Slack's "View
// in shiplog", the email link and the webhook's source_url point to
// /deployments/{id} or /builds/{id}, which answered a browser 401. A
// browser is now sent to the record's console page (and to sign-in first,
// then back to it); API clients keep their JSON.
func TestMessageLinksOpenInBrowser(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		admin := s.admin(key)
		rcv := newReceiver(t)
		ch := channel(t, s, admin, map[string]any{"kind": "webhook", "name": "all", "url": rcv.URL,
			"events": []string{"deployment.completed", "build.completed"}})
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success")))
		b := mustOK(t, s.post("/build-events/", key, build("api", "1.1", "completed")))
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(path string, hdr ...string) (int, string, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			res, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			return res.StatusCode, res.Header.Get("Location"), string(body)
		}
		html := []string{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}
		var links []string
		for range 2 {
			p := payload(t, rcv.next(t))
			u, err := url.Parse(p["source_url"].(string))
			if err != nil || u.Path == "" {
				t.Fatalf("source_url %v", p["source_url"])
			}
			links = append(links, u.Path)
		}
		links = append(links, "/versions/"+b["version_id"].(string), "/notification-channels/"+ch["id"].(string))
		for _, path := range links {
			status, loc, body := get(path, html...)
			if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/ui/") {
				t.Errorf("browser GET %s: %d %q %.200s", path, status, loc, body)
				continue
			}
			// The console page asks to sign in, and comes back after.
			status, signIn, _ := get(loc, html...)
			if status != http.StatusSeeOther || signIn != "/ui/sign-in?next="+url.QueryEscape(loc) {
				t.Errorf("console %s without a session: %d %q", loc, status, signIn)
			}
			// An API client keeps its JSON: with credentials, or without a
			// browser's Accept.
			if status, _, body := get(path, "Authorization", "Bearer "+admin, "Accept", "text/html"); status != 200 || !strings.HasPrefix(body, "{") {
				t.Errorf("API GET %s with a token: %d %.100s", path, status, body)
			}
			if status, _, body := get(path); status != 401 || !strings.Contains(body, `"detail"`) {
				t.Errorf("API GET %s without credentials: %d %.100s", path, status, body)
			}
		}
		// Only an id is put into the target.
		if status, loc, _ := get("/deployments/..%2F..%2Fevil", html...); status == http.StatusSeeOther {
			t.Errorf("a crafted id was redirected to %q", loc)
		}
	})
}
