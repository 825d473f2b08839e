package shiplog

import (
	"encoding/json"
	"slices"
	"time"
)

// Roles. One person may hold several; "owner" is the org's first admin
// (the console's first-run user) and can do everything an admin can.
const (
	RoleOwner          = "owner"
	RoleAdmin          = "admin"
	RoleReleaseManager = "release_manager"
	RoleProduct        = "product"
	RoleQA             = "qa"
	RoleSRE            = "sre"
	RoleSecurity       = "security"
	RoleDeveloper      = "developer"
	RoleCompliance     = "compliance"
	RoleViewer         = "viewer"
	RoleBilling        = "billing"
)

// Roles lists every role.
var Roles = []string{RoleOwner, RoleAdmin, RoleReleaseManager, RoleProduct, RoleQA, RoleSRE, RoleSecurity,
	RoleDeveloper, RoleCompliance, RoleViewer, RoleBilling}

// ApprovalTypes lists the approval types a slot or a version sign-off can have.
var ApprovalTypes = []string{"uat", "qa", "performance", "security", "code_review", "compliance"}

// approvers maps each approval type to the roles that may fill it, besides
// the roles that may fill any (owner, admin, release_manager). It follows the
// product's current role reference.
var approvers = map[string][]string{
	"uat":         {RoleProduct},
	"qa":          {RoleQA},
	"performance": {RoleSRE, RoleQA},
	"security":    {RoleSecurity},
	"code_review": {RoleDeveloper},
	"compliance":  {RoleCompliance},
}

var anyApprover = []string{RoleOwner, RoleAdmin, RoleReleaseManager}

// ApproverRoles returns the roles that may fill an approval type.
func ApproverRoles(approvalType string) []string {
	return append(slices.Clone(anyApprover), approvers[approvalType]...)
}

// ApprovingRole returns the role under which someone holding roles may fill
// an approval type: the specific role if they have it, else a general one.
func ApprovingRole(roles []string, approvalType string) (string, bool) {
	for _, r := range approvers[approvalType] {
		if slices.Contains(roles, r) {
			return r, true
		}
	}
	for _, r := range anyApprover {
		if slices.Contains(roles, r) {
			return r, true
		}
	}
	return "", false
}

// versionApprovers are the roles allowed to sign off versions at all
// (developers review code in DRs but do not approve versions).
var versionApprovers = []string{RoleOwner, RoleAdmin, RoleReleaseManager, RoleProduct, RoleSRE, RoleQA, RoleSecurity, RoleCompliance}

// VersionApprovingRole is ApprovingRole for version sign-offs.
func VersionApprovingRole(roles []string, approvalType string) (string, bool) {
	var allowed []string
	for _, r := range roles {
		if slices.Contains(versionApprovers, r) {
			allowed = append(allowed, r)
		}
	}
	return ApprovingRole(allowed, approvalType)
}

// HasRole reports whether roles include any of want.
func HasRole(roles []string, want ...string) bool {
	return slices.ContainsFunc(roles, func(r string) bool { return slices.Contains(want, r) })
}

// Capabilities by role, as role lists. The API's permission table
// (internal/httpapi/permissions.go) is built from these; the domain uses
// them only for checks that depend on the object (whose request it is).
var (
	CanManageUsers = []string{RoleOwner, RoleAdmin}
	// CanManageAPIKeys: a key acts for the whole org, so making and revoking
	// one is as weighty as managing people.
	CanManageAPIKeys = []string{RoleOwner, RoleAdmin}
	// CanManageChannels: a channel can silence alerts or send every event
	// elsewhere.
	CanManageChannels = []string{RoleOwner, RoleAdmin}
	// CanManageRules and CanManageEnvironments follow Versioner's role
	// reference (release managers and SREs own the deployment workflow).
	CanManageRules        = []string{RoleOwner, RoleAdmin, RoleReleaseManager, RoleSRE}
	CanManageEnvironments = []string{RoleOwner, RoleAdmin, RoleReleaseManager, RoleSRE}
	// CanManageDRs may create deployment requests and move their own;
	// CanManageAnyDR may move anyone's.
	CanManageDRs   = []string{RoleOwner, RoleAdmin, RoleReleaseManager, RoleProduct, RoleDeveloper}
	CanManageAnyDR = []string{RoleOwner, RoleAdmin, RoleReleaseManager}
	CanDeploy      = []string{RoleOwner, RoleAdmin, RoleReleaseManager, RoleDeveloper, RoleSRE}
	// CanSkipRules: skipping the preflight checks is a deploy decision, so
	// whoever may deploy may skip, where the org's setting allows it
	// (MaySkipPreflight).
	CanSkipRules = CanDeploy
	// CanApprove holds every role that may fill some approval type; which
	// slot a person may decide is the slot's business (ApprovingRole).
	CanApprove = approvingRoles()
	// CanApproveVersions holds the roles that may sign off versions at all.
	CanApproveVersions = slices.Clone(versionApprovers)
)

// approvingRoles is every role that can fill at least one approval type,
// in the order of Roles.
func approvingRoles() []string {
	var out []string
	for _, r := range Roles {
		for _, t := range ApprovalTypes {
			if _, ok := ApprovingRole([]string{r}, t); ok {
				out = append(out, r)
				break
			}
		}
	}
	return out
}

