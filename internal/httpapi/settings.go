package httpapi

import (
	"context"
	"net/http"
	"strings"
	"unicode"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/store"
)

// The org's settings (GET/PATCH /org-settings/): who may skip the preflight
// checks, and the stale-run horizon. Everyone in the org may read them (a
// pipeline may want to know); only owners and admins change them.

func (s *Server) getOrgSettings(w http.ResponseWriter, r *http.Request) error {
	set, err := ingest.Settings(r.Context(), s.Store, principal(r).OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, set)
	return nil
}

func (s *Server) patchOrgSettings(w http.ResponseWriter, r *http.Request) error {
	p := principal(r) // owners and admins: the permission table
	var in apiv1.OrgSettingsPatch
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.SkipPreflightChecks == nil && in.StaleRunMinutes == nil {
		return invalid("Name a setting to change: 'skip_preflight_checks' (%s) or 'stale_run_minutes'",
			strings.Join(policyNames(), ", "))
	}
	var out *shiplog.OrgSettings
	err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		// The lock a skipping deployment takes: the new policy applies to
		// every skip that commits after this change does.
		if err := tx.LockSubject(ctx, ingest.SettingsLock(p.OrgID)); err != nil {
			return err
		}
		set, err := ingest.Settings(ctx, tx, p.OrgID)
		if err != nil {
			return err
		}
		if in.SkipPreflightChecks != nil {
			set.SkipPreflightChecks = shiplog.SkipPolicy(*in.SkipPreflightChecks)
		}
		if in.StaleRunMinutes != nil {
			set.StaleRunMinutes = *in.StaleRunMinutes
		}
		if err := set.Validate(); err != nil {
			return err
		}
		c := p.Credential()
		if err := tx.OrgSettingsPut(ctx, &store.OrgSettingsPutParams{OrgID: p.OrgID, Settings: *set, UpdatedBy: c.String(),
			Now: s.Clock.Now()}); err != nil {
			return err
		}
		out, err = tx.OrgSettingsGet(ctx, p.OrgID)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func policyNames() []string {
	out := make([]string, len(shiplog.SkipPolicies))
	for i, p := range shiplog.SkipPolicies {
		out[i] = string(p)
	}
	return out
}

// maxAbortReason bounds the reason kept on the run's timeline.
const maxAbortReason = 1000

func (s *Server) abortDeployment(w http.ResponseWriter, r *http.Request) error {
	p := principal(r) // org API keys and people who may deploy: the permission table
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiv1.AbortInput
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	in.Reason = strings.TrimSpace(in.Reason)
	if len(in.Reason) > maxAbortReason {
		return invalid("Field 'reason' is too long (limit %d bytes)", maxAbortReason)
	}
	if strings.ContainsFunc(in.Reason, func(c rune) bool { return unicode.IsControl(c) && c != '\n' && c != '\t' }) {
		return invalid("Field 'reason' must not contain control characters")
	}
	res, err := s.Ingest.Abort(r.Context(), p.OrgID, id, p.Credential(), in.Reason)
	if err != nil {
		return err
	}
	writeResult(w, res)
	return nil
}
