package shiplog

import (
	"encoding/json"
	"time"
)

// Org is a tenant. Every other record belongs to exactly one org.
type Org struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// APIKey is an org API key; the secret itself is never stored, only its hash.
type APIKey struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"-"`
	KeyID      string     `json:"key_id"` // "k1", "k2", … (the middle part of sk_<org>_<key_id>_<secret>)
	Name       string     `json:"name"`
	Hint       string     `json:"hint"` // last four characters of the secret, to tell keys apart
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type Product struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

type Environment struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Type        EnvType   `json:"type"`
	Description string    `json:"description"`
	CreatedAt   time.Time `json:"created_at"`
}

type Version struct {
	ID            string    `json:"id"`
	ProductID     string    `json:"product_id"`
	ProductName   string    `json:"product_name"`
	Version       string    `json:"version"`
	ScmSHA        *string   `json:"scm_sha"`
	ScmBranch     *string   `json:"scm_branch"`
	ScmRepository *string   `json:"scm_repository"`
	CreatedAt     time.Time `json:"created_at"`
}

// Deployment is one run of a version to an environment; events move it
// through its states and are kept as its timeline.
type Deployment struct {
	ID              string  `json:"id"`
	OrgID           string  `json:"-"`
	ProductID       string  `json:"product_id"`
	ProductName     string  `json:"product_name"`
	VersionID       string  `json:"version_id"`
	Version         string  `json:"version"`
	EnvironmentID   string  `json:"environment_id"`
	EnvironmentName string  `json:"environment_name"`
	EnvironmentType EnvType `json:"environment_type"`
	Status          Status  `json:"status"`
	InvokeID        *string `json:"invoke_id"`
	DeployedBy      *string `json:"deployed_by"`
	DeployedByName  *string `json:"deployed_by_name"`
	DeployedByEmail *string `json:"deployed_by_email"`
	ScmSHA          *string `json:"scm_sha"`
	ScmBranch       *string `json:"scm_branch"`
	ScmRepository   *string `json:"scm_repository"`
	BuildURL        *string `json:"build_url"`
	BuildNumber     *string `json:"build_number"`
	DeployURL       *string `json:"deploy_url"`
	SourceSystem    *string `json:"source_system"`
	PreflightStatus *string `json:"preflight_status"`
	// PreflightSkippedBy names who skipped the checks when PreflightStatus
	// is "skipped".
	PreflightSkippedBy *Credential     `json:"preflight_skipped_by"`
	ExtraMetadata      json.RawMessage `json:"extra_metadata"`
	StartedAt          *time.Time      `json:"started_at"`
	CompletedAt        *time.Time      `json:"completed_at"`
	DeployedAt         time.Time       `json:"deployed_at"` // time of the latest event
	CreatedAt          time.Time       `json:"created_at"`
	UpdatedAt          time.Time       `json:"updated_at"`
}

// Build is one CI build run of a version.
type Build struct {
	ID            string          `json:"id"`
	OrgID         string          `json:"-"`
	ProductID     string          `json:"product_id"`
	ProductName   string          `json:"product_name"`
	VersionID     string          `json:"version_id"`
	Version       string          `json:"version"`
	Status        Status          `json:"status"`
	InvokeID      *string         `json:"invoke_id"`
	BuiltBy       *string         `json:"built_by"`
	BuiltByName   *string         `json:"built_by_name"`
	BuiltByEmail  *string         `json:"built_by_email"`
	ScmSHA        *string         `json:"scm_sha"`
	ScmBranch     *string         `json:"scm_branch"`
	ScmRepository *string         `json:"scm_repository"`
	BuildURL      *string         `json:"build_url"`
	BuildNumber   *string         `json:"build_number"`
	SourceSystem  *string         `json:"source_system"`
	ErrorMessage  *string         `json:"error_message"`
	ErrorCode     *string         `json:"error_code"`
	ExtraMetadata json.RawMessage `json:"extra_metadata"`
	StartedAt     *time.Time      `json:"started_at"`
	CompletedAt   *time.Time      `json:"completed_at"`
	CreatedAt     time.Time       `json:"created_at"`
	UpdatedAt     time.Time       `json:"updated_at"`
}

// Event is one received (or system-generated) event, kept append-only as the
// timeline of its deployment or build, and the unit that notifications fan out.
type Event struct {
	ID              string    `json:"id"`
	Seq             int64     `json:"seq"` // store-assigned, increasing; the resume point for streams
	OrgID           string    `json:"-"`
	Type            EventType `json:"event_type"`
	Kind            Kind      `json:"kind"`
	SubjectID       string    `json:"subject_id"` // the deployment's or build's id
	ProductName     string    `json:"product_name"`
	Version         string    `json:"version"`
	EnvironmentName string    `json:"environment_name,omitempty"`
	EnvironmentType EnvType   `json:"environment_type,omitempty"`
	Status          Status    `json:"status"`
	// Actor and ActorEmail are the run's deployer (or builder) as of this
	// event: its name (else login, else email) and email, from this event
	// or, when it does not repeat them, from the run's earlier events.
	Actor           string `json:"actor,omitempty"`
	ActorEmail      string `json:"actor_email,omitempty"`
	ScmSHA          string `json:"scm_sha,omitempty"`
	ScmRepository   string `json:"scm_repository,omitempty"`
	PreflightStatus string `json:"preflight_status,omitempty"`
	// SubmittedBy is the credential that sent the event: with
	// preflight_status "skipped", who skipped the checks; on an abort
	// recorded through the API, who marked the run aborted. Nil for events
	// recorded before it was kept.
	SubmittedBy *Credential     `json:"submitted_by,omitempty"`
	Payload     json.RawMessage `json:"payload"` // the request fields as received
	OccurredAt  time.Time       `json:"occurred_at"`
	// Targets are what a governance event (dr.*) is about, for channel
	// filters: the request's environments with their types and its
	// products. Known when the event is emitted; not stored.
	Targets *Targets `json:"-"`
}

// Targets are a deployment request's environments and products.
type Targets struct {
	EnvironmentNames []string
	EnvironmentTypes []EnvType // of EnvironmentNames, as the org has them
	ProductNames     []string
}
