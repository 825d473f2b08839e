package app_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/store"
)

func TestRejectedRequestsStoreNothing(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		big := `{"product_name":"a","version":"1","environment_name":"p","status":"success","extra_metadata":{"k":"` +
			strings.Repeat("x", 1<<20) + `"}}`
		tests := []struct {
			name, path, key, body string
			status                int
			detail                string
		}{
			{"no key", "/deployment-events/", "", `{}`, 401, "Invalid API key"},
			{"not a key", "/deployment-events/", "hello", `{}`, 401, "Invalid API key"},
			{"wrong secret", "/deployment-events/", key[:len(key)-3] + "abc", `{}`, 401, "Invalid API key"},
			{"unknown org", "/deployment-events/", strings.Replace(key, "sk_acme_", "sk_nobody_", 1), `{}`, 401, "Invalid API key"},
			{"unknown key id", "/deployment-events/", strings.Replace(key, "_k1_", "_k9_", 1), `{}`, 401, "Invalid API key"},
			{"malformed", "/deployment-events/", key, `{"product_name": "a",`, 400, "Invalid JSON in request body"},
			{"array", "/build-events/", key, `[]`, 400, "Request body must be a JSON object"},
			{"missing field", "/deployment-events/", key, `{"version":"1","environment_name":"p","status":"success"}`, 400, "Field 'product_name' is required"},
			{"missing env", "/deployment-events/", key, `{"product_name":"a","version":"1","status":"success"}`, 400, "Field 'environment_name' is required"},
			{"wrong type", "/deployment-events/", key, `{"product_name":"a","version":1,"environment_name":"p","status":"success"}`, 400, "Field 'version' must be a string"},
			{"unknown status", "/build-events/", key, `{"product_name":"a","version":"1","status":"nope"}`, 400, "Invalid status 'nope' for a build event; accepted values: pending, queued, scheduled, started, in_progress, init, building, success, completed, complete, finished, built, failed, fail, failure, error, aborted, abort, cancelled, cancel, skipped"},
			{"too long", "/deployment-events/", key, `{"product_name":"` + strings.Repeat("p", 300) + `","version":"1","environment_name":"p","status":"success"}`, 400, "Field 'product_name' is too long (300 bytes; the limit is 255)"},
			{"metadata not object", "/deployment-events/", key, `{"product_name":"a","version":"1","environment_name":"p","status":"success","extra_metadata":"x"}`, 400, "Field 'extra_metadata' must be a JSON object"},
			{"body too large", "/deployment-events/", key, big, 413, "Request body too large (limit 1024 KiB)"},
			{"idempotency key too long", "/deployment-events/", key, `{}`, 400, "Idempotency-Key is too long (limit 255 characters)"},
		}
		for _, tt := range tests {
			var hdr []string
			if strings.HasPrefix(tt.name, "idempotency") {
				hdr = []string{"Idempotency-Key", strings.Repeat("i", 256)}
			}
			r := s.post(tt.path, tt.key, tt.body, hdr...)
			if r.status != tt.status || r.detail(t) != tt.detail {
				t.Errorf("%s: %d %q; want %d %q", tt.name, r.status, r.detail(t), tt.status, tt.detail)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type %q", tt.name, ct)
			}
		}
		for _, path := range []string{"/products/", "/environments/", "/versions/", "/deployments/", "/builds/"} {
			if n := len(s.get(path, key).items(t)); n != 0 {
				t.Errorf("%s has %d rows after rejected requests", path, n)
			}
		}
	})
}

func TestRevokedKeyIsRefused(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		mustOK(t, s.post("/deployment-events/", key, dep("a", "1", "dev", "success")))
		org, err := s.app.Store.OrgGetByName(context.Background(), "acme")
		if err != nil {
			t.Fatal(err)
		}
		err = s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			return tx.APIKeyRevoke(ctx, org.ID, "k1", time.Now())
		})
		if err != nil {
			t.Fatal(err)
		}
		if r := s.post("/deployment-events/", key, dep("a", "1", "dev", "success")); r.status != 401 || r.detail(t) != "Invalid API key" {
			t.Errorf("revoked key: %d %s", r.status, r.body)
		}
		keys, err := s.app.Store.APIKeyList(context.Background(), org.ID)
		if err != nil || len(keys) != 1 || keys[0].LastUsedAt == nil {
			t.Errorf("last_used_at not recorded: %+v %v", keys, err)
		}
	})
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		a, b := s.org("alpha"), s.org("beta")
		d := mustOK(t, s.post("/deployment-events/", a, dep("shared-name", "1.0", "production", "success", "scm_sha", "aaa")))
		bl := mustOK(t, s.post("/build-events/", a, build("shared-name", "1.0", "completed")))
		// The same product and version in another org is another record:
		// no SHA conflict across orgs.
		db2 := mustOK(t, s.post("/deployment-events/", b, dep("shared-name", "1.0", "production", "success", "scm_sha", "bbb")))
		if db2["product_id"] == d["product_id"] || db2["version_id"] == d["version_id"] || db2["environment_id"] == d["environment_id"] {
			t.Error("orgs share catalogue rows")
		}
		for _, path := range []string{
			"/deployments/" + d["id"].(string), "/builds/" + bl["id"].(string),
			"/versions/" + d["version_id"].(string), "/environments/" + d["environment_id"].(string),
		} {
			if r := s.get(path, b); r.status != http.StatusNotFound || r.detail(t) != "Not found" {
				t.Errorf("beta GET %s: %d %s", path, r.status, r.body)
			}
			mustOK(t, s.get(path, a))
		}
		if r := s.do(http.MethodPatch, "/environments/"+d["environment_id"].(string), s.admin(b), `{"type":"staging"}`); r.status != 404 {
			t.Errorf("beta PATCH alpha's environment: %d", r.status)
		}
		for _, path := range []string{"/products/", "/environments/", "/versions/", "/deployments/", "/status/"} {
			items := s.get(path, b).items(t)
			if len(items) != 1 {
				t.Errorf("beta sees %d rows at %s", len(items), path)
			}
		}
		if n := len(s.get("/builds/", b).items(t)); n != 0 {
			t.Errorf("beta sees %d builds", n)
		}
	})
}

