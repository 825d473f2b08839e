// Package doradb computes an org's DORA report from the store: it resolves
// the product and environment names, reads the window and its context
// (store.DoraReader) and hands the records to the pure internal/dora. The
// API handler and the console both call Load.
package doradb

import (
	"context"
	"errors"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/dora"
	"github.com/shiplog/shiplog/internal/store"
)

// Query selects what a report covers.
type Query struct {
	ProductName     string // "": every product
	EnvironmentName string // "": every environment
	// EnvironmentType narrows to environments of one type ("": any): the
	// console's headline is production's, where a change reaches people.
	EnvironmentType shiplog.EnvType
	Window          dora.Window
}

// Load computes the report of q for the org. An unknown product or
// environment name is ENOTFOUND, naming the query parameter; a window with
// more deployments than the store reads at once (store.MaxDoraDeployments)
// is EINVALID, asking for a narrower query.
func Load(ctx context.Context, r store.Reader, orgID string, q Query) (*dora.Result, error) {
	p := &store.DoraHistoryParams{OrgID: orgID, From: q.Window.From, To: q.Window.To, Limit: store.MaxDoraDeployments}
	if q.ProductName != "" {
		pr, err := r.ProductByName(ctx, orgID, q.ProductName)
		if errors.Is(err, store.ErrNotFound) {
			return nil, shiplog.Errorf(shiplog.ENOTFOUND, "No product named '%s' (query parameter 'product_name')", q.ProductName)
		}
		if err != nil {
			return nil, err
		}
		p.ProductID = pr.ID
	}
	if q.EnvironmentName != "" {
		env, err := r.EnvironmentByName(ctx, orgID, q.EnvironmentName)
		if errors.Is(err, store.ErrNotFound) {
			return nil, shiplog.Errorf(shiplog.ENOTFOUND, "No environment named '%s' (query parameter 'environment_name')", q.EnvironmentName)
		}
		if err != nil {
			return nil, err
		}
		p.EnvironmentID = env.ID
	}
	h, err := r.DoraHistory(ctx, p)
	if err != nil {
		return nil, err
	}
	if h.Truncated {
		return nil, shiplog.Errorf(shiplog.EINVALID, "More than %d deployments finished in this window; "+
			"choose a shorter window ('from', 'to'), one product ('product_name') or one environment ('environment_name')",
			store.MaxDoraDeployments)
	}
	if q.EnvironmentType != "" {
		h.Window, h.Context = ofType(h.Window, q.EnvironmentType), ofType(h.Context, q.EnvironmentType)
	}
	return dora.Compute(Input(q.Window, h)), nil
}

// ofType keeps the deployments to environments of type t. Every metric
// is computed per product × environment, so dropping whole environments
// leaves the others' figures as they were.
func ofType(rows []*store.DoraDeployment, t shiplog.EnvType) []*store.DoraDeployment {
	out := rows[:0:0]
	for _, d := range rows {
		if d.EnvironmentType == t {
			out = append(out, d)
		}
	}
	return out
}

// Input turns what the store read into the records dora computes from.
func Input(w dora.Window, h *store.DoraHistory) dora.Input {
	in := dora.Input{Window: w, Deployments: make([]dora.Deployment, 0, len(h.Window)+len(h.Context))}
	for _, rows := range [][]*store.DoraDeployment{h.Context, h.Window} {
		for _, d := range rows {
			in.Deployments = append(in.Deployments, Deployment(d))
		}
	}
	for _, b := range h.Builds {
		in.Builds = append(in.Builds, dora.Build{Product: b.ProductName, Version: b.Version, Status: shiplog.StatusCompleted,
			CompletedAt: b.CompletedAt})
	}
	return in
}

// Deployment converts one stored row, reading its commit time.
func Deployment(d *store.DoraDeployment) dora.Deployment {
	out := dora.Deployment{ID: d.ID, Product: d.ProductName, Environment: d.EnvironmentName, EnvironmentType: d.EnvironmentType,
		Version: d.Version, Status: d.Status, StartedAt: d.StartedAt, CompletedAt: d.CompletedAt, DeployedAt: d.DeployedAt}
	if d.PreflightStatus != nil {
		out.PreflightStatus = *d.PreflightStatus
	}
	if t, ok := dora.CommitTime(d.ExtraMetadata); ok {
		out.CommitAt = &t
	}
	return out
}
