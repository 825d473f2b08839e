package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
)

// FuzzManageLinks: whatever a crafted "View in Versioner" link carries, the
// answer is a 303 to a console path built from a well-formed id, or a 404;
// never a redirect elsewhere, never the input echoed.
func FuzzManageLinks(f *testing.F) {
	for _, s := range []string{"deployments?view=01a24f07-898f-72ad-8725-fb470d26c7c0", "versions?view=", "catalog?tab=versions&view=x",
		"catalog?tab=products", "deployments?view=//evil.example.com", "deployments?view=%2F%2Fevil", "versions?view=\x00"} {
		f.Add(s)
	}
	mux := http.NewServeMux()
	manageLinks(mux)
	f.Fuzz(func(t *testing.T, rest string) {
		target := "/manage/" + rest
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := httptest.NewRequest(http.MethodGet, "http://shiplog.test/", nil)
		req.URL, req.RequestURI = u, target
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		switch rec.Code {
		case http.StatusSeeOther:
			id, ok := strings.CutPrefix(loc, "/ui/deployments/")
			if !ok {
				id, ok = strings.CutPrefix(loc, "/ui/versions/")
			}
			if ok && !shiplog.ValidID(id) {
				t.Fatalf("%q redirects to %q", target, loc)
			}
			if !ok && loc != "/ui/" && loc != "/ui/deployments" {
				t.Fatalf("%q redirects to %q", target, loc)
			}
		case http.StatusNotFound:
			body := rec.Body.String()
			if body != `{"detail":"Query parameter 'view' is not a deployment id"}` &&
				body != `{"detail":"Query parameter 'view' is not a version id"}` && !strings.HasPrefix(body, "404 page not found") {
				t.Fatalf("%q answers %s", target, body)
			}
		default:
			// Paths that are not the three links (the mux's own 404/405/301).
		}
	})
}
