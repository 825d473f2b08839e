package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/shiplog/shiplog"
)

// Versioner's CLI and GitHub Action end their job summaries with a "View in
// Versioner" link into Versioner's own UI:
//
//	/manage/deployments?view=<deployment id>
//	/manage/versions?view=<version id>              (the CLI, after a build)
//	/manage/catalog?tab=versions&view=<version id>  (the Action, after a build)
//
// Pointed at shiplog they land here and are sent on (303) to the console
// page of the same record. Only a well-formed id is put into the target, so
// the redirect cannot be steered anywhere else.
func manageLinks(mux *http.ServeMux) {
	mux.HandleFunc("GET /manage/deployments", manageRedirect("/ui/deployments", "/ui/deployments/", "deployment"))
	mux.HandleFunc("GET /manage/versions", manageRedirect("/ui/", "/ui/versions/", "version"))
	mux.HandleFunc("GET /manage/catalog", func(w http.ResponseWriter, r *http.Request) {
		if tab := r.URL.Query().Get("tab"); tab != "" && tab != "versions" {
			// The catalogue's other tabs (products, environments) have no
			// console page of their own; the home page's matrix is the catalogue.
			http.Redirect(w, r, "/ui/", http.StatusSeeOther)
			return
		}
		manageRedirect("/ui/", "/ui/versions/", "version")(w, r)
	})
}

// manageRedirect sends ?view=<id> to detail+id and a link without a view to
// list; an id that is not one is a 404 naming the problem.
func manageRedirect(list, detail, what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := strings.TrimSpace(r.URL.Query().Get("view"))
		if id == "" {
			http.Redirect(w, r, list, http.StatusSeeOther)
			return
		}
		if !shiplog.ValidID(id) {
			// Not echoed: it came from a link anyone can craft.
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"detail":"Query parameter 'view' is not a ` + what + ` id"}`))
			return
		}
		http.Redirect(w, r, detail+url.PathEscape(strings.ToLower(id)), http.StatusSeeOther)
	}
}
