package app_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
)

func TestDeploymentEventResponse(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		m := mustOK(t, s.post("/deployment-events/", key, dep("my-service", "1.2.3", "production", "success",
			"deployed_by", "john.doe", "deployed_by_email", "j@example.com", "deployed_by_name", "John Doe",
			"scm_sha", "abc123", "deploy_url", "https://ci/run/1", "source_system", "github",
			"completed_at", "2025-11-06T15:30:00Z", "extra_metadata", map[string]any{"z": 1, "a": []any{true}})))
		for _, f := range []string{"id", "product_id", "version_id", "environment_id", "deployed_at"} {
			if v, _ := m[f].(string); v == "" {
				t.Errorf("response lacks %s: %v", f, m)
			}
		}
		want := map[string]any{"product_name": "my-service", "version": "1.2.3", "environment_name": "production",
			"status": "completed", "event_type": "deployment.completed", "deployed_by": "john.doe",
			"deployed_by_name": "John Doe", "deployed_by_email": "j@example.com", "deploy_url": "https://ci/run/1",
			"source_system": "github", "completed_at": "2025-11-06T15:30:00Z", "deployed_at": "2025-11-06T15:30:00Z",
			"environment_type": "production", "scm_sha": "abc123"}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s = %v, want %v", k, m[k], v)
			}
		}
		if _, ok := m["soak_time_hours"]; !ok {
			t.Error("response lacks soak_time_hours (clients read it; null is fine)")
		}
		// extra_metadata is returned as stored: same keys in the same order.
		if !strings.Contains(string(s.post("/deployment-events/", key, dep("x", "1", "dev", "started", "extra_metadata", rawJSON(`{"z":1,"a":[true]}`))).body), `"extra_metadata":{"z":1,"a":[true]}`) {
			t.Error("extra_metadata not returned as sent")
		}
		d := mustOK(t, s.get("/deployments/"+m["id"].(string), key))
		if d["status"] != "completed" || len(d["events"].([]any)) != 1 {
			t.Errorf("GET deployment: %v", d)
		}
		ev := d["events"].([]any)[0].(map[string]any)
		if ev["event_type"] != "deployment.completed" || ev["payload"].(map[string]any)["deployed_by"] != "john.doe" {
			t.Errorf("timeline event: %v", ev)
		}
	})
}

// rawJSON is sent verbatim by the test client (json.RawMessage marshals as is).
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestDeploymentLifecycleIsOneRecord(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		var ids []string
		for _, st := range []string{"queued", "deploying", "SUCCESS"} {
			ids = append(ids, mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "staging", st)))["id"].(string))
		}
		if ids[0] != ids[1] || ids[1] != ids[2] {
			t.Fatalf("one run became several deployments: %v", ids)
		}
		d := mustOK(t, s.get("/deployments/"+ids[0], key))
		if d["status"] != "completed" || d["started_at"] == nil || d["completed_at"] == nil {
			t.Errorf("deployment after lifecycle: %v", d)
		}
		var types []string
		for _, e := range d["events"].([]any) {
			types = append(types, e.(map[string]any)["event_type"].(string))
		}
		if got := strings.Join(types, ","); got != "deployment.pending,deployment.started,deployment.completed" {
			t.Errorf("timeline = %s", got)
		}
		// A new run after a finished one is a new deployment.
		next := mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "staging", "started")))["id"].(string)
		if next == ids[0] {
			t.Error("a started event after completion reused the finished deployment")
		}
		// A late non-terminal event for a run with an invoke id does not reopen it.
		a := mustOK(t, s.post("/deployment-events/", key, dep("api", "3.0", "prod", "success", "invoke_id", "run-1")))
		b := mustOK(t, s.post("/deployment-events/", key, dep("api", "3.0", "prod", "started", "invoke_id", "run-1")))
		if a["id"] != b["id"] || b["status"] != "completed" {
			t.Errorf("late started event: id %v→%v status %v", a["id"], b["id"], b["status"])
		}
		// Another invoke id is another run, even while the first is open.
		c := mustOK(t, s.post("/deployment-events/", key, dep("api", "3.0", "prod", "started", "invoke_id", "run-2")))
		if c["id"] == a["id"] {
			t.Error("different invoke ids shared a deployment")
		}
	})
}

func TestBuildEvents(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		a := mustOK(t, s.post("/build-events/", key, build("svc", "1.0", "building", "built_by", "ci")))
		b := mustOK(t, s.post("/build-events", key, build("svc", "1.0", "built", "scm_sha", "aaa", "build_number", "7")))
		if a["id"] != b["id"] || b["status"] != "completed" || b["event_type"] != "build.completed" || b["build_number"] != "7" {
			t.Errorf("build lifecycle: %v / %v", a, b)
		}
		for _, f := range []string{"version_id", "product_id", "created_at", "started_at", "completed_at"} {
			if b[f] == nil {
				t.Errorf("build response lacks %s", f)
			}
		}
		// The legacy path records builds too.
		c := mustOK(t, s.post("/version-events/", key, build("svc", "1.1", "success")))
		if c["event_type"] != "build.completed" {
			t.Errorf("version-events: %v", c)
		}
		l := s.get("/builds/?product_name=svc", key).items(t)
		if len(l) != 2 {
			t.Errorf("builds listed: %d", len(l))
		}
		d := mustOK(t, s.get("/builds/"+a["id"].(string), key))
		if len(d["events"].([]any)) != 2 {
			t.Errorf("build timeline: %v", d["events"])
		}
		v := s.get("/versions/?product=svc", key).items(t)
		if len(v) != 2 || v[1]["scm_sha"] != "aaa" {
			t.Errorf("versions: %v", v)
		}
	})
}

