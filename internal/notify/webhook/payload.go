// Package webhook renders and signs the JSON bodies shiplog POSTs to webhook
// channels. The payloads follow Versioner's published shapes field for field,
// so receivers written for Versioner keep working.
//
// Build events use the deployment payload's shape: "id" is the build's id,
// "deployer" is whoever built it (built_by), "environment" is "" (the seed
// marks it a non-nullable string, the target environment's name, and a
// build targets none), and "is_successful" is always null. "source_url"
// links to /builds/<id> instead of /deployments/<id>.
//
// "deployer" is the run's: an event that does not name one (CI often names
// the deployer on started only) carries the one named earlier in the run.
//
// Timestamps are written as ISO 8601 in UTC with microseconds and an explicit
// "+00:00" offset, the form Versioner's examples show, so that parsers which
// reject a trailing "Z" (Python < 3.11 fromisoformat) still accept them.
package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

const timeLayout = "2006-01-02T15:04:05.000000+00:00"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// nullable turns "" into JSON null, as the payload tables require for
// nullable fields.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// EventPayload is the body for deployment.* and build.* events. Field order is
// the seed's order; receivers that sign-check the raw bytes depend on it.
type EventPayload struct {
	ID              string  `json:"id"`
	DeployedAt      string  `json:"deployed_at"`
	EventType       string  `json:"event_type"`
	Environment     string  `json:"environment"`
	IsSuccessful    *bool   `json:"is_successful"`
	Deployer        *string `json:"deployer"`
	ProductName     *string `json:"product_name"`
	Version         *string `json:"version"`
	RepoName        *string `json:"repo_name"`
	CommitSHA       *string `json:"commit_sha"`
	PreflightStatus *string `json:"preflight_status"`
	SourceURL       *string `json:"source_url"`
}

// isSuccessful follows the seed's table: only terminal deployment outcomes say
// anything; aborted, non-terminal and all build events are null.
func isSuccessful(t shiplog.EventType) *bool {
	var v bool
	switch t {
	case shiplog.TypeOf(shiplog.KindDeployment, shiplog.StatusCompleted):
		v = true
	case shiplog.TypeOf(shiplog.KindDeployment, shiplog.StatusFailed), shiplog.EventDeploymentPreflightFailed:
		v = false
	default:
		return nil
	}
	return &v
}

// NewEventPayload builds the payload for a deployment or build event.
func NewEventPayload(m notify.Message) (EventPayload, error) {
	e := m.Event
	kind := m.Kind()
	if kind != shiplog.KindDeployment && kind != shiplog.KindBuild {
		return EventPayload{}, fmt.Errorf("%w: %q", notify.ErrUnsupportedEvent, e.Type)
	}
	if !strings.HasPrefix(string(e.Type), string(kind)+".") {
		return EventPayload{}, fmt.Errorf("webhook: event type %q does not match kind %q", e.Type, kind)
	}
	if e.SubjectID == "" {
		return EventPayload{}, fmt.Errorf("webhook: event %s has no subject id", e.ID)
	}
	if e.OccurredAt.IsZero() {
		return EventPayload{}, fmt.Errorf("webhook: event %s has no time", e.ID)
	}
	p := EventPayload{
		ID:              e.SubjectID,
		DeployedAt:      formatTime(e.OccurredAt),
		EventType:       string(e.Type),
		IsSuccessful:    isSuccessful(e.Type),
		Deployer:        nullable(m.Who()),
		ProductName:     nullable(e.ProductName),
		Version:         nullable(e.Version),
		RepoName:        nullable(e.ScmRepository),
		CommitSHA:       nullable(e.ScmSHA),
		PreflightStatus: nullable(e.PreflightStatus),
		SourceURL:       nullable(m.URL()),
	}
	if kind == shiplog.KindDeployment {
		if e.EnvironmentName == "" {
			return EventPayload{}, fmt.Errorf("webhook: deployment event %s has no environment", e.ID)
		}
		p.Environment = e.EnvironmentName
	}
	return p, nil
}

// RenderEvent returns the compact JSON body for a deployment or build event.
func RenderEvent(m notify.Message) ([]byte, error) {
	p, err := NewEventPayload(m)
	if err != nil {
		return nil, err
	}
	return marshal(p)
}

// DR lifecycle event types, delivered to webhooks only.
const (
	EventDRCreated     shiplog.EventType = "dr.created"
	EventDRActivated   shiplog.EventType = "dr.activated"
	EventDRDeactivated shiplog.EventType = "dr.deactivated"
	EventDRApproved    shiplog.EventType = "dr.approved"
	EventDRRejected    shiplog.EventType = "dr.rejected"
	EventDRCompleted   shiplog.EventType = "dr.completed"
	EventDRCancelled   shiplog.EventType = "dr.cancelled"
)

// DREventTypes lists the DR lifecycle event types.
var DREventTypes = []shiplog.EventType{
	EventDRCreated, EventDRActivated, EventDRDeactivated, EventDRApproved,
	EventDRRejected, EventDRCompleted, EventDRCancelled,
}

