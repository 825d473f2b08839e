package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// Bounds of the version page. The API has no "deployment requests of this
// version" filter, so the page reads the newest drScanLimit requests and
// keeps those naming the version, and says so when there may be older ones.
const (
	versionDeployLimit = 500 // deployments shown per version (the API's page maximum)
	versionBuildLimit  = 20
	drScanLimit        = 200
	versionScanPage    = 500
	versionScanPages   = 4 // pages read to find a version by name
)

// envRuns is one environment's deployments of a version, newest first.
type envRuns struct {
	Name        string
	Type        shiplog.EnvType
	Deployments []*shiplog.Deployment
}

// versionForm is the sign-off form as typed.
type versionForm struct {
	ApprovalType, Environment, Comments string
}

type versionData struct {
	Version       *shiplog.Version
	Approvals     []*shiplog.VersionApproval
	SCM           *scm
	Envs          []envRuns
	AllRuns       string // link to the full history when the page shows only the newest
	Builds        []*shiplog.Build
	DRs           []*shiplog.DeploymentRequest
	DRScan        int  // how many of the newest requests were searched
	DRMore        bool // older requests exist and were not searched
	ApprovalTypes []string
	EnvNames      []string
	Form          versionForm
	NewDR         string // the new-request form with this version filled in
	CanRequest    bool
}

func (s *Server) versionPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := s.version(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "version", v, d)
}

// version loads everything the version page shows.
func (s *Server) version(r *http.Request, v *view) (*versionData, error) {
	v.Nav = "deployments"
	var vd apiv1.VersionDetail
	if err := s.call(r, v, http.MethodGet, "/versions/"+url.PathEscape(r.PathValue("id")), nil, &vd); err != nil {
		return nil, err
	}
	ver := vd.Version
	d := &versionData{Version: ver, Approvals: vd.Approvals, SCM: scmLinks(ver.ScmRepository, ver.ScmSHA, ver.ScmBranch),
		DRScan: drScanLimit, CanRequest: v.May(http.MethodPost, "/deployment-requests/"),
		NewDR: apiPath("/ui/deployment-requests/new", url.Values{"product": {ver.ProductName}, "version": {ver.Version}})}
	q := url.Values{"product_name": {ver.ProductName}, "version": {ver.Version}}

	q.Set("limit", strconv.Itoa(versionDeployLimit))
	var deps apiv1.List[*shiplog.Deployment]
	if err := s.call(r, v, http.MethodGet, apiPath("/deployments/", q), nil, &deps); err != nil {
		return nil, err
	}
	d.Envs = byEnvironment(deps.Items)
	if deps.NextCursor != nil {
		d.AllRuns = runFilter{Product: ver.ProductName, Version: ver.Version}.link("/ui/deployments", "")
	}
	for _, e := range d.Envs {
		d.EnvNames = append(d.EnvNames, e.Name)
	}

	q.Set("limit", strconv.Itoa(versionBuildLimit))
	var builds apiv1.List[*shiplog.Build]
	if err := s.call(r, v, http.MethodGet, apiPath("/builds/", q), nil, &builds); err != nil {
		return nil, err
	}
	d.Builds = builds.Items

	var drs apiv1.List[*shiplog.DeploymentRequest]
	if err := s.call(r, v, http.MethodGet, "/deployment-requests/?limit="+strconv.Itoa(drScanLimit), nil, &drs); err != nil {
		return nil, err
	}
	d.DRMore = drs.NextCursor != nil
	for _, dr := range drs.Items {
		if slices.ContainsFunc(dr.Items, func(it shiplog.DRItem) bool {
			return it.ProductName == ver.ProductName && it.Version == ver.Version
		}) {
			d.DRs = append(d.DRs, dr)
		}
	}
	if v.User != nil {
		for _, t := range shiplog.ApprovalTypes {
			if _, ok := shiplog.VersionApprovingRole(v.User.Roles, t); ok {
				d.ApprovalTypes = append(d.ApprovalTypes, t)
			}
		}
	}
	return d, nil
}

// byEnvironment groups deployments (newest first) by environment, the
// environments in the order code travels, as on the home page.
func byEnvironment(deps []*shiplog.Deployment) []envRuns {
	var out []envRuns
	at := map[string]int{}
	for _, dep := range deps {
		i, ok := at[dep.EnvironmentName]
		if !ok {
			i = len(out)
			at[dep.EnvironmentName] = i
			out = append(out, envRuns{Name: dep.EnvironmentName, Type: dep.EnvironmentType})
		}
		out[i].Deployments = append(out[i].Deployments, dep)
	}
	slices.SortStableFunc(out, func(a, b envRuns) int {
		return cmp.Or(cmp.Compare(rank(a.Type), rank(b.Type)), strings.Compare(a.Name, b.Name))
	})
	return out
}

// versionApprove signs the version off through the API; a refusal shows
// the page again with the API's reason and the form as typed.
func (s *Server) versionApprove(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	f := versionForm{ApprovalType: r.PostFormValue("approval_type"), Environment: strings.TrimSpace(r.PostFormValue("environment")),
		Comments: strings.TrimSpace(r.PostFormValue("comments"))}
	d, err := s.version(r, v)
	if err != nil {
		return err
	}
	in := apiv1.VersionApprovalInput{ApprovalType: f.ApprovalType}
	if f.Environment != "" {
		in.EnvironmentName = &f.Environment
	}
	if f.Comments != "" {
		in.Comments = &f.Comments
	}
	path := "/versions/" + url.PathEscape(d.Version.ProductName) + "/" + url.PathEscape(d.Version.Version) + "/approvals"
	err = s.call(r, v, http.MethodPost, path, in, nil)
	if ae, ok := refused(err); ok {
		v.Error, d.Form = ae.Detail, f
		return s.render(w, r, ae.Status, "version", v, d)
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/versions/"+url.PathEscape(d.Version.ID),
		"Signed off "+f.ApprovalType+" on "+d.Version.ProductName+" "+d.Version.Version+".")
}

// versionLookup finds a version by product and version name (what
// deployment request items carry) and sends the browser to its page.
func (s *Server) versionLookup(w http.ResponseWriter, r *http.Request, v *view) error {
	product, version := strings.TrimSpace(r.URL.Query().Get("product")), strings.TrimSpace(r.URL.Query().Get("version"))
	if product == "" || version == "" {
		return shiplog.Errorf(shiplog.EINVALID, "Name the version to open with ?product= and ?version=")
	}
	q := url.Values{"product_name": {product}, "limit": {strconv.Itoa(versionScanPage)}}
	for range versionScanPages {
		var page apiv1.List[*shiplog.Version]
		if err := s.call(r, v, http.MethodGet, apiPath("/versions/", q), nil, &page); err != nil {
			return err
		}
		for _, ver := range page.Items {
			if ver.Version == version {
				http.Redirect(w, r, "/ui/versions/"+url.PathEscape(ver.ID), http.StatusSeeOther)
				return nil
			}
		}
		if page.NextCursor == nil {
			return notFound("No version " + version + " of " + product + " has been built or deployed yet")
		}
		q.Set("cursor", *page.NextCursor)
	}
	return notFound(fmt.Sprintf("Version %s of %s is not among its newest %d versions", version, product, versionScanPage*versionScanPages))
}
