package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/shiplog/shiplog/apiv1"
)

// The account page: the signed-in person's own tokens and password. And the
// public page a password reset link opens.

type accountData struct {
	Tokens []apiv1.PersonalToken
	// Created is the token just made, with its full text (shown once).
	Created *apiv1.PersonalToken
	Name    string // the token name typed, kept after a refusal
}

func (s *Server) accountRoutes(page func(pattern string, h pageFunc)) {
	page("GET /ui/account", s.accountPage)
	page("POST /ui/account/tokens", s.accountTokenCreate)
	page("POST /ui/account/tokens/{id}/revoke", s.accountTokenRevoke)
	page("POST /ui/account/password", s.accountPassword)
}

func (s *Server) accountData(r *http.Request, v *view) (*accountData, error) {
	var list apiv1.List[apiv1.PersonalToken]
	if err := s.call(r, v, http.MethodGet, "/tokens/?user_id="+url.QueryEscape(v.User.ID), nil, &list); err != nil {
		return nil, err
	}
	return &accountData{Tokens: list.Items}, nil
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "account"
	d, err := s.accountData(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "account", v, d)
}

func (s *Server) accountTokenCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "account"
	name := r.PostFormValue("name")
	var created apiv1.PersonalToken
	callErr := s.call(r, v, http.MethodPost, "/tokens/", apiv1.TokenInput{Name: name}, &created)
	ae, refused := apiRefusal(callErr)
	if callErr != nil && !refused {
		return callErr
	}
	d, err := s.accountData(r, v)
	if err != nil {
		return err
	}
	if refused {
		v.Error, d.Name = ae.Detail, name
		return s.render(w, r, ae.Status, "account", v, d)
	}
	// Not a redirect: the token must not travel in a cookie or a URL.
	d.Created = &created
	return s.render(w, r, http.StatusOK, "account", v, d)
}

func (s *Server) accountTokenRevoke(w http.ResponseWriter, r *http.Request, v *view) error {
	var t apiv1.PersonalToken
	if err := s.call(r, v, http.MethodDelete, "/tokens/"+url.PathEscape(r.PathValue("id")), nil, &t); err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/account", "Revoked token "+t.TokenID+" ("+t.Name+"). Requests that use it are refused from now on.")
}

func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "account"
	in := apiv1.PasswordChangeInput{OldPassword: r.PostFormValue("old_password"), NewPassword: r.PostFormValue("new_password")}
	if confirm := r.PostFormValue("confirm_password"); confirm != in.NewPassword {
		return s.accountRefused(w, r, v, http.StatusBadRequest, "The new password and its confirmation differ.")
	}
	err := s.call(r, v, http.MethodPost, "/account/password", in, nil)
	if ae, ok := apiRefusal(err); ok {
		return s.accountRefused(w, r, v, ae.Status, ae.Detail)
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/account", "Password changed. Your other console sessions were signed out.")
}

func (s *Server) accountRefused(w http.ResponseWriter, r *http.Request, v *view, status int, msg string) error {
	d, err := s.accountData(r, v)
	if err != nil {
		return err
	}
	v.Error = msg
	return s.render(w, r, status, "account", v, d)
}

type resetData struct {
	Token string
	Done  bool
}

// resetPasswordPage is what a reset link opens. The token stays in the
// query (the access log records paths only) and in the form; the page
// makes no call, so an unusable token is told only on submission, like
// any other.
func (s *Server) resetPasswordPage(w http.ResponseWriter, r *http.Request, v *view) error {
	w.Header().Set("Cache-Control", "no-store")
	return s.render(w, r, http.StatusOK, "reset_password", v, resetData{Token: r.URL.Query().Get("token")})
}

func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	w.Header().Set("Cache-Control", "no-store")
	d := resetData{Token: strings.TrimSpace(r.PostFormValue("token"))}
	in := apiv1.PasswordResetInput{Token: d.Token, NewPassword: r.PostFormValue("new_password")}
	if r.PostFormValue("confirm_password") != in.NewPassword {
		v.Error = "The new password and its confirmation differ."
		return s.render(w, r, http.StatusBadRequest, "reset_password", v, d)
	}
	// The public API operation, in-process, with no one signed in.
	err := s.call(r, &view{}, http.MethodPost, "/account/reset-password", in, nil)
	if ae, ok := apiRefusal(err); ok {
		v.Error = ae.Detail
		return s.render(w, r, ae.Status, "reset_password", v, d)
	}
	if err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/sign-in", "Your password is set. Sign in with it.")
}
