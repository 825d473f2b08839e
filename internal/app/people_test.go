package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
	"github.com/shiplog/shiplog/internal/testutil/smtptest"
)

// userID finds a person's id by email, as an admin sees the listing.
func (s *server) userID(admin, email string) string {
	s.t.Helper()
	for _, u := range s.get("/users/", admin).items(s.t) {
		if u["email"] == email {
			return u["id"].(string)
		}
	}
	s.t.Fatalf("no user %s", email)
	return ""
}

// TestTokensCanBeRevoked is the defect "Nothing can be revoked" for
// personal tokens: GET/POST/DELETE /tokens/, one's own; admins see and
// revoke anyone's in their org and no one else's; a revoked token is
// refused on its next request.
func TestTokensCanBeRevoked(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		s.org("acme")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		dev := s.user("acme", "dev@example.com", "Dev", "developer")
		qa := s.user("acme", "qa@example.com", "Quinn", "qa")

		// A person makes a token for themselves; the text is shown once.
		created := s.post("/tokens/", dev, map[string]any{"name": " laptop "})
		if created.status != http.StatusCreated {
			t.Fatalf("create: %d %s", created.status, created.body)
		}
		c := created.json(t)
		text, _ := c["token"].(string)
		if !strings.HasPrefix(text, "pat_"+c["token_id"].(string)+"_") || c["name"] != "laptop" || c["user_email"] != "dev@example.com" ||
			c["revoked_at"] != nil || strings.Contains(string(created.body), "hash") {
			t.Fatalf("created: %s", created.body)
		}
		// No body at all is fine too.
		if r := s.post("/tokens/", dev, nil); r.status != http.StatusCreated {
			t.Fatalf("create without a body: %d %s", r.status, r.body)
		}
		if r := s.get("/products/", text); r.status != http.StatusOK {
			t.Fatalf("the new token is refused: %d %s", r.status, r.body)
		}

		// Listings: one's own; admins everyone's, or one person's.
		own := s.get("/tokens/", dev)
		if items := own.items(t); len(items) != 3 || strings.Contains(string(own.body), text[len(text)-20:]) ||
			strings.Contains(string(own.body), `"token":`) {
			t.Fatalf("own listing: %s", own.body)
		}
		if items := s.get("/tokens/", qa).items(t); len(items) != 1 || items[0]["user_email"] != "qa@example.com" {
			t.Errorf("qa's listing: %v", items)
		}
		if items := s.get("/tokens/", admin).items(t); len(items) != 5 {
			t.Errorf("the admin sees %d tokens, want all 5", len(items))
		}
		devID := s.userID(admin, "dev@example.com")
		if items := s.get("/tokens/?user_id="+devID, admin).items(t); len(items) != 3 {
			t.Errorf("the admin sees %d of dev's tokens, want 3", len(items))
		}
		expectStatus(t, s.get("/tokens/?user_id="+devID, qa), 403, "Seeing another person's tokens needs one of the roles owner, admin")

		// Another person cannot revoke it; its owner can, by token id.
		expectStatus(t, s.do(http.MethodDelete, "/tokens/"+c["id"].(string), qa, nil), 403, "Revoking another person's tokens")
		rev := mustOK(t, s.do(http.MethodDelete, "/tokens/"+c["token_id"].(string), dev, nil))
		if rev["revoked_at"] == nil {
			t.Fatalf("revoked: %v", rev)
		}
		// Refused from the very next request.
		expectStatus(t, s.get("/products/", text), http.StatusUnauthorized, "Invalid authentication credentials")
		// Again is harmless and keeps the first time; by the token's text too.
		if again := mustOK(t, s.do(http.MethodDelete, "/tokens/"+text, dev, nil)); again["revoked_at"] != rev["revoked_at"] {
			t.Errorf("revoked again: %v, first %v", again["revoked_at"], rev["revoked_at"])
		}

		// An admin revokes anyone's: qa's only token, and qa is out.
		qaTok := s.get("/tokens/", qa).items(t)[0]["id"].(string)
		mustOK(t, s.do(http.MethodDelete, "/tokens/"+qaTok, admin, nil))
		expectStatus(t, s.get("/tokens/", qa), http.StatusUnauthorized, "Invalid authentication credentials")

		// Org isolation: another org's admin sees none and revokes none.
		s.org("other")
		olga := s.user("other", "olga@example.com", "Olga", "owner")
		if items := s.get("/tokens/", olga).items(t); len(items) != 1 {
			t.Errorf("other org's admin lists %v", items)
		}
		devTok := s.get("/tokens/", dev).items(t)[1]["id"].(string)
		expectStatus(t, s.do(http.MethodDelete, "/tokens/"+devTok, olga, nil), 404, "No personal access token")
		expectStatus(t, s.get("/tokens/?user_id="+devID, olga), 200, "")
		if items := s.get("/tokens/?user_id="+devID, olga).items(t); len(items) != 0 {
			t.Errorf("other org's admin sees acme's tokens: %v", items)
		}
		// An org API key has no tokens of its own.
		key := s.org("keys")
		expectStatus(t, s.get("/tokens/", key), 403, "needs a person")
	})
}

