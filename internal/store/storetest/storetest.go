// Package storetest is the conformance suite every store driver must pass:
// one set of behaviours, asserted the same way against SQLite and PostgreSQL.
// A driver's own test calls Run with a function that opens a fresh store.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/secrets"
	"github.com/shiplog/shiplog/internal/store"
)

// OpenFunc opens a store for a test. The first call for a given test must
// return a store over a new, empty database; a later call for the same test
// (after the previous store was closed) must reopen that same database, so the
// suite can check what survives Close. Opener builds one from a driver.
type OpenFunc = func(t *testing.T) store.Store

// Run runs the whole suite against the driver open returns. Every subtest
// opens its own store, so subtests share nothing and run in parallel.
func Run(t *testing.T, open OpenFunc) {
	topics := []struct {
		name string
		run  func(t *testing.T, open OpenFunc)
	}{
		{"Org", testOrg},
		{"APIKey", testAPIKey},
		{"Catalog", testCatalog},
		{"Isolation", testIsolation},
		{"Deployment", testDeployment},
		{"Build", testBuild},
		{"Event", testEvent},
		{"StatusMatrix", testStatusMatrix},
		{"Idempotency", testIdempotency},
		{"IdempotencyRequestHash", testIdempotencyRequestHash},
		{"Write", testWrite},
		{"Session", testSession},
		{"SignInThrottle", testSignInThrottle},
		{"People", testPeople},
		{"Retention", testRetention},
		{"Dora", testDora},
		{"DeliveryQueue", testDeliveryQueue},
		{"DeliveryLease", testDeliveryLease},
		{"Stream", testStream},
		{"OrgSettings", testOrgSettings},
		{"ChannelSettings", testChannelSettings},
		{"OrgConfig", testOrgConfig},
		{"DRCreators", testDRCreators},
		{"DeploymentRequest", testDeploymentRequest},
	}
	for _, tp := range topics {
		t.Run(tp.name, func(t *testing.T) {
			t.Parallel()
			tp.run(t, open)
		})
	}
}

// Opener adapts a driver to Run. newDB makes a new database for a test and
// says where it is (a file path, a URL); openDB opens a store there. Every
// store opened is closed when its test ends.
func Opener(newDB func(t *testing.T) string, openDB func(ctx context.Context, where string) (store.Store, error)) OpenFunc {
	var mu sync.Mutex
	dbs := map[*testing.T]string{}
	return func(t *testing.T) store.Store {
		t.Helper()
		mu.Lock()
		where, known := dbs[t]
		mu.Unlock()
		if !known {
			where = newDB(t)
			mu.Lock()
			dbs[t] = where
			mu.Unlock()
			t.Cleanup(func() {
				mu.Lock()
				delete(dbs, t)
				mu.Unlock()
			})
		}
		s, err := openDB(t.Context(), where)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s
	}
}

// parallel runs each named case as a parallel subtest of t.
func parallel(t *testing.T, cases map[string]func(t *testing.T)) {
	for name, fn := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fn(t)
		})
	}
}

// t0 is the suite's clock: UTC with microseconds, the precision stores keep,
// so a time read back equals the time written.
var t0 = time.Date(2025, time.March, 4, 5, 6, 7, 123456000, time.UTC)

func at(minutes int) time.Time { return t0.Add(time.Duration(minutes) * time.Minute) }

func ptr[T any](v T) *T { return &v }

var errBoom = errors.New("boom")

// write runs fn in a Write and fails the test on error.
func write(t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// writeGet runs fn in a Write and returns what fn returned.
func writeGet[T any](t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) (T, error)) T {
	t.Helper()
	v, err := tryWrite(t, s, fn)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return v
}

// tryWrite runs fn in a Write and returns what fn returned and Write's error.
func tryWrite[T any](t *testing.T, s store.Store, fn func(ctx context.Context, tx store.Tx) (T, error)) (T, error) {
	t.Helper()
	var out T
	err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		v, err := fn(ctx, tx)
		out = v
		return err
	})
	return out, err
}

