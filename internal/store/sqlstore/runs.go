package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

const deploymentCols = `d.id, d.org_id, d.product_id, p.name, d.version_id, v.version, d.environment_id, e.name, e.type, d.status,
	d.invoke_id, d.deployed_by, d.deployed_by_name, d.deployed_by_email, d.scm_sha, d.scm_branch, d.scm_repository,
	d.build_url, d.build_number, d.deploy_url, d.source_system, d.preflight_status, d.preflight_skipped_by, d.extra_metadata,
	d.started_at, d.completed_at, d.deployed_at, d.created_at, d.updated_at`

const deploymentFrom = ` FROM deployments d JOIN products p ON p.id = d.product_id JOIN versions v ON v.id = d.version_id
	JOIN environments e ON e.id = d.environment_id`

func scanDeployment(sc interface{ Scan(...any) error }) (*shiplog.Deployment, error) {
	var d shiplog.Deployment
	var invoke, by, byName, byEmail, sha, branch, repo, bURL, bNum, dURL, src, pre, skipped, meta sql.NullString
	var started, completed sql.NullInt64
	var deployed, created, updated int64
	if err := sc.Scan(&d.ID, &d.OrgID, &d.ProductID, &d.ProductName, &d.VersionID, &d.Version, &d.EnvironmentID, &d.EnvironmentName,
		&d.EnvironmentType, &d.Status, &invoke, &by, &byName, &byEmail, &sha, &branch, &repo, &bURL, &bNum, &dURL, &src, &pre,
		&skipped, &meta, &started, &completed, &deployed, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	if d.PreflightSkippedBy, err = credentialOf(skipped); err != nil {
		return nil, err
	}
	d.InvokeID, d.DeployedBy, d.DeployedByName, d.DeployedByEmail = strPtr(invoke), strPtr(by), strPtr(byName), strPtr(byEmail)
	d.ScmSHA, d.ScmBranch, d.ScmRepository = strPtr(sha), strPtr(branch), strPtr(repo)
	d.BuildURL, d.BuildNumber, d.DeployURL, d.SourceSystem, d.PreflightStatus = strPtr(bURL), strPtr(bNum), strPtr(dURL), strPtr(src), strPtr(pre)
	d.ExtraMetadata = rawJSON(meta)
	d.StartedAt, d.CompletedAt = timePtr(started), timePtr(completed)
	d.DeployedAt, d.CreatedAt, d.UpdatedAt = fromMicros(deployed), fromMicros(created), fromMicros(updated)
	return &d, nil
}

func (q *Queries) LockSubject(ctx context.Context, key string) error {
	if q.d.LockSubject == nil {
		return nil
	}
	return q.mapErr(q.d.LockSubject(ctx, q.db, key))
}

// openCols is deploymentCols without the joins: the caller knows the names
// and binds them, which keeps the hot path to one index lookup.
const openCols = `d.id, d.org_id, d.product_id, CAST(? AS TEXT), d.version_id, CAST(? AS TEXT), d.environment_id, CAST(? AS TEXT), CAST(? AS TEXT), d.status,
	d.invoke_id, d.deployed_by, d.deployed_by_name, d.deployed_by_email, d.scm_sha, d.scm_branch, d.scm_repository,
	d.build_url, d.build_number, d.deploy_url, d.source_system, d.preflight_status, d.preflight_skipped_by, d.extra_metadata,
	d.started_at, d.completed_at, d.deployed_at, d.created_at, d.updated_at`

func (q *Queries) DeploymentFindOpen(ctx context.Context, p *store.FindOpenParams) (*shiplog.Deployment, error) {
	query := `SELECT ` + openCols + ` FROM deployments d WHERE d.product_id = ? AND d.version_id = ? AND d.environment_id = ? AND d.org_id = ?`
	args := []any{p.ProductName, p.Version, p.EnvironmentName, string(p.EnvironmentType), p.ProductID, p.VersionID, p.EnvironmentID, p.OrgID}
	if p.InvokeID != nil {
		query += ` AND d.invoke_id = ?`
		args = append(args, *p.InvokeID)
	} else {
		query += ` AND d.status IN ('pending', 'started')`
	}
	d, err := scanDeployment(q.row(ctx, query+` ORDER BY d.id DESC LIMIT 1`, args...))
	return d, q.mapErr(err)
}

func (q *Queries) DeploymentInsert(ctx context.Context, d *shiplog.Deployment) error {
	_, err := q.exec(ctx, `INSERT INTO deployments (id, org_id, product_id, version_id, environment_id, status, invoke_id,
		deployed_by, deployed_by_name, deployed_by_email, scm_sha, scm_branch, scm_repository, build_url, build_number,
		deploy_url, source_system, preflight_status, preflight_skipped_by, extra_metadata, started_at, completed_at, deployed_at,
		created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.ID, d.OrgID, d.ProductID, d.VersionID, d.EnvironmentID, string(d.Status), nullStr(d.InvokeID),
		nullStr(d.DeployedBy), nullStr(d.DeployedByName), nullStr(d.DeployedByEmail), nullStr(d.ScmSHA), nullStr(d.ScmBranch),
		nullStr(d.ScmRepository), nullStr(d.BuildURL), nullStr(d.BuildNumber), nullStr(d.DeployURL), nullStr(d.SourceSystem),
		nullStr(d.PreflightStatus), credentialText(d.PreflightSkippedBy), jsonText(d.ExtraMetadata), nullMicros(d.StartedAt),
		nullMicros(d.CompletedAt), micros(d.DeployedAt), micros(d.CreatedAt), micros(d.UpdatedAt))
	return err
}

func (q *Queries) DeploymentUpdate(ctx context.Context, d *shiplog.Deployment) error {
	_, err := q.exec(ctx, `UPDATE deployments SET status = ?, deployed_by = ?, deployed_by_name = ?, deployed_by_email = ?,
		scm_sha = ?, scm_branch = ?, scm_repository = ?, build_url = ?, build_number = ?, deploy_url = ?, source_system = ?,
		preflight_status = ?, preflight_skipped_by = ?, extra_metadata = ?, started_at = ?, completed_at = ?, deployed_at = ?,
		updated_at = ? WHERE id = ?`,
		string(d.Status), nullStr(d.DeployedBy), nullStr(d.DeployedByName), nullStr(d.DeployedByEmail), nullStr(d.ScmSHA),
		nullStr(d.ScmBranch), nullStr(d.ScmRepository), nullStr(d.BuildURL), nullStr(d.BuildNumber), nullStr(d.DeployURL),
		nullStr(d.SourceSystem), nullStr(d.PreflightStatus), credentialText(d.PreflightSkippedBy), jsonText(d.ExtraMetadata), nullMicros(d.StartedAt),
		nullMicros(d.CompletedAt), micros(d.DeployedAt), micros(d.UpdatedAt), d.ID)
	return err
}

func (q *Queries) deployments(ctx context.Context, query string, args ...any) ([]*shiplog.Deployment, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (q *Queries) DeploymentsRunning(ctx context.Context, orgID, productID, environmentID string) ([]*shiplog.Deployment, error) {
	return q.deployments(ctx, `SELECT `+deploymentCols+deploymentFrom+`
		WHERE d.product_id = ? AND d.environment_id = ? AND d.status = 'started' AND d.org_id = ?`, productID, environmentID, orgID)
}

func (q *Queries) DeploymentsOfVersion(ctx context.Context, orgID, productID, versionID string, limit int) ([]*shiplog.Deployment, error) {
	return q.deployments(ctx, `SELECT `+deploymentCols+deploymentFrom+`
		WHERE d.product_id = ? AND d.version_id = ? AND d.org_id = ? LIMIT ?`, productID, versionID, orgID, limit)
}

func (q *Queries) DeploymentGet(ctx context.Context, orgID, id string) (*shiplog.Deployment, error) {
	d, err := scanDeployment(q.row(ctx, `SELECT `+deploymentCols+deploymentFrom+` WHERE d.org_id = ? AND d.id = ?`, orgID, id))
	return d, q.mapErr(err)
}

func (q *Queries) DeploymentList(ctx context.Context, orgID string, f store.DeploymentFilter, pg store.Page) ([]*shiplog.Deployment, error) {
	where, args := []string{"d.org_id = ?"}, []any{orgID}
	if f.ProductName != "" {
		where, args = append(where, "p.name = ?"), append(args, f.ProductName)
	}
	if f.EnvironmentName != "" {
		where, args = append(where, "e.name = ?"), append(args, f.EnvironmentName)
	}
	if f.Status != "" {
		where, args = append(where, "d.status = ?"), append(args, string(f.Status))
	}
	if f.Version != "" {
		where, args = append(where, "v.version = ?"), append(args, f.Version)
	}
	var tail string
	if f.ByTime {
		where, args, tail = timePageClause(where, args, "d.deployed_at", "deployments", "deployed_at", "d.id", pg)
	} else {
		where, args, tail = pageClause(where, args, "d.id", pg)
	}
	rows, err := q.query(ctx, `SELECT `+deploymentCols+deploymentFrom+` WHERE `+strings.Join(where, " AND ")+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Deployment
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

const buildCols = `b.id, b.org_id, b.product_id, p.name, b.version_id, v.version, b.status, b.invoke_id, b.built_by, b.built_by_name,
	b.built_by_email, b.scm_sha, b.scm_branch, b.scm_repository, b.build_url, b.build_number, b.source_system,
	b.error_message, b.error_code, b.extra_metadata, b.started_at, b.completed_at, b.created_at, b.updated_at`

const buildFrom = ` FROM builds b JOIN products p ON p.id = b.product_id JOIN versions v ON v.id = b.version_id`

func scanBuild(sc interface{ Scan(...any) error }) (*shiplog.Build, error) {
	var b shiplog.Build
	var invoke, by, byName, byEmail, sha, branch, repo, bURL, bNum, src, errMsg, errCode, meta sql.NullString
	var started, completed sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&b.ID, &b.OrgID, &b.ProductID, &b.ProductName, &b.VersionID, &b.Version, &b.Status, &invoke, &by, &byName,
		&byEmail, &sha, &branch, &repo, &bURL, &bNum, &src, &errMsg, &errCode, &meta, &started, &completed, &created, &updated); err != nil {
		return nil, err
	}
	b.InvokeID, b.BuiltBy, b.BuiltByName, b.BuiltByEmail = strPtr(invoke), strPtr(by), strPtr(byName), strPtr(byEmail)
	b.ScmSHA, b.ScmBranch, b.ScmRepository = strPtr(sha), strPtr(branch), strPtr(repo)
	b.BuildURL, b.BuildNumber, b.SourceSystem, b.ErrorMessage, b.ErrorCode = strPtr(bURL), strPtr(bNum), strPtr(src), strPtr(errMsg), strPtr(errCode)
	b.ExtraMetadata = rawJSON(meta)
	b.StartedAt, b.CompletedAt = timePtr(started), timePtr(completed)
	b.CreatedAt, b.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &b, nil
}

func (q *Queries) BuildFindOpen(ctx context.Context, p *store.FindOpenParams) (*shiplog.Build, error) {
	query := `SELECT ` + buildCols + buildFrom + ` WHERE b.org_id = ? AND b.product_id = ? AND b.version_id = ?`
	args := []any{p.OrgID, p.ProductID, p.VersionID}
	if p.InvokeID != nil {
		query += ` AND b.invoke_id = ?`
		args = append(args, *p.InvokeID)
	} else {
		query += ` AND b.status IN ('pending', 'started')`
	}
	b, err := scanBuild(q.row(ctx, query+` ORDER BY b.id DESC LIMIT 1`, args...))
	return b, q.mapErr(err)
}

func (q *Queries) BuildInsert(ctx context.Context, b *shiplog.Build) error {
	_, err := q.exec(ctx, `INSERT INTO builds (id, org_id, product_id, version_id, status, invoke_id, built_by, built_by_name,
		built_by_email, scm_sha, scm_branch, scm_repository, build_url, build_number, source_system, error_message, error_code,
		extra_metadata, started_at, completed_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		b.ID, b.OrgID, b.ProductID, b.VersionID, string(b.Status), nullStr(b.InvokeID), nullStr(b.BuiltBy), nullStr(b.BuiltByName),
		nullStr(b.BuiltByEmail), nullStr(b.ScmSHA), nullStr(b.ScmBranch), nullStr(b.ScmRepository), nullStr(b.BuildURL),
		nullStr(b.BuildNumber), nullStr(b.SourceSystem), nullStr(b.ErrorMessage), nullStr(b.ErrorCode), jsonText(b.ExtraMetadata),
		nullMicros(b.StartedAt), nullMicros(b.CompletedAt), micros(b.CreatedAt), micros(b.UpdatedAt))
	return err
}

func (q *Queries) BuildUpdate(ctx context.Context, b *shiplog.Build) error {
	_, err := q.exec(ctx, `UPDATE builds SET status = ?, built_by = ?, built_by_name = ?, built_by_email = ?, scm_sha = ?,
		scm_branch = ?, scm_repository = ?, build_url = ?, build_number = ?, source_system = ?, error_message = ?, error_code = ?,
		extra_metadata = ?, started_at = ?, completed_at = ?, updated_at = ? WHERE id = ?`,
		string(b.Status), nullStr(b.BuiltBy), nullStr(b.BuiltByName), nullStr(b.BuiltByEmail), nullStr(b.ScmSHA),
		nullStr(b.ScmBranch), nullStr(b.ScmRepository), nullStr(b.BuildURL), nullStr(b.BuildNumber), nullStr(b.SourceSystem),
		nullStr(b.ErrorMessage), nullStr(b.ErrorCode), jsonText(b.ExtraMetadata), nullMicros(b.StartedAt),
		nullMicros(b.CompletedAt), micros(b.UpdatedAt), b.ID)
	return err
}

func (q *Queries) BuildGet(ctx context.Context, orgID, id string) (*shiplog.Build, error) {
	b, err := scanBuild(q.row(ctx, `SELECT `+buildCols+buildFrom+` WHERE b.org_id = ? AND b.id = ?`, orgID, id))
	return b, q.mapErr(err)
}

func (q *Queries) BuildList(ctx context.Context, orgID string, f store.BuildFilter, pg store.Page) ([]*shiplog.Build, error) {
	where, args := []string{"b.org_id = ?"}, []any{orgID}
	if f.ProductName != "" {
		where, args = append(where, "p.name = ?"), append(args, f.ProductName)
	}
	if f.Version != "" {
		where, args = append(where, "v.version = ?"), append(args, f.Version)
	}
	if f.Status != "" {
		where, args = append(where, "b.status = ?"), append(args, string(f.Status))
	}
	var tail string
	if f.ByTime {
		where, args, tail = timePageClause(where, args, "COALESCE(b.completed_at, b.started_at, b.created_at)", "builds",
			"COALESCE(completed_at, started_at, created_at)", "b.id", pg)
	} else {
		where, args, tail = pageClause(where, args, "b.id", pg)
	}
	rows, err := q.query(ctx, `SELECT `+buildCols+buildFrom+` WHERE `+strings.Join(where, " AND ")+tail, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Build
	for rows.Next() {
		b, err := scanBuild(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

const eventCols = `seq, id, type, kind, subject_id, product_name, version, environment_name, environment_type, status, actor,
	actor_email, scm_sha, scm_repository, preflight_status, submitted_by, payload, occurred_at`

func (q *Queries) EventInsert(ctx context.Context, e *shiplog.Event) error {
	return q.mapErr(q.row(ctx, `INSERT INTO events (id, org_id, type, kind, subject_id, product_name, version, environment_name,
		environment_type, status, actor, actor_email, scm_sha, scm_repository, preflight_status, submitted_by, payload,
		occurred_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		e.ID, e.OrgID, string(e.Type), string(e.Kind), e.SubjectID, e.ProductName, e.Version, e.EnvironmentName,
		string(e.EnvironmentType), string(e.Status), e.Actor, e.ActorEmail, e.ScmSHA, e.ScmRepository, e.PreflightStatus,
		credentialText(e.SubmittedBy), jsonText(e.Payload), micros(e.OccurredAt)).Scan(&e.Seq))
}

// eventRow is the scan target of eventCols.
type eventRow struct {
	e       *shiplog.Event
	by      sql.NullString
	payload sql.NullString
	at      int64
}

func newEventRow(orgID string) *eventRow { return &eventRow{e: &shiplog.Event{OrgID: orgID}} }

// dest lists the scan targets in eventCols order.
func (r *eventRow) dest() []any {
	e := r.e
	return []any{&e.Seq, &e.ID, &e.Type, &e.Kind, &e.SubjectID, &e.ProductName, &e.Version, &e.EnvironmentName,
		&e.EnvironmentType, &e.Status, &e.Actor, &e.ActorEmail, &e.ScmSHA, &e.ScmRepository, &e.PreflightStatus, &r.by,
		&r.payload, &r.at}
}

// event finishes the scanned row.
func (r *eventRow) event() (*shiplog.Event, error) {
	var err error
	r.e.Payload, r.e.OccurredAt = rawJSON(r.payload), fromMicros(r.at)
	r.e.SubmittedBy, err = credentialOf(r.by)
	return r.e, err
}

func (q *Queries) EventGet(ctx context.Context, orgID, id string) (*shiplog.Event, error) {
	es, err := q.events(ctx, orgID, `SELECT `+eventCols+` FROM events WHERE org_id = ? AND id = ?`, orgID, id)
	if err != nil {
		return nil, err
	}
	if len(es) == 0 {
		return nil, store.ErrNotFound
	}
	return es[0], nil
}

func (q *Queries) EventListBySubject(ctx context.Context, orgID, subjectID string) ([]*shiplog.Event, error) {
	return q.events(ctx, orgID, `SELECT `+eventCols+` FROM events WHERE org_id = ? AND subject_id = ? ORDER BY seq`, orgID, subjectID)
}

func (q *Queries) events(ctx context.Context, orgID, query string, args ...any) ([]*shiplog.Event, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*shiplog.Event
	for rows.Next() {
		r := newEventRow(orgID)
		if err := rows.Scan(r.dest()...); err != nil {
			return nil, err
		}
		e, err := r.event()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// StatusMatrix picks, per product × environment, the newest deployment and
// the newest completed one with window functions (both drivers have them).
func (q *Queries) StatusMatrix(ctx context.Context, orgID string) ([]*store.StatusCell, error) {
	rows, err := q.query(ctx, `WITH ranked AS (
			SELECT d.id, d.status,
				ROW_NUMBER() OVER (PARTITION BY d.product_id, d.environment_id ORDER BY d.id DESC) AS rn_any,
				ROW_NUMBER() OVER (PARTITION BY d.product_id, d.environment_id, d.status = 'completed' ORDER BY d.id DESC) AS rn_status
			FROM deployments d WHERE d.org_id = ?)
		SELECT r.rn_any, `+deploymentCols+deploymentFrom+` JOIN ranked r ON r.id = d.id
		WHERE r.rn_any = 1 OR (r.status = 'completed' AND r.rn_status = 1)
		ORDER BY p.name, e.name, d.id DESC`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.StatusCell
	cells := map[[2]string]*store.StatusCell{}
	for rows.Next() {
		var rnAny int64
		d, err := scanDeployment(scanPrefixed{rows, &rnAny})
		if err != nil {
			return nil, err
		}
		key := [2]string{d.ProductID, d.EnvironmentID}
		c := cells[key]
		if c == nil {
			c = &store.StatusCell{ProductID: d.ProductID, ProductName: d.ProductName, EnvironmentID: d.EnvironmentID,
				EnvironmentName: d.EnvironmentName, EnvironmentType: d.EnvironmentType}
			cells[key] = c
			out = append(out, c)
		}
		if rnAny == 1 {
			c.Latest = d
		}
		if d.Status == shiplog.StatusCompleted && c.Current == nil {
			c.Current = d
		}
	}
	return out, rows.Err()
}

// scanPrefixed scans one leading column into extra, then the rest into dest.
type scanPrefixed struct {
	rows  *sql.Rows
	extra *int64
}

func (s scanPrefixed) Scan(dest ...any) error {
	return s.rows.Scan(append([]any{s.extra}, dest...)...)
}

func (q *Queries) IdempotencyGet(ctx context.Context, orgID, key string, notBefore time.Time) (*store.IdempotentResponse, error) {
	var r store.IdempotentResponse
	var body sql.NullString
	var code sql.NullInt64
	var created int64
	err := q.row(ctx, `SELECT status_code, body, request_hash, created_at FROM idempotency_keys WHERE org_id = ? AND key = ? AND created_at >= ?`,
		orgID, key, micros(notBefore)).Scan(&code, &body, &r.RequestHash, &created)
	if err != nil {
		return nil, q.mapErr(err)
	}
	if !code.Valid {
		// Claimed by a transaction that has not answered: only visible to
		// that same transaction, which never asks.
		return nil, store.ErrNotFound
	}
	r.StatusCode, r.Body, r.CreatedAt = int(code.Int64), rawJSON(body), fromMicros(created)
	return &r, nil
}

func (q *Queries) IdempotencyClaim(ctx context.Context, orgID, key string, now, staleBefore time.Time) error {
	if _, err := q.exec(ctx, `DELETE FROM idempotency_keys WHERE org_id = ? AND key = ? AND created_at < ?`,
		orgID, key, micros(staleBefore)); err != nil {
		return err
	}
	res, err := q.exec(ctx, `INSERT INTO idempotency_keys (org_id, key, created_at) VALUES (?, ?, ?)
		ON CONFLICT (org_id, key) DO NOTHING`, orgID, key, micros(now))
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrConflict
	}
	return nil
}

func (q *Queries) IdempotencyComplete(ctx context.Context, orgID, key string, r *store.IdempotentResponse) error {
	_, err := q.exec(ctx, `UPDATE idempotency_keys SET status_code = ?, body = ?, request_hash = ? WHERE org_id = ? AND key = ?`,
		r.StatusCode, string(r.Body), r.RequestHash, orgID, key)
	return err
}
