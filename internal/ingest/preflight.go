package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/rule"
	"github.com/shiplog/shiplog/internal/store"
)

// Preflight statuses stored on deployments and carried in webhooks.
const (
	PreflightPassed  = "passed"
	PreflightFailed  = "failed"
	PreflightSkipped = "skipped"
)

// RuleFrom turns a stored rule into the engine's.
func RuleFrom(r *shiplog.Rule) (rule.Rule, error) {
	var rr rule.Rule
	if len(r.Config) > 0 {
		if err := json.Unmarshal(r.Config, &rr); err != nil {
			return rr, fmt.Errorf("rule %s: %w", r.ID, err)
		}
	}
	rr.ID, rr.Name, rr.Type, rr.Status = r.ID, r.Name, rule.Type(r.Type), rule.Status(r.Status)
	return rr, nil
}

// maxHistory bounds what one evaluation reads; a version is rarely deployed
// to more environments than this.
const maxHistory = 500

// Evaluate reads the rules and history an attempt is judged on and returns
// the verdict. currentRun is the deployment the event would update (not a
// concurrent one), "" for a new run.
func Evaluate(ctx context.Context, r store.Reader, orgID string, a rule.Attempt, currentRun, versionID string, now time.Time) (rule.Verdict, error) {
	stored, err := r.RuleList(ctx, orgID)
	if err != nil {
		return rule.Verdict{}, err
	}
	var rules []rule.Rule
	for _, s := range stored {
		rr, err := RuleFrom(s)
		if err != nil {
			return rule.Verdict{}, err
		}
		rules = append(rules, rr)
	}
	var h rule.History
	page := store.Page{Limit: maxHistory}
	if versionID != "" {
		ds, err := r.DeploymentList(ctx, orgID, store.DeploymentFilter{ProductName: a.ProductName, Version: a.Version}, page)
		if err != nil {
			return rule.Verdict{}, err
		}
		for _, d := range ds {
			h.VersionDeployments = append(h.VersionDeployments, ruleDeployment(d))
		}
		as, err := r.VersionApprovalList(ctx, orgID, versionID)
		if err != nil {
			return rule.Verdict{}, err
		}
		for _, ap := range as {
			env := ""
			if ap.EnvironmentName != nil {
				env = *ap.EnvironmentName
			}
			h.VersionApprovals = append(h.VersionApprovals, rule.VersionApproval{Type: ap.ApprovalType, EnvironmentName: env, At: ap.CreatedAt})
		}
	}
	running, err := r.DeploymentList(ctx, orgID, store.DeploymentFilter{ProductName: a.ProductName, EnvironmentName: a.EnvironmentName,
		Status: shiplog.StatusStarted}, page)
	if err != nil {
		return rule.Verdict{}, err
	}
	for _, d := range running {
		if d.ID != currentRun {
			h.Running = append(h.Running, ruleDeployment(d))
		}
	}
	drs, err := r.DRList(ctx, orgID, store.DRFilter{Statuses: []shiplog.DRStatus{shiplog.DRInProgress, shiplog.DRApproved}}, page)
	if err != nil {
		return rule.Verdict{}, err
	}
	for _, d := range drs {
		if !slices.Contains(d.Items, shiplog.DRItem{ProductName: a.ProductName, Version: a.Version}) {
			continue
		}
		rd := rule.DR{ID: d.ID, Name: d.Name, Status: string(d.Status), EnvironmentNames: d.EnvironmentNames}
		for _, it := range d.Items {
			rd.Items = append(rd.Items, rule.DRItem{ProductName: it.ProductName, Version: it.Version})
		}
		for _, sl := range d.Slots {
			rd.Slots = append(rd.Slots, rule.Slot{ApprovalType: sl.ApprovalType, Status: string(sl.Status), Required: sl.Required})
		}
		h.DRs = append(h.DRs, rd)
	}
	a.DeploymentID = currentRun
	v := rule.Evaluate(rules, a, h, now)
	if b := v.Blocked; b != nil {
		addApproverRoles(b)
	}
	return v, nil
}

// addApproverRoles names who could give the missing approvals, as the
// public clients show it (details.approver_roles); roles are ours, not the
// engine's.
func addApproverRoles(v *rule.Violation) {
	missing, ok := v.Details["missing_approval_types"].([]string)
	if !ok {
		return
	}
	var roles []string
	for _, t := range missing {
		for _, r := range shiplog.ApproverRoles(t) {
			if !slices.Contains(roles, r) {
				roles = append(roles, r)
			}
		}
	}
	v.Details["approver_roles"] = roles
}

func ruleDeployment(d *shiplog.Deployment) rule.Deployment {
	rd := rule.Deployment{ID: d.ID, ProductName: d.ProductName, Version: d.Version, EnvironmentName: d.EnvironmentName, Status: string(d.Status)}
	if d.StartedAt != nil {
		rd.StartedAt = *d.StartedAt
	}
	if d.CompletedAt != nil {
		rd.CompletedAt = *d.CompletedAt
	}
	return rd
}

// reportOnly adds the evaluated rules to a deployment's metadata when any
// report-only rule failed, where the public clients look for them.
func reportOnly(meta json.RawMessage, v rule.Verdict) (json.RawMessage, error) {
	if len(v.Warnings) == 0 {
		return meta, nil
	}
	ps, err := json.Marshal(map[string]any{"preflight_status": map[string]any{"status": v.PreflightStatus(), "rules_evaluated": v.Evaluated}})
	if err != nil {
		return nil, err
	}
	return mergeMetadata(meta, ps)
}