func createOrg(t *testing.T, s store.Store, name string) *shiplog.Org {
	t.Helper()
	return writeGet(t, s, func(ctx context.Context, tx store.Tx) (*shiplog.Org, error) {
		return tx.OrgCreate(ctx, name, t0)
	})
}

// catalog is one org's product, environment and version: enough to hang
// deployments and builds on.
type catalog struct {
	org     *shiplog.Org
	product *shiplog.Product
	env     *shiplog.Environment
	version *shiplog.Version
}

func ensureCatalog(t *testing.T, s store.Store, org *shiplog.Org, product, env, version string) *catalog {
	t.Helper()
	c := &catalog{org: org}
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		var err error
		if c.product, err = tx.ProductEnsure(ctx, org.ID, product, t0); err != nil {
			return err
		}
		if c.env, err = tx.EnvironmentEnsure(ctx, org.ID, env, shiplog.InferEnvType(env), t0); err != nil {
			return err
		}
		c.version, err = tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: org.ID, ProductID: c.product.ID,
			Version: version, Now: t0})
		return err
	})
	if c.version == nil {
		t.Fatalf("Write returned before its fn ran")
	}
	return c
}

// deployment returns a new deployment of c with only the required fields set.
func (c *catalog) deployment(st shiplog.Status, when time.Time) *shiplog.Deployment {
	return &shiplog.Deployment{ID: shiplog.NewID(), OrgID: c.org.ID, ProductID: c.product.ID, ProductName: c.product.Name,
		VersionID: c.version.ID, Version: c.version.Version, EnvironmentID: c.env.ID, EnvironmentName: c.env.Name,
		EnvironmentType: c.env.Type, Status: st, DeployedAt: when, CreatedAt: when, UpdatedAt: when}
}

// build returns a new build of c with only the required fields set.
func (c *catalog) build(st shiplog.Status, when time.Time) *shiplog.Build {
	return &shiplog.Build{ID: shiplog.NewID(), OrgID: c.org.ID, ProductID: c.product.ID, ProductName: c.product.Name,
		VersionID: c.version.ID, Version: c.version.Version, Status: st, CreatedAt: when, UpdatedAt: when}
}

func insertDeployments(t *testing.T, s store.Store, ds ...*shiplog.Deployment) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, d := range ds {
			if err := tx.DeploymentInsert(ctx, d); err != nil {
				return fmt.Errorf("insert deployment %s: %w", d.ID, err)
			}
		}
		return nil
	})
}

func insertBuilds(t *testing.T, s store.Store, bs ...*shiplog.Build) {
	t.Helper()
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		for _, b := range bs {
			if err := tx.BuildInsert(ctx, b); err != nil {
				return fmt.Errorf("insert build %s: %w", b.ID, err)
			}
		}
		return nil
	})
}

// wantErr fails the test unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

