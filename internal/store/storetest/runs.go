package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func testDeployment(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"RoundTrip":     func(t *testing.T) { testRunRoundTrip(t, open(t), deploymentRuns) },
		"FindOpen":      func(t *testing.T) { testRunFindOpen(t, open(t), deploymentRuns) },
		"List":          func(t *testing.T) { testDeploymentList(t, open(t)) },
		"ListByTime":    func(t *testing.T) { testDeploymentListByTime(t, open(t)) },
		"TimePrecision": func(t *testing.T) { testTimePrecision(t, open(t)) },
	})
}

func testBuild(t *testing.T, open OpenFunc) {
	parallel(t, map[string]func(t *testing.T){
		"RoundTrip":  func(t *testing.T) { testRunRoundTrip(t, open(t), buildRuns) },
		"FindOpen":   func(t *testing.T) { testRunFindOpen(t, open(t), buildRuns) },
		"List":       func(t *testing.T) { testBuildList(t, open(t)) },
		"ListByTime": func(t *testing.T) { testBuildListByTime(t, open(t)) },
	})
}

// runKind is a kind of run as the cases both kinds share use it: R is
// shiplog.Deployment or shiplog.Build.
type runKind[R any] struct {
	noun string // Deployment, Build: in messages as the store's methods are named
	// new returns a new run of c with only the required fields set.
	new            func(c *catalog, st shiplog.Status, when time.Time) *R
	id             func(*R) string
	status         func(*R) *shiplog.Status
	invoke         func(*R) **string
	meta           func(*R) *json.RawMessage
	insert, update func(ctx context.Context, tx store.Tx, r *R) error
	get            func(ctx context.Context, s store.Reader, orgID, id string) (*R, error)
	findOpen       func(ctx context.Context, tx store.Tx, c *catalog, invoke *string) (*R, error)
	// first is a new run's status in RoundTrip.
	first shiplog.Status
	// roundTrip lists what RoundTrip inserts (fill) and then updates.
	roundTrip []roundTrip[R]
	// byEnvironment: a run is of one environment too (deployments), so
	// the same invoke id elsewhere is another run.
	byEnvironment bool
}

type roundTrip[R any] struct {
	name         string
	fill, update func(*R)
}

var deploymentRuns = &runKind[shiplog.Deployment]{
	noun:   "Deployment",
	new:    (*catalog).deployment,
	id:     deploymentID,
	status: func(d *shiplog.Deployment) *shiplog.Status { return &d.Status },
	invoke: func(d *shiplog.Deployment) **string { return &d.InvokeID },
	meta:   func(d *shiplog.Deployment) *json.RawMessage { return &d.ExtraMetadata },
	insert: func(ctx context.Context, tx store.Tx, d *shiplog.Deployment) error {
		return tx.DeploymentInsert(ctx, d)
	},
	update: func(ctx context.Context, tx store.Tx, d *shiplog.Deployment) error {
		return tx.DeploymentUpdate(ctx, d)
	},
	get: func(ctx context.Context, s store.Reader, orgID, id string) (*shiplog.Deployment, error) {
		return s.DeploymentGet(ctx, orgID, id)
	},
	findOpen: func(ctx context.Context, tx store.Tx, c *catalog, invoke *string) (*shiplog.Deployment, error) {
		return tx.DeploymentFindOpen(ctx, &store.FindOpenParams{OrgID: c.org.ID, ProductID: c.product.ID,
			VersionID: c.version.ID, EnvironmentID: c.env.ID, InvokeID: invoke, ProductName: c.product.Name,
			Version: c.version.Version, EnvironmentName: c.env.Name, EnvironmentType: c.env.Type})
	},
	first:         shiplog.StatusStarted,
	byEnvironment: true,
	roundTrip: []roundTrip[shiplog.Deployment]{
		{"nil pointers", func(*shiplog.Deployment) {}, func(d *shiplog.Deployment) {
			fullDeployment(d)
			d.InvokeID = nil // not updatable
			d.Status = shiplog.StatusCompleted
			d.PreflightSkippedBy = &shiplog.Credential{Kind: shiplog.CredentialUser, UserID: shiplog.NewID(), Name: "Ada", Email: "ada@example.com"}
		}},
		{"every field set", fullDeployment, func(d *shiplog.Deployment) {
			d.Status = shiplog.StatusFailed
			d.DeployedBy, d.DeployedByName, d.DeployedByEmail = nil, nil, nil
			d.ScmSHA, d.ScmBranch, d.ScmRepository, d.BuildURL = nil, nil, nil, nil
			d.BuildNumber, d.DeployURL, d.SourceSystem, d.PreflightStatus = ptr("43"), nil, nil, ptr("failed")
			d.PreflightSkippedBy = nil
			d.ExtraMetadata = json.RawMessage(`{"b":2}`)
			d.StartedAt, d.CompletedAt = nil, ptr(at(8))
			d.DeployedAt, d.UpdatedAt = at(8), at(9)
		}},
		{"empty metadata is none", func(d *shiplog.Deployment) { d.ExtraMetadata = json.RawMessage{} },
			func(d *shiplog.Deployment) { d.ExtraMetadata = json.RawMessage(`[]`) }},
	},
}