// TestDemotedTokenLosesAccessAtOnce is the defect "A demoted user's token
// still reads everything": the person's roles are read on every request,
// so a demotion holds from the token's next request.
func TestDemotedTokenLosesAccessAtOnce(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		s.org("acme")
		owner := s.user("acme", "owner@example.com", "Owner", "owner")
		ada := s.user("acme", "ada@example.com", "Ada", "admin")
		if r := s.get("/users/", ada); r.status != 200 {
			t.Fatalf("the admin lists users: %d %s", r.status, r.body)
		}
		if r := s.get("/api-keys/", ada); r.status != 200 {
			t.Fatalf("the admin lists keys: %d %s", r.status, r.body)
		}
		id := s.userID(owner, "ada@example.com")
		mustOK(t, s.do(http.MethodPatch, "/users/"+id, owner, map[string]any{"roles": []string{"viewer"}}))
		expectStatus(t, s.get("/users/", ada), 403, "Listing users needs one of the roles owner, admin; yours: viewer")
		expectStatus(t, s.get("/api-keys/", ada), 403, "yours: viewer")
		expectStatus(t, s.get("/tokens/?user_id="+s.userID(owner, "owner@example.com"), ada), 403, "Seeing another person's tokens")
		expectStatus(t, s.post("/users/", ada, map[string]any{"email": "x@example.com", "name": "X", "roles": []string{"admin"}}),
			403, "yours: viewer")
		// And promoted again, from the next request too.
		mustOK(t, s.do(http.MethodPatch, "/users/"+id, owner, map[string]any{"roles": []string{"admin"}}))
		if r := s.get("/users/", ada); r.status != 200 {
			t.Fatalf("promoted again: %d %s", r.status, r.body)
		}
	})
}

