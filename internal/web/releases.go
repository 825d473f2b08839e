package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// The releases area: deployment and build history (releases_runs.go),
// versions (releases_versions.go) and deployment requests (releases_drs.go).
// Every read and write goes through the REST API as the signed-in user.
func (s *Server) releaseRoutes(page func(pattern string, h pageFunc)) {
	page("GET /ui/deployments", s.deploymentsPage)
	page("GET /ui/deployments/{id}", s.deploymentPage)
	page("GET /ui/deployments/{id}/raw", s.rawJSON("deployments"))
	page("POST /ui/deployments/{id}/abort", s.deploymentAbort)
	page("GET /ui/builds", s.buildsPage)
	page("GET /ui/builds/{id}", s.buildPage)
	page("GET /ui/builds/{id}/raw", s.rawJSON("builds"))
	page("GET /ui/versions", s.versionLookup)
	page("GET /ui/versions/{id}", s.versionPage)
	page("POST /ui/versions/{id}/approvals", s.versionApprove)
	page("GET /ui/deployment-requests", s.drListPage)
	page("GET /ui/deployment-requests/new", s.drNewPage)
	page("POST /ui/deployment-requests/new", s.drCreate)
	page("GET /ui/deployment-requests/{id}", s.drPage)
	page("POST /ui/deployment-requests/{id}/slots/{slot}", s.drDecide)
	page("POST /ui/deployment-requests/{id}/{action}", s.drTransition)
}

// link is a URL that came from outside (CI events, DR links). Href is set
// only when the URL is http(s) with a host, so nothing else (javascript:,
// data:, relative paths) ever reaches an href; otherwise the text is shown
// as plain text.
type link struct {
	Text, Href string
}

// webURL returns raw as an http(s) URL to link to, without any userinfo
// (credentials pasted into a repository URL must not be handed around).
func webURL(raw string) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", false
	}
	u.User = nil
	return u.String(), true
}

func linkOf(raw string) link {
	raw = strings.TrimSpace(raw)
	if href, ok := webURL(raw); ok {
		return link{Text: href, Href: href}
	}
	return link{Text: raw}
}

func linkPtr(p *string) *link {
	if p == nil || strings.TrimSpace(*p) == "" {
		return nil
	}
	l := linkOf(*p)
	return &l
}

// scm is a run's source: the repository, commit and branch, linked where
// the host's URL layout is known.
type scm struct {
	Repository, Commit, Branch *link
}

var hexSHA = regexp.MustCompile(`^[0-9a-fA-F]{7,64}$`)

// scmLinks builds commit and branch links for the hosts whose layout we
// know (GitHub, GitLab, Bitbucket); for any other http(s) host only the
// repository itself is linked, and sha and branch are shown as text.
func scmLinks(repo, sha, branch *string) *scm {
	out := &scm{Repository: linkPtr(repo)}
	if sha != nil && *sha != "" {
		out.Commit = &link{Text: *sha}
	}
	if branch != nil && *branch != "" {
		out.Branch = &link{Text: *branch}
	}
	if out.Repository == nil && out.Commit == nil && out.Branch == nil {
		return nil
	}
	if out.Repository == nil || out.Repository.Href == "" {
		return out
	}
	base := strings.TrimSuffix(strings.TrimRight(out.Repository.Href, "/"), ".git")
	u, _ := url.Parse(base)
	host := strings.ToLower(u.Hostname())
	var commitPath, branchPath string
	switch {
	case host == "github.com" || strings.HasPrefix(host, "github."):
		commitPath, branchPath = "/commit/", "/tree/"
	case host == "gitlab.com" || strings.HasPrefix(host, "gitlab."):
		commitPath, branchPath = "/-/commit/", "/-/tree/"
	case host == "bitbucket.org":
		commitPath, branchPath = "/commits/", "/branch/"
	default:
		return out
	}
	if out.Commit != nil && hexSHA.MatchString(out.Commit.Text) {
		out.Commit.Href = base + commitPath + out.Commit.Text
	}
	if out.Branch != nil && !strings.Contains(out.Branch.Text, "..") {
		segs := strings.Split(strings.TrimPrefix(out.Branch.Text, "refs/heads/"), "/")
		for i, sg := range segs {
			segs[i] = url.PathEscape(sg)
		}
		out.Branch.Href = base + branchPath + strings.Join(segs, "/")
	}
	return out
}

// apiPath joins an API path with a query.
func apiPath(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// refused reports whether err is the API refusing the call (as opposed to
// the console failing), so a form can be shown again with the reason.
func refused(err error) (*APIError, bool) {
	var ae *APIError
	if errors.As(err, &ae) && ae.Status < 500 {
		return ae, true
	}
	return nil, false
}

// names lists the org's products or environments for a filter's
// suggestions (a <datalist>); a failure only loses the suggestions.
func (s *Server) names(r *http.Request, v *view, path string) []string {
	var out struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := s.call(r, v, http.MethodGet, path+"?limit=500", nil, &out); err != nil {
		s.Log.WarnContext(r.Context(), "console suggestions", "path", path, "err", err)
		return nil
	}
	names := make([]string, 0, len(out.Items))
	for _, it := range out.Items {
		names = append(names, it.Name)
	}
	return names
}
