package web

import (
	"net/http"
	"strings"
)

// Mount puts the console beside the API: /ui/ is the console, / sends a
// browser to it, and a browser opening an API link to a deployment request
// (the link in approval emails) lands on the request's console page, as do
// the links Versioner's clients print (/manage/…, manage.go). Everything
// else is the API's.
func (s *Server) Mount(api http.Handler) http.Handler {
	console := s.Handler()
	root := http.NewServeMux()
	root.Handle("/ui/", console)
	root.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if browser(r) {
			http.Redirect(w, r, "/ui/", http.StatusSeeOther)
			return
		}
		api.ServeHTTP(w, r)
	})
	root.HandleFunc("GET /deployment-requests/{id}", func(w http.ResponseWriter, r *http.Request) {
		if browser(r) {
			http.Redirect(w, r, "/ui/deployment-requests/"+r.PathValue("id"), http.StatusSeeOther)
			return
		}
		api.ServeHTTP(w, r)
	})
	manageLinks(root) // manage.go: Versioner's "View in Versioner" links
	root.Handle("/", api)
	return root
}

// browser tells a person's browser from an API client: no credentials and
// a preference for HTML.
func browser(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}
