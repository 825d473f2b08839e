// Package approval governs releases: deployment requests with approval
// slots (an explicit state machine, docs/governance.md) and version
// sign-offs. Every decision records who, under which role, when and why,
// and emits its event through the same outbox as deployment events.
package approval

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify/webhook"
	"github.com/shiplog/shiplog/internal/store"
)

// Emitter writes an event and its deliveries in a transaction and, after
// commit, hands the deliveries on and announces the org's new events
// (ingest.Service does all three).
type Emitter interface {
	Emit(ctx context.Context, tx store.Tx, e *shiplog.Event) ([]*shiplog.Delivery, error)
	Committed(ds []*shiplog.Delivery)
	EventsCommitted(orgID string)
}

// Service runs deployment requests and version approvals.
type Service struct {
	Store   store.Store
	Clock   shiplog.Clock
	Events  Emitter
	BaseURL string
	Lease   time.Duration // of the approval-email deliveries it writes
}

func invalid(format string, args ...any) error {
	return shiplog.Errorf(shiplog.EINVALID, format, args...)
}

// DRInput is a new deployment request.
type DRInput struct {
	Name             string
	Description      string
	Links            []string
	Items            []shiplog.DRItem
	EnvironmentNames []string
	Slots            []SlotInput
}

// SlotInput is one requested approval.
type SlotInput struct {
	ApprovalType string
	Required     *bool // default true
}

func (in *DRInput) validate() error {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" {
		return invalid("Field 'name' is required")
	}
	if len(in.Name) > 200 || len(in.Description) > 20000 || len(in.Links) > 50 || len(in.Items) > 100 ||
		len(in.EnvironmentNames) > 50 || len(in.Slots) > 50 {
		return invalid("The deployment request is too large (name ≤ 200 bytes, description ≤ 20000, at most 50 links, 100 items, 50 environments, 50 slots)")
	}
	if len(in.EnvironmentNames) == 0 {
		return invalid("Field 'environment_names' must list at least one environment")
	}
	seen := map[string]bool{}
	for i, it := range in.Items {
		it.ProductName, it.Version = strings.TrimSpace(it.ProductName), strings.TrimSpace(it.Version)
		if it.ProductName == "" || it.Version == "" {
			return invalid("Field 'items[%d]' needs product_name and version", i)
		}
		if seen[it.ProductName] {
			return invalid("Product %s is listed twice; a deployment request ships one version per product", it.ProductName)
		}
		seen[it.ProductName] = true
		in.Items[i] = it
	}
	for i, s := range in.Slots {
		if !slices.Contains(shiplog.ApprovalTypes, s.ApprovalType) {
			return invalid("Field 'approval_slots[%d].approval_type' must be one of %s", i, strings.Join(shiplog.ApprovalTypes, ", "))
		}
	}
	for _, l := range in.Links {
		if !strings.HasPrefix(l, "https://") && !strings.HasPrefix(l, "http://") {
			return invalid("Field 'links' takes http(s) URLs only")
		}
	}
	return nil
}

// URL is the DR's page in the console.
func (s *Service) URL(id string) string { return s.BaseURL + "/deployment-requests/" + id }

// drEvent renders a DR lifecycle event for the outbox.
func (s *Service) drEvent(d *shiplog.DeploymentRequest, t shiplog.EventType, actor string, slot *shiplog.Slot, now time.Time) (*shiplog.Event, error) {
	in := webhook.DR{EventType: t, OccurredAt: now, ID: d.ID, Name: d.Name, URL: s.URL(d.ID), Status: string(d.Status),
		EnvironmentNames: d.EnvironmentNames, Actor: actor}
	if slot != nil {
		in.ApprovalType, in.SlotStatus = slot.ApprovalType, string(slot.Status)
		in.ApproverRole, in.Comments = deref(slot.DecidedRole), deref(slot.Comments)
	}
	body, err := webhook.RenderDR(in)
	if err != nil {
		return nil, err
	}
	targets := &shiplog.Targets{EnvironmentNames: d.EnvironmentNames}
	for _, it := range d.Items {
		targets.ProductNames = append(targets.ProductNames, it.ProductName)
	}
	return &shiplog.Event{ID: shiplog.NewID(), OrgID: d.OrgID, Type: t, Kind: "dr", SubjectID: d.ID, Actor: actor,
		Payload: body, OccurredAt: now, Targets: targets}, nil
}

