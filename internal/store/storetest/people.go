package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// testPeople: deactivation, tombstones, token listings and revocation,
// sessions ended per person, one-time reset links.
func testPeople(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"SetActive":     func(t *testing.T) { testUserSetActive(t, open(t)) },
		"Delete":        func(t *testing.T) { testUserDelete(t, open(t)) },
		"Tokens":        func(t *testing.T) { testTokens(t, open(t)) },
		"SessionsEnd":   func(t *testing.T) { testSessionDeleteUser(t, open(t)) },
		"PasswordReset": func(t *testing.T) { testPasswordReset(t, open(t)) },
		"FirstRun":      func(t *testing.T) { testFirstRun(t, open(t)) },
	})
}

func newUser(t *testing.T, s store.Store, org *shiplog.Org, email string, roles ...string) *shiplog.User {
	t.Helper()
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: email, Name: "Name of " + email, Roles: roles, CreatedAt: t0}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UserCreate(ctx, u, "pbkdf2-sha256$1$x$y") })
	return u
}

func newToken(t *testing.T, s store.Store, u *shiplog.User, tokenID string, at time.Time) string {
	t.Helper()
	id := shiplog.NewID()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.TokenCreate(ctx, &store.TokenCreateParams{ID: id, OrgID: u.OrgID, UserID: u.ID, TokenID: tokenID, Name: "n " + tokenID,
			Hash: []byte("h" + tokenID), Now: at})
	})
	return id
}

func newSession(t *testing.T, s store.Store, org *shiplog.Org, u *shiplog.User, n int) []byte {
	t.Helper()
	h := fmt.Appendf(nil, "session-%s-%02d-0123456789", u.ID[len(u.ID)-12:], n)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.SessionCreate(ctx, &store.Session{IDHash: h, OrgID: org.ID, OrgName: org.Name, UserID: u.ID, CSRF: "c",
			CreatedAt: at(0), ExpiresAt: at(600)})
	})
	return h
}

func testUserSetActive(t *testing.T, s store.Store) {
	org, other := createOrg(t, s, "acme"), createOrg(t, s, "other")
	u := newUser(t, s, org, "ann@acme.test", "qa")
	got, err := s.UserGet(t.Context(), org.ID, u.ID)
	ok(t, "UserGet", err)
	if !got.Active() || got.DeactivatedAt != nil || got.DeletedAt != nil {
		t.Fatalf("a new user: %+v", got)
	}
	set := func(p store.UserSetActiveParams) error {
		_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) { return struct{}{}, tx.UserSetActive(ctx, &p) })
		return err
	}
	for _, c := range []struct {
		name       string
		p          store.UserSetActiveParams
		err        error
		wantActive bool
		wantAt     *time.Time
	}{
		{"deactivate", store.UserSetActiveParams{OrgID: org.ID, UserID: u.ID, Now: at(1)}, nil, false, ptr(at(1))},
		{"deactivate again keeps the first time", store.UserSetActiveParams{OrgID: org.ID, UserID: u.ID, Now: at(2)}, nil, false, ptr(at(1))},
		{"another org's", store.UserSetActiveParams{OrgID: other.ID, UserID: u.ID, Active: true, Now: at(3)}, store.ErrNotFound, false, ptr(at(1))},
		{"reactivate", store.UserSetActiveParams{OrgID: org.ID, UserID: u.ID, Active: true, Now: at(4)}, nil, true, nil},
		{"reactivate again", store.UserSetActiveParams{OrgID: org.ID, UserID: u.ID, Active: true, Now: at(5)}, nil, true, nil},
		{"unknown person", store.UserSetActiveParams{OrgID: org.ID, UserID: shiplog.NewID(), Now: at(6)}, store.ErrNotFound, true, nil},
	} {
		wantErr(t, c.name, set(c.p), c.err)
		got, err := s.UserGet(t.Context(), org.ID, u.ID)
		ok(t, c.name, err)
		same(t, c.name+": active", got.Active(), c.wantActive)
		same(t, c.name+": deactivated_at", got.DeactivatedAt, c.wantAt)
	}
	// A deactivated person is still listed and found by email.
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.UserSetActive(ctx, &store.UserSetActiveParams{OrgID: org.ID, UserID: u.ID, Now: at(7)})
	})
	us, err := s.UserList(t.Context(), org.ID)
	ok(t, "UserList", err)
	same(t, "listed", len(us), 1)
	_, err = s.UserByEmail(t.Context(), org.ID, "ann@acme.test")
	ok(t, "UserByEmail of a deactivated person", err)
}

