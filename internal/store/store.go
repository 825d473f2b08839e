// Package store defines the persistence seam: one Store interface with two
// drivers (sqlite, postgres) that share the SQL in sqlstore and pass one
// conformance suite (storetest).
package store

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/shiplog/shiplog"
)

// Sentinel errors every driver maps its own error codes to.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Store is what the application needs from a database.
type Store interface {
	Reader
	// Write runs fn in a write transaction and returns once that transaction
	// is durably committed. Concurrent callers may share one transaction and
	// one commit (group commit); each fn runs inside its own savepoint, so an
	// error from fn undoes only fn's own writes and is returned to its caller.
	Write(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error
	// WriteKeyed is Write for work that touches rows named by key (e.g. an
	// org's product): writes with equal keys are never run concurrently.
	WriteKeyed(ctx context.Context, key string, fn func(ctx context.Context, tx Tx) error) error
	Ping(ctx context.Context) error
	Close() error
	// Driver names the driver ("sqlite", "postgres").
	Driver() string
}

// Page selects one page of a newest-first listing.
type Page struct {
	Limit  int    // 1..MaxLimit; 0 means DefaultLimit
	Cursor string // the id of the last item of the previous page
}

const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Reader holds the read queries, all org-scoped.
type Reader interface {
	SessionReader
	DoraReader
	MetricsReader
	StreamReader // stream.go
	OrgGetByName(ctx context.Context, name string) (*shiplog.Org, error)
	// OrgList returns every org, by name (the server's start looks for
	// orgs that still wait for their first owner).
	OrgList(ctx context.Context) ([]*shiplog.Org, error)
	OrgGet(ctx context.Context, id string) (*shiplog.Org, error)
	// APIKeyAuthLookup returns the key for (org name, key id), including its
	// hash, for constant-time comparison by the caller.
	APIKeyAuthLookup(ctx context.Context, orgName, keyID string) (*APIKeyAuth, error)
	APIKeyList(ctx context.Context, orgID string) ([]*shiplog.APIKey, error)

	ProductList(ctx context.Context, orgID string, p Page) ([]*shiplog.Product, error)
	EnvironmentList(ctx context.Context, orgID string, p Page) ([]*shiplog.Environment, error)
	EnvironmentGet(ctx context.Context, orgID, id string) (*shiplog.Environment, error)
	// ProductByName, EnvironmentByName and VersionByName find catalogue rows
	// by name (ErrNotFound when absent).
	ProductByName(ctx context.Context, orgID, name string) (*shiplog.Product, error)
	EnvironmentByName(ctx context.Context, orgID, name string) (*shiplog.Environment, error)
	VersionByName(ctx context.Context, productID, version string) (*shiplog.Version, error)
	VersionList(ctx context.Context, orgID string, f VersionFilter, p Page) ([]*shiplog.Version, error)
	VersionGet(ctx context.Context, orgID, id string) (*shiplog.Version, error)
	DeploymentList(ctx context.Context, orgID string, f DeploymentFilter, p Page) ([]*shiplog.Deployment, error)
	DeploymentGet(ctx context.Context, orgID, id string) (*shiplog.Deployment, error)
	// DeploymentsRunning lists a product's deployments started (not yet
	// finished) in an environment; DeploymentsOfVersion a version's
	// deployments in every environment, at most limit, in no set order
	// (ordering would make SQLite walk the org's whole history).
	DeploymentsRunning(ctx context.Context, orgID, productID, environmentID string) ([]*shiplog.Deployment, error)
	DeploymentsOfVersion(ctx context.Context, orgID, productID, versionID string, limit int) ([]*shiplog.Deployment, error)
	BuildList(ctx context.Context, orgID string, f BuildFilter, p Page) ([]*shiplog.Build, error)
	BuildGet(ctx context.Context, orgID, id string) (*shiplog.Build, error)
	EventGet(ctx context.Context, orgID, id string) (*shiplog.Event, error)
	// EventListBySubject returns a deployment's or build's events, oldest first.
	EventListBySubject(ctx context.Context, orgID, subjectID string) ([]*shiplog.Event, error)
	// StatusMatrix returns, for every product × environment that has seen a
	// deployment, the newest deployment and the newest completed one.
	StatusMatrix(ctx context.Context, orgID string) ([]*StatusCell, error)
	IdempotencyGet(ctx context.Context, orgID, key string, notBefore time.Time) (*IdempotentResponse, error)

	OrgOwnerEmails(ctx context.Context, orgID string) ([]string, error)
	// OrgSettingsGet returns the org's settings; ErrNotFound when they were
	// never changed (the caller applies shiplog.DefaultOrgSettings).
	OrgSettingsGet(ctx context.Context, orgID string) (*shiplog.OrgSettings, error)
	ChannelList(ctx context.Context, orgID string) ([]*shiplog.Channel, error)
	ChannelGet(ctx context.Context, orgID, id string) (*shiplog.Channel, error)
	// OrgConfig returns what ingest reads for every event of an org: its
	// rules, settings and enabled channels. It comes from memory while the
	// org's generation (OrgGeneration) is the one it was read at; in a write
	// transaction the generation is read once. The result is shared:
	// callers must not modify it.
	OrgConfig(ctx context.Context, orgID string) (*OrgConfig, error)
	// OrgGeneration counts changes to an org's configuration (OrgConfig's
	// contents and its environments' types); 0 before the first.
	OrgGeneration(ctx context.Context, orgID string) (int64, error)
	// ChannelsForEvent returns the org's enabled channels subscribed to t
	// (from OrgConfig: shared, not to be modified).
	ChannelsForEvent(ctx context.Context, orgID string, t shiplog.EventType) ([]*shiplog.Channel, error)
	SubscriptionList(ctx context.Context, orgID string) ([]*shiplog.Subscription, error)
	// DeliveryList lists a channel's deliveries newest first; states, when
	// given, keeps only deliveries in one of them.
	DeliveryList(ctx context.Context, orgID, channelID string, states []shiplog.DeliveryState, p Page) ([]*shiplog.Delivery, error)
	DeliveryGet(ctx context.Context, orgID, id string) (*shiplog.Delivery, error)
	AttemptList(ctx context.Context, orgID, deliveryID string) ([]*shiplog.Attempt, error)
	// DeliveryFailedSince lists a channel's failed deliveries created since (test sends excluded).
	DeliveryFailedSince(ctx context.Context, orgID, channelID string, since time.Time) ([]string, error)
	UserGet(ctx context.Context, orgID, id string) (*shiplog.User, error)
	UserByEmail(ctx context.Context, orgID, email string) (*shiplog.User, error)
	UserList(ctx context.Context, orgID string) ([]*shiplog.User, error)
	// UserPasswordHash returns the stored password hash ("" when none).
	UserPasswordHash(ctx context.Context, orgID, userID string) (string, error)
	TokenAuthLookup(ctx context.Context, tokenID string) (*TokenAuth, error)
	// TokenList lists an org's personal access tokens, newest first; only
	// userID's when userID is not empty.
	TokenList(ctx context.Context, orgID, userID string) ([]*shiplog.Token, error)
	// TokenGet finds one of an org's tokens by row id or token id.
	TokenGet(ctx context.Context, orgID, ref string) (*shiplog.Token, error)
	// PasswordResetGet returns a reset link's record by its id, used or not.
	PasswordResetGet(ctx context.Context, id string) (*PasswordReset, error)
	DRGet(ctx context.Context, orgID, id string) (*shiplog.DeploymentRequest, error)
	DRList(ctx context.Context, orgID string, f DRFilter, p Page) ([]*shiplog.DeploymentRequest, error)
	VersionApprovalList(ctx context.Context, orgID, versionID string) ([]*shiplog.VersionApproval, error)
	RuleList(ctx context.Context, orgID string) ([]*shiplog.Rule, error)
	RuleGet(ctx context.Context, orgID, id string) (*shiplog.Rule, error)
	// DeliveryStats counts deliveries by state, for tests and metrics.
	DeliveryStats(ctx context.Context) (map[shiplog.DeliveryState]int, error)
}

// Tx is a write transaction. It can read its own writes.
type Tx interface {
	Reader
	SessionWriter
	SignInThrottle
	Retention
	OrgCreate(ctx context.Context, name string, now time.Time) (*shiplog.Org, error)
	// APIKeyCreate stores a new key under the next free key id (k1, k2, …).
	APIKeyCreate(ctx context.Context, p *APIKeyCreateParams) (*shiplog.APIKey, error)
	APIKeyRevoke(ctx context.Context, orgID, keyID string, now time.Time) error
	APIKeyTouch(ctx context.Context, id string, now time.Time) error

	// ProductEnsure and EnvironmentEnsure create on first sight and return the
	// existing row otherwise (INSERT … ON CONFLICT DO NOTHING, then select).
	ProductEnsure(ctx context.Context, orgID, name string, now time.Time) (*shiplog.Product, error)
	EnvironmentEnsure(ctx context.Context, orgID, name string, typ shiplog.EnvType, now time.Time) (*shiplog.Environment, error)
	EnvironmentUpdate(ctx context.Context, orgID, id string, p *EnvironmentUpdateParams) (*shiplog.Environment, error)
	// VersionEnsure creates the version or returns the existing one. When the
	// existing version has no SHA yet and p.ScmSHA is set, it records it.
	// It does not judge a SHA mismatch; callers compare and decide.
	VersionEnsure(ctx context.Context, p *VersionEnsureParams) (*shiplog.Version, error)

	// LockSubject serialises writers that race on the same logical subject
	// (e.g. "newest open deployment of product/version/env") across
	// processes. A no-op where the driver has a single writer. Several
	// keys are taken in order, in one round trip.
	LockSubject(ctx context.Context, keys ...string) error
	DeploymentFindOpen(ctx context.Context, p *FindOpenParams) (*shiplog.Deployment, error)
	DeploymentInsert(ctx context.Context, d *shiplog.Deployment) error
	DeploymentUpdate(ctx context.Context, d *shiplog.Deployment) error
	BuildFindOpen(ctx context.Context, p *FindOpenParams) (*shiplog.Build, error)
	BuildInsert(ctx context.Context, b *shiplog.Build) error
	BuildUpdate(ctx context.Context, b *shiplog.Build) error
	// EventInsert appends to the event log and sets e.Seq.
	EventInsert(ctx context.Context, e *shiplog.Event) error
	// IdempotencyClaim records that key is being answered in this transaction.
	// It returns ErrConflict if a fresh row for key already exists.
	IdempotencyClaim(ctx context.Context, orgID, key string, now, staleBefore time.Time) error
	IdempotencyComplete(ctx context.Context, orgID, key string, r *IdempotentResponse) error

	OrgSetOwnerEmails(ctx context.Context, orgID string, emails []string) error
	// OrgSettingsPut stores the org's settings whole (insert or replace).
	OrgSettingsPut(ctx context.Context, p *OrgSettingsPutParams) error
	// ChannelCreate stores c and its subscriptions (c.Events); ChannelUpdate
	// replaces both. They seal c.URL (Slack) and c.Secret with the store's cipher.
	ChannelCreate(ctx context.Context, c *shiplog.Channel) error
	ChannelUpdate(ctx context.Context, c *shiplog.Channel) error
	// ChannelDelete removes the channel, its subscriptions and its deliveries.
	ChannelDelete(ctx context.Context, orgID, id string) error
	ChannelSetHealth(ctx context.Context, p *ChannelHealthParams) error
	SubscriptionCreate(ctx context.Context, s *shiplog.Subscription, orgID string) error
	SubscriptionDelete(ctx context.Context, orgID, id string) error

	DeliveryInsert(ctx context.Context, d *shiplog.Delivery) error
	// DeliveryClaim leases due deliveries of any org nobody holds (queued,
	// due, not leased or whose lease expired), oldest due first, within the
	// bounds p sets: in all, per channel, and which channels.
	DeliveryClaim(ctx context.Context, p *DeliveryClaimParams) ([]*shiplog.Delivery, error)
	// DeliveryExtendLease moves the lease of those of ids still queued to
	// leaseUntil: the holder's heartbeat while it sends or queues them. It
	// returns how many it extended.
	DeliveryExtendLease(ctx context.Context, ids []string, leaseUntil time.Time) (int, error)
	// DeliveryReleaseAll clears the lease of every queued delivery, for a
	// process that knows no other process holds any (SQLite's lock file),
	// and returns how many were leased.
	DeliveryReleaseAll(ctx context.Context) (int, error)
	// DeliveryRecord stores an attempt and the delivery's new state, unless
	// the delivery is no longer queued (cancelled meanwhile): then ErrNotFound.
	DeliveryRecord(ctx context.Context, d *shiplog.Delivery, a *shiplog.Attempt) error
	// DeliveryDefer moves a queued delivery's next attempt and lease without
	// counting an attempt (rate limits).
	DeliveryDefer(ctx context.Context, id string, next, leaseUntil time.Time) error
	// DeliveryRequeue queues a finished delivery again with extra attempts,
	// leased to the caller until leaseUntil.
	DeliveryRequeue(ctx context.Context, orgID, id string, now, leaseUntil time.Time, extraAttempts int) (*shiplog.Delivery, error)
	UserCreate(ctx context.Context, u *shiplog.User, passwordHash string) error
	UserUpdate(ctx context.Context, u *shiplog.User) error
	UserSetPassword(ctx context.Context, orgID, userID, passwordHash string) error
	// UserSetEmail changes a person's sign-in address (first-run setup):
	// ErrConflict when someone in the org has it, ErrNotFound when the
	// person is absent or deleted.
	UserSetEmail(ctx context.Context, orgID, userID, email string) error
	// UserSetActive deactivates (Active false: deactivated_at = Now, kept
	// when already set) or reactivates a person who is not deleted;
	// ErrNotFound otherwise.
	UserSetActive(ctx context.Context, p *UserSetActiveParams) error
	// UserDelete turns a person into a tombstone: deleted_at set, email
	// suffixed "#<id>" (free for someone new), password cleared, tokens
	// revoked, sessions and reset links removed. The row, its id and name
	// stay for the audit trail. ErrNotFound when absent or already deleted.
	UserDelete(ctx context.Context, p *UserDeleteParams) error
	TokenCreate(ctx context.Context, p *TokenCreateParams) error
	// TokenRevoke revokes one of an org's tokens by row id; revoking twice
	// keeps the first time. ErrNotFound when the org has no such token.
	TokenRevoke(ctx context.Context, orgID, id string, now time.Time) error
	// SessionDeleteUser ends a person's console sessions, except the one
	// whose id hash is keep (nil: all).
	SessionDeleteUser(ctx context.Context, orgID, userID string, keep []byte) error
	// PasswordResetCreate stores a reset link and drops the person's
	// earlier links, so only the newest works (unless p.KeepEarlier).
	PasswordResetCreate(ctx context.Context, p *PasswordResetCreateParams) error
	// PasswordResetUse marks a link used, once: ErrConflict when it was
	// used already or expired at now, ErrNotFound when absent.
	PasswordResetUse(ctx context.Context, id string, now time.Time) error
	TokenTouch(ctx context.Context, id string, now time.Time) error
	// DRCreate stores a DR with its slots.
	DRCreate(ctx context.Context, d *shiplog.DeploymentRequest) error
	// DRGetForUpdate is DRGet holding the DR's row until the transaction
	// ends, so writers on other connections (replicas) deciding the same
	// DR wait and then read what this one wrote.
	DRGetForUpdate(ctx context.Context, orgID, id string) (*shiplog.DeploymentRequest, error)
	// DRTransition moves a DR from p.From at p.Revision to p.To, and records
	// p.Decision, as one compare-and-set: ErrConflict when the DR is no
	// longer in p.From at p.Revision or the decided slot is not pending,
	// ErrNotFound when there is no such DR. On success the DR's revision
	// is p.Revision+1.
	DRTransition(ctx context.Context, p *DRTransitionParams) error
	VersionApprovalCreate(ctx context.Context, orgID string, a *shiplog.VersionApproval) error
	RuleCreate(ctx context.Context, r *shiplog.Rule) error
	RuleUpdate(ctx context.Context, r *shiplog.Rule) error
	RuleDelete(ctx context.Context, orgID, id string) error
	// ChannelEnsureSystem returns the org's hidden system channel of kind
	// and name, creating it on first use (DR approval emails).
	ChannelEnsureSystem(ctx context.Context, orgID string, kind shiplog.ChannelKind, name string, now time.Time) (*shiplog.Channel, error)
	// DeliveryRelease gives up this process's lease on queued deliveries, so
	// any replica's poller may claim them now, and wakes the other replicas.
	DeliveryRelease(ctx context.Context, ids []string) error
	// DeliveryCancelChannel cancels a channel's queued deliveries.
	DeliveryCancelChannel(ctx context.Context, channelID, reason string, now time.Time) error
}

// DeliveryClaimParams bounds a claim.
type DeliveryClaimParams struct {
	Now        time.Time // due at or before, lease expired at or before
	LeaseUntil time.Time
	Limit      int // in all
	// PerChannel bounds each channel's share of the claim (0: no bound),
	// so one channel's backlog cannot fill it.
	PerChannel int
	// ChannelID, when set, claims only that channel's deliveries (a
	// circuit breaker's probe).
	ChannelID string
	// ExcludeChannels are channels the caller cannot take now (full, or
	// paused by their circuit breaker): their deliveries stay in the database.
	ExcludeChannels []string
}

// ChannelHealthParams updates a channel's health fields.
type ChannelHealthParams struct {
	ChannelID      string
	FailingSince   *time.Time
	Disable        bool // set enabled=false with DisabledReason and DisabledAt=Now
	DisabledReason string
	Now            time.Time
}

// TokenAuth is a personal access token as authentication needs it.
type TokenAuth struct {
	ID, OrgID, OrgName, UserID string
	Hash                       []byte
	RevokedAt, LastUsed        *time.Time
}

// UserSetActiveParams deactivates or reactivates a person.
type UserSetActiveParams struct {
	OrgID, UserID string
	Active        bool
	Now           time.Time
}

// UserDeleteParams deletes a person (a tombstone).
type UserDeleteParams struct {
	OrgID, UserID string
	Now           time.Time
}

// PasswordReset is a one-time reset link as stored: the hash of its secret.
type PasswordReset struct {
	ID, OrgID, UserID, CreatedBy string
	Hash                         []byte
	CreatedAt, ExpiresAt         time.Time
	UsedAt                       *time.Time
}

// PasswordResetCreateParams stores a reset link.
type PasswordResetCreateParams struct {
	ID, OrgID, UserID string
	Hash              []byte
	CreatedBy         string // who issued it: a user id, or "cli"
	Now, ExpiresAt    time.Time
	// KeepEarlier leaves the person's earlier links working: first-run
	// setup links, where the one `org create` printed and the ones the
	// server logs at each start must all work until one is used.
	KeepEarlier bool
}

type TokenCreateParams struct {
	ID, OrgID, UserID, TokenID, Name string
	Hash                             []byte
	Now                              time.Time
}

// OrgSettingsPutParams stores an org's settings, validated by the caller.
// OrgConfig is an org's configuration as the ingest path reads it.
type OrgConfig struct {
	OrgID string
	Gen   int64
	Rules []*shiplog.Rule
	// Settings is nil when the org never changed the defaults.
	Settings *shiplog.OrgSettings
	// Channels are the enabled ones, each with its subscribed Events.
	Channels []*shiplog.Channel
}

type OrgSettingsPutParams struct {
	OrgID     string
	Settings  shiplog.OrgSettings
	UpdatedBy string
	Now       time.Time
}

// DRTransitionParams is one write to a deployment request (DRTransition).
type DRTransitionParams struct {
	OrgID, ID string
	From      shiplog.DRStatus
	Revision  int64 // as read
	To        shiplog.DRStatus
	Now       time.Time
	Decision  *SlotDecision // nil: a transition without a decision
}

// SlotDecision fills a pending slot.
type SlotDecision struct {
	SlotID   string
	Status   shiplog.SlotStatus // approved or rejected
	UserID   string
	Role     string
	Comments *string
}

type DRFilter struct {
	Statuses []shiplog.DRStatus // any of; empty: all
}

// Cipher seals channel secrets at rest.
type Cipher interface {
	Seal(plain []byte) ([]byte, error)
	Open(sealed []byte) ([]byte, error)
}

type APIKeyAuth struct {
	ID        string
	OrgID     string
	OrgName   string
	Hash      []byte
	RevokedAt *time.Time
	LastUsed  *time.Time
}

type APIKeyCreateParams struct {
	OrgID string
	Name  string
	Hash  []byte
	Hint  string
	Now   time.Time
}

type EnvironmentUpdateParams struct {
	Type        *shiplog.EnvType
	Description *string
}

type VersionEnsureParams struct {
	OrgID         string
	ProductID     string
	Version       string
	ScmSHA        *string
	ScmBranch     *string
	ScmRepository *string
	Now           time.Time
}

type FindOpenParams struct {
	OrgID         string
	ProductID     string
	VersionID     string
	EnvironmentID string // deployments only
	// The names are returned as given (the lookup does not join for them).
	ProductName, Version, EnvironmentName string
	EnvironmentType                       shiplog.EnvType
	// InvokeID, when set, finds the record of that run whatever its state;
	// otherwise the newest non-terminal record.
	InvokeID *string
}

type VersionFilter struct {
	ProductName string
	ScmSHA      string
}

type DeploymentFilter struct {
	ProductName     string
	EnvironmentName string
	Status          shiplog.Status
	Version         string
	// ByTime lists by when it happened (the latest event's time, newest
	// first) instead of by when shiplog heard of it (id): backfilled
	// history then falls into place. The cursor is still an id.
	ByTime bool
}

type BuildFilter struct {
	ProductName string
	Version     string
	Status      shiplog.Status
	// ByTime lists by build time (completed, else started, else reported),
	// newest first, instead of by id.
	ByTime bool
}

// StatusCell is one product × environment of the status matrix.
type StatusCell struct {
	ProductID       string
	ProductName     string
	EnvironmentID   string
	EnvironmentName string
	EnvironmentType shiplog.EnvType
	Latest          *shiplog.Deployment // newest deployment of any state
	Current         *shiplog.Deployment // newest completed deployment; nil if none
}

// IdempotentResponse is the first answer to a request with an Idempotency-Key.
type IdempotentResponse struct {
	StatusCode int
	Body       json.RawMessage
	// RequestHash fingerprints the request the key first answered (method,
	// operation and body); nil for keys stored before it was kept.
	RequestHash []byte
	CreatedAt   time.Time
}