// resolveTypes gives a request's target environments their types: the
// org's environment of that name, or for one never deployed to yet, the
// type its name would get.
func resolveTypes(ctx context.Context, tx store.Tx, e *shiplog.Event) error {
	e.Targets.EnvironmentTypes = e.Targets.EnvironmentTypes[:0]
	for _, name := range e.Targets.EnvironmentNames {
		env, err := tx.EnvironmentByName(ctx, e.OrgID, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			e.Targets.EnvironmentTypes = append(e.Targets.EnvironmentTypes, shiplog.InferEnvType(name))
		case err != nil:
			return err
		default:
			e.Targets.EnvironmentTypes = append(e.Targets.EnvironmentTypes, env.Type)
		}
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// write runs fn, whose events belong to orgID, and after commit hands on
// the deliveries it produced and announces the events.
func (s *Service) write(ctx context.Context, orgID string, fn func(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery) error) error {
	var ds []*shiplog.Delivery
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		ds = ds[:0]
		return fn(ctx, tx, &ds)
	})
	if err == nil {
		s.Events.Committed(ds)
		s.Events.EventsCommitted(orgID)
	}
	return err
}

func (s *Service) emit(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery, e *shiplog.Event) error {
	if e.Targets != nil {
		if err := resolveTypes(ctx, tx, e); err != nil {
			return err
		}
	}
	ds, err := s.Events.Emit(ctx, tx, e)
	*out = append(*out, ds...)
	return err
}

// CreateDR stores a draft DR and emits dr.created.
func (s *Service) CreateDR(ctx context.Context, p *auth.Principal, in *DRInput) (*shiplog.DeploymentRequest, error) {
	// Who may create requests at all (people who manage them, and org API
	// keys: the seed's "created by a human or agent") is the API's
	// permission table.
	if err := in.validate(); err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	d := &shiplog.DeploymentRequest{ID: shiplog.NewID(), OrgID: p.OrgID, Name: in.Name, Description: in.Description,
		Links: nonNil(in.Links), Items: nonNil(in.Items), EnvironmentNames: in.EnvironmentNames, Status: shiplog.DRDraft,
		CreatedByName: p.Actor(), CreatedAt: now, UpdatedAt: now, Slots: []*shiplog.Slot{}}
	if p.User != nil {
		d.CreatedBy = &p.User.ID
	} else {
		d.CreatedByKey = &p.KeyName
	}
	for _, si := range in.Slots {
		d.Slots = append(d.Slots, &shiplog.Slot{ID: shiplog.NewID(), ApprovalType: si.ApprovalType,
			Required: si.Required == nil || *si.Required, Status: shiplog.SlotPending})
	}
	err := s.write(ctx, p.OrgID, func(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery) error {
		if err := tx.DRCreate(ctx, d); err != nil {
			return err
		}
		e, err := s.drEvent(d, webhook.EventDRCreated, p.Actor(), nil, now)
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, out, e)
	})
	return d, err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

var actionEvents = map[shiplog.DRAction]shiplog.EventType{
	shiplog.DRActivate:   webhook.EventDRActivated,
	shiplog.DRDeactivate: webhook.EventDRDeactivated,
	shiplog.DRComplete:   webhook.EventDRCompleted,
	shiplog.DRCancel:     webhook.EventDRCancelled,
}

