package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testOrg(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"CreateAndGet": func(t *testing.T) {
			s := open(t)
			// Nanoseconds beyond the microsecond are dropped, not rounded.
			now := t0.Add(999 * time.Nanosecond)
			o := writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Org, error) {
				return tx.OrgCreate(ctx, "acme", now)
			})
			if !shiplog.ValidID(o.ID) {
				t.Errorf("OrgCreate id %q is not an id", o.ID)
			}
			same(t, "created org", o, &shiplog.Org{ID: o.ID, Name: "acme", CreatedAt: t0})
			got, err := s.OrgGetByName(t.Context(), "acme")
			ok(t, "OrgGetByName", err)
			same(t, "OrgGetByName", got, o)
		},
		"DuplicateName": func(t *testing.T) {
			s := open(t)
			first := createOrg(t, s, "acme")
			_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Org, error) {
				return tx.OrgCreate(ctx, "acme", at(1))
			})
			wantErr(t, "second OrgCreate of the same name", err, store.ErrConflict)
			got, err := s.OrgGetByName(t.Context(), "acme")
			ok(t, "OrgGetByName", err)
			same(t, "org after the refused duplicate", got, first)
		},
		"UnknownName": func(t *testing.T) {
			s := open(t)
			createOrg(t, s, "acme")
			for _, name := range []string{"acm", "ACME", "acme2", ""} {
				_, err := s.OrgGetByName(t.Context(), name)
				wantErr(t, fmt.Sprintf("OrgGetByName(%q)", name), err, store.ErrNotFound)
			}
		},
	})
}

func createKey(t *testing.T, s store.Store, org *shiplog.Org, name string, hash []byte, now time.Time) *shiplog.APIKey {
	t.Helper()
	return writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.APIKey, error) {
		return tx.APIKeyCreate(ctx, &store.APIKeyCreateParams{OrgID: org.ID, Name: name, Hash: hash,
			Hint: name[len(name)-1:] + "xyz", Now: now})
	})
}