func TestVersionImmutability(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		mustOK(t, s.post("/build-events/", key, build("svc", "1.2.3", "completed", "scm_sha", "abc123")))
		for _, tc := range []struct {
			path string
			body map[string]any
		}{
			{"/build-events/", build("svc", "1.2.3", "completed", "scm_sha", "def456")},
			{"/deployment-events/", dep("svc", "1.2.3", "production", "started", "scm_sha", "def456")},
		} {
			r := s.post(tc.path, key, tc.body)
			if r.status != http.StatusConflict || r.detail(t) != "Version 1.2.3 already exists with different SHA" {
				t.Errorf("%s with other SHA: %d %s", tc.path, r.status, r.body)
			}
		}
		// Nothing of the refused deployment was stored, not even its environment.
		if n := len(s.get("/environments/", key).items(t)); n != 0 {
			t.Errorf("refused event left %d environments", n)
		}
		// The same SHA, or none, is fine.
		mustOK(t, s.post("/build-events/", key, build("svc", "1.2.3", "completed", "scm_sha", "abc123")))
		mustOK(t, s.post("/deployment-events/", key, dep("svc", "1.2.3", "production", "success")))
		// A version first seen without a SHA takes the first one it is given.
		mustOK(t, s.post("/deployment-events/", key, dep("svc", "2.0", "production", "success")))
		mustOK(t, s.post("/build-events/", key, build("svc", "2.0", "completed", "scm_sha", "fff")))
		if r := s.post("/build-events/", key, build("svc", "2.0", "completed", "scm_sha", "eee")); r.status != http.StatusConflict {
			t.Errorf("second SHA for 2.0: %d", r.status)
		}
	})
}

func TestConcurrentBuildsRaceForOneSHA(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		const n = 24
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				codes[i] = s.post("/build-events/", key, build("race", "9.9.9", "completed", "scm_sha", fmt.Sprintf("sha-%d", i))).status
			})
		}
		wg.Wait()
		winner := -1
		for i, c := range codes {
			switch c {
			case http.StatusOK:
				if winner >= 0 {
					t.Fatalf("two different SHAs accepted: %d and %d", winner, i)
				}
				winner = i
			case http.StatusConflict:
			default:
				t.Fatalf("unexpected status %d", c)
			}
		}
		if winner < 0 {
			t.Fatal("no build accepted")
		}
		v := s.get("/versions/?product_name=race", key).items(t)
		if len(v) != 1 || v[0]["scm_sha"] != fmt.Sprintf("sha-%d", winner) {
			t.Errorf("version = %v, winner sha-%d", v, winner)
		}
		if b := s.get("/builds/?product_name=race", key).items(t); len(b) != 1 {
			t.Errorf("%d builds stored, want the winner's only", len(b))
		}
	})
}

func TestConcurrentBurstAutoCreatesOnce(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		const n = 40
		var wg sync.WaitGroup
		fails := make(chan string, n)
		for i := range n {
			wg.Go(func() {
				r := s.post("/deployment-events/", key, dep("burst", fmt.Sprintf("1.%d", i%4), "prod-eu", "success"))
				if r.status != http.StatusOK {
					fails <- string(r.body)
				}
			})
		}
		wg.Wait()
		close(fails)
		for f := range fails {
			t.Error(f)
		}
		if p := s.get("/products/", key).items(t); len(p) != 1 {
			t.Errorf("%d products", len(p))
		}
		e := s.get("/environments/", key).items(t)
		if len(e) != 1 || e[0]["type"] != "production" {
			t.Errorf("environments = %v", e)
		}
		if v := s.get("/versions/", key).items(t); len(v) != 4 {
			t.Errorf("%d versions, want 4", len(v))
		}
		if d := s.get("/deployments/?limit=500", key).items(t); len(d) != n {
			t.Errorf("%d deployments, want %d", len(d), n)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		body := dep("svc", "1", "prod", "started")
		a := s.post("/deployment-events/", key, body, "Idempotency-Key", "abc")
		b := s.post("/deployment-events/", key, body, "Idempotency-Key", "abc")
		if a.status != 200 || b.status != 200 || string(a.body) != string(b.body) {
			t.Fatalf("replay differs:\n%s\n%s", a.body, b.body)
		}
		// The key is bound to its request: another body with it is refused
		// (TestIdempotencyKeyBoundToRequest has the rest).
		expectStatus(t, s.post("/deployment-events/", key, dep("svc", "1", "prod", "success"), "Idempotency-Key", "abc"),
			422, "already used for a different request")
		if b.header.Get("Idempotent-Replayed") != "true" || a.header.Get("Idempotent-Replayed") != "" {
			t.Error("Idempotent-Replayed header wrong")
		}
		d := mustOK(t, s.get("/deployments/"+a.json(t)["id"].(string), key))
		if n := len(d["events"].([]any)); n != 1 || d["status"] != "started" {
			t.Errorf("replay stored something: %d events, status %v", n, d["status"])
		}
		// Concurrent retries with one key store one event.
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				if r := s.post("/build-events/", key, build("svc", "2", "completed"), "Idempotency-Key", "burst"); r.status != 200 {
					t.Errorf("status %d", r.status)
				}
			})
		}
		wg.Wait()
		bd := s.get("/builds/?product_name=svc", key).items(t)
		if len(bd) != 1 {
			t.Fatalf("%d builds", len(bd))
		}
		if ev := mustOK(t, s.get("/builds/"+bd[0]["id"].(string), key))["events"].([]any); len(ev) != 1 {
			t.Errorf("%d events for one idempotency key", len(ev))
		}
		// Keys belong to their org.
		other := s.org("other")
		if r := s.post("/build-events/", other, build("svc", "2", "completed"), "Idempotency-Key", "burst"); r.header.Get("Idempotent-Replayed") != "" {
			t.Error("another org's key replayed")
		}
	})
}
