package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/people"
)

// First-run setup: the page a setup link opens (`shiplog org create`
// prints one, the server logs one at start). The person it is for chooses
// their name, address (when theirs is a placeholder) and password, and is
// signed in. Unlike the reset page it calls people directly, not the API:
// what it makes is a console session, as the sign-in form does.

// Setups is first-run setup (people.Service).
type Setups interface {
	SetupFor(ctx context.Context, token string) (*people.Setup, error)
	RedeemSetup(ctx context.Context, token string, in people.SetupInput) (*people.Setup, error)
}

type setupData struct {
	Token, Org, Name, Email string
	// AskEmail is set when the person's address is a placeholder.
	AskEmail bool
	// Dead is set when the link does not work: no form then.
	Dead bool
}

func (s *Server) setupRoutes(handle func(pattern string, h http.Handler)) {
	handle("GET /ui/setup", s.public(s.setupPage))
	handle("POST /ui/setup", s.public(s.setup))
}

func (s *Server) setupPage(w http.ResponseWriter, r *http.Request, v *view) error {
	w.Header().Set("Cache-Control", "no-store")
	d := setupData{Token: r.URL.Query().Get("token")}
	if s.Setup == nil {
		return notFound("First-run setup is not available on this server")
	}
	st, err := s.Setup.SetupFor(r.Context(), d.Token)
	if shiplog.ErrorCode(err) == shiplog.EINVALID {
		v.Error, d.Dead = shiplog.ErrorMessage(err), true
		return s.render(w, r, http.StatusBadRequest, "setup", v, d)
	}
	if err != nil {
		return err
	}
	d.Org, d.AskEmail = st.OrgName, people.Placeholder(st.User.Email)
	if !d.AskEmail {
		d.Email = st.User.Email
	}
	if st.User.Name != "First owner" {
		d.Name = st.User.Name
	}
	return s.render(w, r, http.StatusOK, "setup", v, d)
}

func (s *Server) setup(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	w.Header().Set("Cache-Control", "no-store")
	if s.Setup == nil {
		return notFound("First-run setup is not available on this server")
	}
	d := setupData{Token: strings.TrimSpace(r.PostFormValue("token")), Org: r.PostFormValue("org"),
		Name: r.PostFormValue("name"), Email: r.PostFormValue("email"), AskEmail: r.PostFormValue("ask_email") != ""}
	again := func(status int, msg string) error {
		v.Error = msg
		return s.render(w, r, status, "setup", v, d)
	}
	pw := r.PostFormValue("password")
	if r.PostFormValue("confirm_password") != pw {
		return again(http.StatusBadRequest, "The password and its confirmation differ.")
	}
	st, err := s.Setup.RedeemSetup(r.Context(), d.Token, people.SetupInput{Name: d.Name, Email: d.Email, Password: pw})
	if code := shiplog.ErrorCode(err); code == shiplog.EINVALID || code == shiplog.ECONFLICT {
		d.Dead = err == people.ErrInvalidSetup
		return again(map[string]int{shiplog.EINVALID: http.StatusBadRequest, shiplog.ECONFLICT: http.StatusConflict}[code],
			shiplog.ErrorMessage(err))
	}
	if err != nil {
		return err
	}
	token, err := s.startSession(r.Context(), st.User, st.OrgName)
	if err != nil {
		return err
	}
	s.setCookie(w, sessionCookie, token, int(s.SessionMax/time.Second), true)
	s.setCookie(w, orgCookie, st.OrgName, 365*24*3600, true)
	s.Log.InfoContext(r.Context(), "console sign-in after first-run setup", "org", st.OrgName, "user_id", st.User.ID)
	return s.redirect(w, r, "/ui/", "Welcome, "+st.User.Name+". You are signed in to "+st.OrgName+".")
}