func fullDeployment(d *shiplog.Deployment) {
	d.InvokeID, d.DeployedBy, d.DeployedByName = ptr("run-1"), ptr("alice"), ptr("Alice A.")
	d.DeployedByEmail, d.ScmSHA, d.ScmBranch = ptr("alice@example.com"), ptr("abc123"), ptr("main")
	d.ScmRepository, d.BuildURL, d.BuildNumber = ptr("git@x:api"), ptr("https://ci/1"), ptr("42")
	d.DeployURL, d.SourceSystem, d.PreflightStatus = ptr("https://cd/1"), ptr("github"), ptr("skipped")
	d.PreflightSkippedBy = &shiplog.Credential{Kind: shiplog.CredentialAPIKey, KeyID: "k7"}
	d.ExtraMetadata = metadata
	d.StartedAt, d.CompletedAt = ptr(at(1)), ptr(at(2))
	d.DeployedAt, d.UpdatedAt = at(2), at(3)
}

var buildRuns = &runKind[shiplog.Build]{
	noun:   "Build",
	new:    (*catalog).build,
	id:     buildID,
	status: func(b *shiplog.Build) *shiplog.Status { return &b.Status },
	invoke: func(b *shiplog.Build) **string { return &b.InvokeID },
	meta:   func(b *shiplog.Build) *json.RawMessage { return &b.ExtraMetadata },
	insert: func(ctx context.Context, tx store.Tx, b *shiplog.Build) error { return tx.BuildInsert(ctx, b) },
	update: func(ctx context.Context, tx store.Tx, b *shiplog.Build) error { return tx.BuildUpdate(ctx, b) },
	get: func(ctx context.Context, s store.Reader, orgID, id string) (*shiplog.Build, error) {
		return s.BuildGet(ctx, orgID, id)
	},
	findOpen: func(ctx context.Context, tx store.Tx, c *catalog, invoke *string) (*shiplog.Build, error) {
		return tx.BuildFindOpen(ctx, &store.FindOpenParams{OrgID: c.org.ID, ProductID: c.product.ID,
			VersionID: c.version.ID, InvokeID: invoke})
	},
	first: shiplog.StatusPending,
	roundTrip: []roundTrip[shiplog.Build]{
		{"nil pointers", func(*shiplog.Build) {}, func(b *shiplog.Build) {
			fullBuild(b)
			b.InvokeID = nil // not updatable
			b.Status = shiplog.StatusFailed
		}},
		{"every field set", fullBuild, func(b *shiplog.Build) {
			b.Status = shiplog.StatusCompleted
			b.BuiltBy, b.BuiltByName, b.BuiltByEmail = nil, nil, nil
			b.ScmSHA, b.ScmBranch, b.ScmRepository, b.BuildURL = nil, nil, nil, nil
			b.BuildNumber, b.SourceSystem, b.ErrorMessage, b.ErrorCode = ptr("43"), nil, nil, nil
			b.ExtraMetadata = nil
			b.StartedAt, b.CompletedAt = nil, ptr(at(8))
			b.UpdatedAt = at(9)
		}},
	},
}

