package app_test

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	_ "modernc.org/sqlite" // the raw SQLite connection that plants legacy bytes

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/httpapi"
)

// bodyCase is one operation that takes a JSON body: a valid body and the
// string fields to spoil in it ("a.b[0].c": member b of a, its first
// element's c).
type bodyCase struct {
	method, path string // path as the OpenAPI document spells it
	url          string // the URL to call
	body         map[string]any
	fields       []string
}

// spoil sets field (a dotted path with [i] indexes) of a copy of body to
// the marker string, and returns the JSON with the marker replaced by raw.
func spoil(t *testing.T, body map[string]any, field string, raw []byte) []byte {
	t.Helper()
	var cp any
	b, _ := json.Marshal(body)
	_ = json.Unmarshal(b, &cp)
	const marker = "@@SPOILED@@"
	var cur = cp
	parts := strings.Split(field, ".")
	for i, p := range parts {
		name, idx := p, -1
		if j := strings.IndexByte(p, '['); j >= 0 {
			name = p[:j]
			fmt.Sscanf(p[j:], "[%d]", &idx)
		}
		m := cur.(map[string]any)
		last := i == len(parts)-1
		switch {
		case idx >= 0 && last:
			m[name].([]any)[idx] = marker
		case idx >= 0:
			cur = m[name].([]any)[idx]
		case last:
			m[name] = marker
		default:
			if _, ok := m[name]; !ok {
				m[name] = map[string]any{}
			}
			cur = m[name]
		}
	}
	out, _ := json.Marshal(cp)
	return bytes.Replace(out, []byte(`"`+marker+`"`), append(append([]byte(`"`), raw...), '"'), 1)
}

var indexRE = regexp.MustCompile(`\[\d+\]`)

// limitOf is the documented limit of field in the operation's body.
func limitOf(method, path, field string) int {
	norm := indexRE.ReplaceAllString(field, "[]")
	return httpapi.BodyLimits(method, path).String(norm)
}

