package storetest

import (
	"context"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testSession(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	other := createOrg(t, s, "other")
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: "ann@acme.test", Roles: []string{"owner"}, CreatedAt: t0}
	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.UserCreate(ctx, u, "") })

	live := &store.Session{IDHash: []byte("hash-live-0123456789012345678901"), OrgID: org.ID, OrgName: org.Name,
		UserID: u.ID, CSRF: "csrf-1", CreatedAt: at(0), ExpiresAt: at(60)}
	old := &store.Session{IDHash: []byte("hash-old-01234567890123456789012"), OrgID: org.ID, OrgName: org.Name,
		UserID: u.ID, CSRF: "csrf-2", CreatedAt: at(0), ExpiresAt: at(5)}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.SessionCreate(ctx, live); err != nil {
			return err
		}
		return tx.SessionCreate(ctx, old)
	})
	got, err := s.SessionGet(t.Context(), live.IDHash)
	ok(t, "SessionGet", err)
	same(t, "session read back", got, live)

	// A second session with the same hash is a conflict, never an overwrite.
	_, err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
		return struct{}{}, tx.SessionCreate(ctx, &store.Session{IDHash: live.IDHash, OrgID: other.ID, OrgName: other.Name,
			UserID: u.ID, CSRF: "x", CreatedAt: at(1), ExpiresAt: at(99)})
	})
	wantErr(t, "SessionCreate with a taken hash", err, store.ErrConflict)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SessionExtend(ctx, live.IDHash, at(120)) })
	got, err = s.SessionGet(t.Context(), live.IDHash)
	ok(t, "SessionGet after extend", err)
	same(t, "extended expiry", got.ExpiresAt, at(120))

	n := writeGet(t, s, func(ctx context.Context, tx store.Tx) (int64, error) { return tx.SessionDeleteExpired(ctx, at(30)) })
	same(t, "expired sessions deleted", n, int64(1))
	_, err = s.SessionGet(t.Context(), old.IDHash)
	wantErr(t, "SessionGet of a pruned session", err, store.ErrNotFound)

	write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.SessionDelete(ctx, live.IDHash) })
	_, err = s.SessionGet(t.Context(), live.IDHash)
	wantErr(t, "SessionGet after sign-out", err, store.ErrNotFound)
	_, err = tryWrite(t, s, func(ctx context.Context, tx store.Tx) (struct{}, error) {
		return struct{}{}, tx.SessionExtend(ctx, live.IDHash, at(200))
	})
	wantErr(t, "SessionExtend of a deleted session", err, store.ErrNotFound)
}
