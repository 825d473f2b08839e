package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/shiplog/shiplog/internal/store"
)

// The DORA reads stay proportional to the window: the deployments finished
// in it come from the partial index on (org, completed_at, …), and every row
// of context is one probe per product × environment or per version in it,
// ORDER BY … LIMIT 1 on an index, never a scan of the history before the
// window. The pair probes repeat the partial
// indexes' own condition, status IN ('completed', 'failed'), word for word:
// SQLite uses a partial index only when the query states its WHERE term.
// The version probe leaves it out and orders by id, so that both databases
// take the (product, version, environment, id) index, which holds only that
// version's runs, instead of walking the pair's history in time order; it
// returns the first completed run recorded, which is all a redeploy needs.

const doraCols = `d.id, p.name, e.name, e.type, v.version, d.status, d.preflight_status,
	CASE WHEN d.status = 'completed' AND d.extra_metadata LIKE '%commit%' THEN d.extra_metadata END,
	d.started_at, d.completed_at, d.deployed_at`

func scanDora(sc interface{ Scan(...any) error }) (*store.DoraDeployment, error) {
	var d store.DoraDeployment
	var pre, meta sql.NullString
	var started, completed sql.NullInt64
	var deployed int64
	if err := sc.Scan(&d.ID, &d.ProductName, &d.EnvironmentName, &d.EnvironmentType, &d.Version, &d.Status, &pre, &meta,
		&started, &completed, &deployed); err != nil {
		return nil, err
	}
	d.PreflightStatus, d.ExtraMetadata = strPtr(pre), rawJSON(meta)
	d.StartedAt, d.CompletedAt, d.DeployedAt = timePtr(started), timePtr(completed), fromMicros(deployed)
	return &d, nil
}

// doraScope is the condition "alias finished in the window, in scope".
func doraScope(alias string, p *store.DoraHistoryParams) (string, []any) {
	where := []string{alias + ".org_id = ?", alias + ".status IN ('completed', 'failed')",
		alias + ".completed_at >= ?", alias + ".completed_at < ?"}
	args := []any{p.OrgID, micros(p.From), micros(p.To)}
	if p.ProductID != "" {
		where, args = append(where, alias+".product_id = ?"), append(args, p.ProductID)
	}
	if p.EnvironmentID != "" {
		where, args = append(where, alias+".environment_id = ?"), append(args, p.EnvironmentID)
	}
	return strings.Join(where, " AND "), args
}

func (q *Queries) DoraHistory(ctx context.Context, p *store.DoraHistoryParams) (*store.DoraHistory, error) {
	limit := p.Limit
	if limit <= 0 || limit > store.MaxDoraDeployments {
		limit = store.MaxDoraDeployments
	}
	scope, scopeArgs := doraScope("d", p)
	h := &store.DoraHistory{}
	var err error
	h.Window, err = q.doraRows(ctx, `SELECT `+doraCols+deploymentFrom+` WHERE `+scope+` ORDER BY d.completed_at, d.id LIMIT ?`,
		append(scopeArgs, limit+1)...)
	if err != nil {
		return nil, err
	}
	if len(h.Window) > limit {
		h.Window, h.Truncated = h.Window[:limit], true
		return h, nil
	}
	if len(h.Window) == 0 {
		return h, nil
	}
	// win is the window's distinct product × environment × version ×
	// status, read once (from the covering index) for every probe.
	x, xArgs := doraScope("x", p)
	win := `WITH win AS MATERIALIZED (SELECT DISTINCT x.product_id, x.environment_id, x.version_id, x.status
		FROM deployments x WHERE ` + x + `)`
	h.Context, err = q.doraRows(ctx, win+`
		SELECT `+doraCols+deploymentFrom+` WHERE d.org_id = ? AND d.id IN (
		SELECT (SELECT o.id FROM deployments o
			WHERE o.product_id = w.product_id AND o.environment_id = w.environment_id
				AND o.status IN ('completed', 'failed') AND o.completed_at < ?
				AND (o.status = 'completed' OR COALESCE(o.preflight_status, '') <> 'failed')
			ORDER BY o.completed_at DESC, o.id DESC LIMIT 1)
		FROM (SELECT DISTINCT product_id, environment_id FROM win) w
		UNION
		SELECT (SELECT o.id FROM deployments o
			WHERE o.product_id = w.product_id AND o.environment_id = w.environment_id
				AND o.status IN ('completed', 'failed') AND o.status = 'completed' AND o.completed_at >= ?
			ORDER BY o.completed_at, o.id LIMIT 1)
		FROM (SELECT DISTINCT product_id, environment_id FROM win) w
		UNION
		SELECT (SELECT o.id FROM deployments o
			WHERE o.product_id = w.product_id AND o.version_id = w.version_id AND o.environment_id = w.environment_id
				AND o.status = 'completed' AND o.completed_at < ?
			ORDER BY o.id LIMIT 1)
		FROM win w WHERE w.status = 'completed')
		ORDER BY d.completed_at, d.id`, append(xArgs, p.OrgID, micros(p.From), micros(p.To), micros(p.From))...)
	if err != nil {
		return nil, err
	}
	h.Builds, err = q.doraBuilds(ctx, win+`
		SELECT p.name, v.version,
			(SELECT MIN(b.completed_at) FROM builds b
				WHERE b.product_id = w.product_id AND b.version_id = w.version_id AND b.status = 'completed' AND b.org_id = ?)
		FROM (SELECT DISTINCT product_id, version_id FROM win WHERE status = 'completed') w
		JOIN products p ON p.id = w.product_id JOIN versions v ON v.id = w.version_id
		ORDER BY p.name, v.version`, append(xArgs, p.OrgID)...)
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (q *Queries) doraRows(ctx context.Context, query string, args ...any) ([]*store.DoraDeployment, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.DoraDeployment
	for rows.Next() {
		d, err := scanDora(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

func (q *Queries) doraBuilds(ctx context.Context, query string, args ...any) ([]*store.DoraBuild, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*store.DoraBuild
	for rows.Next() {
		var b store.DoraBuild
		var at sql.NullInt64
		if err := rows.Scan(&b.ProductName, &b.Version, &at); err != nil {
			return nil, err
		}
		if at.Valid {
			b.CompletedAt = fromMicros(at.Int64)
			out = append(out, &b)
		}
	}
	return out, rows.Err()
}
