package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/httpapi"
	"github.com/shiplog/shiplog/internal/testutil/pgtest"
	"github.com/shiplog/shiplog/internal/testutil/walktest"
	"github.com/shiplog/shiplog/internal/web"
)

// consoleForm is one form of the console and the API operation it
// performs: what the permission table says of that operation for a console
// session is what the form must do.
type consoleForm struct {
	route string // the console's route pattern
	op    string // the API operation, as the permission table names it
	// build returns the path and a valid form for someone with roles.
	build func(w *formWalk, roles []string) (path string, form url.Values)
}

// noForm are the console's unsafe routes that perform no API operation.
var noForm = []string{"POST /ui/sign-in", "POST /ui/sign-out", "POST /ui/setup"}

var consoleForms = []consoleForm{
	{"POST /ui/versions/{id}/approvals", "POST /versions/{product}/{version}/approvals", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/versions/" + w.versionID + "/approvals", url.Values{"approval_type": {walktest.VersionApprovalType(roles)}, "comments": {"walked"}}
	}},
	{"POST /ui/deployment-requests/new", "POST /deployment-requests/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/deployment-requests/new", url.Values{"name": {fmt.Sprintf("walk %d", w.fx.Next())}, "item_product": {"walk"},
			"item_version": {"v0"}, "environment": {"walk-env"}, "slot_qa": {"required"}}
	}},
	{"POST /ui/deployment-requests/{id}/slots/{slot}", "POST /deployment-requests/{id}/slots/{slot_id}/approve", func(w *formWalk, roles []string) (string, url.Values) {
		id := w.fx.DR(nil, shiplog.DRInProgress)
		return "/ui/deployment-requests/" + id + "/slots/" + w.fx.Slot(roles, id), url.Values{"decision": {"approve"}, "comments": {"walked"}}
	}},
	{"POST /ui/deployment-requests/{id}/slots/{slot}", "POST /deployment-requests/{id}/slots/{slot_id}/reject", func(w *formWalk, roles []string) (string, url.Values) {
		id := w.fx.DR(nil, shiplog.DRInProgress)
		return "/ui/deployment-requests/" + id + "/slots/" + w.fx.Slot(roles, id), url.Values{"decision": {"reject"}}
	}},
	drTransitionForm(shiplog.DRActivate, shiplog.DRDraft),
	drTransitionForm(shiplog.DRDeactivate, shiplog.DRInProgress),
	drTransitionForm(shiplog.DRComplete, shiplog.DRApproved),
	drTransitionForm(shiplog.DRCancel, shiplog.DRDraft),
	{"POST /ui/settings/notifications", "POST /notification-channels/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications", w.channelForm()
	}},
	{"POST /ui/settings/notifications/{id}", "PATCH /notification-channels/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.fx.Channel(), w.channelForm()
	}},
	{"POST /ui/settings/notifications/{id}/delete", "DELETE /notification-channels/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.fx.Channel() + "/delete", url.Values{"kind": {"webhook"}}
	}},
	{"POST /ui/settings/notifications/{id}/enabled", "PATCH /notification-channels/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.fx.Channel() + "/enabled", url.Values{"enabled": {"false"}}
	}},
	{"PATCH /ui/settings/notifications/{id}/enabled", "PATCH /notification-channels/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.fx.Channel() + "/enabled", url.Values{"enabled": {"false"}}
	}},
	{"POST /ui/settings/notifications/{id}/test", "POST /notification-channels/{id}/test", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.channelID + "/test", url.Values{}
	}},
	{"POST /ui/settings/notifications/{id}/deliveries/{delivery}/redeliver", "POST /deliveries/{id}/redeliver", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.channelID + "/deliveries/" + w.fx.Delivery(w.channelID) + "/redeliver", url.Values{}
	}},
	{"POST /ui/settings/notifications/{id}/redeliver-failed", "POST /notification-channels/{id}/recover", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/notifications/" + w.channelID + "/redeliver-failed", url.Values{}
	}},
	{"POST /ui/settings/api-keys", "POST /api-keys/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/api-keys", url.Values{"name": {fmt.Sprintf("walk %d", w.fx.Next())}}
	}},
	{"POST /ui/connect/key", "POST /api-keys/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/connect/key", url.Values{"name": {fmt.Sprintf("walk %d", w.fx.Next())}}
	}},
	{"POST /ui/settings/api-keys/{id}/revoke", "DELETE /api-keys/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/api-keys/" + w.fx.APIKey() + "/revoke", url.Values{}
	}},
	{"POST /ui/settings/users", "POST /users/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/users", url.Values{"email": {fmt.Sprintf("new%d@acme.test", w.fx.Next())}, "name": {"New"}, "roles": {"viewer"}}
	}},
	{"POST /ui/settings/users/{id}", "PATCH /users/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/users/" + w.fx.Victim(), url.Values{"name": {"Renamed"}, "roles": {"qa"}, "roles_was": {"viewer"}}
	}},
	{"POST /ui/settings/users/{id}/deactivate", "POST /users/{id}/deactivate", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/users/" + w.fx.Victim() + "/deactivate", url.Values{}
	}},
	{"POST /ui/settings/users/{id}/reactivate", "POST /users/{id}/reactivate", func(w *formWalk, roles []string) (string, url.Values) {
		id := w.fx.Victim()
		w.fx.Must("POST", "/users/"+id+"/deactivate", nil)
		return "/ui/settings/users/" + id + "/reactivate", url.Values{}
	}},
	{"POST /ui/settings/users/{id}/delete", "DELETE /users/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/users/" + w.fx.Victim() + "/delete", url.Values{}
	}},
	{"POST /ui/settings/users/{id}/reset-link", "POST /users/{id}/reset-link", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/users/" + w.fx.Victim() + "/reset-link", url.Values{}
	}},
	{"POST /ui/settings/users/{id}/tokens/{token}/revoke", "DELETE /tokens/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		// One's own token, from one's own page: every role may.
		return "/ui/settings/users/" + w.userID(roles[0]) + "/tokens/" + walktest.Token(w.t, w.apiAs(roles[0])) + "/revoke", url.Values{}
	}},
	{"POST /ui/account/tokens", "POST /tokens/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/account/tokens", url.Values{"name": {fmt.Sprintf("walk %d", w.fx.Next())}}
	}},
	{"POST /ui/account/tokens/{id}/revoke", "DELETE /tokens/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/account/tokens/" + walktest.Token(w.t, w.apiAs(roles[0])) + "/revoke", url.Values{}
	}},
	{"POST /ui/account/password", "POST /account/password", func(w *formWalk, roles []string) (string, url.Values) {
		pw := fmt.Sprintf("walked password %d", w.fx.Next())
		return "/ui/account/password", url.Values{"old_password": {"correct horse battery"}, "new_password": {pw}, "confirm_password": {pw}}
	}},
	{"POST /ui/reset-password", "POST /account/reset-password", func(w *formWalk, roles []string) (string, url.Values) {
		pw := fmt.Sprintf("walked password %d", w.fx.Next())
		return "/ui/reset-password", url.Values{"token": {walktest.ResetToken(w.t, w.fx.Owner, w.fx.Victim())}, "new_password": {pw},
			"confirm_password": {pw}}
	}},
	{"POST /ui/settings/rules", "POST /deployment-rules/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/rules", w.ruleForm()
	}},
	{"POST /ui/settings/rules/{id}", "PATCH /deployment-rules/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/rules/" + w.fx.Rule(), w.ruleForm()
	}},
	{"POST /ui/settings/rules/{id}/delete", "DELETE /deployment-rules/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/rules/" + w.fx.Rule() + "/delete", url.Values{}
	}},
	{"POST /ui/settings/preflight", "PATCH /org-settings/", func(w *formWalk, roles []string) (string, url.Values) {
		return "/ui/settings/preflight", url.Values{"skip_preflight_checks": {"anyone"}, "stale_run_minutes": {fmt.Sprint(60 + w.fx.Next())}}
	}},
	{"POST /ui/settings/environments/{id}", "PATCH /environments/{id}", func(w *formWalk, roles []string) (string, url.Values) {
		run := w.fx.Must("POST", "/deployment-events/", map[string]any{"product_name": "walk", "version": fmt.Sprintf("env-%d", w.fx.Next()),
			"environment_name": "walk-env", "status": "success"})
		return "/ui/settings/environments/" + run["environment_id"].(string), url.Values{"type": {"staging"}}
	}},
	{"POST /ui/deployments/{id}/abort", "POST /deployments/{id}/abort", func(w *formWalk, roles []string) (string, url.Values) {
		run := w.fx.Must("POST", "/deployment-events/", map[string]any{"product_name": fmt.Sprintf("walk-run-%d", w.fx.Next()),
			"version": "v0", "environment_name": "walk-env", "status": "started"})
		return "/ui/deployments/" + run["id"].(string) + "/abort", url.Values{"reason": {"walked"}}
	}},
}

