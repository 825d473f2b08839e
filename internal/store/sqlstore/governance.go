package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

const userCols = `id, org_id, email, name, roles, created_at, deactivated_at, deleted_at`

func scanUser(sc interface{ Scan(...any) error }) (*shiplog.User, error) {
	var u shiplog.User
	var roles string
	var created int64
	var deactivated, deleted sql.NullInt64
	if err := sc.Scan(&u.ID, &u.OrgID, &u.Email, &u.Name, &roles, &created, &deactivated, &deleted); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, err
	}
	u.CreatedAt = fromMicros(created)
	u.DeactivatedAt, u.DeletedAt = timePtr(deactivated), timePtr(deleted)
	if u.DeletedAt != nil {
		// The tombstone's address carries "#<id>" (UserDelete); show the
		// address the person had.
		u.Email = strings.TrimSuffix(u.Email, tombstoneSuffix(u.ID))
	}
	return &u, nil
}

func tombstoneSuffix(id string) string { return "#" + id }

func (q *Queries) users(ctx context.Context, query string, args ...any) ([]*shiplog.User, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

func one[T any](xs []*T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	if len(xs) == 0 {
		return nil, store.ErrNotFound
	}
	return xs[0], nil
}

func (q *Queries) UserGet(ctx context.Context, orgID, id string) (*shiplog.User, error) {
	return one(q.users(ctx, `SELECT `+userCols+` FROM users WHERE org_id = ? AND id = ?`, orgID, id))
}

func (q *Queries) UserByEmail(ctx context.Context, orgID, email string) (*shiplog.User, error) {
	return one(q.users(ctx, `SELECT `+userCols+` FROM users WHERE org_id = ? AND email = ? AND deleted_at IS NULL`, orgID,
		strings.ToLower(email)))
}

func (q *Queries) UserList(ctx context.Context, orgID string) ([]*shiplog.User, error) {
	return q.users(ctx, `SELECT `+userCols+` FROM users WHERE org_id = ? AND deleted_at IS NULL ORDER BY email`, orgID)
}

func (q *Queries) UserPasswordHash(ctx context.Context, orgID, userID string) (string, error) {
	var h string
	err := q.row(ctx, `SELECT password_hash FROM users WHERE org_id = ? AND id = ?`, orgID, userID).Scan(&h)
	return h, q.mapErr(err)
}

func (q *Queries) UserCreate(ctx context.Context, u *shiplog.User, passwordHash string) error {
	_, err := q.exec(ctx, `INSERT INTO users (id, org_id, email, name, roles, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.OrgID, strings.ToLower(u.Email), u.Name, jsonList(u.Roles), passwordHash, micros(u.CreatedAt))
	return err
}

func (q *Queries) UserUpdate(ctx context.Context, u *shiplog.User) error {
	res, err := q.exec(ctx, `UPDATE users SET name = ?, roles = ? WHERE org_id = ? AND id = ? AND deleted_at IS NULL`, u.Name,
		jsonList(u.Roles), u.OrgID, u.ID)
	return affected(res, err)
}

func (q *Queries) UserSetEmail(ctx context.Context, orgID, userID, email string) error {
	res, err := q.exec(ctx, `UPDATE users SET email = ? WHERE org_id = ? AND id = ? AND deleted_at IS NULL`, strings.ToLower(email),
		orgID, userID)
	return affected(res, err)
}

func (q *Queries) UserSetPassword(ctx context.Context, orgID, userID, passwordHash string) error {
	res, err := q.exec(ctx, `UPDATE users SET password_hash = ? WHERE org_id = ? AND id = ? AND deleted_at IS NULL`, passwordHash,
		orgID, userID)
	return affected(res, err)
}

func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (q *Queries) TokenCreate(ctx context.Context, p *store.TokenCreateParams) error {
	_, err := q.exec(ctx, `INSERT INTO personal_tokens (id, org_id, user_id, token_id, hash, name, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		p.ID, p.OrgID, p.UserID, p.TokenID, p.Hash, p.Name, micros(p.Now))
	return err
}

func (q *Queries) TokenAuthLookup(ctx context.Context, tokenID string) (*store.TokenAuth, error) {
	var a store.TokenAuth
	var revoked, used sql.NullInt64
	err := q.row(ctx, `SELECT t.id, t.org_id, o.name, t.user_id, t.hash, t.revoked_at, t.last_used_at
		FROM personal_tokens t JOIN orgs o ON o.id = t.org_id WHERE t.token_id = ?`, tokenID).
		Scan(&a.ID, &a.OrgID, &a.OrgName, &a.UserID, &a.Hash, &revoked, &used)
	if err != nil {
		return nil, q.mapErr(err)
	}
	a.RevokedAt, a.LastUsed = timePtr(revoked), timePtr(used)
	return &a, nil
}

func (q *Queries) TokenTouch(ctx context.Context, id string, now time.Time) error {
	_, err := q.exec(ctx, `UPDATE personal_tokens SET last_used_at = ? WHERE id = ?`, micros(now), id)
	return err
}

const drCols = `d.id, d.org_id, d.name, d.description, d.links, d.items, d.environment_names, d.status, d.created_by,
	d.created_by_key, u.name, d.created_at, d.updated_at, d.revision`

func (q *Queries) drs(ctx context.Context, where string, args ...any) ([]*shiplog.DeploymentRequest, error) {
	rows, err := q.query(ctx, `SELECT `+drCols+` FROM deployment_requests d LEFT JOIN users u ON u.id = d.created_by WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	var out []*shiplog.DeploymentRequest
	for rows.Next() {
		var d shiplog.DeploymentRequest
		var links, items, envs string
		var by, byKey, byName sql.NullString
		var created, updated int64
		if err := rows.Scan(&d.ID, &d.OrgID, &d.Name, &d.Description, &links, &items, &envs, &d.Status, &by, &byKey,
			&byName, &created, &updated, &d.Revision); err != nil {
			rows.Close()
			return nil, err
		}
		d.CreatedBy, d.CreatedByKey, d.CreatedByName = strPtr(by), strPtr(byKey), byName.String
		if d.CreatedBy == nil && d.CreatedByKey != nil {
			d.CreatedByName = "API key " + *d.CreatedByKey
		}
		for _, u := range []struct {
			s   string
			dst any
		}{{links, &d.Links}, {items, &d.Items}, {envs, &d.EnvironmentNames}} {
			if err := json.Unmarshal([]byte(u.s), u.dst); err != nil {
				rows.Close()
				return nil, err
			}
		}
		d.CreatedAt, d.UpdatedAt = fromMicros(created), fromMicros(updated)
		d.Slots = []*shiplog.Slot{}
		out = append(out, &d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, d := range out {
		if d.Slots, err = q.slots(ctx, d.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (q *Queries) slots(ctx context.Context, drID string) ([]*shiplog.Slot, error) {
	rows, err := q.query(ctx, `SELECT s.id, s.approval_type, s.required, s.status, s.decided_by, u.name, s.decided_role, s.decided_at, s.comments
		FROM dr_slots s LEFT JOIN users u ON u.id = s.decided_by WHERE s.dr_id = ? ORDER BY s.position`, drID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*shiplog.Slot{}
	for rows.Next() {
		var s shiplog.Slot
		var by, byName, role, comments sql.NullString
		var at sql.NullInt64
		if err := rows.Scan(&s.ID, &s.ApprovalType, &s.Required, &s.Status, &by, &byName, &role, &at, &comments); err != nil {
			return nil, err
		}
		s.DecidedBy, s.DecidedName, s.DecidedRole, s.Comments, s.DecidedAt = strPtr(by), strPtr(byName), strPtr(role), strPtr(comments), timePtr(at)
		out = append(out, &s)
	}
	return out, rows.Err()
}

func (q *Queries) DRGet(ctx context.Context, orgID, id string) (*shiplog.DeploymentRequest, error) {
	return one(q.drs(ctx, `d.org_id = ? AND d.id = ?`, orgID, id))
}

func (q *Queries) DRList(ctx context.Context, orgID string, f store.DRFilter, p store.Page) ([]*shiplog.DeploymentRequest, error) {
	where, args := []string{"d.org_id = ?"}, []any{orgID}
	if len(f.Statuses) > 0 {
		marks := make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			marks[i], args = "?", append(args, string(st))
		}
		where = append(where, "d.status IN ("+strings.Join(marks, ", ")+")")
	}
	where, args, tail := pageClause(where, args, "d.id", p)
	return q.drs(ctx, strings.Join(where, " AND ")+tail, args...)
}

func (q *Queries) DRCreate(ctx context.Context, d *shiplog.DeploymentRequest) error {
	if _, err := q.exec(ctx, `INSERT INTO deployment_requests (id, org_id, name, description, links, items, environment_names,
		status, created_by, created_by_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.OrgID, d.Name, d.Description, jsonList(d.Links), jsonList(d.Items), jsonList(d.EnvironmentNames),
		string(d.Status), nullStr(d.CreatedBy), nullStr(d.CreatedByKey), micros(d.CreatedAt), micros(d.UpdatedAt)); err != nil {
		return err
	}
	for i, s := range d.Slots {
		if _, err := q.exec(ctx, `INSERT INTO dr_slots (id, dr_id, position, approval_type, required, status) VALUES (?, ?, ?, ?, ?, ?)`,
			s.ID, d.ID, i, s.ApprovalType, s.Required, string(s.Status)); err != nil {
			return err
		}
	}
	return nil
}

func (q *Queries) DRGetForUpdate(ctx context.Context, orgID, id string) (*shiplog.DeploymentRequest, error) {
	if q.d.ForUpdate != "" {
		var got string
		err := q.row(ctx, `SELECT id FROM deployment_requests WHERE org_id = ? AND id = ?`+q.d.ForUpdate, orgID, id).Scan(&got)
		if err != nil {
			return nil, q.mapErr(err)
		}
	}
	return q.DRGet(ctx, orgID, id)
}

func (q *Queries) DRTransition(ctx context.Context, p *store.DRTransitionParams) error {
	res, err := q.exec(ctx, `UPDATE deployment_requests SET status = ?, revision = revision + 1, updated_at = ?
		WHERE org_id = ? AND id = ? AND status = ? AND revision = ?`,
		string(p.To), micros(p.Now), p.OrgID, p.ID, string(p.From), p.Revision)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		var one int
		err := q.row(ctx, `SELECT 1 FROM deployment_requests WHERE org_id = ? AND id = ?`, p.OrgID, p.ID).Scan(&one)
		if err != nil {
			return q.mapErr(err)
		}
		return store.ErrConflict
	}
	if dd := p.Decision; dd != nil {
		res, err := q.exec(ctx, `UPDATE dr_slots SET status = ?, decided_by = ?, decided_role = ?, decided_at = ?, comments = ?
			WHERE id = ? AND dr_id = ? AND status = ?`, string(dd.Status), dd.UserID, dd.Role, micros(p.Now),
			nullStr(dd.Comments), dd.SlotID, p.ID, string(shiplog.SlotPending))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrConflict
		}
	}
	return nil
}

func (q *Queries) VersionApprovalCreate(ctx context.Context, orgID string, a *shiplog.VersionApproval) error {
	_, err := q.exec(ctx, `INSERT INTO version_approvals (id, org_id, version_id, approval_type, environment_name, comments, user_id,
		approver_role, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, orgID, a.VersionID, a.ApprovalType, nullStr(a.EnvironmentName), nullStr(a.Comments), a.UserID, a.ApproverRole, micros(a.CreatedAt))
	return err
}

func (q *Queries) VersionApprovalList(ctx context.Context, orgID, versionID string) ([]*shiplog.VersionApproval, error) {
	rows, err := q.query(ctx, `SELECT a.id, a.version_id, p.name, v.version, a.approval_type, a.environment_name, a.comments, a.user_id,
		u.name, a.approver_role, a.created_at FROM version_approvals a JOIN versions v ON v.id = a.version_id
		JOIN products p ON p.id = v.product_id JOIN users u ON u.id = a.user_id
		WHERE a.org_id = ? AND a.version_id = ? ORDER BY a.created_at, a.id`, orgID, versionID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*shiplog.VersionApproval{}
	for rows.Next() {
		var a shiplog.VersionApproval
		var env, comments sql.NullString
		var at int64
		if err := rows.Scan(&a.ID, &a.VersionID, &a.ProductName, &a.Version, &a.ApprovalType, &env, &comments, &a.UserID,
			&a.Actor, &a.ApproverRole, &at); err != nil {
			return nil, err
		}
		a.EnvironmentName, a.Comments, a.CreatedAt = strPtr(env), strPtr(comments), fromMicros(at)
		out = append(out, &a)
	}
	return out, rows.Err()
}

const ruleCols = `id, org_id, name, rule_type, status, config, created_at, updated_at`

func (q *Queries) rules(ctx context.Context, query string, args ...any) ([]*shiplog.Rule, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Rule
	for rows.Next() {
		var r shiplog.Rule
		var cfg string
		var created, updated int64
		if err := rows.Scan(&r.ID, &r.OrgID, &r.Name, &r.Type, &r.Status, &cfg, &created, &updated); err != nil {
			return nil, err
		}
		r.Config, r.CreatedAt, r.UpdatedAt = json.RawMessage(cfg), fromMicros(created), fromMicros(updated)
		out = append(out, &r)
	}
	return out, rows.Err()
}

func (q *Queries) RuleList(ctx context.Context, orgID string) ([]*shiplog.Rule, error) {
	return q.rules(ctx, `SELECT `+ruleCols+` FROM deployment_rules WHERE org_id = ? ORDER BY id`, orgID)
}

func (q *Queries) RuleGet(ctx context.Context, orgID, id string) (*shiplog.Rule, error) {
	return one(q.rules(ctx, `SELECT `+ruleCols+` FROM deployment_rules WHERE org_id = ? AND id = ?`, orgID, id))
}

func (q *Queries) RuleCreate(ctx context.Context, r *shiplog.Rule) error {
	_, err := q.exec(ctx, `INSERT INTO deployment_rules (id, org_id, name, rule_type, status, config, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.OrgID, r.Name, r.Type, r.Status, string(r.Config), micros(r.CreatedAt), micros(r.UpdatedAt))
	if err != nil {
		return err
	}
	return q.changed(ctx, r.OrgID)
}

func (q *Queries) RuleUpdate(ctx context.Context, r *shiplog.Rule) error {
	res, err := q.exec(ctx, `UPDATE deployment_rules SET name = ?, rule_type = ?, status = ?, config = ?, updated_at = ? WHERE org_id = ? AND id = ?`,
		r.Name, r.Type, r.Status, string(r.Config), micros(r.UpdatedAt), r.OrgID, r.ID)
	if err := affected(res, err); err != nil {
		return err
	}
	return q.changed(ctx, r.OrgID)
}

func (q *Queries) RuleDelete(ctx context.Context, orgID, id string) error {
	res, err := q.exec(ctx, `DELETE FROM deployment_rules WHERE org_id = ? AND id = ?`, orgID, id)
	if err := affected(res, err); err != nil {
		return err
	}
	return q.changed(ctx, orgID)
}

func (q *Queries) ChannelEnsureSystem(ctx context.Context, orgID string, kind shiplog.ChannelKind, name string, now time.Time) (*shiplog.Channel, error) {
	cs, err := q.channels(ctx, orgID, `c.org_id = ? AND c.system = TRUE AND c.name = ?`, orgID, name)
	if err != nil {
		return nil, err
	}
	if len(cs) > 0 {
		return cs[0], nil
	}
	// Serialise first use per org, so two replicas create one channel.
	if err := q.LockSubject(ctx, "system-channel/"+orgID+"/"+name); err != nil {
		return nil, err
	}
	if cs, err = q.channels(ctx, orgID, `c.org_id = ? AND c.system = TRUE AND c.name = ?`, orgID, name); err != nil || len(cs) > 0 {
		if err != nil {
			return nil, err
		}
		return cs[0], nil
	}
	c := &shiplog.Channel{ID: shiplog.NewID(), OrgID: orgID, Kind: kind, Name: name, Enabled: true, System: true,
		CreatedAt: now, UpdatedAt: now}
	if err := q.ChannelCreate(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}
