package ingest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// Subject names by id what an attempt is about; empty ids are rows that do
// not exist yet (nothing of theirs to read). CurrentRun is the deployment
// the event would update, which is not a concurrent run.
type Subject struct {
	ProductID, VersionID, EnvironmentID, CurrentRun string
}

// Settings returns the org's settings, the defaults when it never changed
// them.
func Settings(ctx context.Context, r store.Reader, orgID string) (*shiplog.OrgSettings, error) {
	set, err := r.OrgSettingsGet(ctx, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return shiplog.DefaultOrgSettings(), nil
	}
	return set, err
}

// Evaluate reads the rules and the history they need, by id through the
// indexes made for it (an event must not cost more as history grows), and
// returns the verdict. baseURL is the console's, for the way out of a
// concurrency refusal.
func Evaluate(ctx context.Context, r store.Reader, orgID string, a rule.Attempt, s Subject, now time.Time, baseURL string) (rule.Verdict, error) {
	cfg, err := r.OrgConfig(ctx, orgID)
	if err != nil {
		return rule.Verdict{}, err
	}
	stored, set := cfg.Rules, cfg.Settings
	if set == nil {
		set = shiplog.DefaultOrgSettings()
	}
	var rules []rule.Rule
	need := map[rule.Type]bool{}
	for _, sr := range stored {
		rr, err := RuleFrom(sr)
		if err != nil {
			return rule.Verdict{}, err
		}
		if rr.Status != rule.StatusDisabled {
			need[rr.Type] = true
		}
		rules = append(rules, rr)
	}
	h := rule.History{StaleAfter: set.StaleAfter()}
	if s.VersionID != "" && (need[rule.TypeFlow] || need[rule.TypeVersionApprovalRequired]) {
		ds, err := r.DeploymentsOfVersion(ctx, orgID, s.ProductID, s.VersionID, maxHistory)
		if err != nil {
			return rule.Verdict{}, err
		}
		for _, d := range ds {
			h.VersionDeployments = append(h.VersionDeployments, ruleDeployment(d))
		}
	}
	if s.VersionID != "" && need[rule.TypeVersionApprovalRequired] {
		as, err := r.VersionApprovalList(ctx, orgID, s.VersionID)
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
	if s.ProductID != "" && s.EnvironmentID != "" {
		running, err := r.DeploymentsRunning(ctx, orgID, s.ProductID, s.EnvironmentID)
		if err != nil {
			return rule.Verdict{}, err
		}
		for _, d := range running {
			if d.ID != s.CurrentRun {
				h.Running = append(h.Running, ruleDeployment(d))
			}
		}
	}
	if need[rule.TypeDeploymentRequestRequired] {
		drs, err := r.DRList(ctx, orgID, store.DRFilter{Statuses: []shiplog.DRStatus{shiplog.DRInProgress, shiplog.DRApproved}},
			store.Page{Limit: maxHistory})
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
	}
	a.DeploymentID = s.CurrentRun
	v := rule.Evaluate(rules, a, h, now)
	if b := v.Blocked; b != nil {
		addApproverRoles(b)
		addWayOut(b, baseURL)
	}
	return v, nil
}

// addWayOut tells how to clear the run a concurrency refusal names: it may
// be a run whose pipeline died before it could report the outcome.
func addWayOut(v *rule.Violation, baseURL string) {
	id, ok := v.Details["conflicting_deployment_id"].(string)
	if v.Code != rule.CodeConcurrentDeployment || !ok || !shiplog.ValidID(id) {
		return
	}
	page := strings.TrimRight(baseURL, "/") + "/ui/deployments/" + id
	v.Details["conflicting_deployment_url"] = page
	v.Message += fmt.Sprintf("; if it is stuck, mark it aborted: \"Mark aborted\" on %s, or POST /deployments/%s/abort", page, id)
}

func ruleDeployment(d *shiplog.Deployment) rule.Deployment {
	rd := rule.Deployment{ID: d.ID, ProductName: d.ProductName, Version: d.Version, EnvironmentName: d.EnvironmentName,
		Status: string(d.Status), LastEventAt: d.UpdatedAt, DeployedBy: deployer(d)}
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
