package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/store"
)

// Abort marks a pending or started run aborted on someone's word: its
// pipeline died before it could say how the run ended, and the run would
// otherwise block its product in its environment (until it goes stale). It
// records a deployment.aborted event naming who did it (submitted_by) and
// why (its payload's reason), and sends its notifications like any other. A run that has finished is a 409: its
// outcome is known and stays.
func (s *Service) Abort(ctx context.Context, orgID, id string, by shiplog.Credential, reason string) (*Result, error) {
	d, err := s.Store.DeploymentGet(ctx, orgID, id)
	if err != nil {
		return nil, err
	}
	var res *Result
	// The run's own keys and lock: a terminal event racing in from CI and
	// this abort are applied one after the other, never interleaved.
	err = s.Store.WriteKeyed(ctx, orgID+"/"+d.ProductName, func(ctx context.Context, tx store.Tx) error {
		if err := tx.LockSubject(ctx, fmt.Sprintf("deployment/%s/%s/%s", d.ProductID, d.VersionID, d.EnvironmentID)); err != nil {
			return err
		}
		cur, err := tx.DeploymentGet(ctx, orgID, id)
		if err != nil {
			return err
		}
		if cur.Status.Terminal() {
			return shiplog.Errorf(shiplog.ECONFLICT, "Deployment %s is already %s; only a pending or started run can be marked aborted",
				id, cur.Status)
		}
		now := s.Clock.Now()
		cur.Status = shiplog.StatusAborted
		cur.CompletedAt, cur.DeployedAt, cur.UpdatedAt = &now, now, now
		if err := tx.DeploymentUpdate(ctx, cur); err != nil {
			return err
		}
		payload, err := json.Marshal(struct {
			Status string `json:"status"`
			Reason string `json:"reason,omitempty"`
		}{string(shiplog.StatusAborted), reason})
		if err != nil {
			return err
		}
		e := &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: shiplog.TypeOf(shiplog.KindDeployment, shiplog.StatusAborted),
			Kind: shiplog.KindDeployment, SubjectID: cur.ID, ProductName: cur.ProductName, Version: cur.Version,
			EnvironmentName: cur.EnvironmentName, EnvironmentType: cur.EnvironmentType, Status: shiplog.StatusAborted,
			Actor: deployer(cur), ActorEmail: deref(cur.DeployedByEmail), ScmSHA: deref(cur.ScmSHA),
			ScmRepository: deref(cur.ScmRepository), PreflightStatus: deref(cur.PreflightStatus), SubmittedBy: submitter(by),
			Payload: payload, OccurredAt: now}
		ds, err := s.Emit(ctx, tx, e)
		if err != nil {
			return err
		}
		body, err := json.Marshal(apiv1.DeploymentEventResponse{Deployment: cur, EventType: e.Type})
		if err != nil {
			return err
		}
		res = &Result{StatusCode: http.StatusOK, Body: body, Event: e, Deliveries: ds}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.committed(res)
	s.EventsCommitted(orgID)
	return res, nil
}