func testUserDelete(t *testing.T, s store.Store) {
	org, other := createOrg(t, s, "acme"), createOrg(t, s, "other")
	u := newUser(t, s, org, "ann@acme.test", "qa")
	keep := newUser(t, s, org, "bob@acme.test", "admin")
	tok := newToken(t, s, u, "aaaaaaaaaaaaaaaa", at(0))
	keepTok := newToken(t, s, keep, "bbbbbbbbbbbbbbbb", at(0))
	sess := newSession(t, s, org, u, 1)
	keepSess := newSession(t, s, org, keep, 1)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		return tx.PasswordResetCreate(ctx, &store.PasswordResetCreateParams{ID: "reset-of-ann-001", OrgID: org.ID, UserID: u.ID,
			Hash: []byte("h"), CreatedBy: "cli", Now: at(0), ExpiresAt: at(60)})
	})
	del := func(orgID, userID string, now time.Time) error {
		_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
			return struct{}{}, tx.UserDelete(ctx, &store.UserDeleteParams{OrgID: orgID, UserID: userID, Now: now})
		})
		return err
	}
	wantErr(t, "another org's delete", del(other.ID, u.ID, at(1)), store.ErrNotFound)
	ok(t, "UserDelete", del(org.ID, u.ID, at(2)))
	wantErr(t, "deleting twice", del(org.ID, u.ID, at(3)), store.ErrNotFound)

	// The tombstone: same id, name and address as before, deleted.
	got, err := s.UserGet(t.Context(), org.ID, u.ID)
	ok(t, "UserGet of the tombstone", err)
	same(t, "tombstone", got, &shiplog.User{ID: u.ID, OrgID: org.ID, Email: u.Email, Name: u.Name, Roles: u.Roles, CreatedAt: t0,
		DeletedAt: ptr(at(2))})
	if got.Active() {
		t.Error("a tombstone is active")
	}
	h, err := s.UserPasswordHash(t.Context(), org.ID, u.ID)
	ok(t, "UserPasswordHash", err)
	same(t, "password after deletion", h, "")
	_, err = s.UserByEmail(t.Context(), org.ID, u.Email)
	wantErr(t, "UserByEmail of a deleted person", err, store.ErrNotFound)
	us, err := s.UserList(t.Context(), org.ID)
	ok(t, "UserList", err)
	same(t, "listed after deletion", len(us), 1)
	// Its tokens are revoked, its sessions and reset links gone; the other
	// person's are untouched.
	ts, err := s.TokenList(t.Context(), org.ID, "")
	ok(t, "TokenList", err)
	for _, tk := range ts {
		switch tk.ID {
		case tok:
			same(t, "the deleted person's token", tk.RevokedAt, ptr(at(2)))
			same(t, "the deleted person's token names them", tk.UserEmail, u.Email)
		case keepTok:
			same(t, "another's token", tk.RevokedAt, (*time.Time)(nil))
		}
	}
	_, err = s.SessionGet(t.Context(), sess)
	wantErr(t, "the deleted person's session", err, store.ErrNotFound)
	_, err = s.SessionGet(t.Context(), keepSess)
	ok(t, "another's session", err)
	_, err = s.PasswordResetGet(t.Context(), "reset-of-ann-001")
	wantErr(t, "the deleted person's reset link", err, store.ErrNotFound)
	// No more changes to the tombstone.
	_, err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
		return struct{}{}, tx.UserUpdate(ctx, &shiplog.User{ID: u.ID, OrgID: org.ID, Name: "X", Roles: []string{"admin"}})
	})
	wantErr(t, "UserUpdate of a tombstone", err, store.ErrNotFound)
	_, err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
		return struct{}{}, tx.UserSetPassword(ctx, org.ID, u.ID, "h")
	})
	wantErr(t, "UserSetPassword of a tombstone", err, store.ErrNotFound)
	_, err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
		return struct{}{}, tx.UserSetActive(ctx, &store.UserSetActiveParams{OrgID: org.ID, UserID: u.ID, Active: true, Now: at(4)})
	})
	wantErr(t, "reactivating a tombstone", err, store.ErrNotFound)
	// The address is free for someone new.
	again := newUser(t, s, org, "ann@acme.test", "viewer")
	found, err := s.UserByEmail(t.Context(), org.ID, "ann@acme.test")
	ok(t, "UserByEmail of the new person", err)
	same(t, "the address's new owner", found.ID, again.ID)
}