// DR is the input for a deployment-request lifecycle payload. Empty optional
// strings are sent as null.
type DR struct {
	EventType        shiplog.EventType
	OccurredAt       time.Time
	ID               string
	Name             string
	URL              string
	Status           string
	EnvironmentNames []string

	Actor        string // optional
	ApprovalType string // optional; set on dr.approved / dr.rejected
	ApproverRole string // optional; set on dr.approved / dr.rejected
	SlotStatus   string // optional; "approved" or "rejected"
	Comments     string // optional
}

// DRPayload is the DR lifecycle body. Every field is always present so
// receivers can rely on the keys; the slot fields are null outside
// dr.approved / dr.rejected.
type DRPayload struct {
	EventType        string   `json:"event_type"`
	OccurredAt       string   `json:"occurred_at"`
	DRID             string   `json:"dr_id"`
	DRName           string   `json:"dr_name"`
	DRURL            string   `json:"dr_url"`
	Status           string   `json:"status"`
	EnvironmentNames []string `json:"environment_names"`
	Actor            *string  `json:"actor"`
	ApprovalType     *string  `json:"approval_type"`
	ApproverRole     *string  `json:"approver_role"`
	SlotStatus       *string  `json:"slot_status"`
	Comments         *string  `json:"comments"`
}

// RenderDR returns the compact JSON body for a DR lifecycle event.
func RenderDR(in DR) ([]byte, error) {
	if !slices.Contains(DREventTypes, in.EventType) {
		return nil, fmt.Errorf("%w: %q is not a DR event", notify.ErrUnsupportedEvent, in.EventType)
	}
	if err := required(map[string]string{"dr_id": in.ID, "dr_name": in.Name, "dr_url": in.URL, "status": in.Status}, in.OccurredAt); err != nil {
		return nil, err
	}
	envs := in.EnvironmentNames
	if envs == nil {
		envs = []string{} // not nullable: an empty list, never null
	}
	return marshal(DRPayload{
		EventType:        string(in.EventType),
		OccurredAt:       formatTime(in.OccurredAt),
		DRID:             in.ID,
		DRName:           in.Name,
		DRURL:            in.URL,
		Status:           in.Status,
		EnvironmentNames: envs,
		Actor:            nullable(in.Actor),
		ApprovalType:     nullable(in.ApprovalType),
		ApproverRole:     nullable(in.ApproverRole),
		SlotStatus:       nullable(in.SlotStatus),
		Comments:         nullable(in.Comments),
	})
}

// VersionApproval is the input for a version.approved payload.
type VersionApproval struct {
	OccurredAt      time.Time
	VersionID       string
	ProductName     string
	Version         string
	ApprovalType    string
	ApproverRole    string
	EnvironmentName string // optional: the environment the sign-off is scoped to
	Comments        string // optional
	Actor           string // optional
}

// VersionApprovedPayload is the version.approved body.
type VersionApprovedPayload struct {
	EventType       string  `json:"event_type"`
	OccurredAt      string  `json:"occurred_at"`
	VersionID       string  `json:"version_id"`
	ProductName     string  `json:"product_name"`
	Version         string  `json:"version"`
	ApprovalType    string  `json:"approval_type"`
	ApproverRole    string  `json:"approver_role"`
	EnvironmentName *string `json:"environment_name"`
	Comments        *string `json:"comments"`
	Actor           *string `json:"actor"`
}

// RenderVersionApproved returns the compact JSON body for version.approved.
func RenderVersionApproved(in VersionApproval) ([]byte, error) {
	if err := required(map[string]string{
		"version_id": in.VersionID, "product_name": in.ProductName, "version": in.Version,
		"approval_type": in.ApprovalType, "approver_role": in.ApproverRole,
	}, in.OccurredAt); err != nil {
		return nil, err
	}
	return marshal(VersionApprovedPayload{
		EventType:       string(shiplog.EventVersionApproved),
		OccurredAt:      formatTime(in.OccurredAt),
		VersionID:       in.VersionID,
		ProductName:     in.ProductName,
		Version:         in.Version,
		ApprovalType:    in.ApprovalType,
		ApproverRole:    in.ApproverRole,
		EnvironmentName: nullable(in.EnvironmentName),
		Comments:        nullable(in.Comments),
		Actor:           nullable(in.Actor),
	})
}

// required rejects empty non-nullable fields: sending "" where the published
// schema promises a value would break receivers silently.
func required(fields map[string]string, at time.Time) error {
	var missing []string
	for name, v := range fields {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if at.IsZero() {
		missing = append(missing, "occurred_at")
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("webhook: missing required field(s): %s", strings.Join(missing, ", "))
	}
	return nil
}

// marshal writes compact JSON without HTML escaping: receivers verify the
// signature over these exact bytes, and "\u003c" for "<" only confuses people
// comparing payloads by eye.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("webhook: encode payload: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