func fullBuild(b *shiplog.Build) {
	b.InvokeID, b.BuiltBy, b.BuiltByName = ptr("run-1"), ptr("bob"), ptr("Bob B.")
	b.BuiltByEmail, b.ScmSHA, b.ScmBranch = ptr("bob@example.com"), ptr("abc123"), ptr("main")
	b.ScmRepository, b.BuildURL, b.BuildNumber = ptr("git@x:api"), ptr("https://ci/1"), ptr("42")
	b.SourceSystem, b.ErrorMessage, b.ErrorCode = ptr("gitlab"), ptr("exit 1"), ptr("E1")
	b.ExtraMetadata = metadata
	b.StartedAt, b.CompletedAt = ptr(at(1)), ptr(at(2))
	b.UpdatedAt = at(3)
}

// metadata is stored as given, byte for byte: odd spacing, key order and
// escapes included.
var metadata = json.RawMessage(`{"z": [1, 2.50, null],"a":{"ü":"\u00fc\n"}  }`)

func (k *runKind[R]) insertAll(t *testing.T, s store.Store, rs ...*R) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, r := range rs {
			if err := k.insert(ctx, tx, r); err != nil {
				return fmt.Errorf("insert %s %s: %w", k.noun, k.id(r), err)
			}
		}
		return nil
	})
}

// testRunRoundTrip checks that every field is written by insert, and all
// but what names the run by update, and read back as written.
func testRunRoundTrip[R any](t *testing.T, s store.Store, k *runKind[R]) {
	org := createOrg(t, s, "acme")
	c := ensureCatalog(t, s, org, "api", "prod-eu", "1.0")
	for _, tt := range k.roundTrip {
		t.Run(tt.name, func(t *testing.T) {
			r := k.new(c, k.first, t0)
			tt.fill(r)
			k.insertAll(t, s, r)
			if m := k.meta(r); len(*m) == 0 {
				*m = nil
			}
			got, err := k.get(t.Context(), s, org.ID, k.id(r))
			ok(t, k.noun+"Get", err)
			same(t, "inserted "+strings.ToLower(k.noun), got, r)

			tt.update(r)
			write(t, s, func(ctx context.Context, tx store.Tx) error { return k.update(ctx, tx, r) })
			got, err = k.get(t.Context(), s, org.ID, k.id(r))
			ok(t, k.noun+"Get", err)
			same(t, "updated "+strings.ToLower(k.noun), got, r)
		})
	}
	_, err := k.get(t.Context(), s, org.ID, shiplog.NewID())
	wantErr(t, k.noun+"Get of an unknown id", err, store.ErrNotFound)
}

// testTimePrecision checks that times keep their microseconds and lose what
// is finer (truncated, not rounded).
func testTimePrecision(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	c := ensureCatalog(t, s, org, "api", "prod", "1.0")
	fine := time.Date(2024, time.December, 31, 23, 59, 59, 999_999_999, time.UTC)
	d := c.deployment(shiplog.StatusCompleted, fine)
	d.StartedAt, d.CompletedAt = ptr(fine.Add(-time.Second)), &fine
	b := c.build(shiplog.StatusCompleted, fine)
	b.StartedAt, b.CompletedAt = ptr(fine.Add(-time.Second)), &fine
	insertDeployments(t, s, d)
	insertBuilds(t, s, b)
	micro := func(v time.Time) time.Time { return v.Truncate(time.Microsecond) }
	gd, err := s.DeploymentGet(t.Context(), org.ID, d.ID)
	ok(t, "DeploymentGet", err)
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"deployment StartedAt", *gd.StartedAt, micro(*d.StartedAt)},
		{"deployment CompletedAt", *gd.CompletedAt, micro(fine)},
		{"deployment DeployedAt", gd.DeployedAt, micro(fine)},
		{"deployment CreatedAt", gd.CreatedAt, micro(fine)},
		{"deployment UpdatedAt", gd.UpdatedAt, micro(fine)},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, c.got.Format(time.RFC3339Nano), c.want.Format(time.RFC3339Nano))
		}
	}
	gb, err := s.BuildGet(t.Context(), org.ID, b.ID)
	ok(t, "BuildGet", err)
	for _, c := range []struct {
		name      string
		got, want time.Time
	}{
		{"build StartedAt", *gb.StartedAt, micro(*b.StartedAt)},
		{"build CompletedAt", *gb.CompletedAt, micro(fine)},
		{"build CreatedAt", gb.CreatedAt, micro(fine)},
		{"build UpdatedAt", gb.UpdatedAt, micro(fine)},
	} {
		if !c.got.Equal(c.want) {
			t.Errorf("%s: got %s, want %s", c.name, c.got.Format(time.RFC3339Nano), c.want.Format(time.RFC3339Nano))
		}
	}
}