func TestNotFoundAndBadIDs(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/x.db")
	key := s.org("acme")
	for _, path := range []string{"/deployments/not-a-uuid", "/deployments/01a20901-e94b-7376-be2a-b3e2648469c2",
		"/builds/x", "/versions/0", "/environments/%27", "/nothing-here"} {
		if r := s.get(path, key); r.status != 404 || r.detail(t) == "" {
			t.Errorf("GET %s: %d %s", path, r.status, r.body)
		}
	}
	for _, q := range []string{"limit=0", "limit=501", "limit=x", "cursor=zzz", "status=bogus", "order=newest"} {
		if r := s.get("/deployments/?"+q, key); r.status != 400 || r.detail(t) == "" {
			t.Errorf("?%s: %d %s", q, r.status, r.body)
		}
	}
}

func TestListingsPaginateNewestFirst(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		for i := range 7 {
			mustOK(t, s.post("/deployment-events/", key, dep(fmt.Sprintf("p%d", i%2), fmt.Sprintf("1.%d", i), "prod", "success")))
		}
		var seen []string
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("pagination does not end")
			}
			r := mustOK(t, s.get("/deployments/?limit=3"+cursor, key))
			for _, it := range r["items"].([]any) {
				seen = append(seen, it.(map[string]any)["version"].(string))
			}
			next, _ := r["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = "&cursor=" + next
		}
		if got := strings.Join(seen, ","); got != "1.6,1.5,1.4,1.3,1.2,1.1,1.0" {
			t.Errorf("pages = %s", got)
		}
		// Filters, including the spec's ?product= and ?environment= spellings.
		for q, want := range map[string]int{
			"product_name=p0": 4, "product=p1": 3, "environment=prod": 7, "environment_name=dev": 0,
			"status=completed": 7, "status=success": 7, "status=failed": 0, "product=p0&version=1.2": 1,
		} {
			if n := len(s.get("/deployments/?"+q, key).items(t)); n != want {
				t.Errorf("?%s: %d items, want %d", q, n, want)
			}
		}
	})
}

func TestStatusView(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success", "deployed_by", "ann")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "production", "started")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "staging", "failed")))
		cells := s.get("/status/", key).items(t)
		if len(cells) != 2 {
			t.Fatalf("cells: %v", cells)
		}
		byEnv := map[string]map[string]any{}
		for _, c := range cells {
			byEnv[c["environment_name"].(string)] = c
		}
		prod := byEnv["production"]
		cur, _ := prod["current"].(map[string]any)
		latest, _ := prod["latest"].(map[string]any)
		if cur["version"] != "1.0" || cur["deployed_by"] != "ann" || latest["version"] != "1.1" || latest["status"] != "started" {
			t.Errorf("production cell: %v", prod)
		}
		if st := byEnv["staging"]; st["current"] != nil || st["latest"].(map[string]any)["status"] != "failed" {
			t.Errorf("staging cell: %v", st)
		}
	})
}

func TestEnvironmentTypes(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		id := mustOK(t, s.post("/deployment-events/", key, dep("a", "1", "pr-42", "success")))["environment_id"].(string)
		if e := mustOK(t, s.get("/environments/"+id, key)); e["type"] != "preview" {
			t.Errorf("type = %v", e["type"])
		}
		e := mustOK(t, s.do(http.MethodPatch, "/environments/"+id, s.admin(key), `{"type":"STAGING","description":"review apps"}`))
		if e["type"] != "staging" || e["description"] != "review apps" {
			t.Errorf("patched: %v", e)
		}
		if r := s.do(http.MethodPatch, "/environments/"+id, s.admin(key), `{"type":"mars"}`); r.status != 400 ||
			r.detail(t) != "Field 'type' must be one of production, staging, test, development, preview" {
			t.Errorf("bad type: %d %s", r.status, r.body)
		}
		// Later events do not reset a type a person chose.
		mustOK(t, s.post("/deployment-events/", key, dep("a", "2", "pr-42", "success")))
		if e := mustOK(t, s.get("/environments/"+id, key)); e["type"] != "staging" {
			t.Errorf("type reset to %v", e["type"])
		}
	})
}

func TestRoutesAndHealth(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		for _, p := range []string{"/healthz", "/health", "/readyz"} {
			if r := s.get(p, ""); r.status != 200 {
				t.Errorf("%s: %d", p, r.status)
			}
		}
		// Trailing slash or not, POST works (curl does not follow redirects for POST).
		for _, p := range []string{"/deployment-events", "/deployment-events/"} {
			mustOK(t, s.post(p, key, dep("a", "1", "dev", "success")))
		}
		if r := s.get("/deployment-events/", key); r.status != http.StatusMethodNotAllowed {
			t.Errorf("GET on the event endpoint: %d", r.status)
		}
		if id := s.get("/healthz", "").header.Get("X-Request-Id"); len(id) < 8 {
			t.Errorf("X-Request-Id = %q", id)
		}
	})
}

func TestRestartKeepsData(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		id := mustOK(t, s.post("/deployment-events/", key, dep("a", "1", "dev", "success")))["id"].(string)
		s.stop()
		s2 := start(t, db)
		if d := mustOK(t, s2.get("/deployments/"+id, key)); d["status"] != "completed" {
			t.Errorf("after restart: %v", d)
		}
	})
}
