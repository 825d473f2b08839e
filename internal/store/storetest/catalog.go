package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testCatalog(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"ProductEnsure": func(t *testing.T) {
			s := open(t)
			org := createOrg(t, s, "acme")
			ensure := func(name string, minute int) *shiplog.Product {
				return writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Product, error) {
					return tx.ProductEnsure(ctx, org.ID, name, at(minute))
				})
			}
			api := ensure("api", 1)
			if !shiplog.ValidID(api.ID) {
				t.Errorf("product id %q is not an id", api.ID)
			}
			same(t, "new product", api, &shiplog.Product{ID: api.ID, Name: "api", CreatedAt: at(1)})
			// Seeing it again returns the first row as it was.
			same(t, "ensured again", ensure("api", 2), api)
			web := ensure("web", 3)
			if web.ID == api.ID {
				t.Errorf("products api and web share id %s", web.ID)
			}
			list, err := s.ProductList(t.Context(), org.ID, store.Page{})
			ok(t, "ProductList", err)
			same(t, "products, newest first", list, []*shiplog.Product{web, api})
		},
		"EnvironmentEnsure": func(t *testing.T) {
			s := open(t)
			org := createOrg(t, s, "acme")
			ensure := func(name string, typ shiplog.EnvType, minute int) *shiplog.Environment {
				return writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Environment, error) {
					return tx.EnvironmentEnsure(ctx, org.ID, name, typ, at(minute))
				})
			}
			prod := ensure("prod-eu", shiplog.EnvProduction, 1)
			same(t, "new environment", prod, &shiplog.Environment{ID: prod.ID, Name: "prod-eu",
				Type: shiplog.EnvProduction, CreatedAt: at(1)})
			// The first type sticks; ensure never retypes.
			same(t, "ensured again with another type", ensure("prod-eu", shiplog.EnvStaging, 2), prod)
			qa := ensure("qa", shiplog.EnvTest, 3)
			got, err := s.EnvironmentGet(t.Context(), org.ID, prod.ID)
			ok(t, "EnvironmentGet", err)
			same(t, "EnvironmentGet", got, prod)
			list, err := s.EnvironmentList(t.Context(), org.ID, store.Page{})
			ok(t, "EnvironmentList", err)
			same(t, "environments, newest first", list, []*shiplog.Environment{qa, prod})
			_, err = s.EnvironmentGet(t.Context(), org.ID, shiplog.NewID())
			wantErr(t, "EnvironmentGet of an unknown id", err, store.ErrNotFound)
		},
		"EnvironmentUpdate": func(t *testing.T) {
			s := open(t)
			org := createOrg(t, s, "acme")
			c := ensureCatalog(t, s, org, "api", "sandbox", "1.0")
			want := *c.env
			steps := []struct {
				name string
				p    store.EnvironmentUpdateParams
				edit func(e *shiplog.Environment)
			}{
				{"type", store.EnvironmentUpdateParams{Type: ptr(shiplog.EnvStaging)},
					func(e *shiplog.Environment) { e.Type = shiplog.EnvStaging }},
				{"description", store.EnvironmentUpdateParams{Description: ptr("EU staging")},
					func(e *shiplog.Environment) { e.Description = "EU staging" }},
				{"both", store.EnvironmentUpdateParams{Type: ptr(shiplog.EnvTest), Description: ptr("")},
					func(e *shiplog.Environment) { e.Type, e.Description = shiplog.EnvTest, "" }},
				{"nothing", store.EnvironmentUpdateParams{}, func(*shiplog.Environment) {}},
			}
			for _, st := range steps {
				got := writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Environment, error) {
					return tx.EnvironmentUpdate(ctx, org.ID, c.env.ID, &st.p)
				})
				st.edit(&want)
				same(t, "returned after updating "+st.name, got, &want)
				got, err := s.EnvironmentGet(t.Context(), org.ID, c.env.ID)
				ok(t, "EnvironmentGet", err)
				same(t, "stored after updating "+st.name, got, &want)
			}
			for _, p := range []store.EnvironmentUpdateParams{{Type: ptr(shiplog.EnvProduction)}, {}} {
				_, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Environment, error) {
					return tx.EnvironmentUpdate(ctx, org.ID, shiplog.NewID(), &p)
				})
				wantErr(t, fmt.Sprintf("EnvironmentUpdate(%+v) of an unknown id", p), err, store.ErrNotFound)
			}
		},
		"VersionEnsure":    func(t *testing.T) { testVersionEnsure(t, open(t)) },
		"VersionList":      func(t *testing.T) { testVersionList(t, open(t)) },
		"ListLimits":       func(t *testing.T) { testListLimits(t, open(t)) },
		"TxReadsOwnWrites": func(t *testing.T) { testTxReadsOwnWrites(t, open(t)) },
	})
}

