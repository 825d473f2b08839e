package postgres

import (
	"database/sql"
	"testing"

	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// lockSubject takes every key it is given, in one statement, until the
// transaction ends; another transaction can take none of them meanwhile.
func TestLockSubjectTakesEveryKey(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("pgx", pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := t.Context()
	// Keys unique to this test run: advisory locks are database-wide.
	keys := []string{"lock-test/" + t.Name() + "/a", "lock-test/" + t.Name() + "/b", "lock-test/" + t.Name() + "/c", "lock-test/" + t.Name() + "/d"}
	for n := 1; n <= len(keys); n++ {
		holder, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := lockSubject(ctx, holder, keys[:n]); err != nil {
			t.Fatalf("lockSubject(%d keys): %v", n, err)
		}
		try := func(key string) bool {
			var got bool
			if err := db.QueryRowContext(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got {
				if _, err := db.ExecContext(ctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key); err != nil {
					t.Fatal(err)
				}
			}
			return got
		}
		for i, k := range keys {
			if held := i < n; try(k) == held {
				t.Errorf("%d keys locked: key %d free = %v, want %v", n, i, !held, !held)
			}
		}
		if err := holder.Commit(); err != nil {
			t.Fatal(err)
		}
		for i, k := range keys {
			if !try(k) {
				t.Errorf("%d keys locked, after commit: key %d still held", n, i)
			}
		}
	}
}
