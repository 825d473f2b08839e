package httpapi_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/httpapi"
)

// TestPermissionTableMatchesRoutes holds the permission table to the routes
// Handler registers and to the OpenAPI document: one entry per operation,
// none for an operation that does not exist. (A route without an entry
// cannot even be registered: TestRouteWithoutPermissionPanics.)
func TestPermissionTableMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := &httpapi.Server{}
	s.Handler()
	routed := map[string]bool{}
	for _, p := range s.Routes() {
		method, path, _ := strings.Cut(p, " ")
		routed[normalise(method, path)] = true
	}
	docs := documented(t)
	table := map[string]bool{}
	for _, p := range httpapi.Permissions() {
		k := normalise(p.Method, p.Path)
		table[k] = true
		if !routed[k] {
			t.Errorf("the permission table lists %s, which no route serves", k)
		}
		if !docs[k] {
			t.Errorf("the permission table lists %s, which the OpenAPI document does not describe", k)
		}
		if _, ok := httpapi.OpenAPI().Paths[p.Path][strings.ToLower(p.Method)]; !ok {
			t.Errorf("%s %s: spell the path as the OpenAPI document does", p.Method, p.Path)
		}
		if !p.Public && (len(p.Creds) == 0 || len(p.Roles) == 0 || p.What == "") {
			t.Errorf("%s: an entry needs credentials, roles and a name for refusals: %+v", k, p.Access)
		}
		for _, r := range p.Roles {
			if !slices.Contains(shiplog.Roles, r) {
				t.Errorf("%s: unknown role %q", k, r)
			}
		}
	}
	for r := range routed {
		if !table[r] {
			t.Errorf("route %s has no permission entry", r)
		}
	}
	for _, f := range httpapi.FieldPermissions() {
		if !table[normalise(f.Method, f.Path)] {
			t.Errorf("field entry %s for %s %s names no operation", f.Field, f.Method, f.Path)
		}
	}
}

func TestRouteWithoutPermissionPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "no entry in the permission table") {
			t.Errorf("registering an unlisted route: recovered %v", r)
		}
	}()
	httpapi.MustAccess("POST /new-endpoint/{$}")
}

// TestAccessCheck pins the refusals: which credential, which role, and a
// detail that says what is needed.
func TestAccessCheck(t *testing.T) {
	t.Parallel()
	person := func(via auth.Credential, roles ...string) *auth.Principal {
		return &auth.Principal{OrgID: "o", Via: via, User: &shiplog.User{ID: "u", Roles: roles}}
	}
	key := &auth.Principal{OrgID: "o", Via: auth.CredAPIKey, KeyName: "k1"}
	tests := []struct {
		method, path string
		p            *auth.Principal
		detail       string // "" means allowed
	}{
		{"GET", "/deployments/", key, ""},
		{"GET", "/deployments/", person(auth.CredToken, "billing"), ""},
		{"GET", "/deployments/", person(auth.CredSession, "viewer"), ""},
		{"POST", "/deployment-events/", key, ""},
		{"POST", "/deployment-events/", person(auth.CredToken, "developer"), ""},
		{"POST", "/deployment-events/", person(auth.CredToken, "viewer"), "Recording a deployment needs one of the roles owner, admin, release_manager, developer, sre; yours: viewer"},
		{"POST", "/deployment-events/", person(auth.CredSession, "billing"), "needs one of the roles"},
		{"POST", "/notification-channels/", key, "Creating a notification channel needs a person"},
		{"POST", "/notification-channels/", person(auth.CredToken, "viewer"), "needs one of the roles owner, admin"},
		{"DELETE", "/notification-channels/{id}", person(auth.CredSession, "viewer", "billing"), "yours: viewer, billing"},
		{"PATCH", "/notification-channels/{id}", person(auth.CredToken, "admin"), ""},
		{"PATCH", "/environments/{id}", person(auth.CredToken, "viewer"), "Changing an environment needs one of the roles"},
		{"PATCH", "/environments/{id}", key, "needs a person"},
		{"PATCH", "/environments/{id}", person(auth.CredToken, "sre"), ""},
		{"POST", "/deployment-requests/{id}/slots/{slot_id}/approve", key, "needs a person"},
		{"POST", "/deployment-requests/{id}/slots/{slot_id}/approve", person(auth.CredToken, "qa"), ""},
		{"POST", "/deployment-requests/{id}/slots/{slot_id}/approve", person(auth.CredToken, "viewer"), "needs one of the roles"},
		{"POST", "/deployment-requests/", key, ""},
		{"POST", "/deployment-requests/{id}/activate", key, ""},
		{"POST", "/deployment-requests/{id}/cancel", key, "needs a person"},
		{"GET", "/healthz", nil, ""},
	}
	for _, tt := range tests {
		a, ok := httpapi.AccessOf(tt.method, tt.path)
		if !ok {
			t.Errorf("%s %s: no entry", tt.method, tt.path)
			continue
		}
		err := a.Check(tt.p)
		switch {
		case tt.detail == "" && err != nil:
			t.Errorf("%s %s by %+v: refused: %v", tt.method, tt.path, tt.p, err)
		case tt.detail != "" && (shiplog.ErrorCode(err) != shiplog.EFORBIDDEN || !strings.Contains(shiplog.ErrorMessage(err), tt.detail)):
			t.Errorf("%s %s by %+v: %v, want 403 saying %q", tt.method, tt.path, tt.p, err, tt.detail)
		}
		if got := httpapi.Allowed(tt.p, tt.method, tt.path); got != (tt.detail == "") {
			t.Errorf("Allowed(%s %s) = %v", tt.method, tt.path, got)
		}
	}
}

