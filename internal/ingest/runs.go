package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/rule"
	"github.com/shiplog/shiplog/internal/store"
)

// The two kinds of run, as record drives them. A deployment has an
// environment and is judged by the org's deployment rules (preflight) when
// it starts: a blocked one is recorded as such and answered 409/423/428. A
// pending event is a queue entry, not an attempt to deploy, and is never
// judged. skip_preflight_checks is honoured only when the org's policy lets
// the submitter skip (shiplog.MaySkipPreflight), and is recorded.

func (ev *DeploymentEvent) run() run { return &deploying{ev: ev} }

func (ev *BuildEvent) run() run { return &building{ev: ev} }

func (ev *DeploymentEvent) environment() string { return ev.EnvironmentName }
func (*BuildEvent) environment() string         { return "" }

type deploying struct {
	ev      *DeploymentEvent
	d       *shiplog.Deployment
	env     *shiplog.Environment
	verdict rule.Verdict
}

func (r *deploying) event() *RunEvent { return &r.ev.RunEvent }

func (r *deploying) skips() bool  { return r.ev.SkipsPreflight() }
func (r *deploying) judged() bool { return r.ev.Status == shiplog.StatusStarted && !r.skips() }

// SettingsLock is the lock a change of an org's settings takes, and so does
// a deployment that skips the preflight checks, so that the two never
// interleave: a skip is decided under the policy in force when it commits.
func SettingsLock(orgID string) string { return "org-settings/" + orgID }

// prepare decides a skip under the org's policy, holding SettingsLock.
func (r *deploying) prepare(ctx context.Context, tx store.Tx, orgID string, by shiplog.Credential) error {
	if !r.skips() {
		return nil
	}
	if err := tx.LockSubject(ctx, SettingsLock(orgID)); err != nil {
		return err
	}
	set, err := Settings(ctx, tx, orgID)
	if err != nil {
		return err
	}
	return shiplog.MaySkipPreflight(set.SkipPreflightChecks, by)
}

func (r *deploying) subject(ctx context.Context, tx store.Tx, orgID string, c *catalog, now time.Time) ([]string, error) {
	r.env = c.env
	if r.env == nil {
		var err error
		name := r.ev.EnvironmentName
		if r.env, err = tx.EnvironmentEnsure(ctx, orgID, name, shiplog.InferEnvType(name), now); err != nil {
			return nil, err
		}
	}
	run := fmt.Sprintf("deployment/%s/%s/%s", c.product.ID, c.version.ID, r.env.ID)
	if r.judged() {
		// Concurrent starts of other versions in the same environment must
		// not both pass the concurrency check. Always taken before the
		// run's lock, so the two never wait on each other in turn.
		return []string{fmt.Sprintf("preflight/%s/%s", c.product.ID, r.env.ID), run}, nil
	}
	return []string{run}, nil
}

func (r *deploying) find(ctx context.Context, tx store.Tx, orgID string, c *catalog) error {
	var err error
	r.d, err = tx.DeploymentFindOpen(ctx, &store.FindOpenParams{OrgID: orgID, ProductID: c.product.ID,
		VersionID: c.version.ID, EnvironmentID: r.env.ID, InvokeID: r.ev.InvokeID, ProductName: c.product.Name,
		Version: c.version.Version, EnvironmentName: r.env.Name, EnvironmentType: r.env.Type})
	return err
}

func (r *deploying) create(orgID string, c *catalog, now time.Time) {
	r.d = &shiplog.Deployment{ID: shiplog.NewID(), OrgID: orgID, ProductID: c.product.ID, ProductName: c.product.Name,
		VersionID: c.version.ID, Version: c.version.Version, EnvironmentID: r.env.ID, EnvironmentName: r.env.Name,
		EnvironmentType: r.env.Type, InvokeID: r.ev.InvokeID, CreatedAt: now, Status: r.ev.Status}
}

func (r *deploying) judge(ctx context.Context, tx store.Tx, s *Service, orgID string, c *catalog, isNew bool, now time.Time,
	by shiplog.Credential) (shiplog.Status, shiplog.EventType, error) {
	d, starts := r.d, r.ev.Status == shiplog.StatusStarted
	current := ""
	if !isNew {
		current = d.ID
		if d.PreflightStatus != nil && *d.PreflightStatus == PreflightFailed && starts {
			// A run refused by preflight may be tried again (same invoke id).
			d.Status = r.ev.Status
		}
	}
	switch {
	case r.judged():
		var err error
		if r.verdict, err = Evaluate(ctx, tx, orgID, rule.Attempt{ProductName: c.product.Name, Version: c.version.Version,
			EnvironmentName: r.env.Name}, Subject{ProductID: c.product.ID, VersionID: c.version.ID, EnvironmentID: r.env.ID,
			CurrentRun: current}, now, s.BaseURL); err != nil {
			return "", "", err
		}
		ps := r.verdict.PreflightStatus()
		d.PreflightStatus, d.PreflightSkippedBy = &ps, nil
	case r.skips(): // allowed by prepare
		ps := PreflightSkipped
		d.PreflightStatus, d.PreflightSkippedBy = &ps, submitter(by)
	}
	if r.verdict.Blocked != nil {
		// The attempt is kept, visible and audited, but nothing was deployed.
		d.Status = shiplog.StatusAborted
		return shiplog.StatusAborted, shiplog.EventDeploymentPreflightFailed, nil
	}
	return r.ev.Status, shiplog.TypeOf(shiplog.KindDeployment, r.ev.Status), nil
}

