// Package web is the console: server-rendered pages (html/template) with a
// vendored htmx for the interactive parts, served by `shiplog serve` itself.
// Pages read and write through the REST API, called in-process for the
// signed-in user, so the console and the API share one set of validation
// rules, role checks and error texts.
package web

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/httpobs"
	"github.com/shiplog/shiplog/internal/reqid"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/throttle"
)

//go:embed static templates
var assets embed.FS

// Server serves the console under /ui/.
type Server struct {
	Store store.Store
	// API is the REST API's handler; pages call it in-process.
	API   http.Handler
	Clock shiplog.Clock
	Log   *slog.Logger
	// Secure marks cookies Secure (the public URL is https).
	Secure bool
	// Live streams an org's events as server-sent events from the current
	// end (the home page's live feed); nil turns the feed off.
	Live func(w http.ResponseWriter, r *http.Request, orgID string) error
	// SessionIdle and SessionMax bound a session: it ends after SessionIdle
	// without use, and SessionMax after sign-in whatever the use.
	SessionIdle, SessionMax time.Duration
	// ObserveHTTP receives each console request's record (metrics).
	ObserveHTTP func(httpobs.Record)
	// TrustedOrigins are origins (scheme://host[:port]) whose unsafe
	// requests are same-origin whatever the Host header says: the public
	// URL, for a reverse proxy that rewrites Host.
	TrustedOrigins []string
	// Setup is first-run setup (the page setup links open); nil turns it off.
	Setup Setups
	// BaseURL is the configured public URL ("" when none was: pages then
	// use the address the browser used), for the snippets that tell
	// pipelines where to report.
	BaseURL string

	pages    *pageSet
	limiter  *throttle.Limiter
	patterns []string // every pattern Handler registered, for Routes
}

// Defaults for sessions: a working day of inactivity, a month at most.
const (
	DefaultSessionIdle = 12 * time.Hour
	DefaultSessionMax  = 30 * 24 * time.Hour
)

// Handler returns the console's routes, all under /ui/.
func (s *Server) Handler() http.Handler {
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Clock == nil {
		s.Clock = shiplog.SystemClock{}
	}
	if s.SessionIdle == 0 {
		s.SessionIdle = DefaultSessionIdle
	}
	if s.SessionMax == 0 {
		s.SessionMax = DefaultSessionMax
	}
	s.pages = mustParsePages()
	s.limiter = &throttle.Limiter{Store: s.Store, Clock: s.Clock}

	mux := http.NewServeMux()
	s.patterns = nil
	handle := func(pattern string, h http.Handler) {
		s.patterns = append(s.patterns, pattern)
		mux.Handle(pattern, h)
	}
	static, _ := fs.Sub(assets, "static")
	handle("GET /ui/static/", http.StripPrefix("/ui/static/", staticFiles(static)))
	handle("GET /ui/sign-in", s.public(s.signInPage))
	handle("POST /ui/sign-in", s.public(s.signIn))
	handle("POST /ui/sign-out", s.signedIn(s.signOut))
	handle("GET /ui/reset-password", s.public(s.resetPasswordPage)) // account.go
	handle("POST /ui/reset-password", s.public(s.resetPassword))
	s.setupRoutes(handle) // setup.go: first-run setup

	s.routes(func(pattern string, h pageFunc) { handle(pattern, s.signedIn(h)) })
	mux.Handle("/ui/", s.signedIn(func(w http.ResponseWriter, r *http.Request, v *view) error {
		return notFound("No console page at " + r.URL.Path)
	}))
	return reqid.Middleware(httpobs.Middleware(securityHeaders(s.sameOrigin(compress(mux))), httpobs.Options{Log: s.Log, Observe: s.ObserveHTTP}))
}

// sameOrigin refuses every unsafe console request a browser says came
// from another origin (Sec-Fetch-Site, else Origin against Host). It is
// what protects the sign-in form, which has no session and so no CSRF
// token yet (login CSRF: a page elsewhere signing the visitor in to an
// account of the attacker's); signed-in forms also carry the session's
// token. Clients that are not browsers send neither header and pass.
func (s *Server) sameOrigin(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	for _, o := range s.TrustedOrigins {
		if err := cop.AddTrustedOrigin(o); err != nil {
			s.Log.Warn("console: not a trusted origin", "origin", o, "err", err)
		}
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, &view{}, shiplog.Errorf(shiplog.EFORBIDDEN,
			"This form was sent from another site, so it was refused. Open the console at its own address and try again"))
	}))
	return cop.Handler(next)
}

// Routes lists the patterns the last Handler call registered (the
// permission walk finds every form through it).
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// routes registers the signed-in pages. Each area of the console adds its
// own block here.
func (s *Server) routes(page func(pattern string, h pageFunc)) {
	page("GET /ui/{$}", s.home)
	page("GET /ui/fragments/matrix", s.matrixFragment)
	page("GET /ui/live", s.live)
	s.settingsRoutes(page) // settings.go: notifications, API keys, users, rules
	s.releaseRoutes(page)  // releases.go: deployments, builds, versions, deployment requests
	s.insightRoutes(page)  // insight.go: DORA charts
	s.accountRoutes(page)  // account.go: one's own tokens and password
	s.connectRoutes(page)  // connect.go: connect a pipeline, first steps
}

// securityHeaders keeps the console's pages from being framed, sniffed or
// running anything but its own scripts.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
			"connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves the embedded assets. Their names carry a version, so
// browsers may keep them for a year.
func staticFiles(fsys fs.FS) http.Handler {
	files := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	})
}
