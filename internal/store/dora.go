package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/shiplog/shiplog"
)

// DoraReader reads what the DORA metrics (internal/dora) are computed from.
type DoraReader interface {
	// DoraHistory returns an org's deployments that finished (completed or
	// failed) in [From, To), optionally of one product and/or environment,
	// oldest first, at most Limit of them; plus, when not truncated, the
	// context rows the metrics need from outside the window, and the first
	// completed build of each version deployed in it.
	DoraHistory(ctx context.Context, p *DoraHistoryParams) (*DoraHistory, error)
}

type DoraHistoryParams struct {
	OrgID         string
	ProductID     string // "": every product
	EnvironmentID string // "": every environment
	From, To      time.Time
	Limit         int // 1..MaxDoraDeployments; 0 means MaxDoraDeployments
}

// MaxDoraDeployments bounds the deployments one DoraHistory reads from a
// window: over 270 a day for a year.
const MaxDoraDeployments = 100_000

// DoraHistory is DoraHistory's answer.
type DoraHistory struct {
	// Window holds the deployments finished in the window, by finish time.
	Window []*DoraDeployment
	// Truncated is set when more than Limit finished in the window; Window
	// then holds the first Limit and nothing else is read.
	Truncated bool
	// Context holds, for every product × environment in Window: the last
	// counted deployment (completed, or failed without a failed preflight)
	// that finished before From, which tells whether a run of failures
	// began before the window; and the first completed one at or after To,
	// which restores a failure left open at the window's end. And for every
	// version completed in Window there: the first recorded completed
	// deployment of it that finished before From, which makes the one in the
	// window a redeploy.
	Context []*DoraDeployment
	// Builds holds the first completed build of each version completed in
	// Window, where it has one.
	Builds []*DoraBuild
}

// DoraDeployment is the part of a deployment the metrics read.
type DoraDeployment struct {
	ID              string
	ProductName     string
	EnvironmentName string
	EnvironmentType shiplog.EnvType
	Version         string
	Status          shiplog.Status
	PreflightStatus *string
	// ExtraMetadata is read only for completed deployments whose metadata
	// mentions "commit" (every key a commit time is read from does):
	// nothing else is looked at, and metadata can be large.
	ExtraMetadata json.RawMessage
	StartedAt     *time.Time
	CompletedAt   *time.Time
	DeployedAt    time.Time
}

// DoraBuild is a version's first completed build.
type DoraBuild struct {
	ProductName string
	Version     string
	CompletedAt time.Time
}