// testRunFindOpen checks which run an event's record is: the one its
// invoke id names, else the newest pending or started one, of its
// product, version (and environment) in its org.
func testRunFindOpen[R any](t *testing.T, s store.Store, k *runKind[R]) {
	org := createOrg(t, s, "acme")
	c := ensureCatalog(t, s, org, "api", "prod", "1.0")
	v2 := ensureCatalog(t, s, org, "api", "prod", "2.0") // same product and environment, other version
	var other *catalog                                   // same product and version, other environment
	if k.byEnvironment {
		other = ensureCatalog(t, s, org, "api", "staging", "1.0")
	}

	ran := k.new(c, shiplog.StatusCompleted, at(1))
	*k.invoke(ran) = ptr("run-1")
	failed := k.new(c, shiplog.StatusFailed, at(2))
	started := k.new(c, shiplog.StatusStarted, at(3))
	pending := k.new(c, shiplog.StatusPending, at(4)) // the newest open one
	k.insertAll(t, s, ran, failed, started, pending)
	var elsewhere *R
	if other != nil {
		elsewhere = k.new(other, shiplog.StatusStarted, at(5))
		k.insertAll(t, s, elsewhere)
	}
	laterVersion := k.new(v2, shiplog.StatusStarted, at(6))
	k.insertAll(t, s, laterVersion)

	check := func(name string, c *catalog, invoke *string, want *R) {
		t.Helper()
		got, err := tryWrite(t, s, func(ctx context.Context, tx store.Tx) (*R, error) { return k.findOpen(ctx, tx, c, invoke) })
		if want == nil {
			wantErr(t, name, err, store.ErrNotFound)
			return
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		same(t, name, got, want)
	}
	check("by invoke id, terminal", c, ptr("run-1"), ran)
	check("by unknown invoke id", c, ptr("run-2"), nil)
	if other != nil {
		check("by invoke id in another environment", other, ptr("run-1"), nil)
	}
	check("newest open", c, nil, pending)
	if other != nil {
		check("newest open, other environment", other, nil, elsewhere)
	}
	check("newest open, other version", v2, nil, laterVersion)
	check("other org", &catalog{org: createOrg(t, s, "other"), product: c.product, env: c.env, version: c.version},
		nil, nil)

	*k.status(pending), *k.status(started) = shiplog.StatusCompleted, shiplog.StatusAborted
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := k.update(ctx, tx, pending); err != nil {
			return err
		}
		return k.update(ctx, tx, started)
	})
	check("all terminal", c, nil, nil)
	check("by invoke id after others finished", c, ptr("run-1"), ran)

	// One record per run: a second insert for the same invoke id (or the
	// same id) is a conflict, so racing writers cannot both create it.
	dup := k.new(c, shiplog.StatusStarted, at(9))
	*k.invoke(dup) = ptr("run-1")
	again := *failed
	for _, r := range []*R{dup, &again} {
		err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error { return k.insert(ctx, tx, r) })
		wantErr(t, k.noun+"Insert of a duplicate", err, store.ErrConflict)
	}
	// The same invoke id in another environment (deployments) or for
	// another version is another run.
	scope, name := v2, "by invoke id, other version"
	if other != nil {
		scope, name = other, "by invoke id, other environment"
	}
	sameRun := k.new(scope, shiplog.StatusStarted, at(10))
	*k.invoke(sameRun) = ptr("run-1")
	k.insertAll(t, s, sameRun)
	check(name, scope, ptr("run-1"), sameRun)
}

