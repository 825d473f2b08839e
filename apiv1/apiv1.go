// Package apiv1 holds the REST wire types that the server writes and the
// public Go client reads.
package apiv1

import (
	"encoding/json"
	"time"

	"github.com/shiplog/shiplog"
)

// DeploymentEventResponse answers POST /deployment-events/: the deployment
// record as it stands after the event, plus the event's canonical type.
type DeploymentEventResponse struct {
	*shiplog.Deployment
	EventType     shiplog.EventType `json:"event_type"`
	SoakTimeHours *float64          `json:"soak_time_hours"`
}

// BuildEventResponse answers POST /build-events/.
type BuildEventResponse struct {
	*shiplog.Build
	EventType shiplog.EventType `json:"event_type"`
}

// DeploymentDetail is GET /deployments/{id}: the record and its timeline.
type DeploymentDetail struct {
	*shiplog.Deployment
	Events []*shiplog.Event `json:"events"`
}

// BuildDetail is GET /builds/{id}.
type BuildDetail struct {
	*shiplog.Build
	Events []*shiplog.Event `json:"events"`
}

// List is every listing's envelope; NextCursor is null on the last page.
type List[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// StatusCell is one product × environment of GET /status/.
type StatusCell struct {
	ProductID       string            `json:"product_id"`
	ProductName     string            `json:"product_name"`
	EnvironmentID   string            `json:"environment_id"`
	EnvironmentName string            `json:"environment_name"`
	EnvironmentType shiplog.EnvType   `json:"environment_type"`
	Current         *StatusDeployment `json:"current"` // what is deployed now: the newest completed deployment
	Latest          *StatusDeployment `json:"latest"`  // the newest deployment in any state
}

// StatusDeployment summarises a deployment for the status view.
type StatusDeployment struct {
	DeploymentID string         `json:"deployment_id"`
	Version      string         `json:"version"`
	Status       shiplog.Status `json:"status"`
	DeployedBy   *string        `json:"deployed_by"`
	DeployedAt   string         `json:"deployed_at"`
	// PreflightStatus is the rules' verdict: "failed" on a run they
	// refused (a blocked deployment), absent when never judged.
	PreflightStatus *string `json:"preflight_status,omitempty"`
}

// EnvironmentPatch is PATCH /environments/{id}.
type EnvironmentPatch struct {
	Type        *string `json:"type"`
	Description *string `json:"description"`
}

// Error is every error body.
type Error struct {
	Detail any `json:"detail"`
}

// ChannelInput is the body of POST and PATCH /notification-channels/. On
// PATCH, absent fields keep their value; "secret": "" removes the secret.
type ChannelInput struct {
	Kind                   *string   `json:"kind"`
	Name                   *string   `json:"name"`
	Description            *string   `json:"description"`
	Enabled                *bool     `json:"enabled"`
	Events                 *[]string `json:"events"`
	EnvironmentTypesFilter *[]string `json:"environment_types_filter"`
	ProductNamesFilter     *[]string `json:"product_names_filter"`
	URL                    *string   `json:"url"`
	Secret                 *string   `json:"secret"`
	SignatureScheme        *string   `json:"signature_scheme"` // config.signature_scheme, as before config
	Recipients             *[]string `json:"recipients"`       // config.recipients, as before config
	RetrySchedule          *[]string `json:"retry_schedule"`   // Go durations: "5s", "5m", "2h"
	// Format is a webhook's body (config.format): versioner (default),
	// qovery, clever, standard-webhooks.
	Format *string `json:"format,omitempty"`
	// Qovery's names for url and product_names_filter, so a Qovery
	// webhook's definition is accepted as Qovery spells it.
	TargetURL          *string   `json:"target_url,omitempty"`
	ProjectNamesFilter *[]string `json:"project_names_filter,omitempty"`
	// Config sets the kind's own settings; on PATCH, the keys given
	// replace the channel's (null removes one), the others stay.
	Config map[string]any `json:"config"`
}

// Channel is a channel as the API shows it: write-only values masked.
type Channel struct {
	*shiplog.Channel
	URL        string  `json:"url,omitempty"` // webhooks: the URL; Slack: masked
	SecretHint *string `json:"secret_hint"`   // "…abcd" or null
	// The settings that were top-level fields before config, still shown
	// there (the same values as in config).
	SignatureScheme string   `json:"signature_scheme,omitempty"`
	Recipients      []string `json:"recipients,omitempty"`
	RetrySchedule   []string `json:"retry_schedule"`
	// Secret is present once, in the answer that generated it.
	Secret string `json:"secret,omitempty"`
	// Format is a webhook's format (versioner when it has none set).
	Format string `json:"format,omitempty"`
}

// PreferenceInput is POST /notification-preferences/ (the seed's call).
type PreferenceInput struct {
	EventType string `json:"event_type"`
	ChannelID string `json:"channel_id"`
}

// DeliveryDetail is GET /deliveries/{id}.
type DeliveryDetail struct {
	*shiplog.Delivery
	Attempts []*shiplog.Attempt `json:"attempts"`
	// Subject is what the event was about; absent for test sends and for
	// events retention has pruned.
	Subject *DeliverySubject `json:"subject,omitempty"`
}

// DeliverySubject names the run a delivery's event was about.
type DeliverySubject struct {
	ProductName     string `json:"product_name"`
	Version         string `json:"version"`
	EnvironmentName string `json:"environment_name,omitempty"`
}

// TestResult answers POST /notification-channels/{id}/test.
type TestResult struct {
	OK         bool             `json:"ok"`
	DeliveryID string           `json:"delivery_id"`
	Attempt    *shiplog.Attempt `json:"attempt"`
}

// RecoverInput is POST /notification-channels/{id}/recover.
type RecoverInput struct {
	Since string `json:"since"` // RFC 3339
}

// DeploymentEventRequest is the body of POST /deployment-events/, as the
// client sends it. Empty optional fields are left out ("not given").
type DeploymentEventRequest struct {
	ProductName         string          `json:"product_name"`
	Version             string          `json:"version"`
	EnvironmentName     string          `json:"environment_name"`
	Status              string          `json:"status"` // any accepted word; the server maps it
	DeployedBy          string          `json:"deployed_by,omitempty"`
	DeployedByEmail     string          `json:"deployed_by_email,omitempty"`
	DeployedByName      string          `json:"deployed_by_name,omitempty"`
	ScmBranch           string          `json:"scm_branch,omitempty"`
	ScmSHA              string          `json:"scm_sha,omitempty"`
	ScmRepository       string          `json:"scm_repository,omitempty"`
	BuildURL            string          `json:"build_url,omitempty"`
	DeployURL           string          `json:"deploy_url,omitempty"`
	BuildNumber         string          `json:"build_number,omitempty"`
	SourceSystem        string          `json:"source_system,omitempty"`
	InvokeID            string          `json:"invoke_id,omitempty"`
	CompletedAt         *time.Time      `json:"completed_at,omitempty"`
	SkipPreflightChecks bool            `json:"skip_preflight_checks,omitempty"` // on started: skip the rules, where the org's setting allows it
	ExtraMetadata       json.RawMessage `json:"extra_metadata,omitempty"`        // a JSON object
}

// BuildEventRequest is the body of POST /build-events/.
type BuildEventRequest struct {
	ProductName   string          `json:"product_name"`
	Version       string          `json:"version"`
	Status        string          `json:"status"`
	BuiltBy       string          `json:"built_by,omitempty"`
	BuiltByEmail  string          `json:"built_by_email,omitempty"`
	BuiltByName   string          `json:"built_by_name,omitempty"`
	ScmBranch     string          `json:"scm_branch,omitempty"`
	ScmSHA        string          `json:"scm_sha,omitempty"`
	ScmRepository string          `json:"scm_repository,omitempty"`
	BuildURL      string          `json:"build_url,omitempty"`
	BuildNumber   string          `json:"build_number,omitempty"`
	SourceSystem  string          `json:"source_system,omitempty"`
	InvokeID      string          `json:"invoke_id,omitempty"`
	StartedAt     *time.Time      `json:"started_at,omitempty"`
	CompletedAt   *time.Time      `json:"completed_at,omitempty"`
	ErrorMessage  string          `json:"error_message,omitempty"`
	ErrorCode     string          `json:"error_code,omitempty"`
	ExtraMetadata json.RawMessage `json:"extra_metadata,omitempty"` // a JSON object
}

// UserInput is POST /users/ and PATCH /users/{id}.
type UserInput struct {
	Email    string   `json:"email"`
	Name     string   `json:"name"`
	Roles    []string `json:"roles"`
	Password string   `json:"password"` // optional: for the console
}

// DRInput is POST /deployment-requests/.
type DRInput struct {
	Name             string           `json:"name"`
	Description      string           `json:"description"`
	Links            []string         `json:"links"`
	Items            []shiplog.DRItem `json:"items"`
	EnvironmentNames []string         `json:"environment_names"`
	ApprovalSlots    []SlotInput      `json:"approval_slots"`
}

// SlotInput asks for one approval; Required defaults to true.
type SlotInput struct {
	ApprovalType string `json:"approval_type"`
	Required     *bool  `json:"required"`
}

// DecisionInput is the body of a slot's approve or reject.
type DecisionInput struct {
	Comments string `json:"comments"`
}

// VersionApprovalInput is POST /versions/{product}/{version}/approvals.
type VersionApprovalInput struct {
	ApprovalType    string  `json:"approval_type"`
	EnvironmentName *string `json:"environment_name"`
	Comments        *string `json:"comments"`
}

// VersionDetail is GET /versions/{id}: the version with its sign-offs.
type VersionDetail struct {
	*shiplog.Version
	Approvals []*shiplog.VersionApproval `json:"approvals"`
}

// PreflightInput is POST /preflight/.
type PreflightInput struct {
	ProductName     string `json:"product_name"`
	Version         string `json:"version"`
	EnvironmentName string `json:"environment_name"`
}

// PreflightResult answers an allowed POST /preflight/; a blocked one gets the
// 409/423/428 body the event endpoint would give.
type PreflightResult struct {
	Allowed         bool   `json:"allowed"`
	PreflightStatus string `json:"preflight_status"`
	RulesEvaluated  any    `json:"rules_evaluated"`
	Warnings        any    `json:"warnings"`
}

// OrgSettingsPatch changes an org's settings (PATCH /org-settings/); a field
// left out keeps its value.
type OrgSettingsPatch struct {
	SkipPreflightChecks *string `json:"skip_preflight_checks,omitempty"`
	StaleRunMinutes     *int    `json:"stale_run_minutes,omitempty"`
}

// AbortInput marks a run aborted (POST /deployments/{id}/abort).
type AbortInput struct {
	Reason string `json:"reason,omitempty"`
}
