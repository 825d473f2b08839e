package sqlstore

import (
	"context"
	"time"

	"github.com/shiplog/shiplog/internal/store"
)

func (q *Queries) SessionGet(ctx context.Context, idHash []byte) (*store.Session, error) {
	var s store.Session
	var created, expires int64
	err := q.row(ctx, `SELECT id_hash, org_id, org_name, user_id, csrf, created_at, expires_at FROM sessions WHERE id_hash = ?`, idHash).
		Scan(&s.IDHash, &s.OrgID, &s.OrgName, &s.UserID, &s.CSRF, &created, &expires)
	if err != nil {
		return nil, q.mapErr(err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &s, nil
}

func (q *Queries) SessionCreate(ctx context.Context, s *store.Session) error {
	_, err := q.exec(ctx, `INSERT INTO sessions (id_hash, org_id, org_name, user_id, csrf, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		s.IDHash, s.OrgID, s.OrgName, s.UserID, s.CSRF, micros(s.CreatedAt), micros(s.ExpiresAt))
	return err
}

func (q *Queries) SessionExtend(ctx context.Context, idHash []byte, expiresAt time.Time) error {
	res, err := q.exec(ctx, `UPDATE sessions SET expires_at = ? WHERE id_hash = ?`, micros(expiresAt), idHash)
	return affected(res, err)
}

func (q *Queries) SessionDelete(ctx context.Context, idHash []byte) error {
	_, err := q.exec(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
	return err
}

func (q *Queries) SessionDeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM sessions WHERE expires_at < ?`, micros(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
