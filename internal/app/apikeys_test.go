package app_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestAPIKeysAPI walks a key's life over REST: an admin makes one, sees it
// once, CI uses it, the admin revokes it and it stops working.
func TestAPIKeysAPI(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		first := s.org("acme")
		owner := s.user("acme", "ada@example.com", "Ada", "owner")

		created := s.post("/api-keys/", owner, map[string]any{"name": "  deploy pipeline "})
		if created.status != http.StatusCreated {
			t.Fatalf("create: %d %s", created.status, created.body)
		}
		k := created.json(t)
		key, _ := k["key"].(string)
		if !strings.HasPrefix(key, "sk_acme_k2_") || k["key_id"] != "k2" || k["name"] != "deploy pipeline" ||
			k["revoked_at"] != nil || !strings.HasSuffix(key, k["hint"].(string)) {
			t.Fatalf("created key: %s", created.body)
		}
		if strings.Contains(string(created.body), "hash") {
			t.Errorf("the answer shows the hash: %s", created.body)
		}

		// The new key works like any other, and the listing never shows it again.
		if r := s.get("/products/", key); r.status != http.StatusOK {
			t.Fatalf("the new key is refused: %d %s", r.status, r.body)
		}
		list := s.get("/api-keys", owner)
		if list.status != http.StatusOK || strings.Contains(string(list.body), key[len(key)-20:]) || strings.Contains(string(list.body), `"key"`) {
			t.Fatalf("list: %d %s", list.status, list.body)
		}
		items := list.items(t)
		if len(items) != 2 || items[0]["key_id"] != "k1" || items[1]["key_id"] != "k2" {
			t.Fatalf("list: %s", list.body)
		}

		// Revoke by key id; again is harmless and keeps the first time.
		rev := s.do(http.MethodDelete, "/api-keys/k2", owner, nil)
		at := mustOK(t, rev)["revoked_at"]
		if at == nil {
			t.Fatalf("revoke: %s", rev.body)
		}
		if again := mustOK(t, s.do(http.MethodDelete, "/api-keys/K2", owner, nil)); again["revoked_at"] != at {
			t.Errorf("revoked again: %v, first %v", again["revoked_at"], at)
		}
		expectStatus(t, s.get("/products/", key), http.StatusUnauthorized, "Invalid API key")
		// By row id too.
		k1 := items[0]["id"].(string)
		mustOK(t, s.do(http.MethodDelete, "/api-keys/"+k1, owner, nil))
		expectStatus(t, s.get("/products/", first), http.StatusUnauthorized, "Invalid API key")

		// Another org sees none of acme's keys and cannot revoke them.
		s.org("other")
		otherOwner := s.user("other", "olga@example.com", "Olga", "admin")
		if items := s.get("/api-keys/", otherOwner).items(t); len(items) != 1 || items[0]["name"] != "test" {
			t.Errorf("other org lists %v", items)
		}
		expectStatus(t, s.do(http.MethodDelete, "/api-keys/"+k1, otherOwner, nil), http.StatusNotFound, "No API key")
	})
}

func TestAPIKeysAPIRefusals(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	admin := s.user("acme", "ada@example.com", "Ada", "admin")
	viewer := s.user("acme", "vic@example.com", "Vic", "viewer", "release_manager")
	for _, tt := range []struct {
		name, method, path, cred string
		body                     any
		status                   int
		detail                   string
	}{
		{"an org key cannot list keys", "GET", "/api-keys/", key, nil, 403, "needs a person"},
		{"an org key cannot make keys", "POST", "/api-keys/", key, map[string]any{"name": "x"}, 403, "needs a person"},
		{"an org key cannot revoke keys", "DELETE", "/api-keys/k1", key, nil, 403, "needs a person"},
		{"no credentials", "GET", "/api-keys/", "", nil, 401, "Invalid API key"},
		{"other roles cannot list", "GET", "/api-keys/", viewer, nil, 403, "needs one of the roles owner, admin"},
		{"other roles cannot make keys", "POST", "/api-keys/", viewer, map[string]any{"name": "x"}, 403, "needs one of the roles owner, admin"},
		{"other roles cannot revoke", "DELETE", "/api-keys/k1", viewer, nil, 403, "needs one of the roles owner, admin"},
		{"a name is required", "POST", "/api-keys/", admin, map[string]any{"name": "  "}, 400, "Field 'name' is required"},
		{"a long name", "POST", "/api-keys/", admin, map[string]any{"name": strings.Repeat("n", 201)}, 400, "too long"},
		{"unknown fields", "POST", "/api-keys/", admin, map[string]any{"name": "x", "scopes": []string{"all"}}, 400, "Unknown field \"scopes\""},
		{"not JSON", "POST", "/api-keys/", admin, "name=x", 400, "Invalid JSON"},
		{"unknown key", "DELETE", "/api-keys/k9", admin, nil, 404, "No API key k9"},
		{"not a key id", "DELETE", "/api-keys/nonsense", admin, nil, 404, "No API key nonsense"},
		{"no PUT", "PUT", "/api-keys/k1", admin, nil, 405, "use DELETE"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			expectStatus(t, s.do(tt.method, tt.path, tt.cred, tt.body), tt.status, tt.detail)
		})
	}
	// Nothing above revoked or made a key.
	if items := s.get("/api-keys/", admin).items(t); len(items) != 1 || items[0]["revoked_at"] != nil {
		t.Errorf("keys after the refusals: %v", items)
	}
}
