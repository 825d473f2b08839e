package web

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/rule"
)

// runPageSize is how many deployments or builds a history page shows.
const runPageSize = 50

// runFilter is a history page's filter, kept in the query string so a
// filtered view can be bookmarked and shared.
type runFilter struct {
	Product, Environment, Status, Version, Cursor string
}

func parseRunFilter(q url.Values) runFilter {
	get := func(k string) string { return strings.TrimSpace(q.Get(k)) }
	return runFilter{Product: get("product"), Environment: get("environment"), Status: get("status"),
		Version: get("version"), Cursor: get("cursor")}
}

// Any reports whether the filter narrows anything.
func (f runFilter) Any() bool {
	return f.Product != "" || f.Environment != "" || f.Status != "" || f.Version != ""
}

// api is the filter as the API's list query.
func (f runFilter) api() url.Values {
	// Newest first by when it happened, not by when it was reported:
	// backfilled history falls into place.
	q := url.Values{"limit": {strconv.Itoa(runPageSize)}, "order": {"time"}}
	for k, v := range map[string]string{"product_name": f.Product, "environment_name": f.Environment,
		"status": f.Status, "version": f.Version, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// link is the console page for this filter at cursor ("" is the newest page).
func (f runFilter) link(page, cursor string) string {
	q := url.Values{}
	for k, v := range map[string]string{"product": f.Product, "environment": f.Environment, "status": f.Status,
		"version": f.Version, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return apiPath(page, q)
}

type runsData struct {
	Filter      runFilter
	Deployments []*shiplog.Deployment
	Builds      []*shiplog.Build
	Next, Top   string // the older page; the newest page when paging
	Products    []string
	Envs        []string
	Statuses    []shiplog.Status
}

var runStatuses = []shiplog.Status{shiplog.StatusPending, shiplog.StatusStarted, shiplog.StatusCompleted,
	shiplog.StatusFailed, shiplog.StatusAborted}

func (s *Server) deploymentsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "deployments"
	d := runsData{Filter: parseRunFilter(r.URL.Query()), Statuses: runStatuses,
		Products: s.names(r, v, "/products/"), Envs: s.names(r, v, "/environments/")}
	var out apiv1.List[*shiplog.Deployment]
	err := s.call(r, v, http.MethodGet, apiPath("/deployments/", d.Filter.api()), nil, &out)
	d.Deployments = out.Items
	return s.runs(w, r, v, "deployments", d, out.NextCursor, err)
}

func (s *Server) buildsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "builds"
	d := runsData{Filter: parseRunFilter(r.URL.Query()), Statuses: runStatuses, Products: s.names(r, v, "/products/")}
	d.Filter.Environment = "" // builds have no environment
	var out apiv1.List[*shiplog.Build]
	err := s.call(r, v, http.MethodGet, apiPath("/builds/", d.Filter.api()), nil, &out)
	d.Builds = out.Items
	return s.runs(w, r, v, "builds", d, out.NextCursor, err)
}

// runs renders a history page: the list the API answered, or, when the API
// refused the filter (an unknown status, a stale cursor), its reason above
// the form as typed.
func (s *Server) runs(w http.ResponseWriter, r *http.Request, v *view, page string, d runsData, next *string, err error) error {
	status := http.StatusOK
	if ae, ok := refused(err); ok {
		v.Error, status = ae.Detail, ae.Status
	} else if err != nil {
		return err
	}
	if next != nil {
		d.Next = d.Filter.link("/ui/"+page, *next)
	}
	if d.Filter.Cursor != "" {
		d.Top = d.Filter.link("/ui/"+page, "")
	}
	return s.render(w, r, status, page, v, d)
}

// ruleResult is one line of extra_metadata.preflight_status.rules_evaluated.
type ruleResult struct {
	RuleName         string `json:"rule_name"`
	ErrorMessage     string `json:"error_message"`
	Status           string `json:"status"`            // the rule's mode: enabled, report_only
	EvaluationResult string `json:"evaluation_result"` // passed, failed
}

// preflight is a deployment's preflight verdict as the page shows it.
type preflight struct {
	Status   string // passed, failed, skipped
	Rules    []ruleResult
	Warnings int // report-only rules that failed
}

// preflightOf reads the verdict: the deployment's preflight_status, and the
// evaluated rules the server writes into extra_metadata when a report-only
// rule failed. Metadata is the pipeline's JSON too, so anything that does
// not have the expected shape is ignored rather than trusted. nil: the run
// was never judged (it was reported only once it had finished).
func preflightOf(status *string, meta json.RawMessage) *preflight {
	var p preflight
	if status != nil {
		p.Status = *status
	}
	var m struct {
		PS json.RawMessage `json:"preflight_status"`
	}
	if len(meta) > 0 && json.Unmarshal(meta, &m) == nil && len(m.PS) > 0 {
		var ps struct {
			Status string          `json:"status"`
			Rules  json.RawMessage `json:"rules_evaluated"`
		}
		if json.Unmarshal(m.PS, &ps) == nil {
			if p.Status == "" {
				p.Status = ps.Status
			}
			var rules []ruleResult
			if len(ps.Rules) > 0 && json.Unmarshal(ps.Rules, &rules) == nil {
				p.Rules = rules
			}
		}
	}
	for _, r := range p.Rules {
		if r.EvaluationResult == "failed" && r.Status == "report_only" {
			p.Warnings++
		}
	}
	if p.Status == "" && len(p.Rules) == 0 {
		return nil
	}
	return &p
}

// shownJSON is a JSON document on a page: indented within prettyJSON's
// limits, with a link to the document itself when it had to be cut.
type shownJSON struct {
	prettyText
	Raw string // the raw document's console URL
}

// metadata is extra_metadata indented for reading; nil when there is none.
func metadata(raw json.RawMessage, rawURL string) *shownJSON {
	return shown(raw, rawURL, maxPrettyBytes)
}

// shown is a document indented within limit bytes; nil when it is empty.
func shown(raw json.RawMessage, rawURL string, limit int) *shownJSON {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" || string(t) == "{}" {
		return nil
	}
	return &shownJSON{prettyText: prettyJSON(t, limit), Raw: rawURL}
}

