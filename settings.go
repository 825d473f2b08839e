package shiplog

import (
	"fmt"
	"strings"
	"time"
)

// SkipPolicy says who may send skip_preflight_checks: true on a started
// deployment, per org.
type SkipPolicy string

const (
	// SkipAnyone: any credential that records the deployment: org API keys
	// (CI, as the public CLI and Action advise after a refusal) and people
	// whose roles may deploy. The default, as on Versioner.
	SkipAnyone SkipPolicy = "anyone"
	// SkipPeopleOnly: only a person's own token, so every skip names
	// someone accountable; org API keys are refused.
	SkipPeopleOnly SkipPolicy = "people_only"
	// SkipNobody: nobody; the bypass is a rule switched to report_only.
	SkipNobody SkipPolicy = "nobody"
)

// SkipPolicies lists the policies, loosest first.
var SkipPolicies = []SkipPolicy{SkipAnyone, SkipPeopleOnly, SkipNobody}

// Stale-run horizon bounds, in minutes. 0 turns staleness off: a started
// run then blocks its product in its environment until it finishes or is
// marked aborted.
const (
	DefaultStaleRunMinutes = 120
	MaxStaleRunMinutes     = 30 * 24 * 60
)

// OrgSettings are an org's own switches. An org that never changed them
// has the defaults (DefaultOrgSettings); UpdatedAt and UpdatedBy are then nil.
type OrgSettings struct {
	// SkipPreflightChecks is who may skip the preflight checks.
	SkipPreflightChecks SkipPolicy `json:"skip_preflight_checks"`
	// StaleRunMinutes is how long after its last event a started run stops
	// blocking the next start of its product in its environment; 0: never.
	StaleRunMinutes int        `json:"stale_run_minutes"`
	UpdatedAt       *time.Time `json:"updated_at"`
	UpdatedBy       *string    `json:"updated_by"` // who changed them last, as shown to people
}

// DefaultOrgSettings are the settings of an org that never changed them.
func DefaultOrgSettings() *OrgSettings {
	return &OrgSettings{SkipPreflightChecks: SkipAnyone, StaleRunMinutes: DefaultStaleRunMinutes}
}

// StaleAfter is the stale-run horizon as a duration; 0 means never stale.
func (s *OrgSettings) StaleAfter() time.Duration {
	return time.Duration(s.StaleRunMinutes) * time.Minute
}

// Validate checks the settings' values, naming the field at fault.
func (s *OrgSettings) Validate() error {
	if !validSkipPolicy(s.SkipPreflightChecks) {
		return Errorf(EINVALID, "Field 'skip_preflight_checks' must be one of %s", joinPolicies())
	}
	if s.StaleRunMinutes < 0 || s.StaleRunMinutes > MaxStaleRunMinutes {
		return Errorf(EINVALID, "Field 'stale_run_minutes' must be a whole number from 0 (never stale) to %d (30 days)", MaxStaleRunMinutes)
	}
	return nil
}

func validSkipPolicy(p SkipPolicy) bool {
	for _, q := range SkipPolicies {
		if p == q {
			return true
		}
	}
	return false
}

func joinPolicies() string {
	s := make([]string, len(SkipPolicies))
	for i, p := range SkipPolicies {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

// CredentialKind tells an org API key from a person.
type CredentialKind string

const (
	CredentialAPIKey CredentialKind = "api_key"
	CredentialUser   CredentialKind = "user"
)

// Credential names who did something that must be answered for later (a
// skipped preflight check, a run marked aborted): an org API key by its key
// id, or a person.
type Credential struct {
	Kind   CredentialKind `json:"kind"`
	KeyID  string         `json:"key_id,omitempty"`  // api_key: k1, k2, …
	UserID string         `json:"user_id,omitempty"` // user
	Name   string         `json:"name,omitempty"`    // user: the person's name
	Email  string         `json:"email,omitempty"`   // user
	// Roles are the person's roles when they acted; not recorded.
	Roles []string `json:"-"`
}

// String is the credential as people read it: "API key k1" or
// "Ada Lovelace <ada@example.com>".
func (c *Credential) String() string {
	if c == nil {
		return ""
	}
	if c.Kind == CredentialAPIKey {
		return "API key " + c.KeyID
	}
	switch {
	case c.Name != "" && c.Email != "":
		return c.Name + " <" + c.Email + ">"
	case c.Name != "":
		return c.Name
	}
	return c.Email
}

// MaySkipPreflight decides whether c may skip the preflight checks under
// policy. People need a role that may deploy, whatever the policy allows.
func MaySkipPreflight(policy SkipPolicy, c Credential) error {
	const bypass = "; to let deployments through, switch the blocking rule to report_only"
	switch {
	case policy == SkipNobody:
		return Errorf(EFORBIDDEN, "skip_preflight_checks is turned off in this organisation (policy: nobody)"+bypass)
	case c.Kind == CredentialUser && !HasRole(c.Roles, CanSkipRules...):
		return Errorf(EFORBIDDEN, "skip_preflight_checks needs one of the roles %s", strings.Join(CanSkipRules, ", "))
	case c.Kind == CredentialUser:
		return nil
	case policy == SkipAnyone && c.Kind == CredentialAPIKey:
		return nil
	case policy == SkipPeopleOnly:
		return Errorf(EFORBIDDEN, "skip_preflight_checks needs a person's token in this organisation (policy: people_only), "+
			"not an org API key"+bypass)
	}
	return Errorf(EFORBIDDEN, "skip_preflight_checks is not allowed for %s (policy: %s)", fmt.Sprint(c.Kind), policy)
}
