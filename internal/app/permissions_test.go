package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/walktest"
)

// TestPermissionWalk walks every operation of the permission table × every
// role × every credential kind (org API key and personal token over real
// HTTP, console session in-process as the console calls the API) on one
// server per store. Allowed ⇒ a 2xx; refused ⇒ a 403 with a detail, and a
// refused write stores nothing (the whole database is digested around the
// refusals). The requests are valid: what a refused caller sends is exactly
// what an owner's allowed request would be.
func TestPermissionWalk(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		w := newWalk(t, db)
		for _, p := range httpapi.Permissions() {
			w.operation(p)
		}
	})
}

type actor struct {
	name  string
	via   auth.Credential
	roles []string
	token string          // bearer for keys and personal tokens
	p     *auth.Principal // console sessions
	user  *shiplog.User
}

type walk struct {
	t      *testing.T
	s      *server
	db     *walktest.DB
	fx     *walktest.Fixtures
	owner  actor
	actors []actor

	envID, versionID, deploymentID, buildID string
	channelID, deliveryID, ruleID, drID     string
}

// call sends one request as a, over HTTP or in-process.
func (w *walk) call(a actor, method, path string, body any) (int, []byte) {
	w.t.Helper()
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			w.t.Fatal(err)
		}
	}
	// Streams never end by themselves: stop once the answer has begun.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if a.via == auth.CredSession {
		req := httptest.NewRequestWithContext(httpapi.WithPrincipal(ctx, a.p), method, "http://console"+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		rec := &startRecorder{ResponseRecorder: httptest.NewRecorder(), started: cancel}
		w.s.app.InProcessAPI.ServeHTTP(rec, req)
		return rec.Code, rec.Body.Bytes()
	}
	req, err := http.NewRequestWithContext(ctx, method, w.s.url+path, bytes.NewReader(raw))
	if err != nil {
		w.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatalf("%s %s as %s: %v", method, path, a.name, err)
	}
	defer res.Body.Close()
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		return res.StatusCode, nil
	}
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// startRecorder records an in-process answer and cancels the request once
// a stream has begun (its first flush).
type startRecorder struct {
	*httptest.ResponseRecorder
	started func()
}

func (r *startRecorder) Flush() {
	r.ResponseRecorder.Flush()
	if strings.HasPrefix(r.Header().Get("Content-Type"), "text/event-stream") {
		r.started()
	}
}