// entry is one event of a run's timeline.
type entry struct {
	*shiplog.Event
	Received *shownJSON // the event as received, indented, credentials in URLs masked
}

// urlUserinfo finds the user:password@ (or token@) part of URLs; pipelines
// do paste authenticated clone URLs, and the page is no place for them.
var urlUserinfo = regexp.MustCompile(`(?i)\b(https?://)[^/\s"@]+@`)

// timeline is a run's events for its page; run is the run's console URL.
// The events share one budget of shown JSON: once it is spent, an event
// offers only its raw link.
func timeline(events []*shiplog.Event, run string) []entry {
	out := make([]entry, len(events))
	budget := maxPageJSON
	for i, e := range events {
		out[i] = entry{Event: e}
		if m := shown(e.Payload, run+"/raw?event="+url.QueryEscape(e.ID), min(maxPrettyBytes, max(budget, 0))); m != nil {
			budget -= len(m.Text)
			m.Text = maskUserinfo(m.Text)
			out[i].Received = m
		}
	}
	return out
}

func maskUserinfo(s string) string { return urlUserinfo.ReplaceAllString(s, "${1}…@") }

type runData struct {
	Deployment *shiplog.Deployment
	Build      *shiplog.Build
	Events     []entry
	SCM        *scm
	BuildURL   *link
	DeployURL  *link
	Preflight  *preflight
	Metadata   *shownJSON
	// Open: the run has not finished, so it can be marked aborted (by
	// CanAbort people). Stale: it has been quiet for the org's stale-run
	// horizon (StaleAfter, for people) and blocks nothing any more.
	Open, CanAbort, Stale bool
	StaleAfter            string
}

func (s *Server) deploymentPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := s.deployment(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "deployment", v, d)
}

