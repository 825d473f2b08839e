package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
)

// Access says who may call one operation. The server checks it before the
// handler runs (Handlers wraps every route with its entry, and refuses to
// start with a route that has none). Handlers and the domain check only what
// depends on the object: the slot's approval type, whose request or token it
// is, the last admin.
type Access struct {
	// Public operations need no credentials at all.
	Public bool
	// Creds are the credential kinds that may call the operation.
	Creds []auth.Credential
	// Roles: a person (personal token, console session) needs one of them.
	// Org API keys have no roles; Creds alone decides for them.
	Roles []string
	// What names the act in refusals: "Recording a deployment needs …".
	What string
	// Note says what the domain checks besides, for docs/governance.md.
	Note string
}

// Permission is the Access of one operation, named as the OpenAPI document
// names it.
type Permission struct {
	Method, Path string
	Access
}

var (
	anyCred    = []auth.Credential{auth.CredAPIKey, auth.CredToken, auth.CredSession}
	peopleOnly = []auth.Credential{auth.CredToken, auth.CredSession}
)

func public(what string) Access { return Access{Public: true, What: what} }

// read: everyone in the org, by any credential.
func read(what string) Access { return Access{Creds: anyCred, Roles: shiplog.Roles, What: what} }

// people: persons holding one of roles; never an org API key.
func people(what string, roles []string) Access {
	return Access{Creds: peopleOnly, Roles: roles, What: what}
}

// automation: org API keys, and persons holding one of roles.
func automation(what string, roles []string) Access {
	return Access{Creds: anyCred, Roles: roles, What: what}
}

func (a Access) note(n string) Access { a.Note = n; return a }

