package app_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// skipDep is a started deployment of product under the freeze, skipping the checks.
func skipDep(product, version string) map[string]any {
	return dep(product, version, "production", "started", "skip_preflight_checks", true)
}

// Issue 12: skip_preflight_checks is honoured from an org API key by
// default, recorded (preflight_status skipped, who, on the timeline), and an
// org policy admins tighten to people_only or nobody decides who may.
func TestSkipPreflightPolicy(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := startWith(t, app.Config{DB: db, Clock: fakeclock.New(fakeclock.Epoch)}) // 14:00 UTC
		key := s.org("acme")
		other := s.org("globex")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		dev := s.user("acme", "dee@example.com", "Dee", "developer")
		viewer := s.user("acme", "vi@example.com", "Vi", "viewer")
		freeze := map[string]any{"name": "Freeze", "rule_type": "schedule", "environment_names": []string{"production"},
			"schedule": map[string]any{"recurrence": "daily", "time_zone": "UTC", "start": "13:00", "end": "15:00"}}
		if r := s.post("/deployment-rules/", admin, freeze); r.status != 201 {
			t.Fatalf("rule: %d %s", r.status, r.body)
		}
		expectBlock(t, s.post("/deployment-events/", key, dep("api", "1", "production", "started")), 423, "NO_DEPLOY_WINDOW", "Freeze")

		// Default "anyone": the org API key skips, and it is on record.
		d := mustOK(t, s.post("/deployment-events/", key, skipDep("api", "1")))
		by, _ := d["preflight_skipped_by"].(map[string]any)
		if d["preflight_status"] != "skipped" || d["status"] != "started" || by["kind"] != "api_key" || by["key_id"] != "k1" {
			t.Fatalf("skipped by the key: %v", d)
		}
		got := mustOK(t, s.get("/deployments/"+d["id"].(string), key))
		events := got["events"].([]any)
		ev := events[len(events)-1].(map[string]any)
		if sb, _ := ev["submitted_by"].(map[string]any); ev["preflight_status"] != "skipped" || sb["key_id"] != "k1" {
			t.Errorf("timeline: %v", ev)
		}
		if sb, _ := got["preflight_skipped_by"].(map[string]any); sb["key_id"] != "k1" {
			t.Errorf("stored: %v", got)
		}
		// People whose roles may deploy skip too; a viewer never does.
		d = mustOK(t, s.post("/deployment-events/", dev, skipDep("web", "1")))
		if by, _ := d["preflight_skipped_by"].(map[string]any); by["kind"] != "user" || by["email"] != "dee@example.com" || by["name"] != "Dee" {
			t.Errorf("skipped by a developer: %v", d)
		}
		expectStatus(t, s.post("/deployment-events/", viewer, skipDep("db", "1")), 403, "roles")

		// The settings API: everyone reads, owners and admins change, values checked.
		for _, bad := range []struct {
			body   any
			detail string
		}{
			{map[string]any{"skip_preflight_checks": "admins"}, "anyone, people_only, nobody"},
			{map[string]any{"stale_run_minutes": 43201}, "stale_run_minutes"},
			{map[string]any{"stale_run_minutes": 1.5}, "stale_run_minutes"},
			{map[string]any{"stale_run_minutes": 1e30}, "stale_run_minutes"},
			{map[string]any{"skip_preflight_checks": nil, "stale_run_minutes": nil}, "Name a setting"},
			{map[string]any{"skip_preflight_check": "nobody"}, "skip_preflight_check"},
			{"[1]", ""},
			{"{\"skip_preflight_checks\": \"nobody\"", ""},
		} {
			expectStatus(t, s.do(http.MethodPatch, "/org-settings/", admin, bad.body), 400, bad.detail)
		}
		expectStatus(t, s.do(http.MethodPatch, "/org-settings/", key, map[string]any{"skip_preflight_checks": "nobody"}), 403, "personal access token")
		expectStatus(t, s.do(http.MethodPatch, "/org-settings/", dev, map[string]any{"skip_preflight_checks": "nobody"}), 403, "roles")
		if set := mustOK(t, s.get("/org-settings/", viewer)); set["skip_preflight_checks"] != "anyone" || set["updated_by"] != nil {
			t.Fatalf("refused changes changed the settings: %v", set)
		}

		// "people_only": the key is refused and nothing is stored; people still skip.
		set := mustOK(t, s.do(http.MethodPatch, "/org-settings/", admin, map[string]any{"skip_preflight_checks": "people_only"}))
		if set["skip_preflight_checks"] != "people_only" || set["stale_run_minutes"] != 120.0 || set["updated_by"] != "Ada <ada@example.com>" {
			t.Errorf("settings: %v", set)
		}
		before := len(s.get("/deployments/", key).items(t))
		expectStatus(t, s.post("/deployment-events/", key, skipDep("cache", "1")), 403, "people_only")
		if n := len(s.get("/deployments/", key).items(t)); n != before {
			t.Errorf("a refused skip stored something: %d deployments, were %d", n, before)
		}
		// Refused in the event's own transaction: not even the product was created.
		var products []any
		for _, p := range s.get("/products/", key).items(t) {
			products = append(products, p["name"])
		}
		if fmt.Sprint(products) != "[web api]" {
			t.Errorf("products after refused skips: %v", products)
		}
		mustOK(t, s.post("/deployment-events/", dev, skipDep("cache", "1")))
		// Another org's policy is its own.
		if d := mustOK(t, s.post("/deployment-events/", other, skipDep("api", "1"))); d["preflight_status"] != "skipped" {
			t.Errorf("globex: %v", d)
		}

		// "nobody": not even an admin; the way out is report_only.
		mustOK(t, s.do(http.MethodPatch, "/org-settings/", admin, map[string]any{"skip_preflight_checks": "nobody"}))
		expectStatus(t, s.post("/deployment-events/", admin, skipDep("queue", "1")), 403, "report_only")
		expectStatus(t, s.post("/deployment-events/", key, skipDep("queue", "1")), 403, "nobody")
		// Terminal and pending events carry no skip to judge.
		mustOK(t, s.post("/deployment-events/", key, dep("queue", "1", "production", "success", "skip_preflight_checks", true)))
		mustOK(t, s.post("/deployment-events/", key, dep("queue", "2", "production", "pending", "skip_preflight_checks", true)))
	})
}