// TestDeactivatedPersonIsRefusedAtOnce is the defect "Nothing can be
// revoked" for people: a deactivated person's tokens are refused from the
// next request, until they are reactivated. Nobody deactivates themselves,
// and the last active admin stays.
func TestDeactivatedPersonIsRefusedAtOnce(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		s.org("acme")
		owner := s.user("acme", "owner@example.com", "Owner", "owner")
		dev := s.user("acme", "dev@example.com", "Dev", "developer")
		viewer := s.user("acme", "viewer@example.com", "Vi", "viewer")
		id := s.userID(owner, "dev@example.com")

		expectStatus(t, s.post("/users/"+id+"/deactivate", viewer, nil), 403, "Deactivating users needs one of the roles owner, admin")
		d := mustOK(t, s.post("/users/"+id+"/deactivate", owner, nil))
		if d["deactivated_at"] == nil {
			t.Fatalf("deactivated: %v", d)
		}
		expectStatus(t, s.get("/products/", dev), http.StatusUnauthorized, "Invalid authentication credentials")
		// Twice keeps the first time; the listing shows them deactivated.
		if again := mustOK(t, s.post("/users/"+id+"/deactivate", owner, nil)); again["deactivated_at"] != d["deactivated_at"] {
			t.Errorf("deactivated again: %v, first %v", again["deactivated_at"], d["deactivated_at"])
		}
		for _, u := range s.get("/users/", owner).items(t) {
			if u["id"] == id && u["deactivated_at"] == nil {
				t.Errorf("listing: %v", u)
			}
		}
		// A reset link is refused while deactivated.
		expectStatus(t, s.post("/users/"+id+"/reset-link", owner, nil), 409, "is deactivated")

		r := mustOK(t, s.post("/users/"+id+"/reactivate", owner, nil))
		if r["deactivated_at"] != nil {
			t.Fatalf("reactivated: %v", r)
		}
		if got := s.get("/products/", dev); got.status != 200 {
			t.Fatalf("reactivated token: %d %s", got.status, got.body)
		}

		ownerID := s.userID(owner, "owner@example.com")
		expectStatus(t, s.post("/users/"+ownerID+"/deactivate", owner, nil), 403, "You cannot deactivate yourself")
		// Another admin may not deactivate the last active one.
		ada := s.user("acme", "ada@example.com", "Ada", "admin")
		adaID := s.userID(owner, "ada@example.com")
		mustOK(t, s.post("/users/"+adaID+"/deactivate", owner, nil))
		mustOK(t, s.post("/users/"+adaID+"/reactivate", owner, nil))
		mustOK(t, s.do(http.MethodPatch, "/users/"+ownerID, ada, map[string]any{"roles": []string{"viewer"}}))
		expectStatus(t, s.post("/users/"+adaID+"/deactivate", owner, nil), 403, "yours: viewer")
		mustOK(t, s.do(http.MethodPatch, "/users/"+ownerID, ada, map[string]any{"roles": []string{"owner"}}))
		mustOK(t, s.post("/users/"+ownerID+"/deactivate", ada, nil))
		// The deactivated owner no longer counts as an admin.
		expectStatus(t, s.do(http.MethodPatch, "/users/"+adaID, owner, nil), http.StatusUnauthorized, "")
		expectStatus(t, s.do(http.MethodDelete, "/users/"+adaID, ada, nil), 403, "You cannot delete yourself")
		// Another org cannot touch acme's people.
		s.org("other")
		olga := s.user("other", "olga@example.com", "Olga", "owner")
		expectStatus(t, s.post("/users/"+id+"/deactivate", olga, nil), 404, "No user")
		expectStatus(t, s.do(http.MethodDelete, "/users/"+id, olga, nil), 404, "No user")
	})
}

