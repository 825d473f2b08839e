package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// Settings → Environments: each environment's type, which notification
// filters, rules and the home matrix go by. shiplog infers the type from
// the name when it first sees an environment; here whoever may change
// environments (PATCH /environments/{id}) corrects it.

const environmentsPerPage = 200

type environmentsData struct {
	Envs   []*shiplog.Environment
	Types  []shiplog.EnvType
	May    bool   // the viewer may change types
	Next   string // cursor of the next page
	Cursor string
	Denied bool
}

func (s *Server) environmentsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	d := environmentsData{Types: shiplog.EnvTypes, Cursor: r.URL.Query().Get("cursor"),
		May: v.May(http.MethodPatch, "/environments/{id}")}
	q := url.Values{"limit": {strconv.Itoa(environmentsPerPage)}}
	if d.Cursor != "" {
		q.Set("cursor", d.Cursor)
	}
	var list apiv1.List[*shiplog.Environment]
	status := http.StatusOK
	if err := s.call(r, v, http.MethodGet, "/environments/?"+q.Encode(), nil, &list); err != nil {
		ae, ok := apiRefusal(err)
		if !ok {
			return err
		}
		v.Error, d.Denied, status = ae.Detail, true, ae.Status
	}
	d.Envs = list.Items
	if list.NextCursor != nil {
		d.Next = *list.NextCursor
	}
	return s.render(w, r, status, "settings_environments", v, d)
}

func (s *Server) environmentUpdate(w http.ResponseWriter, r *http.Request, v *view) error {
	typ := r.PostFormValue("type")
	var env shiplog.Environment
	err := s.call(r, v, http.MethodPatch, "/environments/"+url.PathEscape(r.PathValue("id")), apiv1.EnvironmentPatch{Type: &typ}, &env)
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/settings/environments", env.Name+" is now "+string(env.Type)+
		": notification filters and rules go by it from the next event on.")
}
