package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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

// ThrottleTake is one upsert whose update is conditional: a row whose
// window has ended starts a new one; otherwise the in-flight count grows
// only while failures + in-flight checks stay under the limit. The row
// lock (PostgreSQL) or the single writer (SQLite) makes the condition and
// the increment one step, so concurrent attempts cannot all pass it.
func (q *Queries) ThrottleTake(ctx context.Context, p *store.ThrottleTakeParams) (time.Time, error) {
	now, ended := micros(p.Now), micros(p.Now.Add(-p.Window))
	var start int64
	err := q.row(ctx, `INSERT INTO signin_throttle (key_hash, window_start, failures, in_flight) VALUES (?, ?, 0, 1)
ON CONFLICT (key_hash) DO UPDATE SET
    window_start = CASE WHEN signin_throttle.window_start <= ? THEN ? ELSE signin_throttle.window_start END,
    failures = CASE WHEN signin_throttle.window_start <= ? THEN 0 ELSE signin_throttle.failures END,
    in_flight = CASE WHEN signin_throttle.window_start <= ? THEN 1 ELSE signin_throttle.in_flight + 1 END
WHERE signin_throttle.window_start <= ? OR signin_throttle.failures + signin_throttle.in_flight < ?
RETURNING window_start`, p.Key, now, ended, now, ended, ended, ended, p.Limit).Scan(&start)
	if err == nil {
		return time.Time{}, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, q.mapErr(err)
	}
	if err := q.row(ctx, `SELECT window_start FROM signin_throttle WHERE key_hash = ?`, p.Key).Scan(&start); err != nil {
		return time.Time{}, q.mapErr(err)
	}
	return fromMicros(start).Add(p.Window), nil
}

func (q *Queries) ThrottleSettle(ctx context.Context, p *store.ThrottleSettleParams) error {
	var err error
	switch {
	case p.Failed:
		_, err = q.exec(ctx, `UPDATE signin_throttle SET failures = failures + 1,
    in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE key_hash = ?`, p.Key)
	case p.Forget:
		_, err = q.exec(ctx, `UPDATE signin_throttle SET failures = CASE WHEN in_flight <= 1 THEN 0 ELSE failures END,
    in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE key_hash = ?`, p.Key)
	default:
		_, err = q.exec(ctx, `UPDATE signin_throttle SET in_flight = CASE WHEN in_flight > 0 THEN in_flight - 1 ELSE 0 END WHERE key_hash = ?`, p.Key)
	}
	return err
}

func (q *Queries) ThrottleDeleteBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := q.exec(ctx, `DELETE FROM signin_throttle WHERE window_start < ?`, micros(t))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