// scm is a version's source-control fields.
type scm struct{ sha, branch, repo *string }

func testVersionEnsure(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	c := ensureCatalog(t, s, org, "api", "prod", "0.0")
	ensure := func(version string, f scm, minute int) *shiplog.Version {
		t.Helper()
		return writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Version, error) {
			return tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: c.product.ID,
				Version: version, ScmSHA: f.sha, ScmBranch: f.branch, ScmRepository: f.repo, Now: at(minute)})
		})
	}
	tests := []struct {
		name  string
		first *scm // the version's state before; nil when it does not exist yet
		again scm
		want  scm
	}{
		{name: "new with SHA",
			again: scm{ptr("aaa"), ptr("main"), ptr("git@x:api")},
			want:  scm{ptr("aaa"), ptr("main"), ptr("git@x:api")}},
		{name: "new without SHA",
			again: scm{branch: ptr("main")},
			want:  scm{branch: ptr("main")}},
		{name: "SHA recorded on first sight, existing branch kept",
			first: &scm{branch: ptr("main")},
			again: scm{ptr("aaa"), ptr("dev"), ptr("git@x:api")},
			want:  scm{ptr("aaa"), ptr("main"), ptr("git@x:api")}},
		{name: "existing SHA never overwritten",
			first: &scm{ptr("aaa"), ptr("main"), ptr("git@x:api")},
			again: scm{ptr("bbb"), ptr("dev"), ptr("git@x:fork")},
			want:  scm{ptr("aaa"), ptr("main"), ptr("git@x:api")}},
		{name: "no SHA given keeps the SHA",
			first: &scm{sha: ptr("aaa")},
			again: scm{},
			want:  scm{sha: ptr("aaa")}},
		{name: "same SHA again",
			first: &scm{sha: ptr("aaa")},
			again: scm{sha: ptr("aaa")},
			want:  scm{sha: ptr("aaa")}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			version := fmt.Sprintf("%d.0", i+1)
			var prior *shiplog.Version
			if tt.first != nil {
				prior = ensure(version, *tt.first, 1)
			}
			got := ensure(version, tt.again, 2)
			want := &shiplog.Version{ID: got.ID, ProductID: c.product.ID, ProductName: "api", Version: version,
				ScmSHA: tt.want.sha, ScmBranch: tt.want.branch, ScmRepository: tt.want.repo, CreatedAt: at(2)}
			if prior != nil {
				want.ID, want.CreatedAt = prior.ID, at(1)
			}
			if !shiplog.ValidID(got.ID) {
				t.Errorf("version id %q is not an id", got.ID)
			}
			same(t, "returned version", got, want)
			stored, err := s.VersionGet(t.Context(), org.ID, got.ID)
			ok(t, "VersionGet", err)
			same(t, "stored version", stored, want)
		})
	}
}

func testVersionList(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	api := ensureCatalog(t, s, org, "api", "prod", "0.1").product
	web := ensureCatalog(t, s, org, "web", "prod", "0.1").product
	ensure := func(p *shiplog.Product, version string, sha *string) *shiplog.Version {
		return writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Version, error) {
			return tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: p.ID, Version: version,
				ScmSHA: sha, Now: t0})
		})
	}
	// The two "0.1" versions ensureCatalog made come first.
	all, err := s.VersionList(t.Context(), org.ID, store.VersionFilter{}, store.Page{})
	ok(t, "VersionList", err)
	if len(all) != 2 {
		t.Fatalf("VersionList: %d versions, want 2", len(all))
	}
	api01, web01 := all[1], all[0]
	api1 := ensure(api, "1.0", ptr("aaa"))
	api2 := ensure(api, "2.0", ptr("bbb"))
	web1 := ensure(web, "1.0", ptr("aaa"))
	api3 := ensure(api, "3.0", nil)
	if web1.ID == api1.ID {
		t.Fatalf("api 1.0 and web 1.0 share id %s", api1.ID)
	}
	tests := []struct {
		name string
		f    store.VersionFilter
		want []*shiplog.Version
	}{
		{"no filter", store.VersionFilter{}, []*shiplog.Version{api3, web1, api2, api1, web01, api01}},
		{"product", store.VersionFilter{ProductName: "api"}, []*shiplog.Version{api3, api2, api1, api01}},
		{"sha", store.VersionFilter{ScmSHA: "aaa"}, []*shiplog.Version{web1, api1}},
		{"product and sha", store.VersionFilter{ProductName: "web", ScmSHA: "aaa"}, []*shiplog.Version{web1}},
		{"unknown product", store.VersionFilter{ProductName: "nope"}, []*shiplog.Version{}},
		{"unknown sha", store.VersionFilter{ScmSHA: "ccc"}, []*shiplog.Version{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.VersionList(t.Context(), org.ID, tt.f, store.Page{})
			ok(t, "VersionList", err)
			same(t, "versions", got, tt.want)
			for _, limit := range []int{1, 2, 4} {
				checkPages(t, limit, ids(tt.want, versionID), func(p store.Page) ([]string, error) {
					vs, err := s.VersionList(t.Context(), org.ID, tt.f, p)
					return ids(vs, versionID), err
				})
			}
		})
	}
	for _, v := range []*shiplog.Version{api1, web1, api3} {
		got, err := s.VersionGet(t.Context(), org.ID, v.ID)
		ok(t, "VersionGet", err)
		same(t, "VersionGet "+v.ProductName+" "+v.Version, got, v)
	}
	_, err = s.VersionGet(t.Context(), org.ID, shiplog.NewID())
	wantErr(t, "VersionGet of an unknown id", err, store.ErrNotFound)
}