func newWalk(t *testing.T, db string) *walk {
	s := start(t, db)
	w := &walk{t: t, s: s}
	key := s.org("acme")
	// Deliveries are left queued: nothing changes the database behind the
	// digest's back.
	if r := s.get("/healthz", ""); r.status != 200 {
		t.Fatalf("healthz: %d", r.status)
	}
	s.app.Worker.Stop()
	w.db = walktest.Open(t, db)
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	t.Cleanup(rcv.Close)

	w.actors = append(w.actors, actor{name: "api-key", via: auth.CredAPIKey, token: key})
	org, err := s.app.Store.OrgGetByName(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range shiplog.Roles {
		u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: role + "@acme.test", Name: "The " + role, Roles: []string{role},
			CreatedAt: time.Now()}
		var tok string
		err := s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			if err := tx.UserCreate(ctx, u, ""); err != nil {
				return err
			}
			var err error
			tok, err = auth.CreateToken(ctx, tx, u, "walk", time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		pat := actor{name: "pat/" + role, via: auth.CredToken, roles: u.Roles, token: tok, user: u}
		session := actor{name: "session/" + role, via: auth.CredSession, roles: u.Roles, user: u,
			p: &auth.Principal{OrgID: org.ID, OrgName: org.Name, User: u, Via: auth.CredSession}}
		w.actors = append(w.actors, pat, session)
		if role == shiplog.RoleOwner {
			w.owner = pat
		}
	}
	w.fx = &walktest.Fixtures{T: t, Owner: w.caller(w.owner), HookURL: rcv.URL}

	// Shared objects for reads.
	d := w.fx.Must("POST", "/deployment-events/", dep("walk", "v0", "walk-env", "success"))
	w.envID, w.versionID, w.deploymentID = d["environment_id"].(string), d["version_id"].(string), d["id"].(string)
	w.buildID = w.fx.Must("POST", "/build-events/", build("walk", "v0", "completed"))["id"].(string)
	w.channelID = w.fx.Channel()
	w.deliveryID = w.fx.Delivery(w.channelID)
	w.ruleID = w.fx.Rule()
	w.drID = w.fx.DR(nil, shiplog.DRDraft)
	return w
}

// caller is a's Caller, for fixtures made by a.
func (w *walk) caller(a actor) walktest.Caller {
	return func(method, path string, body any) (int, []byte) { return w.call(a, method, path, body) }
}

// dr makes a request in state created by a, or by the owner when a may not
// create requests. An org API key moves only requests a key created.
func (w *walk) dr(a actor, state shiplog.DRStatus) string {
	if a.via == auth.CredAPIKey || (a.user != nil && shiplog.HasRole(a.roles, shiplog.CanManageDRs...)) {
		return w.fx.DR(w.caller(a), state)
	}
	return w.fx.DR(nil, state)
}

type walkReq struct {
	method, path string
	body         any
}

// request builds a valid request of operation p for a, making the objects
// it acts on (fresh ones for writes, so each allowed call has its own).
func (w *walk) request(p httpapi.Permission, a actor) walkReq {
	w.t.Helper()
	r := walkReq{method: p.Method, path: p.Path}
	n := w.fx.Next()
	switch p.Method + " " + p.Path {
	case "POST /deployment-events/":
		r.body = dep("walk", fmt.Sprintf("d%d", n), "walk-env", "success")
	case "POST /build-events/", "POST /version-events/":
		r.body = build("walk", fmt.Sprintf("b%d", n), "completed")
	case "GET /environments/{id}", "PATCH /environments/{id}":
		r.path, r.body = "/environments/"+w.envID, map[string]any{"description": fmt.Sprintf("walked %d", n)}
	case "GET /versions/{id}":
		r.path = "/versions/" + w.versionID
	case "GET /deployments/{id}":
		r.path = "/deployments/" + w.deploymentID
	case "POST /deployments/{id}/abort":
		run := w.fx.Must("POST", "/deployment-events/", dep(fmt.Sprintf("walk-run-%d", n), "v0", "walk-env", "started"))
		r.path, r.body = "/deployments/"+run["id"].(string)+"/abort", map[string]any{"reason": "walked"}
	case "PATCH /org-settings/":
		r.body = map[string]any{"stale_run_minutes": 60 + n}
	case "GET /builds/{id}":
		r.path = "/builds/" + w.buildID
	case "POST /notification-channels/":
		r.body = w.fx.ChannelBody()
	case "GET /notification-channels/{id}", "GET /notification-channels/{id}/deliveries", "POST /notification-channels/{id}/test":
		r.path = strings.Replace(p.Path, "{id}", w.channelID, 1)
	case "PATCH /notification-channels/{id}":
		r.path, r.body = "/notification-channels/"+w.fx.Channel(), map[string]any{"name": fmt.Sprintf("renamed %d", n), "enabled": false}
	case "DELETE /notification-channels/{id}":
		r.path = "/notification-channels/" + w.fx.Channel()
	case "POST /notification-channels/{id}/recover":
		r.path, r.body = "/notification-channels/"+w.channelID+"/recover", map[string]any{"since": "2000-01-01T00:00:00Z"}
	case "POST /notification-preferences/":
		r.body = map[string]any{"event_type": "deployment.failed", "channel_id": w.fx.Channel()}
	case "DELETE /notification-preferences/{id}":
		r.path = "/notification-preferences/" + w.fx.Must("POST", "/notification-preferences/",
			map[string]any{"event_type": "deployment.failed", "channel_id": w.fx.Channel()})["id"].(string)
	case "GET /deliveries/{id}":
		r.path = "/deliveries/" + w.deliveryID
	case "POST /deliveries/{id}/redeliver":
		r.path = "/deliveries/" + w.fx.Delivery(w.channelID) + "/redeliver"
	case "POST /users/":
		r.body = map[string]any{"email": fmt.Sprintf("new%d@acme.test", n), "name": "New", "roles": []string{"viewer"}}
	case "PATCH /users/{id}":
		r.path, r.body = "/users/"+w.fx.Victim(), map[string]any{"name": fmt.Sprintf("Renamed %d", n), "roles": []string{"qa"}}
	case "DELETE /users/{id}", "POST /users/{id}/deactivate", "POST /users/{id}/reset-link":
		r.path = strings.Replace(p.Path, "{id}", w.fx.Victim(), 1)
	case "POST /users/{id}/reactivate":
		id := w.fx.Victim()
		w.fx.Must("POST", "/users/"+id+"/deactivate", nil)
		r.path = "/users/" + id + "/reactivate"
	case "POST /tokens/":
		r.body = map[string]any{"name": fmt.Sprintf("walk %d", n)}
	case "DELETE /tokens/{id}":
		// The caller's own token (the owner's, for refused callers).
		r.path = "/tokens/" + walktest.Token(w.t, w.caller(a))
	case "POST /account/password":
		// The caller's own password, set cheaply here so the walk does
		// not spend seconds hashing.
		old := fmt.Sprintf("old password %d", n)
		w.setPassword(a.user, old)
		r.body = map[string]any{"old_password": old, "new_password": fmt.Sprintf("new password %d", n)}
	case "POST /account/reset-password":
		r.body = map[string]any{"token": walktest.ResetToken(w.t, w.fx.Owner, w.fx.Victim()),
			"new_password": fmt.Sprintf("new password %d", n)}
	case "POST /api-keys/":
		r.body = map[string]any{"name": fmt.Sprintf("walk %d", n)}
	case "DELETE /api-keys/{id}":
		r.path = "/api-keys/" + w.fx.APIKey()
	case "POST /deployment-requests/":
		r.body = w.fx.DRBody("qa")
	case "GET /deployment-requests/{id}":
		r.path = "/deployment-requests/" + w.drID
	case "POST /deployment-requests/{id}/activate", "POST /deployment-requests/{id}/cancel":
		r.path = strings.Replace(p.Path, "{id}", w.dr(a, shiplog.DRDraft), 1)
	case "POST /deployment-requests/{id}/deactivate":
		r.path = strings.Replace(p.Path, "{id}", w.dr(a, shiplog.DRInProgress), 1)
	case "POST /deployment-requests/{id}/complete":
		r.path = strings.Replace(p.Path, "{id}", w.dr(a, shiplog.DRApproved), 1)
	case "POST /deployment-requests/{id}/slots/{slot_id}/approve", "POST /deployment-requests/{id}/slots/{slot_id}/reject":
		id := w.fx.DR(nil, shiplog.DRInProgress)
		r.path = strings.NewReplacer("{id}", id, "{slot_id}", w.fx.Slot(a.roles, id)).Replace(p.Path)
		r.body = map[string]any{"comments": "walked"}
	case "POST /versions/{product}/{version}/approvals":
		r.path, r.body = "/versions/walk/v0/approvals", map[string]any{"approval_type": walktest.VersionApprovalType(a.roles)}
	case "GET /versions/{product}/{version}/approvals":
		r.path = "/versions/walk/v0/approvals"
	case "POST /deployment-rules/":
		r.body = w.fx.RuleBody()
	case "GET /deployment-rules/{id}":
		r.path = "/deployment-rules/" + w.ruleID
	case "PATCH /deployment-rules/{id}":
		r.path, r.body = "/deployment-rules/"+w.fx.Rule(), map[string]any{"status": "report_only"}
	case "DELETE /deployment-rules/{id}":
		r.path = "/deployment-rules/" + w.fx.Rule()
	case "POST /preflight/":
		r.body = map[string]any{"product_name": "walk", "version": "v0", "environment_name": "walk-env"}
	default:
		if strings.Contains(p.Path, "{") || p.Method != "GET" {
			w.t.Fatalf("%s %s: the walk has no request for it; add a case to walk.request", p.Method, p.Path)
		}
	}
	return r
}

func (w *walk) allows(p httpapi.Permission, a actor) bool {
	return p.Check(a.principal()) == nil
}

func (a actor) principal() *auth.Principal {
	if a.via == auth.CredAPIKey {
		return &auth.Principal{Via: a.via}
	}
	return &auth.Principal{Via: a.via, User: a.user}
}

// operation walks one operation: first every refused caller replays the
// owner's request and the database must not change; then every allowed
// caller sends its own.
func (w *walk) operation(p httpapi.Permission) {
	t := w.t
	op := p.Method + " " + p.Path
	var refused, allowed []actor
	for _, a := range w.actors {
		if w.allows(p, a) {
			allowed = append(allowed, a)
		} else {
			refused = append(refused, a)
		}
	}
	if len(refused) > 0 {
		req := w.request(p, w.owner)
		before := w.db.Digest(t)
		for _, a := range refused {
			status, raw := w.call(a, req.method, req.path, req.body)
			var e struct {
				Detail string `json:"detail"`
			}
			_ = json.Unmarshal(raw, &e)
			if status != http.StatusForbidden || e.Detail == "" {
				t.Errorf("%s as %s: %d %s; the table refuses it: want 403 with a detail", op, a.name, status, raw)
			}
		}
		if p.Method != "GET" {
			if after := w.db.Digest(t); after != before {
				t.Errorf("%s: refused calls changed the database", op)
			}
		}
	}
	for _, a := range allowed {
		req := w.request(p, a)
		status, raw := w.call(a, req.method, req.path, req.body)
		if status/100 != 2 {
			t.Errorf("%s as %s: %d %s; the table allows it: want a 2xx", op, a.name, status, raw)
		}
	}
	if p.Public {
		req := w.request(p, w.owner)
		if status, raw := w.call(actor{name: "nobody"}, req.method, req.path, req.body); status/100 != 2 {
			t.Errorf("%s without credentials: %d %s", op, status, raw)
		}
	}
}

// setPassword gives u a password hashed at a test's cost.
func (w *walk) setPassword(u *shiplog.User, pw string) {
	w.t.Helper()
	if u == nil {
		w.t.Fatal("setPassword: not a person")
	}
	h, err := auth.HashPasswordIterations(pw, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	err = w.s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		return tx.UserSetPassword(ctx, u.OrgID, u.ID, h)
	})
	if err != nil {
		w.t.Fatal(err)
	}
}