// permissions is the table. Its order is the order docs/governance.md
// shows; TestPermissionTableMatchesRoutes holds it to the routes and to the
// OpenAPI document.
var permissions = []Permission{
	// Service.
	{"GET", "/healthz", public("Liveness")},
	{"GET", "/health", public("Liveness")},
	{"GET", "/readyz", public("Readiness")},
	{"GET", "/metrics", public("Metrics").note("the server's --metrics-token, when one is set")},
	{"GET", "/openapi.json", public("The API document")},

	// Events.
	{"POST", "/deployment-events/", automation("Recording a deployment", shiplog.CanDeploy).
		note("`skip_preflight_checks` has its own entry below")},
	{"POST", "/build-events/", automation("Recording a build", shiplog.CanDeploy)},
	{"POST", "/version-events/", automation("Recording a build", shiplog.CanDeploy)},
	{"GET", "/events/stream", read("Streaming events")},

	// Catalogue.
	{"GET", "/products/", read("Reading products")},
	{"GET", "/environments/", read("Reading environments")},
	{"GET", "/environments/{id}", read("Reading an environment")},
	{"PATCH", "/environments/{id}", people("Changing an environment", shiplog.CanManageEnvironments)},
	{"GET", "/versions/", read("Reading versions")},
	{"GET", "/versions/{id}", read("Reading a version")},
	{"GET", "/deployments/", read("Reading deployments")},
	{"GET", "/deployments/{id}", read("Reading a deployment")},
	{"POST", "/deployments/{id}/abort", automation("Marking a deployment aborted", shiplog.CanDeploy).
		note("only a pending or started run (409 otherwise)")},
	{"GET", "/builds/", read("Reading builds")},
	{"GET", "/builds/{id}", read("Reading a build")},
	{"GET", "/status/", read("Reading the status matrix")},

	// Notifications.
	{"POST", "/notification-channels/", people("Creating a notification channel", shiplog.CanManageChannels)},
	{"GET", "/notification-channels/", read("Reading notification channels")},
	{"GET", "/notification-channels/{id}", read("Reading a notification channel")},
	{"PATCH", "/notification-channels/{id}", people("Changing a notification channel", shiplog.CanManageChannels)},
	{"DELETE", "/notification-channels/{id}", people("Deleting a notification channel", shiplog.CanManageChannels)},
	{"GET", "/notification-channels/{id}/deliveries", read("Reading a delivery log")},
	{"POST", "/notification-channels/{id}/recover", people("Recovering deliveries", shiplog.CanManageChannels)},
	{"POST", "/notification-channels/{id}/test", people("Testing a notification channel", shiplog.CanManageChannels)},
	{"POST", "/notification-preferences/", people("Subscribing a channel", shiplog.CanManageChannels)},
	{"GET", "/notification-preferences/", read("Reading subscriptions")},
	{"DELETE", "/notification-preferences/{id}", people("Unsubscribing a channel", shiplog.CanManageChannels)},
	{"GET", "/deliveries/{id}", read("Reading a delivery")},
	{"POST", "/deliveries/{id}/redeliver", people("Redelivering", shiplog.CanManageChannels)},

	// Governance.
	{"GET", "/users/", people("Listing users", shiplog.CanManageUsers)},
	{"POST", "/users/", people("Adding users", shiplog.CanManageUsers)},
	{"PATCH", "/users/{id}", people("Changing users", shiplog.CanManageUsers).
		note("nobody changes their own roles; the last admin stays")},
	{"DELETE", "/users/{id}", people("Deleting users", shiplog.CanManageUsers).
		note("not yourself; the last active admin stays; the person's name stays on what they did")},
	{"POST", "/users/{id}/deactivate", people("Deactivating users", shiplog.CanManageUsers).
		note("not yourself; the last active admin stays")},
	{"POST", "/users/{id}/reactivate", people("Reactivating users", shiplog.CanManageUsers).note("not yourself")},
	{"POST", "/users/{id}/reset-link", people("Issuing password reset links", shiplog.CanManageUsers)},
	{"GET", "/tokens/", people("Listing personal access tokens", shiplog.Roles).
		note("one's own; owners and admins see everyone's in the org")},
	{"POST", "/tokens/", people("Creating a personal access token", shiplog.Roles).note("for oneself only")},
	{"DELETE", "/tokens/{id}", people("Revoking a personal access token", shiplog.Roles).
		note("one's own; owners and admins revoke anyone's in the org")},
	{"POST", "/account/password", people("Changing one's password", shiplog.Roles).note("the current password is required")},
	{"POST", "/account/reset-password", public("Setting a password with a reset link").
		note("the link's one-time token is the credential")},
	{"GET", "/api-keys/", people("Listing API keys", shiplog.CanManageAPIKeys)},
	{"POST", "/api-keys/", people("Creating API keys", shiplog.CanManageAPIKeys)},
	{"DELETE", "/api-keys/{id}", people("Revoking API keys", shiplog.CanManageAPIKeys)},
	{"POST", "/deployment-requests/", automation("Creating a deployment request", shiplog.CanManageDRs)},
	{"GET", "/deployment-requests/", read("Reading deployment requests")},
	{"GET", "/deployment-requests/{id}", read("Reading a deployment request")},
	{"POST", "/deployment-requests/{id}/activate", automation("Activating a deployment request", shiplog.CanManageDRs).
		note(drOwnNote + "; an org API key, those an API key created")},
	{"POST", "/deployment-requests/{id}/deactivate", people("Deactivating a deployment request", shiplog.CanManageDRs).
		note(drOwnNote)},
	{"POST", "/deployment-requests/{id}/complete", people("Completing a deployment request", shiplog.CanManageDRs).
		note(drOwnNote)},
	{"POST", "/deployment-requests/{id}/cancel", people("Cancelling a deployment request", shiplog.CanManageDRs).
		note(drOwnNote)},
	{"POST", "/deployment-requests/{id}/slots/{slot_id}/approve", people("Approving a slot", shiplog.CanApprove).
		note("a role that may fill the slot's approval type")},
	{"POST", "/deployment-requests/{id}/slots/{slot_id}/reject", people("Rejecting a slot", shiplog.CanApprove).
		note("a role that may fill the slot's approval type")},
	{"POST", "/versions/{product}/{version}/approvals", people("Signing off a version", shiplog.CanApproveVersions).
		note("a role that may sign off the approval type")},
	{"GET", "/versions/{product}/{version}/approvals", read("Reading sign-offs")},

	// Rules.
	{"POST", "/deployment-rules/", people("Creating a deployment rule", shiplog.CanManageRules)},
	{"GET", "/deployment-rules/", read("Reading deployment rules")},
	{"GET", "/deployment-rules/{id}", read("Reading a deployment rule")},
	{"PATCH", "/deployment-rules/{id}", people("Changing a deployment rule", shiplog.CanManageRules)},
	{"DELETE", "/deployment-rules/{id}", people("Deleting a deployment rule", shiplog.CanManageRules)},
	{"POST", "/preflight/", read("Asking for a preflight verdict").note("records nothing")},
	{"GET", "/org-settings/", read("Reading the organisation's settings")},
	{"PATCH", "/org-settings/", people("Changing the organisation's settings", shiplog.CanManageUsers)},

	// Reports.
	{"GET", "/metrics/dora", read("Reading DORA metrics")},
}

