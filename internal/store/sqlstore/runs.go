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

type (
	dep = shiplog.Deployment
	bld = shiplog.Build
)

// The runs' columns, in SELECT order: a run field is one line here (and
// its migration). See runColumn.
var deployments = newRunTable("deployments", "d", []runColumn[dep]{
	insertOnly(textCol("id", func(d *dep) *string { return &d.ID })),
	insertOnly(textCol("org_id", func(d *dep) *string { return &d.OrgID })),
	insertOnly(textCol("product_id", func(d *dep) *string { return &d.ProductID })),
	joinedCol("p.name", func(d *dep) *string { return &d.ProductName }),
	insertOnly(textCol("version_id", func(d *dep) *string { return &d.VersionID })),
	joinedCol("v.version", func(d *dep) *string { return &d.Version }),
	insertOnly(textCol("environment_id", func(d *dep) *string { return &d.EnvironmentID })),
	joinedCol("e.name", func(d *dep) *string { return &d.EnvironmentName }),
	joinedCol("e.type", func(d *dep) *shiplog.EnvType { return &d.EnvironmentType }),
	statusCol(func(d *dep) *shiplog.Status { return &d.Status }),
	insertOnly(nullTextCol("invoke_id", func(d *dep) **string { return &d.InvokeID })),
	nullTextCol("deployed_by", func(d *dep) **string { return &d.DeployedBy }),
	nullTextCol("deployed_by_name", func(d *dep) **string { return &d.DeployedByName }),
	nullTextCol("deployed_by_email", func(d *dep) **string { return &d.DeployedByEmail }),
	nullTextCol("scm_sha", func(d *dep) **string { return &d.ScmSHA }),
	nullTextCol("scm_branch", func(d *dep) **string { return &d.ScmBranch }),
	nullTextCol("scm_repository", func(d *dep) **string { return &d.ScmRepository }),
	nullTextCol("build_url", func(d *dep) **string { return &d.BuildURL }),
	nullTextCol("build_number", func(d *dep) **string { return &d.BuildNumber }),
	nullTextCol("deploy_url", func(d *dep) **string { return &d.DeployURL }),
	nullTextCol("source_system", func(d *dep) **string { return &d.SourceSystem }),
	nullTextCol("preflight_status", func(d *dep) **string { return &d.PreflightStatus }),
	credentialCol("preflight_skipped_by", func(d *dep) **shiplog.Credential { return &d.PreflightSkippedBy }),
	jsonCol("extra_metadata", func(d *dep) *json.RawMessage { return &d.ExtraMetadata }),
	nullTimeCol("started_at", func(d *dep) **time.Time { return &d.StartedAt }),
	nullTimeCol("completed_at", func(d *dep) **time.Time { return &d.CompletedAt }),
	timeCol("deployed_at", func(d *dep) *time.Time { return &d.DeployedAt }),
	insertOnly(timeCol("created_at", func(d *dep) *time.Time { return &d.CreatedAt })),
	timeCol("updated_at", func(d *dep) *time.Time { return &d.UpdatedAt }),
})

var builds = newRunTable("builds", "b", []runColumn[bld]{
	insertOnly(textCol("id", func(b *bld) *string { return &b.ID })),
	insertOnly(textCol("org_id", func(b *bld) *string { return &b.OrgID })),
	insertOnly(textCol("product_id", func(b *bld) *string { return &b.ProductID })),
	joinedCol("p.name", func(b *bld) *string { return &b.ProductName }),
	insertOnly(textCol("version_id", func(b *bld) *string { return &b.VersionID })),
	joinedCol("v.version", func(b *bld) *string { return &b.Version }),
	statusCol(func(b *bld) *shiplog.Status { return &b.Status }),
	insertOnly(nullTextCol("invoke_id", func(b *bld) **string { return &b.InvokeID })),
	nullTextCol("built_by", func(b *bld) **string { return &b.BuiltBy }),
	nullTextCol("built_by_name", func(b *bld) **string { return &b.BuiltByName }),
	nullTextCol("built_by_email", func(b *bld) **string { return &b.BuiltByEmail }),
	nullTextCol("scm_sha", func(b *bld) **string { return &b.ScmSHA }),
	nullTextCol("scm_branch", func(b *bld) **string { return &b.ScmBranch }),
	nullTextCol("scm_repository", func(b *bld) **string { return &b.ScmRepository }),
	nullTextCol("build_url", func(b *bld) **string { return &b.BuildURL }),
	nullTextCol("build_number", func(b *bld) **string { return &b.BuildNumber }),
	nullTextCol("source_system", func(b *bld) **string { return &b.SourceSystem }),
	nullTextCol("error_message", func(b *bld) **string { return &b.ErrorMessage }),
	nullTextCol("error_code", func(b *bld) **string { return &b.ErrorCode }),
	jsonCol("extra_metadata", func(b *bld) *json.RawMessage { return &b.ExtraMetadata }),
	nullTimeCol("started_at", func(b *bld) **time.Time { return &b.StartedAt }),
	nullTimeCol("completed_at", func(b *bld) **time.Time { return &b.CompletedAt }),
	insertOnly(timeCol("created_at", func(b *bld) *time.Time { return &b.CreatedAt })),
	timeCol("updated_at", func(b *bld) *time.Time { return &b.UpdatedAt }),
})

const deploymentFrom = ` FROM deployments d JOIN products p ON p.id = d.product_id JOIN versions v ON v.id = d.version_id
	JOIN environments e ON e.id = d.environment_id`

func (q *Queries) LockSubject(ctx context.Context, keys ...string) error {
	if q.d.LockSubject == nil || len(keys) == 0 {
		return nil
	}
	return q.mapErr(q.d.LockSubject(ctx, q.db, keys))
}