// ok fails the test now on a non-nil error.
func ok(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// same reports, field by field, how got differs from want. Times compare by
// instant, so a time's location does not matter; pointers by what they point
// to; everything else as reflect.DeepEqual does (nil and empty differ).
func same(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := diff(reflect.ValueOf(got), reflect.ValueOf(want), ""); len(d) > 0 {
		t.Errorf("%s differs:\n\t%s", what, strings.Join(d, "\n\t"))
	}
}

var timeType = reflect.TypeFor[time.Time]()

func diff(got, want reflect.Value, path string) []string {
	if !got.IsValid() || !want.IsValid() {
		if got.IsValid() != want.IsValid() {
			return []string{fmt.Sprintf("%s: got %s, want %s", pathOr(path), show(got), show(want))}
		}
		return nil
	}
	if got.Type() != want.Type() {
		return []string{fmt.Sprintf("%s: got type %s, want %s", pathOr(path), got.Type(), want.Type())}
	}
	switch {
	case got.Type() == timeType:
		if !got.Interface().(time.Time).Equal(want.Interface().(time.Time)) {
			return []string{fmt.Sprintf("%s: got %s, want %s", pathOr(path), show(got), show(want))}
		}
		return nil
	case got.Kind() == reflect.Pointer:
		if got.IsNil() || want.IsNil() {
			if got.IsNil() != want.IsNil() {
				return []string{fmt.Sprintf("%s: got %s, want %s", pathOr(path), show(got), show(want))}
			}
			return nil
		}
		return diff(got.Elem(), want.Elem(), path)
	case got.Kind() == reflect.Struct:
		var out []string
		for i := range got.NumField() {
			out = append(out, diff(got.Field(i), want.Field(i), path+"."+got.Type().Field(i).Name)...)
		}
		return out
	case got.Kind() == reflect.Slice && got.Type().Elem().Kind() != reflect.Uint8:
		if got.Len() != want.Len() {
			return []string{fmt.Sprintf("%s: got %d items, want %d", pathOr(path), got.Len(), want.Len())}
		}
		var out []string
		for i := range got.Len() {
			out = append(out, diff(got.Index(i), want.Index(i), fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	}
	if !reflect.DeepEqual(got.Interface(), want.Interface()) {
		return []string{fmt.Sprintf("%s: got %s, want %s", pathOr(path), show(got), show(want))}
	}
	return nil
}

func pathOr(p string) string {
	if p == "" {
		return "value"
	}
	return p
}

func show(v reflect.Value) string {
	if !v.IsValid() {
		return "<nil>"
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return "&" + show(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return "nil"
		}
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return fmt.Sprintf("%q", v.Bytes())
		}
	case reflect.String:
		return fmt.Sprintf("%q", v.String())
	}
	if v.Type() == timeType {
		return v.Interface().(time.Time).Format(time.RFC3339Nano)
	}
	return fmt.Sprintf("%v", v.Interface())
}

// ids returns the ids of xs in order.
func ids[T any](xs []T, id func(T) string) []string {
	out := make([]string, 0, len(xs))
	for _, x := range xs {
		out = append(out, id(x))
	}
	return out
}

func deploymentID(d *shiplog.Deployment) string { return d.ID }
func buildID(b *shiplog.Build) string           { return b.ID }
func productID(p *shiplog.Product) string       { return p.ID }
func versionID(v *shiplog.Version) string       { return v.ID }

// newestFirst returns the ids of xs, newest (last created) first.
func newestFirst(xs ...string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[len(xs)-1-i] = x
	}
	return out
}

// checkPages walks a listing page by page and checks that it yields exactly
// want (newest first): full pages of limit rows, no row twice, none missing.
func checkPages(t *testing.T, limit int, want []string, list func(p store.Page) ([]string, error)) {
	t.Helper()
	var got []string
	seen := map[string]bool{}
	cursor := ""
	for page := 0; ; page++ {
		if page > len(want)+1 {
			t.Fatalf("limit %d: more than %d pages; got %v so far", limit, len(want)+1, got)
		}
		rows, err := list(store.Page{Limit: limit, Cursor: cursor})
		ok(t, "list page", err)
		if len(rows) > limit {
			t.Fatalf("limit %d: page %d has %d rows", limit, page, len(rows))
		}
		for _, id := range rows {
			if seen[id] {
				t.Errorf("limit %d: page %d repeats %s", limit, page, id)
			}
			seen[id] = true
		}
		got = append(got, rows...)
		if len(rows) < limit {
			break
		}
		cursor = rows[len(rows)-1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("limit %d: pages gave\n\t%v\nwant\n\t%v", limit, got, want)
	}
}

// Cipher seals channel URLs and secrets in stores the tests open (every
// channel URL is sealed at rest), with one key for the whole test binary
// so a store reopened on the same database reads what it wrote.
var Cipher store.Cipher = func() store.Cipher {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		panic(err)
	}
	box, err := secrets.New(key)
	if err != nil {
		panic(err)
	}
	return box
}()
