package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/people"
)

// Settings → Users: the org's people and their roles.

// userForm is the add or edit form as typed; the password is never
// rendered back.
type userForm struct {
	ID, Email, Name string
	Roles           []string
	// RolesWas are the roles the edit form showed: unchanged roles are not
	// sent, so people can rename themselves (the API refuses changing one's
	// own roles).
	RolesWas      []string
	PasswordGiven bool
}

type usersData struct {
	Users  []*shiplog.User
	Roles  []string
	F      userForm
	Denied bool
	// The edit page: the person as listed, their tokens, and a reset link
	// just issued (shown once, when it was not emailed).
	User   *shiplog.User
	Tokens []apiv1.PersonalToken
	Reset  *people.ResetLink
}

func parseUserForm(f url.Values) userForm {
	return userForm{
		Email: strings.TrimSpace(f.Get("email")), Name: strings.TrimSpace(f.Get("name")),
		Roles: append([]string{}, f["roles"]...), RolesWas: splitField(f.Get("roles_was")),
	}
}

func (s *Server) usersData(r *http.Request, v *view) (*usersData, int, error) {
	d := &usersData{Roles: shiplog.Roles}
	var list apiv1.List[*shiplog.User]
	if err := s.call(r, v, http.MethodGet, "/users/", nil, &list); err != nil {
		if ae, ok := apiRefusal(err); ok {
			v.Error, d.Denied = ae.Detail, true
			return d, ae.Status, nil
		}
		return nil, 0, err
	}
	d.Users = list.Items
	return d, http.StatusOK, nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	d, status, err := s.usersData(r, v)
	if err != nil {
		return err
	}
	d.F.Roles = []string{shiplog.RoleViewer}
	return s.render(w, r, status, "settings_users", v, d)
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	f := parseUserForm(r.PostForm)
	in := apiv1.UserInput{Email: f.Email, Name: f.Name, Roles: f.Roles, Password: r.PostFormValue("password")}
	var u shiplog.User
	err := s.call(r, v, http.MethodPost, "/users/", in, &u)
	if err == nil {
		return s.redirect(w, r, "/ui/settings/users", "Added "+u.Email+".")
	}
	ae, ok := apiRefusal(err)
	if !ok {
		return err
	}
	d, _, derr := s.usersData(r, v)
	if derr != nil {
		return derr
	}
	v.Error, d.F = ae.Detail, f
	d.F.PasswordGiven = in.Password != ""
	return s.render(w, r, ae.Status, "settings_users", v, d)
}

// findUser finds one user; the API lists users but has no call for one.
func (s *Server) findUser(r *http.Request, v *view, id string) (*shiplog.User, error) {
	var list apiv1.List[*shiplog.User]
	if err := s.call(r, v, http.MethodGet, "/users/", nil, &list); err != nil {
		return nil, err
	}
	for _, u := range list.Items {
		if u.ID == id {
			return u, nil
		}
	}
	return nil, notFound("No such user in this organisation")
}

func (s *Server) userEditData(r *http.Request, v *view, id string) (*usersData, error) {
	u, err := s.findUser(r, v, id)
	if err != nil {
		return nil, err
	}
	var tokens apiv1.List[apiv1.PersonalToken]
	if err := s.call(r, v, http.MethodGet, "/tokens/?user_id="+url.QueryEscape(u.ID), nil, &tokens); err != nil {
		return nil, err
	}
	return &usersData{Roles: shiplog.Roles, User: u, Tokens: tokens.Items,
		F: userForm{ID: u.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, RolesWas: u.Roles}}, nil
}

func (s *Server) userEditPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	d, err := s.userEditData(r, v, r.PathValue("id"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "settings_user", v, d)
}

func userPage(id string) string { return "/ui/settings/users/" + url.PathEscape(id) + "/edit" }

func (s *Server) userSetActive(active bool) pageFunc {
	return func(w http.ResponseWriter, r *http.Request, v *view) error {
		id := r.PathValue("id")
		op, done := "/deactivate", "Deactivated %s: their sessions ended and their tokens are refused."
		if active {
			op, done = "/reactivate", "Reactivated %s."
		}
		var u shiplog.User
		if err := s.call(r, v, http.MethodPost, "/users/"+url.PathEscape(id)+op, nil, &u); err != nil {
			return err
		}
		return s.redirect(w, r, userPage(u.ID), fmt.Sprintf(done, u.Email))
	}
}

func (s *Server) userDelete(w http.ResponseWriter, r *http.Request, v *view) error {
	var u shiplog.User
	if err := s.call(r, v, http.MethodDelete, "/users/"+url.PathEscape(r.PathValue("id")), nil, &u); err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/settings/users", "Deleted "+u.Email+". Their name stays on the approvals and requests they made.")
}

func (s *Server) userResetLink(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	id := r.PathValue("id")
	var l people.ResetLink
	if err := s.call(r, v, http.MethodPost, "/users/"+url.PathEscape(id)+"/reset-link", nil, &l); err != nil {
		return err
	}
	if l.Emailed {
		return s.redirect(w, r, userPage(id), "Emailed a password reset link to "+l.Email+".")
	}
	// Not a redirect: the link must not travel in a cookie.
	d, err := s.userEditData(r, v, id)
	if err != nil {
		return err
	}
	d.Reset = &l
	return s.render(w, r, http.StatusOK, "settings_user", v, d)
}

func (s *Server) userTokenRevoke(w http.ResponseWriter, r *http.Request, v *view) error {
	var t apiv1.PersonalToken
	if err := s.call(r, v, http.MethodDelete, "/tokens/"+url.PathEscape(r.PathValue("token")), nil, &t); err != nil {
		return err
	}
	return s.redirect(w, r, userPage(r.PathValue("id")), "Revoked "+t.UserEmail+"'s token "+t.TokenID+".")
}

func sameRoles(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	id := r.PathValue("id")
	f := parseUserForm(r.PostForm)
	f.ID = id
	in := apiv1.UserInput{Name: f.Name}
	if !sameRoles(f.Roles, f.RolesWas) {
		in.Roles = f.Roles
	}
	var u shiplog.User
	err := s.call(r, v, http.MethodPatch, "/users/"+url.PathEscape(id), in, &u)
	if err == nil {
		return s.redirect(w, r, "/ui/settings/users", "Saved "+u.Email+": "+strings.Join(u.Roles, ", ")+".")
	}
	ae, ok := apiRefusal(err)
	if !ok || ae.Status == http.StatusNotFound {
		return err
	}
	v.Error = ae.Detail
	d, derr := s.userEditData(r, v, id)
	if derr != nil {
		return derr
	}
	d.F = f
	return s.render(w, r, ae.Status, "settings_user", v, d)
}