// Transition applies activate, deactivate, complete or cancel. It holds
// the DR's row while it decides (DRGetForUpdate) and writes with a
// compare-and-set (DRTransition), so of two replicas acting on one DR at
// once the second sees what the first did: two transitions out of one
// state never both succeed (docs/governance.md, race semantics).
func (s *Service) Transition(ctx context.Context, p *auth.Principal, id string, a shiplog.DRAction) (*shiplog.DeploymentRequest, error) {
	var d *shiplog.DeploymentRequest
	err := s.write(ctx, p.OrgID, func(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery) error {
		var err error
		if d, err = tx.DRGetForUpdate(ctx, p.OrgID, id); err != nil {
			return err
		}
		if err := mayMove(p, d); err != nil {
			return err
		}
		next, ok := d.Status.Transition(a)
		if !ok {
			return shiplog.Errorf(shiplog.ECONFLICT, "Cannot %s a deployment request that is %s", a, d.Status)
		}
		if a == shiplog.DRActivate && len(d.Items) == 0 {
			return invalid("A deployment request needs at least one item (product and version) before it is activated")
		}
		if a == shiplog.DRComplete && d.HasRejection() {
			return shiplog.Errorf(shiplog.ECONFLICT, "Cannot complete a deployment request with a rejected approval slot")
		}
		now := s.Clock.Now()
		from, rev := d.Status, d.Revision
		d.Status, d.UpdatedAt = next, now
		if a == shiplog.DRActivate {
			d.Status = d.Settled() // no required slots: approved at once
		}
		if err := s.commit(ctx, tx, d, &store.DRTransitionParams{OrgID: p.OrgID, ID: id, From: from, Revision: rev,
			To: d.Status, Now: now}); err != nil {
			return err
		}
		e, err := s.drEvent(d, actionEvents[a], p.Actor(), nil, now)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, out, e); err != nil {
			return err
		}
		if a == shiplog.DRActivate {
			if err := s.mailApprovers(ctx, tx, out, d, now); err != nil {
				return err
			}
			if d.Status == shiplog.DRApproved {
				return s.mailCreator(ctx, tx, out, d, readyMail(s, d), now)
			}
		}
		return nil
	})
	return d, err
}

// mayMove: the permission table lets CanManageDRs (and org API keys, to
// activate) move requests at all; besides CanManageAnyDR, people move only
// the requests they created, and org API keys only those an org API key
// created (an agent's own, never a person's draft).
func mayMove(p *auth.Principal, d *shiplog.DeploymentRequest) error {
	if p.User == nil {
		if d.CreatedByKey != nil {
			return nil
		}
		return shiplog.Errorf(shiplog.EFORBIDDEN, "An org API key moves only the deployment requests an API key created; "+
			"this one is %s's", d.CreatedByName)
	}
	if shiplog.HasRole(p.User.Roles, shiplog.CanManageAnyDR...) || (d.CreatedBy != nil && *d.CreatedBy == p.User.ID) {
		return nil
	}
	return shiplog.Errorf(shiplog.EFORBIDDEN, "Only its creator (%s) or one of the roles %s may change this deployment request",
		d.CreatedByName, strings.Join(shiplog.CanManageAnyDR, ", "))
}

// commit writes d's new state as a compare-and-set against what was read.
// Losing it means another writer changed the DR since: the answer is a 409
// naming the state that writer left (under the row lock this is a second
// line of defence; the conformance suite holds both drivers to it).
func (s *Service) commit(ctx context.Context, tx store.Tx, d *shiplog.DeploymentRequest, p *store.DRTransitionParams) error {
	err := tx.DRTransition(ctx, p)
	if errors.Is(err, store.ErrConflict) {
		cur, gerr := tx.DRGet(ctx, p.OrgID, p.ID)
		if gerr != nil {
			return gerr
		}
		return shiplog.Errorf(shiplog.ECONFLICT, "Deployment request %s changed while this was decided: it is now %s; reload it and try again",
			p.ID, cur.Status)
	}
	if err == nil {
		d.Revision = p.Revision + 1
	}
	return err
}

