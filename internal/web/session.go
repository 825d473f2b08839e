package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/input"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/throttle"
)

const (
	sessionCookie = "shiplog_session"
	orgCookie     = "shiplog_org" // remembers the org on the sign-in form
	csrfField     = "csrf_token"
	csrfHeader    = "X-CSRF-Token"
)

// view is what every page knows about its request.
type view struct {
	Principal *auth.Principal
	User      *shiplog.User
	OrgName   string
	CSRF      string
	// Nav names the menu entry to highlight.
	Nav string
	// Flash and Error are one-line messages shown above the page.
	Flash, Error string
}

// May reports whether the API's permission table lets the signed-in user
// call method path (as the OpenAPI document spells it). Pages use it only
// to decide which buttons show; the API decides what happens.
func (v *view) May(method, path string) bool {
	return v.Principal != nil && httpapi.Allowed(v.Principal, method, path)
}

type pageFunc func(w http.ResponseWriter, r *http.Request, v *view) error

// public serves pages that need no session (sign-in).
func (s *Server) public(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := &view{}
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

// signedIn serves pages for a signed-in user; others go to the sign-in page
// and come back. Unsafe methods must carry the session's CSRF token.
func (s *Server) signedIn(h pageFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := s.session(r)
		if err != nil {
			if !errors.Is(err, errNoSession) {
				s.fail(w, r, &view{}, err)
				return
			}
			s.toSignIn(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// Console forms are small; bound them before the CSRF check
			// reads the body.
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := checkCSRF(r, v.CSRF); err != nil {
				s.fail(w, r, v, err)
				return
			}
		}
		if err := h(w, r, v); err != nil {
			s.fail(w, r, v, err)
		}
	})
}

var errNoSession = errors.New("no session")

// maxFormBytes bounds a console form post (a rule's JSON is the largest).
const maxFormBytes = 1 << 20

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// session finds the request's session and its user, extending the session
// when it is used (at most every few minutes, to keep reads free of writes).
func (s *Server) session(r *http.Request) (*view, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || len(c.Value) < 40 || len(c.Value) > 64 {
		return nil, errNoSession
	}
	ctx := r.Context()
	sess, err := s.Store.SessionGet(ctx, tokenHash(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	if !now.Before(sess.ExpiresAt) {
		return nil, errNoSession
	}
	// The person is read on every request: a role change, deactivation or
	// deletion holds from the next page on.
	u, err := s.Store.UserGet(ctx, sess.OrgID, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, errNoSession
	}
	if next := s.expiry(sess.CreatedAt, now); next.Sub(sess.ExpiresAt) > 5*time.Minute {
		err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
			return tx.SessionExtend(ctx, sess.IDHash, next)
		})
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			s.Log.WarnContext(ctx, "extend console session", "err", err)
		}
	}
	p := &auth.Principal{OrgID: sess.OrgID, OrgName: sess.OrgName, User: u, Via: auth.CredSession, Session: sess.IDHash}
	return &view{Principal: p, User: u, OrgName: sess.OrgName, CSRF: sess.CSRF}, nil
}

// expiry is when a session used at now ends: idle time from now, capped by
// the maximum age from sign-in.
func (s *Server) expiry(created, now time.Time) time.Time {
	idle, limit := now.Add(s.SessionIdle), created.Add(s.SessionMax)
	if idle.After(limit) {
		return limit
	}
	return idle
}

func checkCSRF(r *http.Request, want string) error {
	got := r.Header.Get(csrfHeader)
	if got == "" {
		got = r.PostFormValue(csrfField)
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return shiplog.Errorf(shiplog.EFORBIDDEN, "The form has expired or did not come from this console; reload the page and try again")
	}
	return nil
}

func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request) {
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet || r.Header.Get("HX-Request") != "" {
		next = "/ui/"
	}
	target := "/ui/sign-in?next=" + url.QueryEscape(next)
	if r.Header.Get("HX-Request") != "" {
		// htmx follows HX-Redirect with a full page load.
		w.Header().Set("HX-Redirect", target)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// safeNext keeps the post-sign-in redirect inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/ui/"
	}
	return next
}

type signInData struct {
	Org, Email, Next string
}

func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, v *view) error {
	if _, err := s.session(r); err == nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	d := signInData{Next: safeNext(r.URL.Query().Get("next"))}
	if c, err := r.Cookie(orgCookie); err == nil {
		d.Org = c.Value
	}
	if o := r.URL.Query().Get("org"); o != "" {
		d.Org = o
	}
	return s.render(w, r, http.StatusOK, "signin", v, d)
}