func testAPIKey(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"CreateNumbersPerOrg": func(t *testing.T) {
			s := open(t)
			a, b := createOrg(t, s, "a"), createOrg(t, s, "b")
			a1 := createKey(t, s, a, "ci-1", []byte{1}, at(1))
			b1 := createKey(t, s, b, "ci-2", []byte{2}, at(2))
			a2 := createKey(t, s, a, "ci-3", []byte{3}, at(3))
			b2 := createKey(t, s, b, "ci-4", []byte{4}, at(4))
			a3 := createKey(t, s, a, "ci-5", []byte{5}, at(5))
			for _, k := range []*shiplog.APIKey{a1, a2, a3, b1, b2} {
				if !shiplog.ValidID(k.ID) {
					t.Errorf("key %s: id %q is not an id", k.KeyID, k.ID)
				}
			}
			same(t, "a's first key", a1, &shiplog.APIKey{ID: a1.ID, OrgID: a.ID, KeyID: "k1", Name: "ci-1", Hint: "1xyz", CreatedAt: at(1)})
			for _, c := range []struct {
				key  *shiplog.APIKey
				want string
			}{{a2, "k2"}, {a3, "k3"}, {b1, "k1"}, {b2, "k2"}} {
				if c.key.KeyID != c.want {
					t.Errorf("key %s: KeyID %q, want %q", c.key.Name, c.key.KeyID, c.want)
				}
			}
			list, err := s.APIKeyList(t.Context(), a.ID)
			ok(t, "APIKeyList", err)
			same(t, "a's keys", list, []*shiplog.APIKey{a1, a2, a3})
			list, err = s.APIKeyList(t.Context(), b.ID)
			ok(t, "APIKeyList", err)
			same(t, "b's keys", list, []*shiplog.APIKey{b1, b2})
		},
		"AuthLookup": func(t *testing.T) {
			s := open(t)
			a, b := createOrg(t, s, "a"), createOrg(t, s, "b")
			hash := bytes.Repeat([]byte{0xde, 0xad, 0x00, 0xff}, 8) // binary, with a NUL
			createKey(t, s, a, "first", []byte("h1"), t0)
			k2 := createKey(t, s, a, "second", hash, t0)
			createKey(t, s, b, "b-first", []byte("hb"), t0)
			got, err := s.APIKeyAuthLookup(t.Context(), "a", "k2")
			ok(t, "APIKeyAuthLookup(a, k2)", err)
			same(t, "lookup of a/k2", got, &store.APIKeyAuth{ID: k2.ID, OrgID: a.ID, OrgName: "a", Hash: hash})
			for _, c := range []struct{ org, key string }{
				{"a", "k3"}, {"b", "k2"}, {"c", "k1"}, {"a", "k0"}, {"a", "k02"}, {"a", "2"}, {"a", "K2"},
				{"a", "k-1"}, {"a", ""}, {"", "k1"}, {"a", k2.ID},
			} {
				_, err := s.APIKeyAuthLookup(t.Context(), c.org, c.key)
				wantErr(t, fmt.Sprintf("APIKeyAuthLookup(%q, %q)", c.org, c.key), err, store.ErrNotFound)
			}
		},
		"Revoke": func(t *testing.T) {
			s := open(t)
			a, b := createOrg(t, s, "a"), createOrg(t, s, "b")
			k1 := createKey(t, s, a, "one", []byte("h1"), t0)
			k2 := createKey(t, s, a, "two", []byte("h2"), t0)
			b1 := createKey(t, s, b, "b-one", []byte("hb"), t0)
			write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.APIKeyRevoke(ctx, a.ID, "k1", at(5)) })
			got, err := s.APIKeyAuthLookup(t.Context(), "a", "k1")
			ok(t, "APIKeyAuthLookup", err)
			same(t, "revoked_at after revoke", got.RevokedAt, ptr(at(5)))
			// Revoking again keeps the first revocation time.
			write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.APIKeyRevoke(ctx, a.ID, "k1", at(9)) })
			got, err = s.APIKeyAuthLookup(t.Context(), "a", "k1")
			ok(t, "APIKeyAuthLookup", err)
			same(t, "revoked_at after second revoke", got.RevokedAt, ptr(at(5)))

			for _, c := range []struct{ org, key string }{{a.ID, "k3"}, {b.ID, "k2"}, {a.ID, "x"}, {shiplog.NewID(), "k1"}} {
				err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
					return tx.APIKeyRevoke(ctx, c.org, c.key, at(6))
				})
				wantErr(t, fmt.Sprintf("APIKeyRevoke(%s, %q)", c.org, c.key), err, store.ErrNotFound)
			}
			k1.RevokedAt = ptr(at(5))
			list, err := s.APIKeyList(t.Context(), a.ID)
			ok(t, "APIKeyList", err)
			same(t, "a's keys", list, []*shiplog.APIKey{k1, k2})
			list, err = s.APIKeyList(t.Context(), b.ID)
			ok(t, "APIKeyList", err)
			same(t, "b's keys (untouched)", list, []*shiplog.APIKey{b1})
		},
		"Touch": func(t *testing.T) {
			s := open(t)
			a := createOrg(t, s, "a")
			k1 := createKey(t, s, a, "one", []byte("h1"), t0)
			k2 := createKey(t, s, a, "two", []byte("h2"), t0)
			for _, when := range []time.Time{at(3), at(7)} {
				write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.APIKeyTouch(ctx, k1.ID, when) })
				got, err := s.APIKeyAuthLookup(t.Context(), "a", "k1")
				ok(t, "APIKeyAuthLookup", err)
				same(t, "LastUsed after touch", got.LastUsed, &when)
				k1.LastUsedAt = &when
				list, err := s.APIKeyList(t.Context(), a.ID)
				ok(t, "APIKeyList", err)
				same(t, "keys after touch", list, []*shiplog.APIKey{k1, k2})
			}
		},
		"ConcurrentCreate": func(t *testing.T) {
			// Keys created at the same moment, in separate transactions where
			// the store runs several (distinct write keys), still get k1…kN,
			// each once. The first writer holds its transaction open, its key
			// written, until every writer has called WriteKeyed.
			s := open(t)
			a := createOrg(t, s, "a")
			const n = 12
			keys := make([]*shiplog.APIKey, n)
			errs := make([]error, n)
			var called sync.WaitGroup
			called.Add(n)
			allIn := make(chan struct{})
			var hold sync.Once
			done := goWait(n, func(i int) {
				called.Done()
				errs[i] = s.WriteKeyed(t.Context(), fmt.Sprint("writer-", i), func(ctx context.Context, tx store.Tx) error {
					k, err := tx.APIKeyCreate(ctx, &store.APIKeyCreateParams{OrgID: a.ID, Name: fmt.Sprint(i),
						Hash: []byte{byte(i)}, Hint: "hint", Now: t0})
					keys[i] = k
					if i == 0 {
						hold.Do(func() { <-allIn })
					}
					return err
				})
			})
			called.Wait()
			close(allIn)
			waitFor(t, "concurrent key creation", done)
			seen := map[string]bool{}
			for i := range n {
				if errs[i] != nil {
					t.Errorf("APIKeyCreate %d: %v", i, errs[i])
					continue
				}
				if seen[keys[i].KeyID] {
					t.Errorf("key id %s given twice", keys[i].KeyID)
				}
				seen[keys[i].KeyID] = true
			}
			if len(seen) == n {
				for i := 1; i <= n; i++ {
					if !seen[fmt.Sprintf("k%d", i)] {
						t.Errorf("no key got k%d: got %v", i, seen)
					}
				}
			}
		},
	})
}