// TestDeletedPersonKeepsAuditTrail: deleting a person is a tombstone, not
// a cascade. They can never act again, their address is free, and every
// approval, sign-off and request they made still names them.
func TestDeletedPersonKeepsAuditTrail(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		key := s.org("acme")
		owner := s.user("acme", "owner@example.com", "Owner", "owner")
		qa := s.user("acme", "jane@example.com", "Jane Smith", "qa", "release_manager")
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success")))
		if r := s.post("/versions/api/1.0/approvals", qa, map[string]any{"approval_type": "qa"}); r.status != 201 {
			t.Fatalf("sign-off: %d %s", r.status, r.body)
		}
		dr := s.post("/deployment-requests/", qa, map[string]any{"name": "ship", "items": []map[string]string{{"product_name": "api", "version": "1.0"}},
			"environment_names": []string{"production"}, "approval_slots": []map[string]any{{"approval_type": "qa"}}})
		if dr.status != 201 {
			t.Fatalf("dr: %d %s", dr.status, dr.body)
		}
		drID := dr.json(t)["id"].(string)
		mustOK(t, s.post("/deployment-requests/"+drID+"/activate", qa, nil))
		slot := s.get("/deployment-requests/"+drID, owner).json(t)["approval_slots"].([]any)[0].(map[string]any)["id"].(string)
		mustOK(t, s.post("/deployment-requests/"+drID+"/slots/"+slot+"/approve", qa, nil))

		id := s.userID(owner, "jane@example.com")
		del := mustOK(t, s.do(http.MethodDelete, "/users/"+id, owner, nil))
		if del["deleted_at"] == nil || del["name"] != "Jane Smith" || del["email"] != "jane@example.com" {
			t.Fatalf("deleted: %v", del)
		}
		expectStatus(t, s.get("/products/", qa), http.StatusUnauthorized, "Invalid authentication credentials")
		for _, u := range s.get("/users/", owner).items(t) {
			if u["id"] == id {
				t.Errorf("the listing still shows the deleted person: %v", u)
			}
		}
		expectStatus(t, s.do(http.MethodDelete, "/users/"+id, owner, nil), 404, "No user")
		expectStatus(t, s.post("/users/"+id+"/reactivate", owner, nil), 404, "No user")
		expectStatus(t, s.do(http.MethodPatch, "/users/"+id, owner, map[string]any{"name": "X"}), 404, "")
		for _, tk := range s.get("/tokens/", owner).items(t) {
			if tk["user_id"] == id && tk["revoked_at"] == nil {
				t.Errorf("the deleted person's token is not revoked: %v", tk)
			}
		}

		// The audit trail still says who.
		d := mustOK(t, s.get("/deployment-requests/"+drID, owner))
		s0 := d["approval_slots"].([]any)[0].(map[string]any)
		if d["status"] != "approved" || s0["decided_by"] != id || s0["decided_by_name"] != "Jane Smith" || d["created_by_name"] != "Jane Smith" {
			t.Errorf("the request after deletion: %v", d)
		}
		as := s.get("/versions/api/1.0/approvals", owner).items(t)
		if len(as) != 1 || as[0]["actor"] != "Jane Smith" || as[0]["user_id"] != id {
			t.Errorf("sign-offs after deletion: %v", as)
		}
		// The address is free for someone new, who is someone else.
		again := s.post("/users/", owner, map[string]any{"email": "jane@example.com", "name": "Jane Doe", "roles": []string{"viewer"}})
		if again.status != 201 || again.json(t)["id"] == id {
			t.Fatalf("re-adding the address: %d %s", again.status, again.body)
		}
		s0 = mustOK(t, s.get("/deployment-requests/"+drID, owner))["approval_slots"].([]any)[0].(map[string]any)
		if s0["decided_by_name"] != "Jane Smith" {
			t.Errorf("the slot names %v after the address was reused", s0["decided_by_name"])
		}
	})
}

// setPassword gives a person a password hashed at a test's cost.
func (s *server) setPassword(org, email, pw string) {
	s.t.Helper()
	h := cheapHash(s.t, pw)
	err := s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		o, err := tx.OrgGetByName(ctx, org)
		if err != nil {
			return err
		}
		u, err := tx.UserByEmail(ctx, o.ID, email)
		if err != nil {
			return err
		}
		return tx.UserSetPassword(ctx, o.ID, u.ID, h)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// checkPassword reports whether pw is the person's password now.
func (s *server) checkPassword(org, email, pw string) bool {
	s.t.Helper()
	ctx := context.Background()
	o, err := s.app.Store.OrgGetByName(ctx, org)
	if err != nil {
		s.t.Fatal(err)
	}
	u, err := s.app.Store.UserByEmail(ctx, o.ID, email)
	if err != nil {
		s.t.Fatal(err)
	}
	h, err := s.app.Store.UserPasswordHash(ctx, o.ID, u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return checkHash(h, pw)
}

// TestChangeOwnPassword: the current password is required, and is right.
func TestChangeOwnPassword(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		s.org("acme")
		dev := s.user("acme", "dev@example.com", "Dev", "developer")
		expectStatus(t, s.post("/account/password", dev, map[string]any{"old_password": "x", "new_password": "a long new password"}),
			409, "You have no password yet; ask an admin for a reset link")
		s.setPassword("acme", "dev@example.com", "the old password")
		expectStatus(t, s.post("/account/password", dev, map[string]any{"new_password": "a long new password"}), 400, "'old_password' is required")
		expectStatus(t, s.post("/account/password", dev, map[string]any{"old_password": "not it at all", "new_password": "a long new password"}),
			403, "The current password is wrong")
		expectStatus(t, s.post("/account/password", dev, map[string]any{"old_password": "the old password", "new_password": "short"}),
			400, "'new_password' must be at least 12 characters")
		expectStatus(t, s.post("/account/password", dev, map[string]any{"old_password": "the old password",
			"new_password": strings.Repeat("x", 2000)}), 400, "'new_password' is too long")
		if !s.checkPassword("acme", "dev@example.com", "the old password") {
			t.Fatal("a refused change changed the password")
		}
		if r := s.post("/account/password", dev, map[string]any{"old_password": "the old password", "new_password": "a long new password"}); r.status != 204 {
			t.Fatalf("change: %d %s", r.status, r.body)
		}
		if !s.checkPassword("acme", "dev@example.com", "a long new password") || s.checkPassword("acme", "dev@example.com", "the old password") {
			t.Fatal("the password did not change")
		}
		expectStatus(t, s.post("/account/password", s.org("keys"), map[string]any{"old_password": "a", "new_password": "b"}), 403, "needs a person")
	})
}