// testListLimits checks Page.Limit: 0 or less means DefaultLimit, more than
// MaxLimit means MaxLimit.
func testListLimits(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	const n = store.MaxLimit + 1
	var created []string
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		created = created[:0]
		for i := range n {
			p, err := tx.ProductEnsure(ctx, org.ID, fmt.Sprintf("p%03d", i), t0)
			if err != nil {
				return err
			}
			created = append(created, p.ID)
		}
		return nil
	})
	want := newestFirst(created...)
	for _, c := range []struct{ limit, rows int }{
		{0, store.DefaultLimit}, {-1, store.DefaultLimit}, {1, 1}, {store.MaxLimit, store.MaxLimit},
		{store.MaxLimit + 1, store.MaxLimit}, {10 * store.MaxLimit, store.MaxLimit},
	} {
		got, err := s.ProductList(t.Context(), org.ID, store.Page{Limit: c.limit})
		ok(t, "ProductList", err)
		if !slices.Equal(ids(got, productID), want[:c.rows]) {
			t.Errorf("limit %d: got %d products, want the newest %d", c.limit, len(got), c.rows)
		}
	}
	checkPages(t, store.MaxLimit, want, func(p store.Page) ([]string, error) {
		ps, err := s.ProductList(t.Context(), org.ID, p)
		return ids(ps, productID), err
	})
}

// testTxReadsOwnWrites checks that a Write's transaction sees its own writes
// and that readers outside it do not until it commits. (fn runs on the
// store's goroutine: it reports with t.Errorf and returns errors, never
// t.Fatal.)
func testTxReadsOwnWrites(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	var d *shiplog.Deployment
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		p, err := tx.ProductEnsure(ctx, org.ID, "api", t0)
		if err != nil {
			return err
		}
		e, err := tx.EnvironmentEnsure(ctx, org.ID, "prod", shiplog.EnvProduction, t0)
		if err != nil {
			return err
		}
		v, err := tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: p.ID, Version: "1", Now: t0})
		if err != nil {
			return err
		}
		c := &catalog{org: org, product: p, env: e, version: v}
		d = c.deployment(shiplog.StatusStarted, t0)
		if err := tx.DeploymentInsert(ctx, d); err != nil {
			return err
		}
		b := c.build(shiplog.StatusStarted, t0)
		if err := tx.BuildInsert(ctx, b); err != nil {
			return err
		}
		if ps, err := tx.ProductList(ctx, org.ID, store.Page{}); err != nil {
			return err
		} else {
			same(t, "tx.ProductList", ps, []*shiplog.Product{p})
		}
		if ge, err := tx.EnvironmentGet(ctx, org.ID, e.ID); err != nil {
			return err
		} else {
			same(t, "tx.EnvironmentGet", ge, e)
		}
		if gv, err := tx.VersionGet(ctx, org.ID, v.ID); err != nil {
			return err
		} else {
			same(t, "tx.VersionGet", gv, v)
		}
		if gd, err := tx.DeploymentGet(ctx, org.ID, d.ID); err != nil {
			return err
		} else {
			same(t, "tx.DeploymentGet", gd, d)
		}
		if gb, err := tx.BuildGet(ctx, org.ID, b.ID); err != nil {
			return err
		} else {
			same(t, "tx.BuildGet", gb, b)
		}
		// Outside the transaction nothing is visible yet.
		if outside, err := s.ProductList(ctx, org.ID, store.Page{}); err != nil {
			return err
		} else if len(outside) != 0 {
			t.Errorf("a reader outside the transaction sees %d uncommitted products", len(outside))
		}
		_, err = s.DeploymentGet(ctx, org.ID, d.ID)
		wantErr(t, "DeploymentGet outside the transaction", err, store.ErrNotFound)
		return nil
	})
	got, err := s.DeploymentGet(t.Context(), org.ID, d.ID)
	ok(t, "DeploymentGet after commit", err)
	same(t, "DeploymentGet after commit", got, d)
}