func testDeploymentList(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	api1s := ensureCatalog(t, s, org, "api", "staging", "1.0")
	api1p := ensureCatalog(t, s, org, "api", "production", "1.0")
	api2s := ensureCatalog(t, s, org, "api", "staging", "2.0")
	web1p := ensureCatalog(t, s, org, "web", "production", "1.0")
	api2p := ensureCatalog(t, s, org, "api", "production", "2.0")
	d1 := api1s.deployment(shiplog.StatusCompleted, at(1))
	d2 := api1p.deployment(shiplog.StatusStarted, at(2))
	d3 := api2s.deployment(shiplog.StatusFailed, at(3))
	d4 := web1p.deployment(shiplog.StatusCompleted, at(4))
	d5 := api2p.deployment(shiplog.StatusCompleted, at(5))
	insertDeployments(t, s, d1, d2, d3, d4, d5)

	tests := []struct {
		name string
		f    store.DeploymentFilter
		want []*shiplog.Deployment
	}{
		{"no filter", store.DeploymentFilter{}, []*shiplog.Deployment{d5, d4, d3, d2, d1}},
		{"product", store.DeploymentFilter{ProductName: "api"}, []*shiplog.Deployment{d5, d3, d2, d1}},
		{"environment", store.DeploymentFilter{EnvironmentName: "production"}, []*shiplog.Deployment{d5, d4, d2}},
		{"status", store.DeploymentFilter{Status: shiplog.StatusCompleted}, []*shiplog.Deployment{d5, d4, d1}},
		{"version", store.DeploymentFilter{Version: "1.0"}, []*shiplog.Deployment{d4, d2, d1}},
		{"product and version", store.DeploymentFilter{ProductName: "api", Version: "1.0"}, []*shiplog.Deployment{d2, d1}},
		{"all four", store.DeploymentFilter{ProductName: "api", EnvironmentName: "production",
			Status: shiplog.StatusCompleted, Version: "2.0"}, []*shiplog.Deployment{d5}},
		{"no match", store.DeploymentFilter{ProductName: "web", Status: shiplog.StatusFailed}, nil},
		{"unknown product", store.DeploymentFilter{ProductName: "nope"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DeploymentList(t.Context(), org.ID, tt.f, store.Page{})
			ok(t, "DeploymentList", err)
			same(t, "deployments", got, tt.want)
			for _, limit := range []int{1, 2, 3, 4, 5} {
				checkPages(t, limit, ids(tt.want, deploymentID), func(p store.Page) ([]string, error) {
					ds, err := s.DeploymentList(t.Context(), org.ID, tt.f, p)
					return ids(ds, deploymentID), err
				})
			}
		})
	}
}

// Backfilled history: runs reported out of order list by when they
// happened, ties by id, and pages keep that order.
func testDeploymentListByTime(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	api := ensureCatalog(t, s, org, "api", "production", "1.0")
	web := ensureCatalog(t, s, org, "web", "production", "1.0")
	d1 := api.deployment(shiplog.StatusCompleted, at(50)) // reported first, happened last
	d2 := api.deployment(shiplog.StatusCompleted, at(10))
	d3 := web.deployment(shiplog.StatusFailed, at(30))
	d4 := api.deployment(shiplog.StatusCompleted, at(30)) // a tie with d3: the later id first
	d5 := web.deployment(shiplog.StatusCompleted, at(20))
	insertDeployments(t, s, d1, d2, d3, d4, d5)
	for _, tt := range []struct {
		name string
		f    store.DeploymentFilter
		want []*shiplog.Deployment
	}{
		{"all", store.DeploymentFilter{ByTime: true}, []*shiplog.Deployment{d1, d4, d3, d5, d2}},
		{"one product", store.DeploymentFilter{ByTime: true, ProductName: "api"}, []*shiplog.Deployment{d1, d4, d2}},
		{"by report", store.DeploymentFilter{}, []*shiplog.Deployment{d5, d4, d3, d2, d1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.DeploymentList(t.Context(), org.ID, tt.f, store.Page{})
			ok(t, "DeploymentList", err)
			same(t, "deployments", got, tt.want)
			for _, limit := range []int{1, 2, 3, 4, 5} {
				checkPages(t, limit, ids(tt.want, deploymentID), func(p store.Page) ([]string, error) {
					ds, err := s.DeploymentList(t.Context(), org.ID, tt.f, p)
					return ids(ds, deploymentID), err
				})
			}
		})
	}
}