// snapshot is everything the API shows of an org, to compare before and
// after refused requests.
func snapshot(t *testing.T, s *server, token string, extra ...string) string {
	t.Helper()
	var b strings.Builder
	for _, p := range append([]string{"/deployments/?limit=500", "/builds/?limit=500", "/products/", "/environments/",
		"/versions/?limit=500", "/notification-channels/", "/notification-preferences/", "/users/",
		"/deployment-requests/?limit=500", "/deployment-rules/", "/api-keys/", "/org-settings/", "/status/"}, extra...) {
		r := s.get(p, token)
		if r.status != http.StatusOK || !json.Valid(r.body) {
			t.Fatalf("GET %s: %d %s", p, r.status, r.body)
		}
		b.Write(r.body)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestInputContractEveryBody is the defect "a NUL byte or invalid UTF-8
// anywhere in an event makes 10 endpoints answer 500 on PostgreSQL, and is
// stored on SQLite" and "several fields take 300 KB values": every
// operation that takes a JSON body, each of its string fields (nested
// ones included) spoiled with a NUL, with bytes that are not UTF-8 and
// with one byte over the field's documented limit, on both stores. Each
// answer is 400 naming the field, and the org reads exactly as before.
func TestInputContractEveryBody(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		key := s.org("acme")
		owner := s.admin(key)
		mustOK(t, s.post("/deployment-events/", owner, dep("api", "1.0.0", "production", "started")))
		deployments := s.get("/deployments/", owner).items(t)
		depID := deployments[0]["id"].(string)
		envID := s.get("/environments/", owner).items(t)[0]["id"].(string)
		ch := s.post("/notification-channels/", owner, map[string]any{"kind": "webhook", "name": "hook",
			"url": "http://127.0.0.1:1/hook", "events": []string{"deployment.completed"}})
		if ch.status != http.StatusCreated {
			t.Fatalf("channel: %d %s", ch.status, ch.body)
		}
		chID := ch.json(t)["id"].(string)
		uID := s.get("/users/", owner).items(t)[0]["id"].(string)
		dr := s.post("/deployment-requests/", owner, map[string]any{"name": "r", "environment_names": []string{"production"},
			"items":          []map[string]any{{"product_name": "api", "version": "1.0.0"}},
			"approval_slots": []map[string]any{{"approval_type": "qa"}}})
		if dr.status != http.StatusCreated {
			t.Fatalf("DR: %d %s", dr.status, dr.body)
		}
		drID := dr.json(t)["id"].(string)
		mustOK(t, s.post("/deployment-requests/"+drID+"/activate", owner, nil))
		slotID := dr.json(t)["approval_slots"].([]any)[0].(map[string]any)["id"].(string)
		rl := s.post("/deployment-rules/", owner, map[string]any{"name": "freeze", "rule_type": "schedule", "status": "report_only",
			"schedule": map[string]any{"recurrence": "daily", "start": "01:00", "end": "02:00", "reason": "backups"}})
		if rl.status != http.StatusCreated {
			t.Fatalf("rule: %d %s", rl.status, rl.body)
		}
		ruleID := rl.json(t)["id"].(string)

		channelBody := map[string]any{"kind": "webhook", "name": "n", "description": "d", "url": "http://127.0.0.1:1/x",
			"secret": "0123456789abcdef0123", "events": []string{"deployment.completed"},
			"environment_types_filter": []string{"PRODUCTION"}, "product_names_filter": []string{"api"},
			"retry_schedule": []string{"5s"}, "signature_scheme": "standard-webhooks"}
		channelFields := []string{"kind", "name", "description", "url", "secret", "events[0]", "environment_types_filter[0]",
			"product_names_filter[0]", "retry_schedule[0]", "signature_scheme"}
		ruleBody := map[string]any{"name": "n", "rule_type": "schedule", "status": "report_only", "product_names": []string{"api"},
			"environment_names": []string{"production"},
			"schedule":          map[string]any{"recurrence": "weekly", "time_zone": "UTC", "start": "01:00", "end": "02:00", "days": []string{"monday"}, "reason": "r"}}
		ruleFields := []string{"name", "rule_type", "status", "product_names[0]", "environment_names[0]", "schedule.recurrence",
			"schedule.time_zone", "schedule.start", "schedule.end", "schedule.days[0]", "schedule.reason"}
		userBody := map[string]any{"email": "new@acme.test", "name": "New", "roles": []string{"viewer"}, "password": "a long enough password"}
		cases := []bodyCase{
			{"POST", "/deployment-events/", "/deployment-events/", dep("api", "2.0.0", "production", "success",
				"deployed_by", "ci", "scm_branch", "main", "build_url", "https://ci.example/1", "extra_metadata", map[string]any{"k": "v", "nested": map[string]any{"list": []string{"a"}}}),
				[]string{"product_name", "version", "environment_name", "status", "deployed_by", "scm_branch", "build_url",
					"extra_metadata.k", "extra_metadata.nested.list[0]"}},
			{"POST", "/build-events/", "/build-events/", build("api", "2.0.0", "success", "built_by", "ci", "error_message", "e"),
				[]string{"product_name", "version", "status", "built_by", "error_message"}},
			{"POST", "/version-events/", "/version-events/", build("api", "2.0.0", "success", "scm_sha", "abc"),
				[]string{"version", "scm_sha"}},
			{"PATCH", "/environments/{id}", "/environments/" + envID, map[string]any{"type": "production", "description": "d"},
				[]string{"type", "description"}},
			{"POST", "/deployments/{id}/abort", "/deployments/" + depID + "/abort", map[string]any{"reason": "r"}, []string{"reason"}},
			{"POST", "/notification-channels/", "/notification-channels/", channelBody, channelFields},
			{"PATCH", "/notification-channels/{id}", "/notification-channels/" + chID, channelBody, channelFields},
			{"POST", "/notification-channels/{id}/recover", "/notification-channels/" + chID + "/recover",
				map[string]any{"since": "2000-01-01T00:00:00Z"}, []string{"since"}},
			{"POST", "/notification-preferences/", "/notification-preferences/",
				map[string]any{"event_type": "build.completed", "channel_id": chID}, []string{"event_type", "channel_id"}},
			{"POST", "/users/", "/users/", userBody, []string{"email", "name", "roles[0]", "password"}},
			{"PATCH", "/users/{id}", "/users/" + uID, map[string]any{"name": "Renamed"}, []string{"name"}},
			{"POST", "/deployment-requests/", "/deployment-requests/", map[string]any{"name": "n", "description": "d",
				"links": []string{"https://x.example"}, "items": []map[string]any{{"product_name": "api", "version": "1.0.0"}},
				"environment_names": []string{"production"}, "approval_slots": []map[string]any{{"approval_type": "qa"}}},
				[]string{"name", "description", "links[0]", "items[0].product_name", "items[0].version", "environment_names[0]",
					"approval_slots[0].approval_type"}},
			{"POST", "/deployment-requests/{id}/slots/{slot_id}/approve", "/deployment-requests/" + drID + "/slots/" + slotID + "/approve",
				map[string]any{"comments": "ok"}, []string{"comments"}},
			{"POST", "/deployment-requests/{id}/slots/{slot_id}/reject", "/deployment-requests/" + drID + "/slots/" + slotID + "/reject",
				map[string]any{"comments": "no"}, []string{"comments"}},
			{"POST", "/versions/{product}/{version}/approvals", "/versions/api/1.0.0/approvals",
				map[string]any{"approval_type": "qa", "environment_name": "production", "comments": "c"},
				[]string{"approval_type", "environment_name", "comments"}},
			{"POST", "/deployment-rules/", "/deployment-rules/", ruleBody, ruleFields},
			{"PATCH", "/deployment-rules/{id}", "/deployment-rules/" + ruleID, ruleBody, ruleFields},
			{"POST", "/preflight/", "/preflight/", map[string]any{"product_name": "api", "version": "1.0.0", "environment_name": "production"},
				[]string{"product_name", "version", "environment_name"}},
			{"POST", "/api-keys/", "/api-keys/", map[string]any{"name": "k"}, []string{"name"}},
			{"PATCH", "/org-settings/", "/org-settings/", map[string]any{"skip_preflight_checks": "anyone"}, []string{"skip_preflight_checks"}},
			{"POST", "/tokens/", "/tokens/", map[string]any{"name": "laptop"}, []string{"name"}},
			{"POST", "/account/password", "/account/password", map[string]any{"old_password": "x", "new_password": "a long enough password"},
				[]string{"old_password", "new_password"}},
			{"POST", "/account/reset-password", "/account/reset-password", map[string]any{"token": "t", "new_password": "a long enough password"},
				[]string{"token", "new_password"}},
		}
		before := snapshot(t, s, owner, "/deployments/"+depID, "/deployment-requests/"+drID, "/versions/api/1.0.0/approvals")
		for _, c := range cases {
			for _, field := range c.fields {
				limit := limitOf(c.method, c.path, field)
				for name, raw := range map[string][]byte{
					"NUL":            []byte(`a\u0000b`),
					"Latin-1 bytes":  []byte("caf\xe9"),
					"lone surrogate": []byte(`\ud800`),
					fmt.Sprintf("%d bytes (limit %d)", limit+1, limit): bytes.Repeat([]byte("x"), limit+1),
				} {
					r := s.do(c.method, c.url, owner, spoil(t, c.body, field, raw))
					shown := field
					if i := strings.LastIndexByte(field, '.'); i >= 0 && strings.HasPrefix(field, "extra_metadata") {
						shown = field // nested: named in full
					}
					if r.status != http.StatusBadRequest || !json.Valid(r.body) || !strings.Contains(r.detail(t), "'"+shown+"'") {
						t.Errorf("%s %s with %s in %s: %d %s; want 400 naming the field", c.method, c.path, name, field, r.status, r.body)
					}
				}
			}
		}
		if after := snapshot(t, s, owner, "/deployments/"+depID, "/deployment-requests/"+drID, "/versions/api/1.0.0/approvals"); after != before {
			t.Errorf("refused requests changed what the org holds:\nbefore %s\nafter  %s", before, after)
		}
		// The spoiled bodies were refused for the spoiling alone: each
		// operation's clean body is not a 400 (events, here, are enough
		// to show the marker's place is sound).
		for _, c := range cases[:3] {
			if r := s.do(c.method, c.url, owner, c.body); r.status >= 400 {
				t.Errorf("%s %s with the clean body: %d %s", c.method, c.path, r.status, r.body)
			}
		}
	})
}

