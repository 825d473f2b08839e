package delivery_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

// TestAudienceSkipsPlaceholderOwner: the stand-in first owner `org create`
// makes (owner@ORG.invalid, until someone opens the setup link) gets no
// mail; the org's owner addresses and real owners do.
func TestAudienceSkipsPlaceholderOwner(t *testing.T) {
	t.Parallel()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Now()
	var org *shiplog.Org
	err = st.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		if org, err = tx.OrgCreate(ctx, "acme", now); err != nil {
			return err
		}
		return tx.OrgSetOwnerEmails(ctx, org.ID, []string{"boss@acme.test"})
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := &people.Service{Store: st, Clock: shiplog.SystemClock{}}
	// Make the placeholder: without owner emails the first owner has none.
	if err := st.Write(t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.OrgSetOwnerEmails(ctx, org.ID, nil) }); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.FirstOwnerLink(t.Context(), org); err != nil {
		t.Fatal(err)
	}
	err = st.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		if err := tx.OrgSetOwnerEmails(ctx, org.ID, []string{"boss@acme.test"}); err != nil {
			return err
		}
		return tx.UserCreate(ctx, &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: "ann@acme.test", Name: "Ann",
			Roles: []string{shiplog.RoleAdmin}, CreatedAt: now}, "")
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := delivery.Audience(t.Context(), st, org.ID)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(p.Owners)
	if !slices.Equal(p.Owners, []string{"ann@acme.test", "boss@acme.test"}) || !slices.Equal(p.Members, []string{"ann@acme.test"}) {
		t.Errorf("owners %q, members %q; want no owner@acme.invalid", p.Owners, p.Members)
	}
}
