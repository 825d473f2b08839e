package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/notify"
)

// envOrder puts environments left to right in the order code travels.
var envOrder = map[shiplog.EnvType]int{
	shiplog.EnvDevelopment: 0, shiplog.EnvPreview: 1, shiplog.EnvTest: 2, shiplog.EnvStaging: 3, shiplog.EnvProduction: 4,
}

// homeFilter narrows the matrix; it is kept in a cookie so it persists.
type homeFilter struct {
	Product  string   // substring of the product name
	EnvTypes []string // environment types shown; empty: all
	Drift    bool     // only rows with drift: environments of one type on different versions
}

const homeCookie = "shiplog_home"

func (f homeFilter) encode() string {
	q := url.Values{}
	if f.Product != "" {
		q.Set("product", f.Product)
	}
	for _, t := range f.EnvTypes {
		q.Add("env_type", t)
	}
	if f.Drift {
		q.Set("drift", "1")
	}
	return q.Encode()
}

func parseHomeFilter(q url.Values) homeFilter {
	f := homeFilter{Product: strings.TrimSpace(q.Get("product")), Drift: q.Get("drift") == "1"}
	for _, t := range q["env_type"] {
		if _, ok := envOrder[shiplog.EnvType(t)]; ok || t == "other" {
			f.EnvTypes = append(f.EnvTypes, t)
		}
	}
	if len(f.Product) > 200 {
		f.Product = f.Product[:200]
	}
	return f
}

// filter reads the request's filter: the form when submitted (and saved),
// otherwise the saved one.
func (s *Server) filter(w http.ResponseWriter, r *http.Request) homeFilter {
	q := r.URL.Query()
	if q.Has("filter") {
		f := parseHomeFilter(q)
		s.setCookie(w, homeCookie, flashValue(f.encode()), 365*24*3600, true)
		return f
	}
	if c, err := r.Cookie(homeCookie); err == nil {
		if saved, err := url.ParseQuery(flashText(c.Value)); err == nil {
			return parseHomeFilter(saved)
		}
	}
	return homeFilter{}
}

type matrixEnv struct {
	Name string
	Type shiplog.EnvType
}

type matrixRow struct {
	Product string
	Cells   []matrixCell // one per column
	// Drift lists the environment types whose environments run different
	// versions now (driftOf); empty when they agree.
	Drift []Drift
}

// matrixCell is one product × environment: nil Cell where never deployed.
type matrixCell struct {
	*apiv1.StatusCell
	Env   matrixEnv // its column (the narrow layout labels each cell)
	Drift bool      // its environment type is split (a row's Drift)
}

// Attempt is the newest run when it is not what runs now: a failure, a
// refusal or a run in progress, shown as loudly as what is deployed.
func (c matrixCell) Attempt() *apiv1.StatusDeployment {
	if c.StatusCell == nil || c.Latest == nil || (c.Current != nil && c.Latest.DeploymentID == c.Current.DeploymentID) {
		return nil
	}
	return c.Latest
}

// State is the cell's word for CSS: "blocked" (the rules refused the
// newest attempt), "failed", "running", "ok" or "" (never deployed).
func (c matrixCell) State() string {
	if c.StatusCell == nil {
		return ""
	}
	if a := c.Attempt(); a != nil {
		switch {
		case a.PreflightStatus != nil && *a.PreflightStatus == "failed": // recorded as aborted
			return "blocked"
		case a.Status == shiplog.StatusFailed:
			return "failed"
		case a.Status == shiplog.StatusStarted || a.Status == shiplog.StatusPending:
			return "running"
		}
	}
	if c.Current != nil {
		return "ok"
	}
	return ""
}

type matrix struct {
	Envs   []matrixEnv
	Rows   []matrixRow
	Filter homeFilter
	Total  int // rows before filtering
	// Paging: the matrix shows at most matrixRows products a page and
	// matrixCols environments, so a page is at most their product in
	// cells however many pairs the org has (1,200 pairs once made a 95 MB
	// page). Matching counts the filtered products; HiddenEnvs the
	// environments of this page's products left out.
	Page, Pages, Matching, HiddenEnvs int
}

const (
	matrixRows = 50
	matrixCols = 40
)

