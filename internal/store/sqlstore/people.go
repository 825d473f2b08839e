package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// People's lifecycle: deactivation, tombstones, token listings and
// revocation, one-time password reset links.

func (q *Queries) UserSetActive(ctx context.Context, p *store.UserSetActiveParams) error {
	var res sql.Result
	var err error
	if p.Active {
		res, err = q.exec(ctx, `UPDATE users SET deactivated_at = NULL WHERE org_id = ? AND id = ? AND deleted_at IS NULL`,
			p.OrgID, p.UserID)
	} else {
		res, err = q.exec(ctx, `UPDATE users SET deactivated_at = COALESCE(deactivated_at, ?) WHERE org_id = ? AND id = ? AND deleted_at IS NULL`,
			micros(p.Now), p.OrgID, p.UserID)
	}
	return affected(res, err)
}

func (q *Queries) UserDelete(ctx context.Context, p *store.UserDeleteParams) error {
	res, err := q.exec(ctx, `UPDATE users SET deleted_at = ?, email = email || ?, password_hash = ''
		WHERE org_id = ? AND id = ? AND deleted_at IS NULL`, micros(p.Now), tombstoneSuffix(p.UserID), p.OrgID, p.UserID)
	if err := affected(res, err); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `UPDATE personal_tokens SET revoked_at = ? WHERE org_id = ? AND user_id = ? AND revoked_at IS NULL`,
		micros(p.Now), p.OrgID, p.UserID); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM password_resets WHERE org_id = ? AND user_id = ?`, p.OrgID, p.UserID); err != nil {
		return err
	}
	return q.SessionDeleteUser(ctx, p.OrgID, p.UserID, nil)
}

func (q *Queries) SessionDeleteUser(ctx context.Context, orgID, userID string, keep []byte) error {
	if keep == nil {
		keep = []byte{}
	}
	_, err := q.exec(ctx, `DELETE FROM sessions WHERE org_id = ? AND user_id = ? AND id_hash <> ?`, orgID, userID, keep)
	return err
}

const tokenCols = `t.id, t.token_id, t.name, t.user_id, u.email, u.name, u.deleted_at, t.created_at, t.last_used_at, t.revoked_at`

func (q *Queries) tokens(ctx context.Context, where string, args ...any) ([]*shiplog.Token, error) {
	rows, err := q.query(ctx, `SELECT `+tokenCols+` FROM personal_tokens t JOIN users u ON u.id = t.user_id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Token
	for rows.Next() {
		var t shiplog.Token
		var created int64
		var deleted, used, revoked sql.NullInt64
		if err := rows.Scan(&t.ID, &t.TokenID, &t.Name, &t.UserID, &t.UserEmail, &t.UserName, &deleted, &created, &used, &revoked); err != nil {
			return nil, err
		}
		if deleted.Valid {
			t.UserEmail = trimTombstone(t.UserEmail, t.UserID)
		}
		t.CreatedAt, t.LastUsedAt, t.RevokedAt = fromMicros(created), timePtr(used), timePtr(revoked)
		out = append(out, &t)
	}
	return out, rows.Err()
}

func trimTombstone(email, id string) string {
	if n := len(email) - len(tombstoneSuffix(id)); n >= 0 && email[n:] == tombstoneSuffix(id) {
		return email[:n]
	}
	return email
}

func (q *Queries) TokenList(ctx context.Context, orgID, userID string) ([]*shiplog.Token, error) {
	if userID != "" {
		return q.tokens(ctx, `t.org_id = ? AND t.user_id = ? ORDER BY t.created_at DESC, t.id DESC`, orgID, userID)
	}
	return q.tokens(ctx, `t.org_id = ? ORDER BY t.created_at DESC, t.id DESC`, orgID)
}

func (q *Queries) TokenGet(ctx context.Context, orgID, ref string) (*shiplog.Token, error) {
	// A token id is 16 base62 characters, never a row id (a UUID): one
	// comparison per column keeps PostgreSQL from casting ref to UUID.
	if len(ref) == 16 {
		return one(q.tokens(ctx, `t.org_id = ? AND t.token_id = ?`, orgID, ref))
	}
	if !shiplog.ValidID(ref) {
		return nil, store.ErrNotFound
	}
	return one(q.tokens(ctx, `t.org_id = ? AND t.id = ?`, orgID, ref))
}

func (q *Queries) TokenRevoke(ctx context.Context, orgID, id string, now time.Time) error {
	res, err := q.exec(ctx, `UPDATE personal_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE org_id = ? AND id = ?`,
		micros(now), orgID, id)
	return affected(res, err)
}

func (q *Queries) PasswordResetCreate(ctx context.Context, p *store.PasswordResetCreateParams) error {
	if p.KeepEarlier {
		// Sweep the person's dead links instead, so restarts do not pile them up.
		if _, err := q.exec(ctx, `DELETE FROM password_resets WHERE org_id = ? AND user_id = ? AND (used_at IS NOT NULL OR expires_at <= ?)`,
			p.OrgID, p.UserID, micros(p.Now)); err != nil {
			return err
		}
	} else if _, err := q.exec(ctx, `DELETE FROM password_resets WHERE org_id = ? AND user_id = ?`, p.OrgID, p.UserID); err != nil {
		return err
	}
	_, err := q.exec(ctx, `INSERT INTO password_resets (id, org_id, user_id, hash, created_by, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, p.ID, p.OrgID, p.UserID, p.Hash, p.CreatedBy, micros(p.Now), micros(p.ExpiresAt))
	return err
}

func (q *Queries) PasswordResetGet(ctx context.Context, id string) (*store.PasswordReset, error) {
	var r store.PasswordReset
	var created, expires int64
	var used sql.NullInt64
	err := q.row(ctx, `SELECT id, org_id, user_id, hash, created_by, created_at, expires_at, used_at FROM password_resets WHERE id = ?`, id).
		Scan(&r.ID, &r.OrgID, &r.UserID, &r.Hash, &r.CreatedBy, &created, &expires, &used)
	if err != nil {
		return nil, q.mapErr(err)
	}
	r.CreatedAt, r.ExpiresAt, r.UsedAt = fromMicros(created), fromMicros(expires), timePtr(used)
	return &r, nil
}

func (q *Queries) PasswordResetUse(ctx context.Context, id string, now time.Time) error {
	// A compare-and-set: of two replicas redeeming one link, one wins.
	res, err := q.exec(ctx, `UPDATE password_resets SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`,
		micros(now), id, micros(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := q.PasswordResetGet(ctx, id); err != nil {
		return err
	}
	return store.ErrConflict
}