const drOwnNote = "owner, admin and release_manager move any request; product and developer their own"

// FieldPermission is the Access a request field needs besides its
// operation's: sending it is a separate permission.
type FieldPermission struct {
	Method, Path, Field string
	Access
}

// fieldPermissions are checked by the handlers that read the field
// (Server.authorizeField).
var fieldPermissions = []FieldPermission{
	{"POST", "/deployment-events/", "skip_preflight_checks",
		automation("skip_preflight_checks", shiplog.CanSkipRules).
			note("on started events; then the org's setting (anyone, people_only, nobody) may refuse it")},
}

// Permissions returns the table, in the order docs/governance.md shows it.
func Permissions() []Permission { return slices.Clone(permissions) }

// FieldPermissions returns the field entries.
func FieldPermissions() []FieldPermission { return slices.Clone(fieldPermissions) }

// opKey folds a route pattern or a documented path into one key: "/{$}"
// and a trailing slash do not matter.
func opKey(method, path string) string {
	path = strings.TrimSuffix(path, "{$}")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return method + " " + path
}

var accessByKey = func() map[string]Access {
	m := map[string]Access{}
	for _, p := range permissions {
		k := opKey(p.Method, p.Path)
		if _, dup := m[k]; dup {
			panic("httpapi: permission table lists " + k + " twice")
		}
		m[k] = p.Access
	}
	return m
}()

// accessFor returns the entry of a route pattern ("GET /users/{$}").
func accessFor(pattern string) (Access, bool) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return Access{}, false
	}
	a, ok := accessByKey[opKey(method, path)]
	return a, ok
}

// mustAccess is accessFor for route registration: a route without an entry
// stops the server from starting, so no endpoint ships unguarded.
func mustAccess(pattern string) Access {
	a, ok := accessFor(pattern)
	if !ok {
		panic(fmt.Sprintf("httpapi: route %q has no entry in the permission table (internal/httpapi/permissions.go)", pattern))
	}
	return a
}

// AccessOf returns the entry of method path (as the OpenAPI document
// spells it).
func AccessOf(method, path string) (Access, bool) {
	a, ok := accessByKey[opKey(method, path)]
	return a, ok
}

// Allowed reports whether p may call method path (as the OpenAPI document
// spells it). The console uses it to show only the buttons that work.
func Allowed(p *auth.Principal, method, path string) bool {
	a, ok := AccessOf(method, path)
	return ok && a.Check(p) == nil
}

// Check returns nil when p may call, else a 403 saying what is missing.
func (a Access) Check(p *auth.Principal) error {
	if a.Public {
		return nil
	}
	if p == nil {
		return auth.ErrInvalidKey
	}
	if !slices.Contains(a.Creds, p.Via) {
		switch {
		case p.Via == auth.CredAPIKey:
			return shiplog.Errorf(shiplog.EFORBIDDEN, "%s needs a person: use a personal access token (pat_…) or the console, not an org API key", a.What)
		case slices.Contains(a.Creds, auth.CredSession):
			return shiplog.Errorf(shiplog.EFORBIDDEN, "%s is done in the console, not with a personal access token", a.What)
		default:
			return shiplog.Errorf(shiplog.EFORBIDDEN, "%s is not done in the console", a.What)
		}
	}
	if p.Via == auth.CredAPIKey {
		return nil
	}
	if p.User == nil || !shiplog.HasRole(p.User.Roles, a.Roles...) {
		var yours []string
		if p.User != nil {
			yours = p.User.Roles
		}
		return shiplog.Errorf(shiplog.EFORBIDDEN, "%s needs one of the roles %s; yours: %s", a.What,
			strings.Join(a.Roles, ", "), strings.Join(yours, ", "))
	}
	return nil
}

// authorize runs h only for principals the entry allows.
func (s *Server) authorize(a Access, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if err := a.Check(principal(r)); err != nil {
			return err
		}
		return h(w, r)
	}
}

// authorizeField checks the entry for sending field to method path.
func (s *Server) authorizeField(r *http.Request, method, path, field string) error {
	for _, f := range fieldPermissions {
		if f.Method == method && f.Path == path && f.Field == field {
			return f.Check(principal(r))
		}
	}
	return fmt.Errorf("httpapi: no field permission for %s %s %s", method, path, field)
}