// resetToken takes the token out of a reset link.
func resetToken(t *testing.T, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Path != "/ui/reset-password" || !strings.HasPrefix(u.Query().Get("token"), "rst_") {
		t.Fatalf("reset link %q", link)
	}
	return u.Query().Get("token")
}

// TestResetLinkWorksOnce: an admin's reset link sets a password once; a
// second use, a replaced link and a forged one all get the same 400.
// Without SMTP the link is in the answer (the CLI prints it).
func TestResetLinkWorksOnce(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		s := start(t, dbURL)
		s.org("acme")
		owner := s.user("acme", "owner@example.com", "Owner", "owner")
		dev := s.user("acme", "dev@example.com", "Dev", "developer")
		id := s.userID(owner, "dev@example.com")
		expectStatus(t, s.post("/users/"+id+"/reset-link", dev, nil), 403, "Issuing password reset links needs one of the roles owner, admin")

		first := s.post("/users/"+id+"/reset-link", owner, nil)
		if first.status != 201 || first.json(t)["emailed"] != false {
			t.Fatalf("issue: %d %s", first.status, first.body)
		}
		old := resetToken(t, first.json(t)["url"].(string))
		if !strings.HasPrefix(first.json(t)["url"].(string), s.url+"/ui/reset-password?token=") {
			t.Errorf("link: %v", first.json(t)["url"])
		}
		tok := resetToken(t, s.post("/users/"+id+"/reset-link", owner, nil).json(t)["url"].(string))

		const invalid = "This password reset link is not valid"
		expectStatus(t, s.post("/account/reset-password", "", map[string]any{"token": old, "new_password": "a long new password"}), 400, invalid)
		forged := tok[:len(tok)-1] + "x"
		if forged == tok {
			forged = tok[:len(tok)-1] + "y"
		}
		expectStatus(t, s.post("/account/reset-password", "", map[string]any{"token": forged, "new_password": "a long new password"}),
			400, invalid)
		expectStatus(t, s.post("/account/reset-password", "", map[string]any{"token": "rst_nonsense", "new_password": "a long new password"}), 400, invalid)
		expectStatus(t, s.post("/account/reset-password", "", map[string]any{"token": tok, "new_password": "short"}), 400, "at least 12")
		if r := s.post("/account/reset-password", "", map[string]any{"token": tok, "new_password": "a long new password"}); r.status != 204 {
			t.Fatalf("redeem: %d %s", r.status, r.body)
		}
		if !s.checkPassword("acme", "dev@example.com", "a long new password") {
			t.Fatal("the password was not set")
		}
		expectStatus(t, s.post("/account/reset-password", "", map[string]any{"token": tok, "new_password": "another long password"}), 400, invalid)
		if !s.checkPassword("acme", "dev@example.com", "a long new password") {
			t.Fatal("a second use changed the password")
		}
		// A deleted person's link dies with them.
		tok = resetToken(t, s.post("/users/"+id+"/reset-link", owner, nil).json(t)["url"].(string))
		mustOK(t, s.do(http.MethodDelete, "/users/"+id, owner, nil))
		expectStatus(t, s.post("/account/reset-password", "", map[string]any{"token": tok, "new_password": "another long password"}), 400, invalid)
	})
}