// dummyHash makes a sign-in for an unknown user cost what a wrong password
// costs, so timing does not tell which emails exist.
var dummyHash, _ = auth.HashPassword("not a password anyone has")

func (s *Server) signIn(w http.ResponseWriter, r *http.Request, v *view) error {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	d := signInData{
		Org:   strings.TrimSpace(r.PostFormValue("org")),
		Email: strings.ToLower(strings.TrimSpace(r.PostFormValue("email"))),
		Next:  safeNext(r.PostFormValue("next")),
	}
	password := r.PostFormValue("password")
	again := func(status int, msg string) error {
		v.Error = msg
		return s.render(w, r, status, "signin", v, d)
	}
	if d.Org == "" || d.Email == "" || password == "" {
		return again(http.StatusBadRequest, "Enter the organization, your email and your password.")
	}
	ip := clientIP(r)
	a := throttleKeys(ip, d.Org, d.Email)
	wait, err := s.limiter.Take(r.Context(), a...)
	if err != nil {
		return err
	}
	if wait > 0 {
		w.Header().Set("Retry-After", throttle.RetryAfter(wait))
		return again(http.StatusTooManyRequests, "Too many failed sign-ins. Try again in "+throttle.Words(wait)+".")
	}
	u, err := s.checkPassword(r.Context(), d.Org, d.Email, password)
	if err != nil {
		// Not the client's failure: give the slot back.
		if err := s.limiter.Settle(r.Context(), false, a...); err != nil {
			s.Log.WarnContext(r.Context(), "sign-in throttle", "err", err)
		}
		return err
	}
	if err := s.limiter.Settle(r.Context(), u == nil, a...); err != nil {
		return err
	}
	if u == nil {
		s.Log.InfoContext(r.Context(), "console sign-in failed", "org", d.Org, "ip", ip)
		return again(http.StatusUnauthorized, "The organization, email or password is wrong.")
	}
	token, err := s.startSession(r.Context(), u, d.Org)
	if err != nil {
		return err
	}
	s.setCookie(w, sessionCookie, token, int(s.SessionMax/time.Second), true)
	s.setCookie(w, orgCookie, d.Org, 365*24*3600, true)
	s.Log.InfoContext(r.Context(), "console sign-in", "org", d.Org, "user_id", u.ID)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
	return nil
}

// checkPassword returns the user whose credentials these are, or nil.
func (s *Server) checkPassword(ctx context.Context, orgName, email, password string) (*shiplog.User, error) {
	hash := dummyHash
	var u *shiplog.User
	if !storable(orgName) || !storable(email) {
		// No org or person has such a name; PostgreSQL would not even
		// take it as a query parameter.
		auth.CheckPassword(hash, password)
		return nil, nil
	}
	org, err := s.Store.OrgGetByName(ctx, orgName)
	if err == nil {
		u, err = s.Store.UserByEmail(ctx, org.ID, email)
		if err == nil {
			h, err := s.Store.UserPasswordHash(ctx, org.ID, u.ID)
			if err != nil {
				return nil, err
			}
			if h != "" && u.Active() {
				hash = h
			} else {
				u = nil // no password set, or deactivated: no console sign-in
			}
		}
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if !auth.CheckPassword(hash, password) || u == nil {
		return nil, nil
	}
	return u, nil
}

func (s *Server) startSession(ctx context.Context, u *shiplog.User, orgName string) (string, error) {
	token, csrf := randomToken(), randomToken()
	now := s.Clock.Now()
	sess := &store.Session{IDHash: tokenHash(token), OrgID: u.OrgID, OrgName: orgName, UserID: u.ID, CSRF: csrf,
		CreatedAt: now, ExpiresAt: s.expiry(now, now)}
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		// Signing in is rare enough to sweep expired sessions here.
		if _, err := tx.SessionDeleteExpired(ctx, now); err != nil {
			return err
		}
		return tx.SessionCreate(ctx, sess)
	})
	return token, err
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, v *view) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
			return tx.SessionDelete(ctx, tokenHash(c.Value))
		})
		if err != nil {
			return err
		}
	}
	s.setCookie(w, sessionCookie, "", -1, true)
	http.Redirect(w, r, "/ui/sign-in", http.StatusSeeOther)
	return nil
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge int, httpOnly bool) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/ui/", MaxAge: maxAge, HttpOnly: httpOnly,
		Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}

// randomToken is 256 random bits, URL-safe.
func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// storable reports whether text meets the input contract (valid UTF-8,
// no NUL): the text both stores keep.
func storable(text string) bool { return input.Text("", text) == nil }