// The open run's queries, by invoke id or the newest pending or started.
// The caller binds the joined names (deployments.bound): one index lookup.
var (
	deploymentFindOpen = `SELECT ` + deployments.bound + ` FROM deployments d
		WHERE d.product_id = ? AND d.version_id = ? AND d.environment_id = ? AND d.org_id = ?`
	deploymentFindInvoked = deploymentFindOpen + ` AND d.invoke_id = ? ORDER BY d.id DESC LIMIT 1`
	deploymentFindNewest  = deploymentFindOpen + ` AND d.status IN ('pending', 'started') ORDER BY d.id DESC LIMIT 1`
)

func (q *Queries) DeploymentFindOpen(ctx context.Context, p *store.FindOpenParams) (*shiplog.Deployment, error) {
	// The joined names first, in deployments' order.
	args := []any{p.ProductName, p.Version, p.EnvironmentName, string(p.EnvironmentType), p.ProductID, p.VersionID, p.EnvironmentID, p.OrgID}
	query := deploymentFindNewest
	if p.InvokeID != nil {
		query, args = deploymentFindInvoked, append(args, *p.InvokeID)
	}
	d, err := deployments.scan(q.row(ctx, query, args...))
	return d, q.mapErr(err)
}

func (q *Queries) DeploymentInsert(ctx context.Context, d *shiplog.Deployment) error {
	_, err := q.exec(ctx, deployments.insert, deployments.insertArgs(d)...)
	return err
}

func (q *Queries) DeploymentUpdate(ctx context.Context, d *shiplog.Deployment) error {
	_, err := q.exec(ctx, deployments.update, deployments.updateArgs(d, d.ID)...)
	return err
}

func (q *Queries) DeploymentsRunning(ctx context.Context, orgID, productID, environmentID string) ([]*shiplog.Deployment, error) {
	return runs(ctx, q, deployments, `SELECT `+deployments.list+deploymentFrom+`
		WHERE d.product_id = ? AND d.environment_id = ? AND d.status = 'started' AND d.org_id = ?`, productID, environmentID, orgID)
}

func (q *Queries) DeploymentsOfVersion(ctx context.Context, orgID, productID, versionID string, limit int) ([]*shiplog.Deployment, error) {
	return runs(ctx, q, deployments, `SELECT `+deployments.list+deploymentFrom+`
		WHERE d.product_id = ? AND d.version_id = ? AND d.org_id = ? LIMIT ?`, productID, versionID, orgID, limit)
}

func (q *Queries) DeploymentGet(ctx context.Context, orgID, id string) (*shiplog.Deployment, error) {
	d, err := deployments.scan(q.row(ctx, `SELECT `+deployments.list+deploymentFrom+` WHERE d.org_id = ? AND d.id = ?`, orgID, id))
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
	return runs(ctx, q, deployments, `SELECT `+deployments.list+deploymentFrom+` WHERE `+strings.Join(where, " AND ")+tail, args...)
}

const buildFrom = ` FROM builds b JOIN products p ON p.id = b.product_id JOIN versions v ON v.id = b.version_id`

var (
	buildFindOpen    = `SELECT ` + builds.list + buildFrom + ` WHERE b.org_id = ? AND b.product_id = ? AND b.version_id = ?`
	buildFindInvoked = buildFindOpen + ` AND b.invoke_id = ? ORDER BY b.id DESC LIMIT 1`
	buildFindNewest  = buildFindOpen + ` AND b.status IN ('pending', 'started') ORDER BY b.id DESC LIMIT 1`
)

func (q *Queries) BuildFindOpen(ctx context.Context, p *store.FindOpenParams) (*shiplog.Build, error) {
	args := []any{p.OrgID, p.ProductID, p.VersionID}
	query := buildFindNewest
	if p.InvokeID != nil {
		query, args = buildFindInvoked, append(args, *p.InvokeID)
	}
	b, err := builds.scan(q.row(ctx, query, args...))
	return b, q.mapErr(err)
}

func (q *Queries) BuildInsert(ctx context.Context, b *shiplog.Build) error {
	_, err := q.exec(ctx, builds.insert, builds.insertArgs(b)...)
	return err
}

func (q *Queries) BuildUpdate(ctx context.Context, b *shiplog.Build) error {
	_, err := q.exec(ctx, builds.update, builds.updateArgs(b, b.ID)...)
	return err
}

func (q *Queries) BuildGet(ctx context.Context, orgID, id string) (*shiplog.Build, error) {
	b, err := builds.scan(q.row(ctx, `SELECT `+builds.list+buildFrom+` WHERE b.org_id = ? AND b.id = ?`, orgID, id))
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
	return runs(ctx, q, builds, `SELECT `+builds.list+buildFrom+` WHERE `+strings.Join(where, " AND ")+tail, args...)
}

const eventCols = `seq, id, type, kind, subject_id, product_name, version, environment_name, environment_type, status, actor,
	actor_email, scm_sha, scm_repository, preflight_status, submitted_by, payload, occurred_at`

func (q *Queries) EventInsert(ctx context.Context, e *shiplog.Event) error {
	pe := pendingEvent{e: e, args: eventArgs(e)}
	if q.pending != nil {
		q.pending.events = append(q.pending.events, pe) // deferred.go
		return q.pending.err
	}
	return q.insertEvents(ctx, []pendingEvent{pe})
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
		SELECT r.rn_any, `+deployments.list+deploymentFrom+` JOIN ranked r ON r.id = d.id
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
		d, err := deployments.scan(rows, &rnAny)
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