// TestResetLinkByEmail: with SMTP configured the link goes to the person,
// over a real SMTP conversation, and the admin's answer does not carry it.
func TestResetLinkByEmail(t *testing.T) {
	t.Parallel()
	relay := smtptest.Start(t)
	s := startWith(t, app.Config{DB: "sqlite://" + t.TempDir() + "/shiplog.db", SMTPURL: relay.URL(), MailFrom: "shiplog@example.com"})
	s.org("acme")
	owner := s.user("acme", "owner@example.com", "Owner", "owner")
	s.user("acme", "dev@example.com", "Dev", "developer")
	id := s.userID(owner, "dev@example.com")
	r := s.post("/users/"+id+"/reset-link", owner, nil)
	if r.status != 201 || r.json(t)["emailed"] != true || r.json(t)["url"] != nil || strings.Contains(string(r.body), "rst_") {
		t.Fatalf("issue: %d %s", r.status, r.body)
	}
	var m smtptest.Mail
	select {
	case m = <-relay.Mail:
	case <-time.After(30 * time.Second):
		t.Fatal("no mail")
	}
	if len(m.To) != 1 || m.To[0] != "dev@example.com" {
		t.Fatalf("mail to %v", m.To)
	}
	body := strings.ReplaceAll(string(m.Data), "=\r\n", "")
	i := strings.Index(body, "rst_")
	if i < 0 {
		t.Fatalf("no link in the mail:\n%s", body)
	}
	tok := body[i : i+4+16+1+43]
	if rr := s.post("/account/reset-password", "", map[string]any{"token": tok, "new_password": "a long new password"}); rr.status != 204 {
		t.Fatalf("redeem: %d %s", rr.status, rr.body)
	}
}

func cheapHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := auth.HashPasswordIterations(pw, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func checkHash(h, pw string) bool { return auth.CheckPassword(h, pw) }

// TestPasswordChangeIsThrottled: a stolen session or token cannot be used
// to guess the current password. Of a burst of wrong guesses sent at once
// only the per-person limit is checked, the rest (and then even the right
// password) get 429 until the window passes; another person is not held.
func TestPasswordChangeIsThrottled(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, dbURL string) {
		clock := fakeclock.New(fakeclock.Epoch)
		s := startWith(t, app.Config{DB: dbURL, Clock: clock})
		s.org("acme")
		dev := s.user("acme", "dev@example.com", "Dev", "developer")
		other := s.user("acme", "qa@example.com", "QA", "qa")
		s.setPassword("acme", "dev@example.com", "the old password")
		s.setPassword("acme", "qa@example.com", "the qa password")
		const burst = 12
		statuses := make(chan int, burst)
		var wg sync.WaitGroup
		for i := range burst {
			wg.Add(1)
			go func() {
				defer wg.Done()
				statuses <- s.post("/account/password", dev, map[string]any{"old_password": fmt.Sprintf("guess %d", i), "new_password": "a long new password"}).status
			}()
		}
		wg.Wait()
		close(statuses)
		count := map[int]int{}
		for st := range statuses {
			count[st]++
		}
		if count[403] != people.PasswordChecksPerWindow || count[429] != burst-people.PasswordChecksPerWindow {
			t.Fatalf("answers to %d concurrent wrong guesses: %v; want %d × 403 and the rest 429", burst, count, people.PasswordChecksPerWindow)
		}
		expectStatus(t, s.post("/account/password", dev, map[string]any{"old_password": "the old password", "new_password": "a long new password"}),
			429, "Too many wrong current passwords")
		if !s.checkPassword("acme", "dev@example.com", "the old password") {
			t.Fatal("a throttled change changed the password")
		}
		// Another person's change is not held by it.
		if r := s.post("/account/password", other, map[string]any{"old_password": "the qa password", "new_password": "another long password"}); r.status != 204 {
			t.Fatalf("another person's change: %d %s", r.status, r.body)
		}
		clock.Advance(16 * time.Minute)
		if r := s.post("/account/password", dev, map[string]any{"old_password": "the old password", "new_password": "a long new password"}); r.status != 204 {
			t.Fatalf("change after the window: %d %s", r.status, r.body)
		}
	})
}