func testTokens(t *testing.T, s store.Store) {
	org, other := createOrg(t, s, "acme"), createOrg(t, s, "other")
	ann, bob := newUser(t, s, org, "ann@acme.test", "qa"), newUser(t, s, org, "bob@acme.test", "admin")
	olga := newUser(t, s, other, "olga@other.test", "owner")
	a1 := newToken(t, s, ann, "ann1ann1ann1ann1", at(1))
	a2 := newToken(t, s, ann, "ann2ann2ann2ann2", at(2))
	b1 := newToken(t, s, bob, "bob1bob1bob1bob1", at(3))
	o1 := newToken(t, s, olga, "olg1olg1olg1olg1", at(4))
	ids := func(ts []*shiplog.Token) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.ID)
		}
		return out
	}
	for _, c := range []struct {
		name          string
		orgID, userID string
		want          []string
	}{
		{"the org's, newest first", org.ID, "", []string{b1, a2, a1}},
		{"one person's", org.ID, ann.ID, []string{a2, a1}},
		{"another org's person", org.ID, olga.ID, nil},
		{"the other org", other.ID, "", []string{o1}},
	} {
		ts, err := s.TokenList(t.Context(), c.orgID, c.userID)
		ok(t, c.name, err)
		same(t, c.name, ids(ts), c.want)
	}
	got, err := s.TokenGet(t.Context(), org.ID, "ann2ann2ann2ann2")
	ok(t, "TokenGet by token id", err)
	same(t, "token", got, &shiplog.Token{ID: a2, TokenID: "ann2ann2ann2ann2", Name: "n ann2ann2ann2ann2", UserID: ann.ID,
		UserEmail: ann.Email, UserName: ann.Name, CreatedAt: at(2)})
	got, err = s.TokenGet(t.Context(), org.ID, a2)
	ok(t, "TokenGet by row id", err)
	same(t, "by row id", got.TokenID, "ann2ann2ann2ann2")
	for _, ref := range []string{o1, "olg1olg1olg1olg1", "nonsense", "", shiplog.NewID()} {
		_, err := s.TokenGet(t.Context(), org.ID, ref)
		wantErr(t, "TokenGet "+ref, err, store.ErrNotFound)
	}
	revoke := func(orgID, id string, now time.Time) error {
		_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
			return struct{}{}, tx.TokenRevoke(ctx, orgID, id, now)
		})
		return err
	}
	wantErr(t, "revoking another org's token", revoke(org.ID, o1, at(5)), store.ErrNotFound)
	ok(t, "TokenRevoke", revoke(org.ID, a1, at(6)))
	ok(t, "TokenRevoke again", revoke(org.ID, a1, at(7)))
	got, err = s.TokenGet(t.Context(), org.ID, a1)
	ok(t, "TokenGet", err)
	same(t, "revoked keeps the first time", got.RevokedAt, ptr(at(6)))
	auth, err := s.TokenAuthLookup(t.Context(), "ann1ann1ann1ann1")
	ok(t, "TokenAuthLookup", err)
	same(t, "authentication sees the revocation", auth.RevokedAt, ptr(at(6)))
	got, err = s.TokenGet(t.Context(), other.ID, o1)
	ok(t, "TokenGet", err)
	same(t, "the other org's token", got.RevokedAt, (*time.Time)(nil))
}

func testSessionDeleteUser(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	ann, bob := newUser(t, s, org, "ann@acme.test", "qa"), newUser(t, s, org, "bob@acme.test", "qa")
	a1, a2, a3 := newSession(t, s, org, ann, 1), newSession(t, s, org, ann, 2), newSession(t, s, org, ann, 3)
	b1 := newSession(t, s, org, bob, 1)
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SessionDeleteUser(ctx, org.ID, ann.ID, a2) })
	for _, c := range []struct {
		name string
		h    []byte
		err  error
	}{{"ann's first", a1, store.ErrNotFound}, {"ann's kept", a2, nil}, {"ann's third", a3, store.ErrNotFound}, {"bob's", b1, nil}} {
		_, err := s.SessionGet(t.Context(), c.h)
		wantErr(t, c.name, err, c.err)
	}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SessionDeleteUser(ctx, org.ID, ann.ID, nil) })
	_, err := s.SessionGet(t.Context(), a2)
	wantErr(t, "all of ann's", err, store.ErrNotFound)
	_, err = s.SessionGet(t.Context(), b1)
	ok(t, "bob's stays", err)
}

