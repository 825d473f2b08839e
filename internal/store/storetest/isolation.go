package storetest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// tenant is one org's records in the isolation test.
type tenant struct {
	*catalog
	deployment *shiplog.Deployment
	build      *shiplog.Build
	event      *shiplog.Event
}

func newTenant(t *testing.T, s store.Store, name string) *tenant {
	t.Helper()
	org := createOrg(t, s, name)
	// The same names in every org.
	c := ensureCatalog(t, s, org, "api", "prod", "1.0")
	tn := &tenant{catalog: c, deployment: c.deployment(shiplog.StatusCompleted, t0), build: c.build(shiplog.StatusCompleted, t0)}
	insertDeployments(t, s, tn.deployment)
	insertBuilds(t, s, tn.build)
	tn.event = &shiplog.Event{ID: shiplog.NewID(), OrgID: org.ID, Type: shiplog.TypeOf(shiplog.KindDeployment, shiplog.StatusCompleted),
		Kind: shiplog.KindDeployment, SubjectID: tn.deployment.ID, ProductName: "api", Version: "1.0",
		EnvironmentName: "prod", EnvironmentType: c.env.Type, Status: shiplog.StatusCompleted, OccurredAt: t0}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.EventInsert(ctx, tn.event); err != nil {
			return err
		}
		if _, err := tx.APIKeyCreate(ctx, &store.APIKeyCreateParams{OrgID: org.ID, Name: "ci", Hash: []byte(name),
			Hint: "abcd", Now: t0}); err != nil {
			return err
		}
		if err := tx.IdempotencyClaim(ctx, org.ID, "key-"+name, t0, at(-60)); err != nil {
			return err
		}
		return tx.IdempotencyComplete(ctx, org.ID, "key-"+name, &store.IdempotentResponse{StatusCode: 200,
			Body: json.RawMessage(`{}`)})
	})
	return tn
}

// testIsolation checks that one org never sees another's rows, though both
// use the same names.
func testIsolation(t *testing.T, open OpenFunc) {
	t.Run("SameNamesDifferentRows", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		a, b := newTenant(t, s, "a"), newTenant(t, s, "b")
		for _, c := range []struct{ what, a, b string }{
			{"product", a.product.ID, b.product.ID},
			{"environment", a.env.ID, b.env.ID},
			{"version", a.version.ID, b.version.ID},
		} {
			if c.a == c.b {
				t.Errorf("orgs a and b share %s id %s", c.what, c.a)
			}
		}

		// Every get with the other org's id is not found, both ways round.
		for _, pair := range []struct{ reader, owner *tenant }{{a, b}, {b, a}} {
			org, o := pair.reader.org.ID, pair.owner
			ctx := t.Context()
			gets := []struct {
				name string
				get  func() error
			}{
				{"EnvironmentGet", func() error { _, err := s.EnvironmentGet(ctx, org, o.env.ID); return err }},
				{"VersionGet", func() error { _, err := s.VersionGet(ctx, org, o.version.ID); return err }},
				{"DeploymentGet", func() error { _, err := s.DeploymentGet(ctx, org, o.deployment.ID); return err }},
				{"BuildGet", func() error { _, err := s.BuildGet(ctx, org, o.build.ID); return err }},
				{"IdempotencyGet", func() error {
					_, err := s.IdempotencyGet(ctx, org, "key-"+o.org.Name, at(-60))
					return err
				}},
				{"EnvironmentUpdate", func() error {
					_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Environment, error) {
						return tx.EnvironmentUpdate(ctx, org, o.env.ID, &store.EnvironmentUpdateParams{Description: ptr("x")})
					})
					return err
				}},
				{"APIKeyRevoke", func() error {
					// Both orgs have a k1; the reader has no k2.
					return s.Write(ctx, func(ctx context.Context, tx store.Tx) error { return tx.APIKeyRevoke(ctx, org, "k2", t0) })
				}},
			}
			for _, g := range gets {
				wantErr(t, g.name+" of org "+o.org.Name+"'s row by org "+pair.reader.org.Name, g.get(), store.ErrNotFound)
			}
			events, err := s.EventListBySubject(ctx, org, o.deployment.ID)
			ok(t, "EventListBySubject", err)
			if len(events) != 0 {
				t.Errorf("org %s sees %d events of org %s's deployment", pair.reader.org.Name, len(events), o.org.Name)
			}
		}

		// Every list holds the org's own rows only.
		for _, tn := range []*tenant{a, b} {
			ctx, org := t.Context(), tn.org.ID
			ps, err := s.ProductList(ctx, org, store.Page{})
			ok(t, "ProductList", err)
			same(t, tn.org.Name+"'s products", ps, []*shiplog.Product{tn.product})
			es, err := s.EnvironmentList(ctx, org, store.Page{})
			ok(t, "EnvironmentList", err)
			same(t, tn.org.Name+"'s environments", es, []*shiplog.Environment{tn.env})
			vs, err := s.VersionList(ctx, org, store.VersionFilter{ProductName: "api"}, store.Page{})
			ok(t, "VersionList", err)
			same(t, tn.org.Name+"'s versions", vs, []*shiplog.Version{tn.version})
			ds, err := s.DeploymentList(ctx, org, store.DeploymentFilter{ProductName: "api", EnvironmentName: "prod"}, store.Page{})
			ok(t, "DeploymentList", err)
			same(t, tn.org.Name+"'s deployments", ds, []*shiplog.Deployment{tn.deployment})
			bs, err := s.BuildList(ctx, org, store.BuildFilter{ProductName: "api"}, store.Page{})
			ok(t, "BuildList", err)
			same(t, tn.org.Name+"'s builds", bs, []*shiplog.Build{tn.build})
			evs, err := s.EventListBySubject(ctx, org, tn.deployment.ID)
			ok(t, "EventListBySubject", err)
			same(t, tn.org.Name+"'s events", evs, []*shiplog.Event{tn.event})
			cells, err := s.StatusMatrix(ctx, org)
			ok(t, "StatusMatrix", err)
			same(t, tn.org.Name+"'s status matrix", cells, []*store.StatusCell{{ProductID: tn.product.ID,
				ProductName: "api", EnvironmentID: tn.env.ID, EnvironmentName: "prod", EnvironmentType: tn.env.Type,
				Latest: tn.deployment, Current: tn.deployment}})
			keys, err := s.APIKeyList(ctx, org)
			ok(t, "APIKeyList", err)
			if len(keys) != 1 || keys[0].OrgID != org || keys[0].KeyID != "k1" {
				t.Errorf("%s's keys: got %+v, want its own k1 only", tn.org.Name, keys)
			}
			auth, err := s.APIKeyAuthLookup(ctx, tn.org.Name, "k1")
			ok(t, "APIKeyAuthLookup", err)
			if auth.OrgID != org || string(auth.Hash) != tn.org.Name || auth.RevokedAt != nil {
				t.Errorf("%s/k1: got %+v, want its own unrevoked key", tn.org.Name, auth)
			}
			env, err := s.EnvironmentGet(ctx, org, tn.env.ID)
			ok(t, "EnvironmentGet", err)
			same(t, tn.org.Name+"'s environment after the other org's update", env, tn.env)
		}
	})
}
