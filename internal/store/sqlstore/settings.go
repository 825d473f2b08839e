package sqlstore

import (
	"context"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func (q *Queries) OrgSettingsGet(ctx context.Context, orgID string) (*shiplog.OrgSettings, error) {
	var s shiplog.OrgSettings
	var by string
	var at int64
	err := q.row(ctx, `SELECT skip_preflight, stale_run_minutes, updated_at, updated_by FROM org_settings WHERE org_id = ?`,
		orgID).Scan(&s.SkipPreflightChecks, &s.StaleRunMinutes, &at, &by)
	if err != nil {
		return nil, q.mapErr(err)
	}
	t := fromMicros(at)
	s.UpdatedAt, s.UpdatedBy = &t, &by
	return &s, nil
}

func (q *Queries) OrgSettingsPut(ctx context.Context, p *store.OrgSettingsPutParams) error {
	_, err := q.exec(ctx, `INSERT INTO org_settings (org_id, skip_preflight, stale_run_minutes, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (org_id) DO UPDATE SET skip_preflight = excluded.skip_preflight,
			stale_run_minutes = excluded.stale_run_minutes, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		p.OrgID, string(p.Settings.SkipPreflightChecks), p.Settings.StaleRunMinutes, micros(p.Now), p.UpdatedBy)
	if err != nil {
		return err
	}
	return q.changed(ctx, p.OrgID)
}