// Builds list by build time: completed, else started, else reported.
func testBuildListByTime(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	api := ensureCatalog(t, s, org, "api", "prod", "1.0")
	b1 := api.build(shiplog.StatusCompleted, at(100)) // reported late, built at 5
	b1.StartedAt, b1.CompletedAt = ptr(at(1)), ptr(at(5))
	b2 := api.build(shiplog.StatusStarted, at(100)) // started at 20, still running
	b2.StartedAt = ptr(at(20))
	b3 := api.build(shiplog.StatusCompleted, at(10)) // reported only: its report time
	insertBuilds(t, s, b1, b2, b3)
	want := []*shiplog.Build{b2, b3, b1}
	got, err := s.BuildList(t.Context(), org.ID, store.BuildFilter{ByTime: true}, store.Page{})
	ok(t, "BuildList", err)
	same(t, "builds", got, want)
	for _, limit := range []int{1, 2, 3} {
		checkPages(t, limit, ids(want, buildID), func(p store.Page) ([]string, error) {
			bs, err := s.BuildList(t.Context(), org.ID, store.BuildFilter{ByTime: true}, p)
			return ids(bs, buildID), err
		})
	}
}

func testBuildList(t *testing.T, s store.Store) {
	org := createOrg(t, s, "acme")
	api1 := ensureCatalog(t, s, org, "api", "prod", "1.0")
	api2 := ensureCatalog(t, s, org, "api", "prod", "2.0")
	web1 := ensureCatalog(t, s, org, "web", "prod", "1.0")
	b1 := api1.build(shiplog.StatusCompleted, at(1))
	b2 := api2.build(shiplog.StatusStarted, at(2))
	b3 := web1.build(shiplog.StatusFailed, at(3))
	b4 := api2.build(shiplog.StatusCompleted, at(4))
	insertBuilds(t, s, b1, b2, b3, b4)

	tests := []struct {
		name string
		f    store.BuildFilter
		want []*shiplog.Build
	}{
		{"no filter", store.BuildFilter{}, []*shiplog.Build{b4, b3, b2, b1}},
		{"product", store.BuildFilter{ProductName: "api"}, []*shiplog.Build{b4, b2, b1}},
		{"version", store.BuildFilter{Version: "1.0"}, []*shiplog.Build{b3, b1}},
		{"status", store.BuildFilter{Status: shiplog.StatusCompleted}, []*shiplog.Build{b4, b1}},
		{"all three", store.BuildFilter{ProductName: "api", Version: "2.0", Status: shiplog.StatusStarted},
			[]*shiplog.Build{b2}},
		{"no match", store.BuildFilter{ProductName: "web", Status: shiplog.StatusCompleted}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.BuildList(t.Context(), org.ID, tt.f, store.Page{})
			ok(t, "BuildList", err)
			same(t, "builds", got, tt.want)
			for _, limit := range []int{1, 2, 3, 4} {
				checkPages(t, limit, ids(tt.want, buildID), func(p store.Page) ([]string, error) {
					bs, err := s.BuildList(t.Context(), org.ID, tt.f, p)
					return ids(bs, buildID), err
				})
			}
		})
	}
}