// TestPermissionDoc keeps the table in docs/governance.md equal to the data
// the server enforces. After changing the table:
// go test ./internal/httpapi -run TestPermissionDoc -update
func TestPermissionDoc(t *testing.T) {
	t.Parallel()
	const begin, end = "<!-- permissions:begin (generated by go test ./internal/httpapi -run TestPermissionDoc -update) -->\n",
		"<!-- permissions:end -->"
	path := filepath.Join("..", "..", "docs", "governance.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(begin)), bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("docs/governance.md has no %q … %q section", strings.TrimSpace(begin), end)
	}
	want := permissionMarkdown()
	if got := string(doc[i+len(begin) : j]); got != want {
		if !*update {
			t.Fatalf("docs/governance.md's permission table is stale: go test ./internal/httpapi -run TestPermissionDoc -update")
		}
		out := append(append(append([]byte{}, doc[:i+len(begin)]...), want...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// permissionMarkdown renders the table: one row per operation, in the
// table's order.
func permissionMarkdown() string {
	var b strings.Builder
	mark := func(a httpapi.Access, c auth.Credential) string {
		if a.Public || slices.Contains(a.Creds, c) {
			return "✓"
		}
		return ""
	}
	roles := func(a httpapi.Access) string {
		var s string
		switch {
		case a.Public:
			s = "anyone, no credentials"
		case len(a.Roles) == len(shiplog.Roles):
			s = "every role"
		default:
			s = strings.Join(a.Roles, ", ")
		}
		if a.Note != "" {
			s += "; " + a.Note
		}
		return s
	}
	b.WriteString("| operation | call | org API key | personal token | console | people with roles |\n|---|---|:-:|:-:|:-:|---|\n")
	for _, p := range httpapi.Permissions() {
		op := httpapi.OpenAPI().Paths[p.Path][strings.ToLower(p.Method)]
		fmt.Fprintf(&b, "| %s | `%s %s` | %s | %s | %s | %s |\n", op.Summary, p.Method, p.Path,
			mark(p.Access, auth.CredAPIKey), mark(p.Access, auth.CredToken), mark(p.Access, auth.CredSession), roles(p.Access))
	}
	b.WriteString("\nFields that need more than their operation:\n\n| field | of | org API key | personal token | console | people with roles |\n|---|---|:-:|:-:|:-:|---|\n")
	for _, f := range httpapi.FieldPermissions() {
		fmt.Fprintf(&b, "| `%s` | `%s %s` | %s | %s | %s | %s |\n", f.Field, f.Method, f.Path,
			mark(f.Access, auth.CredAPIKey), mark(f.Access, auth.CredToken), mark(f.Access, auth.CredSession), roles(f.Access))
	}
	return b.String()
}
