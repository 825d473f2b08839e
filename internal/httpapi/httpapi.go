// Package httpapi is the REST API. Handlers return errors; one function
// turns them into status codes and {"detail": "..."} bodies.
package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/approval"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/httpobs"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/input"
	lifecycle "github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/reqid"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/stream"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// Server serves the API.
type Server struct {
	Store     store.Store
	Ingest    *ingest.Service
	Auth      *auth.Authenticator
	Log       *slog.Logger
	Clock     shiplog.Clock
	Worker    *delivery.Worker
	Approvals *approval.Service
	Stream    *stream.Hub // live event streams
	People    *lifecycle.Service
	// BaseURL is the server's public URL, for links in notifications.
	BaseURL string
	// AllowPrivateTargets lets channels point at private and loopback addresses.
	AllowPrivateTargets bool
	// Metrics serves GET /metrics (nil: 404); MetricsToken, when set, is
	// the bearer token it requires. ObserveHTTP receives every request's
	// record (metrics); optional.
	Metrics      http.Handler
	MetricsToken string
	ObserveHTTP  func(httpobs.Record)

	routes []string // every pattern Handler registered, for Routes
}

type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handler returns the routed API.
func (s *Server) Handler() http.Handler {
	h, _ := s.Handlers()
	return h
}

// Handlers returns the routed API twice: for the network (request ids,
// access log, HTTP metrics), and bare, for in-process calls made on behalf
// of a console page, which that page's own request already logs and counts.
func (s *Server) Handlers() (network, inProcess http.Handler) {
	mux := http.NewServeMux()
	s.routes = nil
	// Every route is guarded by its permission entry (permissions.go); a
	// route without one panics here, at startup and in every test.
	handle := func(pattern string, h handlerFunc) {
		a := mustAccess(pattern)
		if !a.Public {
			h = s.authenticate(s.authorize(a, h))
		}
		s.routes = append(s.routes, pattern)
		mux.Handle(pattern, s.wrap(h))
	}
	// Both spellings of each collection path: curl does not follow the
	// redirect ServeMux would send for a missing trailing slash on a POST.
	both := func(method, path string, h handlerFunc) {
		handle(method+" "+path+"/{$}", h)
		handle(method+" "+path, h)
	}

	handle("GET /healthz", s.health)
	handle("GET /health", s.health)
	handle("GET /readyz", s.ready)
	handle("GET /metrics", s.metrics)
	handle("GET /openapi.json", s.openAPI)

	both("POST", "/deployment-events", s.postRunEvent(shiplog.KindDeployment))
	both("POST", "/build-events", s.postRunEvent(shiplog.KindBuild))
	both("POST", "/version-events", s.postRunEvent(shiplog.KindBuild)) // legacy alias
	both("GET", "/products", s.listProducts)
	both("GET", "/environments", s.listEnvironments)
	handle("GET /environments/{id}", s.getEnvironment)
	handle("PATCH /environments/{id}", s.patchEnvironment)
	both("GET", "/versions", s.listVersions)
	handle("GET /versions/{id}", s.getVersion)
	both("GET", "/deployments", s.listDeployments)
	handle("GET /deployments/{id}", s.getDeployment)
	handle("POST /deployments/{id}/abort", s.abortDeployment) // settings.go
	both("GET", "/builds", s.listBuilds)
	handle("GET /builds/{id}", s.getBuild)
	both("GET", "/status", s.status)

	both("POST", "/notification-channels", s.createChannel)
	both("GET", "/notification-channels", s.listChannels)
	handle("GET /notification-channels/{id}", s.getChannel)
	handle("PATCH /notification-channels/{id}", s.patchChannel)
	handle("DELETE /notification-channels/{id}", s.deleteChannel)
	handle("GET /notification-channels/{id}/deliveries", s.listDeliveries)
	handle("POST /notification-channels/{id}/recover", s.recoverChannel)
	handle("POST /notification-channels/{id}/test", s.testChannel)
	both("POST", "/notification-preferences", s.createPreference)
	both("GET", "/notification-preferences", s.listPreferences)
	handle("DELETE /notification-preferences/{id}", s.deletePreference)
	handle("GET /deliveries/{id}", s.getDelivery)
	handle("POST /deliveries/{id}/redeliver", s.redeliver)

	both("GET", "/users", s.listUsers)
	both("POST", "/users", s.createUser)
	handle("PATCH /users/{id}", s.patchUser)
	handle("DELETE /users/{id}", s.deleteUser) // people.go
	handle("POST /users/{id}/deactivate", s.setUserActive(false))
	handle("POST /users/{id}/reactivate", s.setUserActive(true))
	handle("POST /users/{id}/reset-link", s.issueResetLink)
	both("GET", "/tokens", s.listTokens)
	both("POST", "/tokens", s.createToken)
	handle("DELETE /tokens/{id}", s.revokeToken)
	handle("POST /account/password", s.changePassword)
	handle("POST /account/reset-password", s.resetPassword)
	both("POST", "/deployment-requests", s.createDR)
	both("GET", "/deployment-requests", s.listDRs)
	handle("GET /deployment-requests/{id}", s.getDR)
	for _, a := range []shiplog.DRAction{shiplog.DRActivate, shiplog.DRDeactivate, shiplog.DRComplete, shiplog.DRCancel} {
		handle("POST /deployment-requests/{id}/"+string(a), s.transitionDR(a))
	}
	handle("POST /deployment-requests/{id}/slots/{slot_id}/approve", s.decideSlot(true))
	handle("POST /deployment-requests/{id}/slots/{slot_id}/reject", s.decideSlot(false))
	handle("POST /versions/{product}/{version}/approvals", s.approveVersion)
	handle("GET /versions/{product}/{version}/approvals", s.listVersionApprovals)
	both("POST", "/deployment-rules", s.createRule)
	both("GET", "/deployment-rules", s.listRules)
	handle("GET /deployment-rules/{id}", s.getRule)
	handle("PATCH /deployment-rules/{id}", s.patchRule)
	handle("DELETE /deployment-rules/{id}", s.deleteRule)
	both("POST", "/preflight", s.preflight)
	// DORA metrics (docs/dora.md).
	both("GET", "/metrics/dora", s.doraMetrics)
	both("GET", "/api-keys", s.listAPIKeys) // apikeys.go
	both("POST", "/api-keys", s.createAPIKey)
	handle("DELETE /api-keys/{id}", s.revokeAPIKey)
	both("GET", "/events/stream", s.streamEvents)
	both("GET", "/org-settings", s.getOrgSettings) // settings.go
	both("PATCH", "/org-settings", s.patchOrgSettings)
	// The catch-all keeps error bodies JSON; it answers 405 where the path
	// exists under another method, as ServeMux would without it.
	mux.Handle("/", s.wrap(func(w http.ResponseWriter, r *http.Request) error {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "/" && pattern != "" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return shiplog.Errorf(EMETHOD, "Method %s not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allow, " or "))
		}
		return shiplog.Errorf(shiplog.ENOTFOUND, "No route for %s %s", r.Method, r.URL.Path)
	}))
	return reqid.Middleware(httpobs.Middleware(mux, httpobs.Options{Log: s.Log, Observe: s.ObserveHTTP, Quiet: quietRoutes})), mux
}