// buildMatrix lays cells out as products × environments for one page.
// Its work is linear in the cells: a row's cells are looked up per shown
// column only for the page's rows.
func buildMatrix(cells []apiv1.StatusCell, f homeFilter, page int) *matrix {
	byProduct := map[string]map[string]*apiv1.StatusCell{}
	for i := range cells {
		c := &cells[i]
		if byProduct[c.ProductName] == nil {
			byProduct[c.ProductName] = map[string]*apiv1.StatusCell{}
		}
		if f.showsEnv(c.EnvironmentType) {
			byProduct[c.ProductName][c.EnvironmentName] = c
		}
	}
	m := &matrix{Filter: f}
	products := make([]string, 0, len(byProduct))
	for p, envs := range byProduct {
		if len(envs) > 0 {
			products = append(products, p)
		}
	}
	slices.Sort(products)
	m.Total = len(products)
	var matching []matrixRow
	for _, p := range products {
		if f.Product != "" && !strings.Contains(strings.ToLower(p), strings.ToLower(f.Product)) {
			continue
		}
		row := matrixRow{Product: p}
		shown := make([]*apiv1.StatusCell, 0, len(byProduct[p]))
		for _, c := range byProduct[p] {
			shown = append(shown, c)
		}
		row.Drift = driftOf(shown)
		if f.Drift && len(row.Drift) == 0 {
			continue
		}
		matching = append(matching, row)
	}
	m.Matching = len(matching)
	m.Pages = max(1, (len(matching)+matrixRows-1)/matrixRows)
	m.Page = min(max(page, 1), m.Pages)
	m.Rows = matching[min((m.Page-1)*matrixRows, len(matching)):min(m.Page*matrixRows, len(matching))]

	envs := map[string]matrixEnv{}
	for _, row := range m.Rows {
		for _, c := range byProduct[row.Product] {
			envs[c.EnvironmentName] = matrixEnv{Name: c.EnvironmentName, Type: c.EnvironmentType}
		}
	}
	for _, e := range envs {
		m.Envs = append(m.Envs, e)
	}
	slices.SortFunc(m.Envs, func(a, b matrixEnv) int {
		return cmp.Or(cmp.Compare(rank(a.Type), rank(b.Type)), strings.Compare(a.Name, b.Name))
	})
	if len(m.Envs) > matrixCols {
		m.HiddenEnvs = len(m.Envs) - matrixCols
		m.Envs = m.Envs[:matrixCols]
	}
	for i := range m.Rows {
		m.Rows[i].Cells = make([]matrixCell, len(m.Envs))
		for j, e := range m.Envs {
			c := matrixCell{StatusCell: byProduct[m.Rows[i].Product][e.Name], Env: e}
			c.Drift = c.StatusCell != nil && slices.ContainsFunc(m.Rows[i].Drift, func(d Drift) bool { return d.Type == e.Type })
			m.Rows[i].Cells[j] = c
		}
	}
	return m
}

// PrevPage and NextPage are the matrix's neighbouring pages (0: none).
func (m *matrix) PrevPage() int {
	if m.Page > 1 {
		return m.Page - 1
	}
	return 0
}

func (m *matrix) NextPage() int {
	if m.Page < m.Pages {
		return m.Page + 1
	}
	return 0
}

func rank(t shiplog.EnvType) int {
	if r, ok := envOrder[t]; ok {
		return r
	}
	return len(envOrder)
}

func (f homeFilter) showsEnv(t shiplog.EnvType) bool {
	if len(f.EnvTypes) == 0 {
		return true
	}
	want := string(t)
	if _, known := envOrder[t]; !known {
		want = "other"
	}
	return slices.Contains(f.EnvTypes, want)
}

type homeData struct {
	Matrix   *matrix
	OpenDRs  []*shiplog.DeploymentRequest
	Recent   []*shiplog.Deployment
	EnvTypes []string
	Live     bool
	// LiveTypes names every event type, so the feed can listen for each
	// (EventSource dispatches named events only to their own listeners).
	LiveTypes string
	// Steps is the first-steps checklist until it is done; Connect is set
	// until the first event (connect.go).
	Steps    *firstSteps
	Connect  *connectData
	Problems *problems // the banner (problems.go)
}

func (s *Server) matrix(r *http.Request, v *view, f homeFilter) (*matrix, error) {
	var cells apiv1.List[apiv1.StatusCell]
	if err := s.call(r, v, http.MethodGet, "/status/", nil, &cells); err != nil {
		return nil, err
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	return buildMatrix(cells.Items, f, page), nil
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "home"
	f := s.filter(w, r)
	m, err := s.matrix(r, v, f)
	if err != nil {
		return err
	}
	types := make([]string, 0, 24)
	for _, t := range notify.AllEvents {
		types = append(types, string(t))
	}
	d := homeData{Matrix: m, Live: s.Live != nil, LiveTypes: strings.Join(types, ","),
		EnvTypes: []string{"development", "preview", "test", "staging", "production", "other"}}
	for _, st := range []shiplog.DRStatus{shiplog.DRInProgress, shiplog.DRApproved} {
		var drs apiv1.List[*shiplog.DeploymentRequest]
		if err := s.call(r, v, http.MethodGet, "/deployment-requests/?limit=20&status="+string(st), nil, &drs); err != nil {
			return err
		}
		d.OpenDRs = append(d.OpenDRs, drs.Items...)
	}
	var recent apiv1.List[*shiplog.Deployment]
	if err := s.call(r, v, http.MethodGet, "/deployments/?limit=15&order=time", nil, &recent); err != nil {
		return err
	}
	d.Recent = recent.Items
	if d.Steps, d.Connect, err = s.homeStart(r, v); err != nil {
		return err
	}
	if d.Problems, err = s.problems(r, v); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "home", v, d)
}

// matrixFragment is the matrix alone, refetched when live events arrive.
func (s *Server) matrixFragment(w http.ResponseWriter, r *http.Request, v *view) error {
	m, err := s.matrix(r, v, s.filter(w, r))
	if err != nil {
		return err
	}
	return s.fragment(w, "home", "matrix", v, homeData{Matrix: m})
}

// live is the home page's event feed (server-sent events).
func (s *Server) live(w http.ResponseWriter, r *http.Request, v *view) error {
	if s.Live == nil {
		return notFound("The live feed is off on this server")
	}
	return s.Live(w, r, v.Principal.OrgID)
}