func testPasswordReset(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	ann := newUser(t, s, org, "ann@acme.test", "qa")
	create := func(id string, now time.Time) {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PasswordResetCreate(ctx, &store.PasswordResetCreateParams{ID: id, OrgID: org.ID, UserID: ann.ID, Hash: []byte("hash-" + id),
				CreatedBy: "admin-id", Now: now, ExpiresAt: now.Add(time.Hour)})
		})
	}
	use := func(id string, now time.Time) error {
		_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
			return struct{}{}, tx.PasswordResetUse(ctx, id, now)
		})
		return err
	}
	create("first-link-00001", at(0))
	got, err := s.PasswordResetGet(t.Context(), "first-link-00001")
	ok(t, "PasswordResetGet", err)
	same(t, "reset read back", got, &store.PasswordReset{ID: "first-link-00001", OrgID: org.ID, UserID: ann.ID, CreatedBy: "admin-id",
		Hash: []byte("hash-first-link-00001"), CreatedAt: at(0), ExpiresAt: at(60)})
	// A newer link replaces the older one.
	create("second-link-0002", at(10))
	_, err = s.PasswordResetGet(t.Context(), "first-link-00001")
	wantErr(t, "the replaced link", err, store.ErrNotFound)
	for _, c := range []struct {
		name string
		id   string
		now  time.Time
		err  error
	}{
		{"unknown", "no-such-link-000", at(11), store.ErrNotFound},
		{"replaced", "first-link-00001", at(11), store.ErrNotFound},
		{"at expiry", "second-link-0002", at(70), store.ErrConflict},
		{"in time", "second-link-0002", at(69), nil},
		{"a second use", "second-link-0002", at(69), store.ErrConflict},
	} {
		wantErr(t, c.name, use(c.id, c.now), c.err)
	}
	got, err = s.PasswordResetGet(t.Context(), "second-link-0002")
	ok(t, "PasswordResetGet", err)
	same(t, "used at", got.UsedAt, ptr(at(69)))
}

// testFirstRun: what first-run setup needs: every org listed, setup links
// that leave the earlier ones working (but sweep dead ones), and a
// person's address changed once, not onto someone else's.
func testFirstRun(t *testing.T, s store.Store) {
	zeta, acme := createOrg(t, s, "zeta"), createOrg(t, s, "acme")
	orgs, err := s.OrgList(t.Context())
	ok(t, "OrgList", err)
	if len(orgs) != 2 || orgs[0].ID != acme.ID || orgs[1].ID != zeta.ID || orgs[0].Name != "acme" || !orgs[0].CreatedAt.Equal(t0) {
		t.Errorf("OrgList = %+v, want acme then zeta", orgs)
	}
	ann := newUser(t, s, acme, "owner@acme.invalid", "owner")
	newUser(t, s, acme, "bob@acme.test", "qa")
	create := func(id string, now time.Time, keep bool) {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			return tx.PasswordResetCreate(ctx, &store.PasswordResetCreateParams{ID: id, OrgID: acme.ID, UserID: ann.ID, Hash: []byte("h" + id),
				CreatedBy: "setup", Now: now, ExpiresAt: now.Add(time.Hour), KeepEarlier: keep})
		})
	}
	create("setup-link-00001", at(0), true)
	create("setup-link-00002", at(10), true)
	for _, id := range []string{"setup-link-00001", "setup-link-00002"} {
		_, err := s.PasswordResetGet(t.Context(), id)
		ok(t, "kept "+id, err)
	}
	create("setup-link-00003", at(65), true) // the first expired at 60
	_, err = s.PasswordResetGet(t.Context(), "setup-link-00001")
	wantErr(t, "the expired link", err, store.ErrNotFound)
	_, err = s.PasswordResetGet(t.Context(), "setup-link-00002")
	ok(t, "the live link", err)
	create("reset-link-00004", at(66), false)
	_, err = s.PasswordResetGet(t.Context(), "setup-link-00003")
	wantErr(t, "a link a plain reset replaced", err, store.ErrNotFound)

	setEmail := func(id, email string) error {
		_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
			return struct{}{}, tx.UserSetEmail(ctx, acme.ID, id, email)
		})
		return err
	}
	wantErr(t, "someone else's address", setEmail(ann.ID, "bob@acme.test"), store.ErrConflict)
	wantErr(t, "no such person", setEmail(shiplog.NewID(), "x@acme.test"), store.ErrNotFound)
	ok(t, "UserSetEmail", setEmail(ann.ID, "Ann@Acme.test"))
	u, err := s.UserByEmail(t.Context(), acme.ID, "ann@acme.test")
	ok(t, "UserByEmail", err)
	same(t, "renamed person", u.ID, ann.ID)
}