// A policy change racing deployments that skip: the two never interleave.
// A skip whose request was sent after the change was answered is refused;
// every skip answered 200 had committed by the time the change was
// answered, and no refused one is stored.
func TestSkipPolicyChangeRacesDeploys(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		const n = 24
		changed := make(chan struct{})
		type outcome struct {
			status     int
			afterwards bool // sent after the change was answered
		}
		out := make([]outcome, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == n/2 {
					<-changed // at least this one is sent afterwards
				}
				select {
				case <-changed:
					out[i].afterwards = true
				default:
				}
				out[i].status = s.post("/deployment-events/", key, skipDep(fmt.Sprintf("svc-%d", i), "1")).status
			}()
		}
		skipped := func() int {
			n := 0
			for _, d := range s.get("/deployments/?limit=500", key).items(t) {
				if d["preflight_status"] == "skipped" {
					n++
				}
			}
			return n
		}
		mustOK(t, s.do(http.MethodPatch, "/org-settings/", admin, map[string]any{"skip_preflight_checks": "people_only"}))
		// Every skip allowed under the old policy committed before the change
		// did (the settings lock): none may appear after this read.
		atChange := skipped()
		close(changed)
		wg.Wait()
		accepted := 0
		for i, o := range out {
			switch {
			case o.status == 200 && !o.afterwards:
				accepted++
			case o.status == 403:
			default:
				t.Errorf("deploy %d (sent after the change: %v): %d", i, o.afterwards, o.status)
			}
		}
		if stored := skipped(); stored != accepted || atChange != accepted {
			t.Errorf("%d skipped deployments stored (%d when the change was answered), %d answered 200", stored, atChange, accepted)
		}
	})
}