// Decide approves or rejects a slot as the principal. Slots are decided
// only while the DR is in_progress, each once: a decision arriving after
// the DR was approved or rejected (or after a racing decision settled it)
// is refused with 409 naming its state.
func (s *Service) Decide(ctx context.Context, p *auth.Principal, drID, slotID string, approve bool, comments string) (*shiplog.DeploymentRequest, error) {
	if p.User == nil {
		return nil, shiplog.Errorf(shiplog.EFORBIDDEN, "An approval is a person's act: use a personal access token (pat_…), not an org API key")
	}
	if len(comments) > 5000 {
		return nil, invalid("Field 'comments' is too long (limit 5000 bytes)")
	}
	var d *shiplog.DeploymentRequest
	err := s.write(ctx, p.OrgID, func(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery) error {
		var err error
		if d, err = tx.DRGetForUpdate(ctx, p.OrgID, drID); err != nil {
			return err
		}
		i := slices.IndexFunc(d.Slots, func(sl *shiplog.Slot) bool { return sl.ID == slotID })
		if i < 0 {
			return shiplog.Errorf(shiplog.ENOTFOUND, "Deployment request %s has no approval slot %s", drID, slotID)
		}
		slot := d.Slots[i]
		switch {
		case d.Status == shiplog.DRDraft:
			return shiplog.Errorf(shiplog.ECONFLICT, "Cannot decide a slot of a deployment request that is draft; activate it first")
		case !d.Status.Decidable():
			return shiplog.Errorf(shiplog.ECONFLICT, "Cannot decide a slot of a deployment request that is %s; slots are decided only while it is in_progress", d.Status)
		}
		if slot.Status != shiplog.SlotPending {
			return shiplog.Errorf(shiplog.ECONFLICT, "Approval slot %s (%s) is already %s", slot.ID, slot.ApprovalType, slot.Status)
		}
		role, ok := shiplog.ApprovingRole(p.User.Roles, slot.ApprovalType)
		if !ok {
			return shiplog.Errorf(shiplog.EFORBIDDEN, "Your roles (%s) cannot fill a %s approval; it needs one of %s",
				strings.Join(p.User.Roles, ", "), slot.ApprovalType, strings.Join(shiplog.ApproverRoles(slot.ApprovalType), ", "))
		}
		now := s.Clock.Now()
		slot.Status, slot.DecidedBy, slot.DecidedRole, slot.DecidedAt = shiplog.SlotRejected, &p.User.ID, &role, &now
		name := p.Actor()
		slot.DecidedName = &name
		if approve {
			slot.Status = shiplog.SlotApproved
		}
		if strings.TrimSpace(comments) != "" {
			slot.Comments = &comments
		}
		from, rev := d.Status, d.Revision
		d.Status, d.UpdatedAt = d.Settled(), now
		if err := s.commit(ctx, tx, d, &store.DRTransitionParams{OrgID: p.OrgID, ID: drID, From: from, Revision: rev, To: d.Status,
			Now: now, Decision: &store.SlotDecision{SlotID: slot.ID, Status: slot.Status, UserID: p.User.ID, Role: role,
				Comments: slot.Comments}}); err != nil {
			return err
		}
		t := webhook.EventDRApproved
		if !approve {
			t = webhook.EventDRRejected
		}
		e, err := s.drEvent(d, t, name, slot, now)
		if err != nil {
			return err
		}
		if err := s.emit(ctx, tx, out, e); err != nil {
			return err
		}
		if err := s.mailCreator(ctx, tx, out, d, decisionMail(s, d, slot, name), now); err != nil {
			return err
		}
		if d.Status == shiplog.DRApproved {
			return s.mailCreator(ctx, tx, out, d, readyMail(s, d), now)
		}
		return nil
	})
	return d, err
}