func (r *deploying) fields() runFields {
	d := r.d
	return runFields{id: &d.ID, productName: &d.ProductName, version: &d.Version, status: &d.Status, by: &d.DeployedBy,
		byName: &d.DeployedByName, byEmail: &d.DeployedByEmail, sha: &d.ScmSHA, repo: &d.ScmRepository, meta: &d.ExtraMetadata,
		started: &d.StartedAt, completed: &d.CompletedAt, updated: &d.UpdatedAt}
}

func (r *deploying) given() { given(deploymentFields, r.ev, r.d) }

// ended: a deployment's completed_at counts on the event that ends it.
func (r *deploying) ended(now time.Time) time.Time {
	if r.ev.CompletedAt != nil && r.ev.Status.Terminal() {
		return *r.ev.CompletedAt
	}
	return now
}

func (r *deploying) finish(at time.Time) error {
	r.d.DeployedAt = at
	var err error
	r.d.ExtraMetadata, err = reportOnly(r.d.ExtraMetadata, r.verdict)
	return err
}

func (r *deploying) save(ctx context.Context, tx store.Tx, isNew bool) error {
	if isNew {
		return tx.DeploymentInsert(ctx, r.d)
	}
	return tx.DeploymentUpdate(ctx, r.d)
}

func (r *deploying) describe(e *shiplog.Event) {
	e.Kind, e.EnvironmentName, e.EnvironmentType = shiplog.KindDeployment, r.d.EnvironmentName, r.d.EnvironmentType
	e.PreflightStatus = deref(r.d.PreflightStatus)
}

func (r *deploying) answer(e *shiplog.Event, ds []*shiplog.Delivery) (*Result, error) {
	if v := r.verdict.Blocked; v != nil {
		body, err := json.Marshal(v.Body())
		if err != nil {
			return nil, err
		}
		return &Result{StatusCode: v.HTTPStatus, Body: body, Event: e, Deliveries: ds}, nil
	}
	return answer(apiv1.DeploymentEventResponse{Deployment: r.d, EventType: e.Type}, e, ds)
}

type building struct {
	ev *BuildEvent
	b  *shiplog.Build
}

func (r *building) event() *RunEvent { return &r.ev.RunEvent }

func (*building) prepare(context.Context, store.Tx, string, shiplog.Credential) error { return nil }

func (r *building) subject(_ context.Context, _ store.Tx, _ string, c *catalog, _ time.Time) ([]string, error) {
	return []string{fmt.Sprintf("build/%s/%s", c.product.ID, c.version.ID)}, nil
}

func (r *building) find(ctx context.Context, tx store.Tx, orgID string, c *catalog) error {
	var err error
	r.b, err = tx.BuildFindOpen(ctx, &store.FindOpenParams{OrgID: orgID, ProductID: c.product.ID, VersionID: c.version.ID,
		InvokeID: r.ev.InvokeID})
	return err
}

func (r *building) create(orgID string, c *catalog, now time.Time) {
	r.b = &shiplog.Build{ID: shiplog.NewID(), OrgID: orgID, ProductID: c.product.ID, ProductName: c.product.Name,
		VersionID: c.version.ID, Version: c.version.Version, InvokeID: r.ev.InvokeID, CreatedAt: now, Status: r.ev.Status}
}

func (r *building) judge(context.Context, store.Tx, *Service, string, *catalog, bool, time.Time,
	shiplog.Credential) (shiplog.Status, shiplog.EventType, error) {
	return r.ev.Status, shiplog.TypeOf(shiplog.KindBuild, r.ev.Status), nil
}

func (r *building) fields() runFields {
	b := r.b
	return runFields{id: &b.ID, productName: &b.ProductName, version: &b.Version, status: &b.Status, by: &b.BuiltBy,
		byName: &b.BuiltByName, byEmail: &b.BuiltByEmail, sha: &b.ScmSHA, repo: &b.ScmRepository, meta: &b.ExtraMetadata,
		started: &b.StartedAt, completed: &b.CompletedAt, updated: &b.UpdatedAt}
}

func (r *building) given() { given(buildFields, r.ev, r.b) }

// ended: a build's completed_at counts whenever it is given.
func (r *building) ended(now time.Time) time.Time {
	if r.ev.CompletedAt != nil {
		return *r.ev.CompletedAt
	}
	return now
}

func (*building) finish(time.Time) error { return nil }

func (r *building) save(ctx context.Context, tx store.Tx, isNew bool) error {
	if isNew {
		return tx.BuildInsert(ctx, r.b)
	}
	return tx.BuildUpdate(ctx, r.b)
}

func (*building) describe(e *shiplog.Event) { e.Kind = shiplog.KindBuild }

func (r *building) answer(e *shiplog.Event, ds []*shiplog.Delivery) (*Result, error) {
	return answer(apiv1.BuildEventResponse{Build: r.b, EventType: e.Type}, e, ds)
}