type ctxKey int

const principalKey ctxKey = iota

func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(principalKey).(*auth.Principal)
	return p
}

func (s *Server) wrap(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkURL(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) authenticate(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if p, ok := r.Context().Value(inProcessKey{}).(*auth.Principal); ok && p != nil {
			// Only the console calls in-process: whatever the caller set,
			// the permission table judges it as a console session.
			cp := *p
			cp.Via = auth.CredSession
			return h(w, r.WithContext(context.WithValue(r.Context(), principalKey, &cp)))
		}
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			return auth.ErrInvalidKey
		}
		p, err := s.Auth.Verify(r.Context(), strings.TrimSpace(token))
		if err != nil {
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), principalKey, p)))
	}
}

// EMETHOD is the HTTP layer's own code for a known path with the wrong method.
const EMETHOD = "method_not_allowed"

// StatusFor is the HTTP status of an error code; the console answers with
// the same table.
func StatusFor(code string) int { return statusOf[code] }

var statusOf = map[string]int{
	EMETHOD:                http.StatusMethodNotAllowed,
	shiplog.EINVALID:       http.StatusBadRequest,
	shiplog.EUNAUTHORIZED:  http.StatusUnauthorized,
	shiplog.EFORBIDDEN:     http.StatusForbidden,
	shiplog.ENOTFOUND:      http.StatusNotFound,
	shiplog.ECONFLICT:      http.StatusConflict,
	shiplog.ETOOLARGE:      http.StatusRequestEntityTooLarge,
	shiplog.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	shiplog.ETOOMANY:       http.StatusTooManyRequests,
	shiplog.EINTERNAL:      http.StatusInternalServerError,
}

// writeError is the one place errors become responses. Anything that is not
// an *shiplog.Error is a logged 500 whose text never reaches the caller.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = shiplog.Errorf(shiplog.ETOOLARGE, "Request body too large (limit %d KiB)", MaxBodyBytes>>10)
	}
	if errors.Is(err, store.ErrNotFound) && shiplog.ErrorCode(err) == shiplog.EINTERNAL {
		err = shiplog.Errorf(shiplog.ENOTFOUND, "Not found")
	}
	code := shiplog.ErrorCode(err)
	status := statusOf[code]
	if code == shiplog.EINTERNAL {
		s.Log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shiplog"`)
	}
	writeJSON(w, status, map[string]string{"detail": shiplog.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"detail":"Internal server error"}`)
	}
	writeRaw(w, status, body)
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// readBody is where every request body enters: bounded in size, then held
// to the input contract (valid UTF-8, no NUL, each field within its
// limit; internal/input, limits.go) before any handler reads a field, so
// both stores see the same text and refuse nothing after the fact.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, err
	}
	if err := input.Check(body, limitsFor(r)); err != nil {
		return nil, err
	}
	return body, nil
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *Server) ready(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		s.Log.WarnContext(r.Context(), "readiness check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"detail": "Database unavailable"})
		return nil
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": s.Store.Driver()})
	return nil
}

// checkURL holds the path and query to the input contract: a NUL or a
// byte that is not UTF-8 in a filter or a path name is a 400 on both
// stores, not a PostgreSQL error.
func checkURL(r *http.Request) error {
	if err := input.Text("The path", r.URL.Path); err != nil {
		return err
	}
	for k, vs := range r.URL.Query() {
		if err := input.Text("A query parameter's name", k); err != nil {
			return err
		}
		for _, v := range vs {
			if err := input.Text("Query parameter '"+k+"'", v); err != nil {
				return err
			}
		}
	}
	return nil
}