// ApproveVersion records a quality sign-off and emits version.approved.
func (s *Service) ApproveVersion(ctx context.Context, p *auth.Principal, product, version, approvalType string, env, comments *string) (*shiplog.VersionApproval, error) {
	if p.User == nil {
		return nil, shiplog.Errorf(shiplog.EFORBIDDEN, "An approval is a person's act: use a personal access token (pat_…), not an org API key")
	}
	if !slices.Contains(shiplog.ApprovalTypes, approvalType) {
		return nil, invalid("Field 'approval_type' must be one of %s", strings.Join(shiplog.ApprovalTypes, ", "))
	}
	role, ok := shiplog.VersionApprovingRole(p.User.Roles, approvalType)
	if !ok {
		return nil, shiplog.Errorf(shiplog.EFORBIDDEN, "Your roles (%s) cannot sign off %s on a version", strings.Join(p.User.Roles, ", "), approvalType)
	}
	if comments != nil && len(*comments) > 5000 {
		return nil, invalid("Field 'comments' is too long (limit 5000 bytes)")
	}
	pr, err := s.Store.ProductByName(ctx, p.OrgID, product)
	if errors.Is(err, store.ErrNotFound) {
		return nil, shiplog.Errorf(shiplog.ENOTFOUND, "No product %s", product)
	}
	if err != nil {
		return nil, err
	}
	v, err := s.Store.VersionByName(ctx, pr.ID, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, shiplog.Errorf(shiplog.ENOTFOUND, "No version %s of %s", version, product)
	}
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	a := &shiplog.VersionApproval{ID: shiplog.NewID(), VersionID: v.ID, ProductName: pr.Name, Version: v.Version,
		ApprovalType: approvalType, EnvironmentName: env, Comments: comments, UserID: p.User.ID, Actor: p.Actor(),
		ApproverRole: role, CreatedAt: now}
	err = s.write(ctx, p.OrgID, func(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery) error {
		if err := tx.VersionApprovalCreate(ctx, p.OrgID, a); err != nil {
			return err
		}
		body, err := webhook.RenderVersionApproved(webhook.VersionApproval{OccurredAt: now, VersionID: v.ID, ProductName: pr.Name,
			Version: v.Version, ApprovalType: approvalType, ApproverRole: role, EnvironmentName: deref(env),
			Comments: deref(comments), Actor: a.Actor})
		if err != nil {
			return err
		}
		return s.emit(ctx, tx, out, &shiplog.Event{ID: shiplog.NewID(), OrgID: p.OrgID, Type: shiplog.EventVersionApproved,
			Kind: "version", SubjectID: v.ID, ProductName: pr.Name, Version: v.Version, EnvironmentName: deref(env),
			Actor: a.Actor, Payload: body, OccurredAt: now})
	})
	return a, err
}

// mailJSON is an approval email delivery's payload: the message and whom
// it goes to (the system channel has no recipients of its own).
type mailJSON struct {
	To      []string `json:"to"`
	Subject string
	Text    string
	HTML    string
}

const systemMailChannel = "DR approval emails"

func (s *Service) queueMail(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery, orgID string, m mailJSON, now time.Time) error {
	if len(m.To) == 0 {
		return nil
	}
	c, err := tx.ChannelEnsureSystem(ctx, orgID, shiplog.ChannelEmail, systemMailChannel, now)
	if err != nil {
		return err
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return err
	}
	d := delivery.New(c, delivery.Row{EventID: shiplog.NewID(), EventType: "dr.email", Payload: payload}, now, now.Add(s.Lease))
	if err := tx.DeliveryInsert(ctx, d); err != nil {
		return err
	}
	*out = append(*out, d)
	return nil
}

// mailApprovers sends one approval-request email to every user whose roles
// can fill an open slot of d.
func (s *Service) mailApprovers(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery, d *shiplog.DeploymentRequest, now time.Time) error {
	users, err := tx.UserList(ctx, d.OrgID)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !u.Active() {
			continue // a deactivated person cannot decide
		}
		var types []string
		for _, sl := range d.Slots {
			if _, ok := shiplog.ApprovingRole(u.Roles, sl.ApprovalType); ok && sl.Status == shiplog.SlotPending && !slices.Contains(types, sl.ApprovalType) {
				types = append(types, sl.ApprovalType)
			}
		}
		if len(types) == 0 {
			continue
		}
		m := requestMail(s, d, u, types)
		m.To = []string{u.Email}
		if err := s.queueMail(ctx, tx, out, d.OrgID, m, now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) mailCreator(ctx context.Context, tx store.Tx, out *[]*shiplog.Delivery, d *shiplog.DeploymentRequest, m mailJSON, now time.Time) error {
	if d.CreatedBy == nil {
		// An org API key asked: nobody to mail; its agent follows the dr.*
		// webhooks instead.
		return nil
	}
	u, err := tx.UserGet(ctx, d.OrgID, *d.CreatedBy)
	if err != nil {
		return fmt.Errorf("creator of %s: %w", d.ID, err)
	}
	if !u.Active() {
		return nil // deleted or deactivated: nobody reads it
	}
	m.To = []string{u.Email}
	return s.queueMail(ctx, tx, out, d.OrgID, m, now)
}
