package httpapi

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/approval"
	"github.com/shiplog/shiplog/internal/auth"
	lifecycle "github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/store"
)

// CheckRoles validates a role list.
func CheckRoles(roles []string) error {
	if len(roles) == 0 {
		return invalid("Field 'roles' must list at least one role: %s", strings.Join(shiplog.Roles, ", "))
	}
	for _, r := range roles {
		if !slices.Contains(shiplog.Roles, r) {
			return invalid("Unknown role '%s'; roles are %s", r, strings.Join(shiplog.Roles, ", "))
		}
	}
	return nil
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	us, err := s.Store.UserList(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.List[*shiplog.User]{Items: nonNil(us)})
	return nil
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	var in apiv1.UserInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u := &shiplog.User{ID: shiplog.NewID(), OrgID: p.OrgID, Email: strings.ToLower(strings.TrimSpace(in.Email)),
		Name: strings.TrimSpace(in.Name), Roles: in.Roles, CreatedAt: s.Clock.Now()}
	if a, err := mail.ParseAddress(u.Email); err != nil || a.Address != u.Email {
		return invalid("Field 'email' must be an email address")
	}
	if err := CheckRoles(u.Roles); err != nil {
		return err
	}
	var hash string
	if in.Password != "" {
		if len(in.Password) < 12 {
			return invalid("Field 'password' must be at least 12 characters")
		}
		var err error
		if hash, err = auth.HashPassword(in.Password); err != nil {
			return err
		}
	}
	err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.UserCreate(ctx, u, hash) })
	if errors.Is(err, store.ErrConflict) {
		return shiplog.Errorf(shiplog.ECONFLICT, "A user with email %s already exists", u.Email)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in apiv1.UserInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Email != "" || in.Password != "" {
		return invalid("Only 'name' and 'roles' can be changed")
	}
	var u *shiplog.User
	err = s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		if u, err = tx.UserGet(ctx, p.OrgID, id); err != nil {
			return err
		}
		if in.Name != "" {
			u.Name = strings.TrimSpace(in.Name)
		}
		if in.Roles != nil {
			if err := CheckRoles(in.Roles); err != nil {
				return err
			}
			if u.ID == p.User.ID {
				return shiplog.Errorf(shiplog.EFORBIDDEN, "You cannot change your own roles")
			}
			u.Roles = in.Roles
			if err := lifecycle.LastAdminStays(ctx, tx, u); err != nil {
				return err
			}
		}
		return tx.UserUpdate(ctx, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *Server) createDR(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.DRInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	ai := &approval.DRInput{Name: in.Name, Description: in.Description, Links: in.Links, Items: in.Items,
		EnvironmentNames: in.EnvironmentNames}
	for _, sl := range in.ApprovalSlots {
		ai.Slots = append(ai.Slots, approval.SlotInput{ApprovalType: sl.ApprovalType, Required: sl.Required})
	}
	d, err := s.Approvals.CreateDR(r.Context(), principal(r), ai)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

func (s *Server) listDRs(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	var f store.DRFilter
	if st := first(r, "status"); st != "" {
		f.Statuses = []shiplog.DRStatus{shiplog.DRStatus(st)}
	}
	ds, err := s.Store.DRList(r.Context(), principal(r).OrgID, f, p)
	if err != nil {
		return err
	}
	writeList(w, ds, p, func(d *shiplog.DeploymentRequest) string { return d.ID })
	return nil
}

func (s *Server) getDR(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := s.Store.DRGet(r.Context(), principal(r).OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *Server) transitionDR(a shiplog.DRAction) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		d, err := s.Approvals.Transition(r.Context(), principal(r), id, a)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d)
		return nil
	}
}

func (s *Server) decideSlot(approve bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		id, err := pathID(r)
		if err != nil {
			return err
		}
		slotID := strings.ToLower(r.PathValue("slot_id"))
		if !shiplog.ValidID(slotID) {
			return shiplog.Errorf(shiplog.ENOTFOUND, "Not found")
		}
		var in apiv1.DecisionInput
		if r.ContentLength != 0 {
			if err := decodeJSON(w, r, &in); err != nil {
				return err
			}
		}
		d, err := s.Approvals.Decide(r.Context(), principal(r), id, slotID, approve, in.Comments)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, d)
		return nil
	}
}

func (s *Server) approveVersion(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.VersionApprovalInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a, err := s.Approvals.ApproveVersion(r.Context(), principal(r), r.PathValue("product"), r.PathValue("version"),
		in.ApprovalType, in.EnvironmentName, in.Comments)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

func (s *Server) listVersionApprovals(w http.ResponseWriter, r *http.Request) error {
	org := principal(r).OrgID
	pr, err := s.Store.ProductByName(r.Context(), org, r.PathValue("product"))
	if err != nil {
		return err
	}
	v, err := s.Store.VersionByName(r.Context(), pr.ID, r.PathValue("version"))
	if err != nil {
		return err
	}
	as, err := s.Store.VersionApprovalList(r.Context(), org, v.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.List[*shiplog.VersionApproval]{Items: nonNil(as)})
	return nil
}
