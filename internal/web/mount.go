package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shiplog/shiplog"
)

// Mount puts the console beside the API: /ui/ is the console, / sends a
// browser to it, and a browser opening an API link to a record (the links
// in messages) lands on the record's console page, as do the links
// Versioner's clients print (/manage/…, manage.go). Everything else is the
// API's.
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
	// The links shiplog puts in messages (Slack's "View in shiplog", the
	// email's link, a webhook's source_url, approval and channel-disabled
	// emails) are API addresses, so API clients keep their JSON; a browser
	// opening one is sent to the console page of the same record (signing
	// in first, then back to it).
	for api2ui, page := range map[string]string{
		"/deployment-requests/{id}":   "/ui/deployment-requests/%s",
		"/deployments/{id}":           "/ui/deployments/%s",
		"/builds/{id}":                "/ui/builds/%s",
		"/versions/{id}":              "/ui/versions/%s",
		"/notification-channels/{id}": "/ui/settings/notifications/%s/edit",
	} {
		root.HandleFunc("GET "+api2ui, func(w http.ResponseWriter, r *http.Request) {
			if id := r.PathValue("id"); browser(r) && shiplog.ValidID(id) {
				http.Redirect(w, r, fmt.Sprintf(page, url.PathEscape(strings.ToLower(id))), http.StatusSeeOther)
				return
			}
			api.ServeHTTP(w, r)
		})
	}
	manageLinks(root) // manage.go: Versioner's "View in Versioner" links
	root.HandleFunc("GET /favicon.ico", favicon)
	root.Handle("/", api)
	return root
}

// browser tells a person's browser from an API client: no credentials and
// a preference for HTML.
func browser(r *http.Request) bool {
	return r.Header.Get("Authorization") == "" && strings.Contains(r.Header.Get("Accept"), "text/html")
}
