package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func (q *Queries) OrgCreate(ctx context.Context, name string, now time.Time) (*shiplog.Org, error) {
	o := &shiplog.Org{ID: shiplog.NewID(), Name: name, CreatedAt: fromMicros(micros(now))}
	_, err := q.exec(ctx, `INSERT INTO orgs (id, name, created_at) VALUES (?, ?, ?)`, o.ID, o.Name, micros(now))
	if err != nil {
		return nil, err
	}
	return o, nil
}

func (q *Queries) OrgGetByName(ctx context.Context, name string) (*shiplog.Org, error) {
	var o shiplog.Org
	var created int64
	err := q.row(ctx, `SELECT id, name, created_at FROM orgs WHERE name = ?`, name).Scan(&o.ID, &o.Name, &created)
	if err != nil {
		return nil, q.mapErr(err)
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

func (q *Queries) OrgList(ctx context.Context) ([]*shiplog.Org, error) {
	rows, err := q.query(ctx, `SELECT id, name, created_at FROM orgs ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Org
	for rows.Next() {
		var o shiplog.Org
		var created int64
		if err := rows.Scan(&o.ID, &o.Name, &created); err != nil {
			return nil, err
		}
		o.CreatedAt = fromMicros(created)
		out = append(out, &o)
	}
	return out, rows.Err()
}

func (q *Queries) OrgGet(ctx context.Context, id string) (*shiplog.Org, error) {
	var o shiplog.Org
	var created int64
	err := q.row(ctx, `SELECT id, name, created_at FROM orgs WHERE id = ?`, id).Scan(&o.ID, &o.Name, &created)
	if err != nil {
		return nil, q.mapErr(err)
	}
	o.CreatedAt = fromMicros(created)
	return &o, nil
}

func (q *Queries) APIKeyCreate(ctx context.Context, p *store.APIKeyCreateParams) (*shiplog.APIKey, error) {
	// Key numbers are MAX+1: serialise creators of one org's keys, or two
	// PostgreSQL transactions would pick the same number.
	if err := q.LockSubject(ctx, "api_keys/"+p.OrgID); err != nil {
		return nil, err
	}
	k := &shiplog.APIKey{ID: shiplog.NewID(), OrgID: p.OrgID, Name: p.Name, Hint: p.Hint, CreatedAt: fromMicros(micros(p.Now))}
	var num int64
	err := q.row(ctx, `INSERT INTO api_keys (id, org_id, key_num, name, hash, hint, created_at)
		SELECT ?, ?, COALESCE(MAX(key_num), 0) + 1, ?, ?, ?, ? FROM api_keys WHERE org_id = ?
		RETURNING key_num`,
		k.ID, p.OrgID, p.Name, p.Hash, p.Hint, micros(p.Now), p.OrgID).Scan(&num)
	if err != nil {
		return nil, q.mapErr(err)
	}
	k.KeyID = fmt.Sprintf("k%d", num)
	return k, nil
}

func parseKeyNum(keyID string) (int64, bool) {
	var n int64
	if !strings.HasPrefix(keyID, "k") {
		return 0, false
	}
	if _, err := fmt.Sscanf(keyID[1:], "%d", &n); err != nil || n <= 0 || fmt.Sprintf("k%d", n) != keyID {
		return 0, false
	}
	return n, true
}

func (q *Queries) APIKeyAuthLookup(ctx context.Context, orgName, keyID string) (*store.APIKeyAuth, error) {
	num, ok := parseKeyNum(keyID)
	if !ok {
		return nil, store.ErrNotFound
	}
	var a store.APIKeyAuth
	var revoked, used sql.NullInt64
	err := q.row(ctx, `SELECT k.id, k.org_id, o.name, k.hash, k.revoked_at, k.last_used_at
		FROM api_keys k JOIN orgs o ON o.id = k.org_id WHERE o.name = ? AND k.key_num = ?`, orgName, num).
		Scan(&a.ID, &a.OrgID, &a.OrgName, &a.Hash, &revoked, &used)
	if err != nil {
		return nil, q.mapErr(err)
	}
	a.RevokedAt, a.LastUsed = timePtr(revoked), timePtr(used)
	return &a, nil
}

func (q *Queries) APIKeyList(ctx context.Context, orgID string) ([]*shiplog.APIKey, error) {
	rows, err := q.query(ctx, `SELECT id, key_num, name, hint, created_at, last_used_at, revoked_at
		FROM api_keys WHERE org_id = ? ORDER BY key_num`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.APIKey
	for rows.Next() {
		k := &shiplog.APIKey{OrgID: orgID}
		var num, created int64
		var used, revoked sql.NullInt64
		if err := rows.Scan(&k.ID, &num, &k.Name, &k.Hint, &created, &used, &revoked); err != nil {
			return nil, err
		}
		k.KeyID = fmt.Sprintf("k%d", num)
		k.CreatedAt, k.LastUsedAt, k.RevokedAt = fromMicros(created), timePtr(used), timePtr(revoked)
		out = append(out, k)
	}
	return out, rows.Err()
}

func (q *Queries) APIKeyRevoke(ctx context.Context, orgID, keyID string, now time.Time) error {
	num, ok := parseKeyNum(keyID)
	if !ok {
		return store.ErrNotFound
	}
	res, err := q.exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE org_id = ? AND key_num = ?`,
		micros(now), orgID, num)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (q *Queries) APIKeyTouch(ctx context.Context, id string, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, micros(now), id)
	return err
}

func (q *Queries) ProductByName(ctx context.Context, orgID, name string) (*shiplog.Product, error) {
	var p shiplog.Product
	var created int64
	err := q.row(ctx, `SELECT id, name, created_at FROM products WHERE org_id = ? AND name = ?`, orgID, name).
		Scan(&p.ID, &p.Name, &created)
	if err != nil {
		return nil, q.mapErr(err)
	}
	p.CreatedAt = fromMicros(created)
	return &p, nil
}

// ProductEnsure reads first: after the first event a product always exists,
// and a read is cheaper than an INSERT that conflicts.
func (q *Queries) ProductEnsure(ctx context.Context, orgID, name string, now time.Time) (*shiplog.Product, error) {
	get := func() (*shiplog.Product, error) { return q.ProductByName(ctx, orgID, name) }
	if p, err := get(); !errors.Is(err, store.ErrNotFound) {
		return p, err
	}
	if _, err := q.exec(ctx, `INSERT INTO products (id, org_id, name, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, name) DO NOTHING`, shiplog.NewID(), orgID, name, micros(now)); err != nil {
		return nil, err
	}
	return get()
}

func (q *Queries) ProductList(ctx context.Context, orgID string, p store.Page) ([]*shiplog.Product, error) {
	where, args, tail := pageClause([]string{"org_id = ?"}, []any{orgID}, "id", p)
	rows, err := q.query(ctx, `SELECT id, name, created_at FROM products WHERE `+strings.Join(where, " AND ")+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Product
	for rows.Next() {
		var pr shiplog.Product
		var created int64
		if err := rows.Scan(&pr.ID, &pr.Name, &created); err != nil {
			return nil, err
		}
		pr.CreatedAt = fromMicros(created)
		out = append(out, &pr)
	}
	return out, rows.Err()
}

const envCols = `id, name, type, description, created_at`

func scanEnv(sc interface{ Scan(...any) error }) (*shiplog.Environment, error) {
	var e shiplog.Environment
	var created int64
	if err := sc.Scan(&e.ID, &e.Name, &e.Type, &e.Description, &created); err != nil {
		return nil, err
	}
	e.CreatedAt = fromMicros(created)
	return &e, nil
}

func (q *Queries) EnvironmentByName(ctx context.Context, orgID, name string) (*shiplog.Environment, error) {
	e, err := scanEnv(q.row(ctx, `SELECT `+envCols+` FROM environments WHERE org_id = ? AND name = ?`, orgID, name))
	return e, q.mapErr(err)
}

func (q *Queries) EnvironmentEnsure(ctx context.Context, orgID, name string, typ shiplog.EnvType, now time.Time) (*shiplog.Environment, error) {
	const get = `SELECT ` + envCols + ` FROM environments WHERE org_id = ? AND name = ?`
	if e, err := scanEnv(q.row(ctx, get, orgID, name)); !errors.Is(q.mapErr(err), store.ErrNotFound) {
		return e, q.mapErr(err)
	}
	if _, err := q.exec(ctx, `INSERT INTO environments (id, org_id, name, type, description, created_at) VALUES (?, ?, ?, ?, '', ?)
		ON CONFLICT (org_id, name) DO NOTHING`, shiplog.NewID(), orgID, name, string(typ), micros(now)); err != nil {
		return nil, err
	}
	e, err := scanEnv(q.row(ctx, get, orgID, name))
	return e, q.mapErr(err)
}

func (q *Queries) EnvironmentGet(ctx context.Context, orgID, id string) (*shiplog.Environment, error) {
	e, err := scanEnv(q.row(ctx, `SELECT `+envCols+` FROM environments WHERE org_id = ? AND id = ?`, orgID, id))
	return e, q.mapErr(err)
}

func (q *Queries) EnvironmentList(ctx context.Context, orgID string, p store.Page) ([]*shiplog.Environment, error) {
	where, args, tail := pageClause([]string{"org_id = ?"}, []any{orgID}, "id", p)
	rows, err := q.query(ctx, `SELECT `+envCols+` FROM environments WHERE `+strings.Join(where, " AND ")+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Environment
	for rows.Next() {
		e, err := scanEnv(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (q *Queries) EnvironmentUpdate(ctx context.Context, orgID, id string, p *store.EnvironmentUpdateParams) (*shiplog.Environment, error) {
	var sets []string
	var args []any
	if p.Type != nil {
		sets, args = append(sets, "type = ?"), append(args, string(*p.Type))
	}
	if p.Description != nil {
		sets, args = append(sets, "description = ?"), append(args, *p.Description)
	}
	if len(sets) > 0 {
		args = append(args, orgID, id)
		res, err := q.exec(ctx, `UPDATE environments SET `+strings.Join(sets, ", ")+` WHERE org_id = ? AND id = ?`, args...)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil, store.ErrNotFound
		}
		if p.Type != nil {
			if err := q.changed(ctx, orgID); err != nil {
				return nil, err
			}
		}
	}
	return q.EnvironmentGet(ctx, orgID, id)
}

const versionCols = `v.id, v.product_id, p.name, v.version, v.scm_sha, v.scm_branch, v.scm_repository, v.created_at`

func scanVersion(sc interface{ Scan(...any) error }) (*shiplog.Version, error) {
	var v shiplog.Version
	var sha, branch, repo sql.NullString
	var created int64
	if err := sc.Scan(&v.ID, &v.ProductID, &v.ProductName, &v.Version, &sha, &branch, &repo, &created); err != nil {
		return nil, err
	}
	v.ScmSHA, v.ScmBranch, v.ScmRepository = strPtr(sha), strPtr(branch), strPtr(repo)
	v.CreatedAt = fromMicros(created)
	return &v, nil
}

func (q *Queries) VersionByName(ctx context.Context, productID, version string) (*shiplog.Version, error) {
	v, err := scanVersion(q.row(ctx, `SELECT `+versionCols+` FROM versions v JOIN products p ON p.id = v.product_id
		WHERE v.product_id = ? AND v.version = ?`, productID, version))
	return v, q.mapErr(err)
}

func (q *Queries) VersionEnsure(ctx context.Context, p *store.VersionEnsureParams) (*shiplog.Version, error) {
	get := func() (*shiplog.Version, error) { return q.VersionByName(ctx, p.ProductID, p.Version) }
	v, err := get()
	if errors.Is(err, store.ErrNotFound) {
		if _, err := q.exec(ctx, `INSERT INTO versions (id, org_id, product_id, version, scm_sha, scm_branch, scm_repository, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (product_id, version) DO NOTHING`,
			shiplog.NewID(), p.OrgID, p.ProductID, p.Version, nullStr(p.ScmSHA), nullStr(p.ScmBranch), nullStr(p.ScmRepository), micros(p.Now)); err != nil {
			return nil, err
		}
		v, err = get()
	}
	if err != nil {
		return nil, err
	}
	if v.ScmSHA == nil && p.ScmSHA != nil {
		// First sight of the SHA fixes it. The guard on NULL makes a racing
		// writer's SHA win cleanly; we re-read and the caller compares.
		if _, err := q.exec(ctx, `UPDATE versions SET scm_sha = ?, scm_branch = COALESCE(scm_branch, ?), scm_repository = COALESCE(scm_repository, ?)
			WHERE id = ? AND scm_sha IS NULL`, *p.ScmSHA, nullStr(p.ScmBranch), nullStr(p.ScmRepository), v.ID); err != nil {
			return nil, err
		}
		return get()
	}
	return v, nil
}

func (q *Queries) VersionGet(ctx context.Context, orgID, id string) (*shiplog.Version, error) {
	v, err := scanVersion(q.row(ctx, `SELECT `+versionCols+` FROM versions v JOIN products p ON p.id = v.product_id
		WHERE v.org_id = ? AND v.id = ?`, orgID, id))
	return v, q.mapErr(err)
}

func (q *Queries) VersionList(ctx context.Context, orgID string, f store.VersionFilter, pg store.Page) ([]*shiplog.Version, error) {
	where, args := []string{"v.org_id = ?"}, []any{orgID}
	if f.ProductName != "" {
		where, args = append(where, "p.name = ?"), append(args, f.ProductName)
	}
	if f.ScmSHA != "" {
		where, args = append(where, "v.scm_sha = ?"), append(args, f.ScmSHA)
	}
	where, args, tail := pageClause(where, args, "v.id", pg)
	rows, err := q.query(ctx, `SELECT `+versionCols+` FROM versions v JOIN products p ON p.id = v.product_id
		WHERE `+strings.Join(where, " AND ")+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