// deployment reads a run for its page: the record, its timeline, and
// whether it is stuck.
func (s *Server) deployment(r *http.Request, v *view) (runData, error) {
	v.Nav = "deployments"
	var d apiv1.DeploymentDetail
	if err := s.call(r, v, http.MethodGet, "/deployments/"+url.PathEscape(r.PathValue("id")), nil, &d); err != nil {
		return runData{}, err
	}
	dep := d.Deployment
	run := "/ui/deployments/" + url.PathEscape(dep.ID)
	out := runData{Deployment: dep, Events: timeline(d.Events, run),
		SCM: scmLinks(dep.ScmRepository, dep.ScmSHA, dep.ScmBranch), BuildURL: linkPtr(dep.BuildURL),
		DeployURL: linkPtr(dep.DeployURL), Preflight: preflightOf(dep.PreflightStatus, dep.ExtraMetadata),
		Metadata: metadata(dep.ExtraMetadata, run+"/raw"), Open: !dep.Status.Terminal(),
		CanAbort: v.May(http.MethodPost, "/deployments/{id}/abort")}
	if dep.Status == shiplog.StatusStarted {
		var set shiplog.OrgSettings
		if err := s.call(r, v, http.MethodGet, "/org-settings/", nil, &set); err != nil {
			return runData{}, err
		}
		var started time.Time
		if dep.StartedAt != nil {
			started = *dep.StartedAt
		}
		out.Stale = rule.Stale(rule.Deployment{StartedAt: started, LastEventAt: dep.UpdatedAt}, set.StaleAfter(), s.Clock.Now())
		out.StaleAfter = rule.Minutes(set.StaleAfter())
	}
	return out, nil
}

// deploymentAbort is the "Mark aborted" button: POST /deployments/{id}/abort
// as the signed-in user.
func (s *Server) deploymentAbort(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	err := s.call(r, v, http.MethodPost, "/deployments/"+url.PathEscape(id)+"/abort",
		apiv1.AbortInput{Reason: r.PostForm.Get("reason")}, nil)
	if ae, ok := refused(err); ok && ae.Status != http.StatusNotFound {
		d, lerr := s.deployment(r, v)
		if lerr != nil {
			return lerr
		}
		v.Error = ae.Detail
		return s.render(w, r, ae.Status, "deployment", v, d)
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/deployments/"+url.PathEscape(id), "Marked aborted: the run no longer blocks deployments.")
}

func (s *Server) buildPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "builds"
	var d apiv1.BuildDetail
	if err := s.call(r, v, http.MethodGet, "/builds/"+url.PathEscape(r.PathValue("id")), nil, &d); err != nil {
		return err
	}
	b := d.Build
	run := "/ui/builds/" + url.PathEscape(b.ID)
	return s.render(w, r, http.StatusOK, "build", v, runData{Build: b, Events: timeline(d.Events, run),
		SCM: scmLinks(b.ScmRepository, b.ScmSHA, b.ScmBranch), BuildURL: linkPtr(b.BuildURL),
		Metadata: metadata(b.ExtraMetadata, run+"/raw")})
}

// rawJSON serves a run's extra_metadata, or with ?event= one of its events
// as received, as the JSON document itself: what the page links to when a
// document is too deep or too large to show indented. The body is what
// the store holds (at most the API's 1 MB request), written as it is;
// credentials in URLs are masked as on the page.
func (s *Server) rawJSON(kind string) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *view) error {
		path := "/" + kind + "/" + url.PathEscape(r.PathValue("id"))
		var doc json.RawMessage
		var events []*shiplog.Event
		switch kind {
		case "deployments":
			var d apiv1.DeploymentDetail
			if err := s.call(r, v, http.MethodGet, path, nil, &d); err != nil {
				return err
			}
			doc, events = d.Deployment.ExtraMetadata, d.Events
		default:
			var d apiv1.BuildDetail
			if err := s.call(r, v, http.MethodGet, path, nil, &d); err != nil {
				return err
			}
			doc, events = d.Build.ExtraMetadata, d.Events
		}
		if q := r.URL.Query(); q.Has("event") {
			i := slices.IndexFunc(events, func(e *shiplog.Event) bool { return e.ID == q.Get("event") })
			if i < 0 {
				return notFound("No such event in this run")
			}
			doc = events[i].Payload
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			doc = json.RawMessage("null")
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, err := io.WriteString(w, maskUserinfo(string(doc)))
		return err
	}
}