func drTransitionForm(a shiplog.DRAction, from shiplog.DRStatus) consoleForm {
	return consoleForm{"POST /ui/deployment-requests/{id}/{action}", "POST /deployment-requests/{id}/" + string(a),
		func(w *formWalk, roles []string) (string, url.Values) {
			// People who may create requests move their own.
			creator := w.fx.Owner
			if shiplog.HasRole(roles, shiplog.CanManageDRs...) {
				creator = w.apiAs(roles[0])
			}
			return "/ui/deployment-requests/" + w.fx.DR(creator, from) + "/" + string(a), url.Values{}
		}}
}

// TestConsoleFormsFollowPermissionTable submits every console form as every
// role, signed in over real HTTP, on both stores: a form the permission
// table allows for a console session works (no 403); one it refuses answers
// 403 with the API's reason on the page and stores nothing.
func TestConsoleFormsFollowPermissionTable(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		walkForms(t, "sqlite://"+filepath.Join(t.TempDir(), "shiplog.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		walkForms(t, pgtest.URL(t))
	})
}

// TestEveryConsoleFormIsWalked: a new form without an entry in
// consoleForms fails here.
func TestEveryConsoleFormIsWalked(t *testing.T) {
	t.Parallel()
	s := &web.Server{}
	s.Handler()
	walked := map[string]bool{}
	for _, f := range consoleForms {
		walked[f.route] = true
		method, path, _ := strings.Cut(f.op, " ")
		if _, ok := httpapi.AccessOf(method, path); !ok {
			t.Errorf("%s: %s is not in the permission table", f.route, f.op)
		}
	}
	for _, r := range s.Routes() {
		if strings.HasPrefix(r, "GET ") || walked[r] || contains(noForm, r) {
			continue
		}
		t.Errorf("console form %s is not walked: add it to consoleForms with the API operation it performs", r)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type formWalk struct {
	t        *testing.T
	s        *server
	db       *walktest.DB
	fx       *walktest.Fixtures
	sessions map[string]*settingsSession // by role
	tokens   map[string]string           // personal tokens by role

	versionID, channelID string
}

// apiAs calls the API with the personal token of the user holding role.
func (w *formWalk) apiAs(role string) walktest.Caller {
	return func(method, path string, body any) (int, []byte) {
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequestWithContext(w.t.Context(), method, w.s.url+path, rd)
		req.Header.Set("Authorization", "Bearer "+w.tokens[role])
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			w.t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res.StatusCode, raw
	}
}

// userID is the id of the person holding role.
func (w *formWalk) userID(role string) string {
	u, err := w.s.app.Store.UserByEmail(w.t.Context(), w.s.org.ID, role+"@acme.test")
	if err != nil {
		w.t.Fatal(err)
	}
	return u.ID
}

func (w *formWalk) channelForm() url.Values {
	return url.Values{"kind": {"webhook"}, "name": {fmt.Sprintf("walk %d", w.fx.Next())}, "url": {w.fx.HookURL},
		"events": {"build.failed"}, "enabled": {"on"}, "signature_scheme": {"versioner"}}
}

func (w *formWalk) ruleForm() url.Values {
	return url.Values{"name": {fmt.Sprintf("walk %d", w.fx.Next())}, "rule_type": {"deployment_request_required"},
		"status": {"disabled"}, "product_names": {"nothing"}, "config": {`{"required_approval_types": ["qa"]}`}}
}

func walkForms(t *testing.T, dbURL string) {
	s := startDB(t, dbURL)
	w := &formWalk{t: t, s: s, db: walktest.Open(t, dbURL), sessions: map[string]*settingsSession{}, tokens: map[string]string{}}
	rcv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	t.Cleanup(rcv.Close)
	for _, role := range shiplog.Roles {
		ss := s.consoleSession(t, role+"@acme.test", role)
		w.sessions[role] = ss
		u, err := s.app.Store.UserByEmail(t.Context(), s.org.ID, role+"@acme.test")
		if err != nil {
			t.Fatal(err)
		}
		w.tokens[role] = s.token(u)
	}
	// The server has answered (sign-ins), so its worker runs: stop it, and
	// deliveries stay queued instead of changing the database behind the
	// digest's back.
	s.app.Worker.Stop()
	w.fx = &walktest.Fixtures{T: t, Owner: w.apiAs(shiplog.RoleOwner), HookURL: rcv.URL}
	w.versionID = w.fx.Must("POST", "/deployment-events/", map[string]any{"product_name": "walk", "version": "v0",
		"environment_name": "walk-env", "status": "success"})["version_id"].(string)
	w.channelID = w.fx.Channel()

	for _, f := range consoleForms {
		method, path, _ := strings.Cut(f.op, " ")
		access, _ := httpapi.AccessOf(method, path)
		var refused, allowed []string
		for _, role := range shiplog.Roles {
			p := &auth.Principal{Via: auth.CredSession, User: &shiplog.User{Roles: []string{role}}}
			if access.Check(p) == nil {
				allowed = append(allowed, role)
			} else {
				refused = append(refused, role)
			}
		}
		what := f.route + " (" + f.op + ")"
		if len(refused) > 0 {
			path, form := f.build(w, []string{shiplog.RoleOwner})
			before := w.db.Digest(t)
			for _, role := range refused {
				res, body := w.submit(f.route, role, path, form)
				// htmx swaps only 2xx answers: the console sends a refusal to
				// the page's message area with a 200 (render.go, fail).
				status := res.StatusCode
				if res.Header.Get("HX-Retarget") == "#flash" {
					status = http.StatusForbidden
				}
				if status != http.StatusForbidden || !strings.Contains(body, "needs one of the roles") {
					t.Errorf("%s as %s: %d; the table refuses it: want 403 with the API's reason\n%s", what, role, res.StatusCode, mainOf(body))
				}
			}
			if after := w.db.Digest(t); after != before {
				t.Errorf("%s: refused forms changed the database", what)
			}
		}
		for _, role := range allowed {
			path, form := f.build(w, []string{role})
			if res, body := w.submit(f.route, role, path, form); res.StatusCode >= 400 {
				t.Errorf("%s as %s: %d; the table allows it: want it done\n%s", what, role, res.StatusCode, mainOf(body))
			}
		}
	}
}

// submit sends a form as the role's session: PATCH routes as htmx does.
func (w *formWalk) submit(route, role, path string, form url.Values) (*http.Response, string) {
	ss := w.sessions[role]
	if strings.HasPrefix(route, "PATCH ") {
		return ss.htmx(http.MethodPatch, path, form)
	}
	return ss.post(path, form)
}