// User is a person in an org.
type User struct {
	ID        string    `json:"id"`
	OrgID     string    `json:"-"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Roles     []string  `json:"roles"`
	CreatedAt time.Time `json:"created_at"`
	// DeactivatedAt is set while the person is deactivated: their tokens
	// and sessions are refused until an admin reactivates them.
	DeactivatedAt *time.Time `json:"deactivated_at"`
	// DeletedAt is set on a deleted person's tombstone: the row stays, with
	// its name, so the audit trail keeps saying who acted.
	DeletedAt *time.Time `json:"deleted_at,omitempty"`
}

// Active reports whether u may act: neither deactivated nor deleted.
func (u *User) Active() bool { return u.DeactivatedAt == nil && u.DeletedAt == nil }

// Token is a person's personal access token as listings show it: never the
// secret, only its public id (the part after pat_).
type Token struct {
	ID         string     `json:"id"`
	TokenID    string     `json:"token_id"`
	Name       string     `json:"name"`
	UserID     string     `json:"user_id"`
	UserEmail  string     `json:"user_email"`
	UserName   string     `json:"user_name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// DRStatus is a deployment request's state.
type DRStatus string

const (
	DRDraft      DRStatus = "draft"
	DRInProgress DRStatus = "in_progress"
	DRApproved   DRStatus = "approved"
	DRRejected   DRStatus = "rejected"
	DRCompleted  DRStatus = "completed"
	DRCancelled  DRStatus = "cancelled"
)

// Terminal reports whether no transition leaves s.
func (s DRStatus) Terminal() bool {
	return s == DRRejected || s == DRCompleted || s == DRCancelled
}

// DRAction is a requested state transition.
type DRAction string

const (
	DRActivate   DRAction = "activate"
	DRDeactivate DRAction = "deactivate"
	DRComplete   DRAction = "complete"
	DRCancel     DRAction = "cancel"
)

// Transition returns the state an action leads to from s (see
// docs/governance.md for the diagram).
func (s DRStatus) Transition(a DRAction) (DRStatus, bool) {
	switch {
	case a == DRActivate && s == DRDraft:
		return DRInProgress, true
	case a == DRDeactivate && s == DRInProgress:
		return DRDraft, true
	case a == DRComplete && s == DRApproved:
		return DRCompleted, true
	case a == DRCancel && !s.Terminal():
		return DRCancelled, true
	}
	return s, false
}

// Decidable reports whether a slot may be decided in state s: only while
// the request is in progress. Once approved or rejected its outcome is
// fixed (an optional slot still pending stays so), and a decision that
// arrives later, or loses a race to the one that settled it, is refused.
func (s DRStatus) Decidable() bool { return s == DRInProgress }

// SlotStatus is an approval slot's state.
type SlotStatus string

const (
	SlotPending  SlotStatus = "pending"
	SlotApproved SlotStatus = "approved"
	SlotRejected SlotStatus = "rejected"
)

// Slot is one approval a DR asks for; the decision records who, under which
// role, when, and why.
type Slot struct {
	ID           string     `json:"id"`
	ApprovalType string     `json:"approval_type"`
	Required     bool       `json:"required"`
	Status       SlotStatus `json:"status"`
	DecidedBy    *string    `json:"decided_by"` // user id
	DecidedName  *string    `json:"decided_by_name"`
	DecidedRole  *string    `json:"approver_role"`
	DecidedAt    *time.Time `json:"decided_at"`
	Comments     *string    `json:"comments"`
}

// DRItem is one product version a DR ships.
type DRItem struct {
	ProductName string `json:"product_name"`
	Version     string `json:"version"`
}

// DeploymentRequest asks for sign-off to ship versions to environments.
type DeploymentRequest struct {
	ID               string    `json:"id"`
	OrgID            string    `json:"-"`
	Name             string    `json:"name"`
	Description      string    `json:"description"`
	Links            []string  `json:"links"`
	Items            []DRItem  `json:"items"`
	EnvironmentNames []string  `json:"environment_names"`
	Status           DRStatus  `json:"status"`
	Slots            []*Slot   `json:"approval_slots"`
	CreatedBy        *string   `json:"created_by"`     // the creator's user id; null when an org API key created it
	CreatedByKey     *string   `json:"created_by_key"` // the org API key (k1, …) that created it, if one did
	CreatedByName    string    `json:"created_by_name"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
	// Revision counts the DR's writes; each write is a compare-and-set on
	// it (store.DRTransition).
	Revision int64 `json:"-"`
}

// Settled returns the state a DR in progress reaches from its slots: rejected
// if any slot is, approved when every required slot is, else unchanged.
func (d *DeploymentRequest) Settled() DRStatus {
	if d.Status != DRInProgress {
		return d.Status
	}
	all := true
	for _, s := range d.Slots {
		if s.Status == SlotRejected {
			return DRRejected
		}
		if s.Required && s.Status != SlotApproved {
			all = false
		}
	}
	if all {
		return DRApproved
	}
	return DRInProgress
}

// HasRejection reports whether any slot of d was rejected. Such a request
// is rejected; one approved with a rejected slot (left by a version before
// decisions were serialised) must not be completed.
func (d *DeploymentRequest) HasRejection() bool {
	for _, s := range d.Slots {
		if s.Status == SlotRejected {
			return true
		}
	}
	return false
}

// VersionApproval is a quality sign-off on one version.
type VersionApproval struct {
	ID              string    `json:"id"`
	VersionID       string    `json:"version_id"`
	ProductName     string    `json:"product_name"`
	Version         string    `json:"version"`
	ApprovalType    string    `json:"approval_type"`
	EnvironmentName *string   `json:"environment_name"`
	Comments        *string   `json:"comments"`
	UserID          string    `json:"user_id"`
	Actor           string    `json:"actor"`
	ApproverRole    string    `json:"approver_role"`
	CreatedAt       time.Time `json:"created_at"`
}

// Rule is a stored deployment rule; Config holds its type's fields as JSON.
type Rule struct {
	ID        string          `json:"id"`
	OrgID     string          `json:"-"`
	Name      string          `json:"name"`
	Type      string          `json:"rule_type"`
	Status    string          `json:"status"`
	Config    json.RawMessage `json:"-"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}