// TestInputContractPathAndQuery: a NUL or bytes that are not UTF-8 in a
// filter or a name in the path are a 400 on both stores, not a database
// error.
func TestInputContractPathAndQuery(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		key := s.org("acme")
		for _, p := range []string{"/deployments/?product_name=a%00b", "/deployments/?environment_name=caf%E9",
			"/versions/?product_name=%00", "/versions/api%00/1.0/approvals", "/versions/caf%E9/1.0/approvals",
			"/builds/?scm_branch=%FF"} {
			r := s.get(p, key)
			if r.status != http.StatusBadRequest || !json.Valid(r.body) {
				t.Errorf("GET %s: %d %s; want 400", p, r.status, r.body)
			}
		}
	})
}

// TestLegacyBadBytesServedAsValidJSON is the defect "on SQLite the same
// bytes are stored and later make GET /deployments/ emit invalid JSON":
// rows an older version stored with bytes that are not UTF-8 are served
// with U+FFFD in their place, so every answer is valid JSON.
func TestLegacyBadBytesServedAsValidJSON(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/shiplog.db"
	s := start(t, "sqlite://"+path)
	key := s.org("acme")
	mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0.0", "production", "success",
		"extra_metadata", map[string]any{"note": "placeholder"})))
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(30000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	bad := "{\"note\":\"caf\xe9 \xff\"}"
	for _, q := range []string{`UPDATE deployments SET extra_metadata = ?`, `UPDATE events SET payload = ?`} {
		if _, err := db.ExecContext(t.Context(), q, bad); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	id := s.get("/deployments/", key).items(t)[0]["id"].(string)
	for _, p := range []string{"/deployments/", "/deployments/" + id} {
		r := s.get(p, key)
		if r.status != http.StatusOK || !json.Valid(r.body) || !strings.Contains(string(r.body), "caf\uFFFD \uFFFD") {
			t.Errorf("GET %s: %d, valid JSON %v: %s", p, r.status, json.Valid(r.body), r.body)
		}
	}
}

// TestIdempotencyKeyBoundToRequest is the defect "the same key on another
// endpoint replays the first answer and silently drops the second event":
// a key answers again only the request it was first used for (method,
// operation and body, whitespace aside); any other request with it is a
// 422 that records nothing, on both stores, also when the requests race.
func TestIdempotencyKeyBoundToRequest(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		key := s.org("acme")
		first := `{"product_name":"api","version":"1.0.0","environment_name":"production","status":"success"}`
		r1 := s.post("/deployment-events/", key, first, "Idempotency-Key", "k-1")
		if r1.status != http.StatusOK {
			t.Fatalf("first: %d %s", r1.status, r1.body)
		}
		// The same request again, spaced differently: the first answer.
		again := s.post("/deployment-events", key, strings.ReplaceAll(first, ",", ", "), "Idempotency-Key", "k-1")
		if again.status != http.StatusOK || again.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(again.body, r1.body) {
			t.Errorf("replay: %d %q %s", again.status, again.header.Get("Idempotent-Replayed"), again.body)
		}
		for name, c := range map[string]struct{ path, body string }{
			"another endpoint": {"/build-events/", `{"product_name":"api","version":"1.0.0","status":"success"}`},
			"another body":     {"/deployment-events/", strings.Replace(first, "production", "staging", 1)},
			"the legacy alias": {"/version-events/", `{"product_name":"api","version":"1.0.0","status":"success"}`},
		} {
			r := s.post(c.path, key, c.body, "Idempotency-Key", "k-1")
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.detail(t), "already used for a different request") ||
				r.header.Get("Idempotent-Replayed") != "" {
				t.Errorf("%s with the key: %d %s; want 422", name, r.status, r.body)
			}
		}
		if n := len(s.get("/builds/", key).items(t)); n != 0 {
			t.Errorf("%d builds recorded under a reused key", n)
		}
		if n := len(s.get("/deployments/", key).items(t)); n != 1 {
			t.Errorf("%d deployments, want the first only", n)
		}
		// Racing: one key, a deployment and a build at once, 8 times each:
		// one request wins, its twins replay, the other kind is 422.
		var wg sync.WaitGroup
		var mu sync.Mutex
		codes := map[string]map[int]int{"deployment": {}, "build": {}}
		for i := range 16 {
			wg.Go(func() {
				kind, path, body := "deployment", "/deployment-events/", `{"product_name":"web","version":"1","environment_name":"production","status":"success"}`
				if i%2 == 1 {
					kind, path, body = "build", "/build-events/", `{"product_name":"web","version":"1","status":"success"}`
				}
				r := s.post(path, key, body, "Idempotency-Key", "race")
				mu.Lock()
				codes[kind][r.status]++
				mu.Unlock()
			})
		}
		wg.Wait()
		d, b := codes["deployment"], codes["build"]
		if !(d[200] == 8 && b[422] == 8) && !(b[200] == 8 && d[422] == 8) {
			t.Errorf("racing one key over two endpoints: deployments %v, builds %v; want one side all 200, the other all 422", d, b)
		}
		deps := len(s.get("/deployments/?product_name=web", key).items(t))
		builds := len(s.get("/builds/?product_name=web", key).items(t))
		if deps+builds != 1 {
			t.Errorf("racing one key: %d deployments and %d builds recorded, want one in all", deps, builds)
		}
	})
}

var _ = shiplog.EINVALID
