package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

var drStatuses = []shiplog.DRStatus{shiplog.DRDraft, shiplog.DRInProgress, shiplog.DRApproved, shiplog.DRRejected,
	shiplog.DRCompleted, shiplog.DRCancelled}

// drRow is a request in the list, with how far its approvals got.
type drRow struct {
	*shiplog.DeploymentRequest
	Approved, Required int
}

type drListData struct {
	Status    string
	Statuses  []shiplog.DRStatus
	Rows      []drRow
	Next, Top string
	CanCreate bool
}

func (s *Server) drListPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "drs"
	q := r.URL.Query()
	d := drListData{Status: strings.TrimSpace(q.Get("status")), Statuses: drStatuses, CanCreate: v.May(http.MethodPost, "/deployment-requests/")}
	cursor := strings.TrimSpace(q.Get("cursor"))
	link := func(cursor string) string {
		q := url.Values{}
		if d.Status != "" {
			q.Set("status", d.Status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		return apiPath("/ui/deployment-requests", q)
	}
	// The API takes any word as a status and finds nothing; a person who
	// edited the address deserves to hear why the list is empty.
	if d.Status != "" && !slices.Contains(drStatuses, shiplog.DRStatus(d.Status)) {
		v.Error = "Unknown status '" + d.Status + "'; a deployment request is one of " + drStatusWords()
		return s.render(w, r, http.StatusBadRequest, "dr_list", v, d)
	}
	aq := url.Values{"limit": {strconv.Itoa(runPageSize)}}
	if d.Status != "" {
		aq.Set("status", d.Status)
	}
	if cursor != "" {
		aq.Set("cursor", cursor)
		d.Top = link("")
	}
	var out apiv1.List[*shiplog.DeploymentRequest]
	err := s.call(r, v, http.MethodGet, apiPath("/deployment-requests/", aq), nil, &out)
	if ae, ok := refused(err); ok {
		v.Error = ae.Detail
		return s.render(w, r, ae.Status, "dr_list", v, d)
	}
	if err != nil {
		return err
	}
	for _, dr := range out.Items {
		row := drRow{DeploymentRequest: dr}
		for _, sl := range dr.Slots {
			if sl.Required {
				row.Required++
				if sl.Status == shiplog.SlotApproved {
					row.Approved++
				}
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if out.NextCursor != nil {
		d.Next = link(*out.NextCursor)
	}
	return s.render(w, r, http.StatusOK, "dr_list", v, d)
}

// words is a state as a person writes it: "in progress".
func words(st shiplog.DRStatus) string { return strings.ReplaceAll(string(st), "_", " ") }

func drStatusWords() string {
	words := make([]string, len(drStatuses))
	for i, st := range drStatuses {
		words[i] = string(st)
	}
	return strings.Join(words, ", ")
}

type drNewData struct {
	Form      drForm
	Rows      []itemRow
	Envs      []string // the org's environments, to tick
	Products  []string // suggestions for the item rows
	Types     []string
	CanCreate bool
	Roles     string
}

// itemRow is one product/version row of the form; N counts from 1.
type itemRow struct {
	shiplog.DRItem
	N     int
	Focus bool // the row "Add another item" just added
}

func (d *drNewData) rows(focusLast bool) {
	d.Rows = d.Rows[:0]
	for i, it := range d.Form.Items {
		d.Rows = append(d.Rows, itemRow{DRItem: it, N: i + 1, Focus: focusLast && i == len(d.Form.Items)-1})
	}
}

func (s *Server) drNewData(r *http.Request, v *view, f drForm) *drNewData {
	if len(f.Items) == 0 {
		f.Items = []shiplog.DRItem{{}}
	}
	d := &drNewData{Form: f, Envs: s.names(r, v, "/environments/"), Products: s.names(r, v, "/products/"),
		Types: shiplog.ApprovalTypes, CanCreate: v.May(http.MethodPost, "/deployment-requests/"),
		Roles: strings.Join(shiplog.CanManageDRs, ", ")}
	d.rows(false)
	return d
}

// drNewPage is the empty form; ?product=&version= fills in the first item
// (the version page links here).
func (s *Server) drNewPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "drs"
	q := r.URL.Query()
	f := drForm{Slots: map[string]string{}}
	if p, ver := strings.TrimSpace(q.Get("product")), strings.TrimSpace(q.Get("version")); p != "" || ver != "" {
		f.Items = []shiplog.DRItem{{ProductName: p, Version: ver}}
		if p != "" && ver != "" {
			f.Name = p + " " + ver
		}
	}
	return s.render(w, r, http.StatusOK, "dr_new", v, s.drNewData(r, v, f))
}

// drCreate creates the request through the API, or grows the item rows
// ("Add another item" works without JavaScript).
func (s *Server) drCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "drs"
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		return shiplog.Errorf(shiplog.EINVALID, "The form could not be read: it is larger than 256 KiB or malformed")
	}
	f, in, err := parseDRForm(r.PostForm)
	if err != nil {
		v.Error = shiplog.ErrorMessage(err)
		return s.render(w, r, http.StatusBadRequest, "dr_new", v, s.drNewData(r, v, f))
	}
	if r.PostForm.Get("add_item") != "" {
		d := s.drNewData(r, v, f)
		if len(d.Form.Items) < maxItemRows {
			d.Form.Items = append(d.Form.Items, shiplog.DRItem{})
		}
		d.rows(true)
		return s.render(w, r, http.StatusOK, "dr_new", v, d)
	}
	var dr shiplog.DeploymentRequest
	err = s.call(r, v, http.MethodPost, "/deployment-requests/", in, &dr)
	if ae, ok := refused(err); ok {
		v.Error = ae.Detail
		return s.render(w, r, ae.Status, "dr_new", v, s.drNewData(r, v, f))
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/deployment-requests/"+url.PathEscape(dr.ID),
		"Created the draft request “"+dr.Name+"”. Activate it to ask for approvals.")
}

// drSlot is a slot as the signed-in user sees it.
type drSlot struct {
	*shiplog.Slot
	CanDecide bool
	Role      string   // the role the user would decide under
	Needs     []string // the roles that may decide it
	Comment   string   // typed before a refusal
}

// drAction is a state change the request's state allows.
type drAction struct {
	Action  shiplog.DRAction
	Label   string
	Hint    string
	Confirm string
	Danger  bool
}

var drActions = []drAction{
	{Action: shiplog.DRActivate, Label: "Activate", Hint: "asks for approvals and emails the approvers"},
	{Action: shiplog.DRDeactivate, Label: "Back to draft", Hint: "stops the approval flow to edit the plan"},
	{Action: shiplog.DRComplete, Label: "Mark completed", Hint: "the versions have shipped"},
	{Action: shiplog.DRCancel, Label: "Cancel request", Hint: "final", Danger: true,
		Confirm: "Cancel this deployment request? This cannot be undone."},
}

type drData struct {
	DR        *shiplog.DeploymentRequest
	Links     []link
	Slots     []drSlot
	Actions   []drAction
	Open      bool // slots can be decided (only in progress)
	CanManage bool
	Managers  string
}

func (s *Server) drPage(w http.ResponseWriter, r *http.Request, v *view) error {
	d, err := s.dr(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "dr", v, d)
}

// dr loads a request and works out what the user may do with it. Roles
// only decide which buttons show; the API decides what happens.
func (s *Server) dr(r *http.Request, v *view) (*drData, error) {
	v.Nav = "drs"
	var dr shiplog.DeploymentRequest
	if err := s.call(r, v, http.MethodGet, "/deployment-requests/"+url.PathEscape(r.PathValue("id")), nil, &dr); err != nil {
		return nil, err
	}
	d := &drData{DR: &dr, Open: dr.Status.Decidable(),
		Managers: "its creator (" + dr.CreatedByName + ") or one of the roles " + strings.Join(shiplog.CanManageAnyDR, ", ")}
	d.CanManage = v.May(http.MethodPost, "/deployment-requests/{id}/cancel") &&
		(shiplog.HasRole(v.User.Roles, shiplog.CanManageAnyDR...) || (dr.CreatedBy != nil && *dr.CreatedBy == v.User.ID))
	for _, l := range dr.Links {
		d.Links = append(d.Links, linkOf(l))
	}
	for _, sl := range dr.Slots {
		ds := drSlot{Slot: sl, Needs: shiplog.ApproverRoles(sl.ApprovalType)}
		if v.User != nil {
			ds.Role, ds.CanDecide = shiplog.ApprovingRole(v.User.Roles, sl.ApprovalType)
		}
		d.Slots = append(d.Slots, ds)
	}
	for _, a := range drActions {
		if _, ok := dr.Status.Transition(a.Action); ok {
			d.Actions = append(d.Actions, a)
		}
	}
	return d, nil
}

// drDecide approves or rejects one slot. A refusal (wrong role, already
// decided, request not active) shows the request again with the API's
// reason and the comment as typed.
func (s *Server) drDecide(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	decision, comments := r.PostFormValue("decision"), r.PostFormValue("comments")
	if decision != "approve" && decision != "reject" {
		return shiplog.Errorf(shiplog.EINVALID, "Choose Approve or Reject")
	}
	id, slotID := r.PathValue("id"), r.PathValue("slot")
	path := "/deployment-requests/" + url.PathEscape(id) + "/slots/" + url.PathEscape(slotID) + "/" + decision
	var dr shiplog.DeploymentRequest
	err := s.call(r, v, http.MethodPost, path, apiv1.DecisionInput{Comments: comments}, &dr)
	if ae, ok := refused(err); ok {
		d, lerr := s.dr(r, v)
		if lerr != nil {
			return lerr
		}
		for i := range d.Slots {
			if d.Slots[i].ID == slotID {
				d.Slots[i].Comment = comments
			}
		}
		v.Error = ae.Detail
		return s.render(w, r, ae.Status, "dr", v, d)
	}
	if err != nil {
		return err
	}
	what := "Approved"
	if decision == "reject" {
		what = "Rejected"
	}
	for _, sl := range dr.Slots {
		if sl.ID == slotID {
			what += " the " + sl.ApprovalType + " approval"
		}
	}
	return s.redirect(w, r, "/ui/deployment-requests/"+url.PathEscape(dr.ID), what+"; the request is now "+words(dr.Status)+".")
}

// drTransition activates, deactivates, completes or cancels a request.
func (s *Server) drTransition(w http.ResponseWriter, r *http.Request, v *view) error {
	a := shiplog.DRAction(r.PathValue("action"))
	if !slices.ContainsFunc(drActions, func(x drAction) bool { return x.Action == a }) {
		return notFound("No console page at " + r.URL.Path)
	}
	id := r.PathValue("id")
	var dr shiplog.DeploymentRequest
	err := s.call(r, v, http.MethodPost, "/deployment-requests/"+url.PathEscape(id)+"/"+string(a), nil, &dr)
	if ae, ok := refused(err); ok {
		d, lerr := s.dr(r, v)
		if lerr != nil {
			return lerr
		}
		v.Error = ae.Detail
		return s.render(w, r, ae.Status, "dr", v, d)
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/deployment-requests/"+url.PathEscape(dr.ID), "The request is now "+words(dr.Status)+".")
}
