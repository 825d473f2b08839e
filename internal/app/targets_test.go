package app_test

import (
	"testing"

	"github.com/shiplog/shiplog/internal/app"
)

// Issue 14, "Environment filters have blind spots": types were guessed so
// that prd, stg, prod-eu and production2 counted as development (a
// PRODUCTION filter missed them), and any environment filter dropped every
// dr.* event, even a request that targets production. Deliveries are rows
// written in the event's own transaction, so counting them right after
// each call is exact.
func TestEnvironmentFiltersSeeTypesAndRequests(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := startWith(t, app.Config{DB: db})
		key := s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		rcv := newReceiver(t)
		ch := channel(t, s, admin, map[string]any{"kind": "webhook", "name": "prod only", "url": rcv.URL,
			"events":                   []string{"deployment.completed", "dr.created"},
			"environment_types_filter": []string{"PRODUCTION"}})
		count := func() int {
			t.Helper()
			r := mustOK(t, s.get("/notification-channels/"+ch["id"].(string)+"/deliveries?limit=100", admin))
			return len(r["items"].([]any))
		}
		want := 0
		for env, production := range map[string]bool{"prd": true, "production2": true, "eu-prod": true, "stg": false, "dev-1": false} {
			if r := s.post("/deployment-events/", key, map[string]any{"product_name": "api", "version": "1." + env,
				"environment_name": env, "status": "success"}); r.status >= 300 {
				t.Fatalf("%s: %d %s", env, r.status, r.body)
			}
			if production {
				want++
			}
			if got := count(); got != want {
				t.Errorf("after a deployment to %s: %d deliveries, want %d", env, got, want)
			}
		}
		// Requests: by their target environments (known ones by the org's
		// type, new ones by the inferred type), whoever creates them.
		for _, tc := range []struct {
			envs       []string
			production bool
		}{
			{[]string{"stg", "prd"}, true},      // known environments, one of them production
			{[]string{"stg"}, false},            // staging only
			{[]string{"prod-us-east"}, true},    // never deployed to: inferred
			{[]string{"dev-1", "qa"}, false},    // no production target
			{[]string{"staging", "live"}, true}, // inferred production
		} {
			r := s.post("/deployment-requests/", key, map[string]any{"name": "rel", "environment_names": tc.envs,
				"items": []map[string]string{{"product_name": "api", "version": "2.0"}}})
			if r.status != 201 {
				t.Fatalf("request to %v: %d %s", tc.envs, r.status, r.body)
			}
			if tc.production {
				want++
			}
			if got := count(); got != want {
				t.Errorf("after a request to %v: %d deliveries, want %d", tc.envs, got, want)
			}
		}
		// An admin fixes a type; the filter follows it from the next event on.
		envs := mustOK(t, s.get("/environments/?limit=100", admin))
		for _, e := range envs["items"].([]any) {
			e := e.(map[string]any)
			if e["name"] == "dev-1" {
				mustOK(t, s.do("PATCH", "/environments/"+e["id"].(string), admin, map[string]any{"type": "production"}))
			}
		}
		s.post("/deployment-events/", key, map[string]any{"product_name": "api", "version": "3", "environment_name": "dev-1", "status": "success"})
		if got := count(); got != want+1 {
			t.Errorf("after the type was fixed: %d deliveries, want %d", got, want+1)
		}
	})
}
