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
