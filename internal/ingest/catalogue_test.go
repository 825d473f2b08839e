package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

// versionReads counts the version lookups made on the read pool (the ones
// a write makes in its transaction go through the Tx, not through here),
// and fails writes after their work while fail is set, as a failed commit
// would.
type versionReads struct {
	store.Store
	n    atomic.Int64
	fail atomic.Bool
}

func (s *versionReads) WriteKeyed(ctx context.Context, key string, fn func(context.Context, store.Tx) error) error {
	return s.Store.WriteKeyed(ctx, key, func(ctx context.Context, tx store.Tx) error {
		if err := fn(ctx, tx); err != nil {
			return err
		}
		if s.fail.Load() {
			return errors.New("the write failed after its work")
		}
		return nil
	})
}

func (s *versionReads) VersionByName(ctx context.Context, productID, version string) (*shiplog.Version, error) {
	s.n.Add(1)
	return s.Store.VersionByName(ctx, productID, version)
}

// A version a committed write created is kept in memory, so the run's next
// event does not look it up again; one whose write failed is not, so the
// version stays free for another SHA.
func TestCatalogueKeepsOnlyCommittedRows(t *testing.T) {
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var org *shiplog.Org
	if err := st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		org, err = tx.OrgCreate(ctx, "acme", shiplog.SystemClock{}.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	reads := &versionReads{Store: st}
	s := &Service{Store: reads, Clock: shiplog.SystemClock{}}
	record := func(version, sha, status, invoke string) (*Result, error) {
		t.Helper()
		ev, err := DecodeDeployment(fmt.Appendf(nil, `{"product_name":"api","version":%q,"environment_name":"production",
			"status":%q,"scm_sha":%q,"invoke_id":%q}`, version, status, sha, invoke))
		if err != nil {
			t.Fatal(err)
		}
		return s.Record(ctx, org.ID, ev, Idempotency{}, shiplog.Credential{})
	}
	mustRecord := func(version, sha, status, invoke string) {
		t.Helper()
		if res, err := record(version, sha, status, invoke); err != nil || res.StatusCode != http.StatusOK {
			t.Fatalf("%s %s %s: %v %+v", version, status, invoke, err, res)
		}
	}

	mustRecord("1.0", "aaa", "started", "r0") // the product exists from here on
	mustRecord("1.0", "aaa", "completed", "r0")
	reads.fail.Store(true)
	if _, err := record("2.0", "bbb", "started", "r1"); err == nil {
		t.Fatal("the failing write succeeded")
	}
	reads.fail.Store(false)
	// 2.0 with another SHA: a new version, not the one of the failed write.
	mustRecord("2.0", "ccc", "started", "r2")

	before := reads.n.Load()
	mustRecord("2.0", "ccc", "completed", "r2")
	if got := reads.n.Load() - before; got != 0 {
		t.Errorf("the run's second event looked its version up %d times, want 0 (kept since the first committed)", got)
	}
	if _, err := record("2.0", "ddd", "started", "r3"); shiplog.ErrorCode(err) != shiplog.ECONFLICT {
		t.Errorf("2.0 with another SHA: %v, want a conflict", err)
	}
}
