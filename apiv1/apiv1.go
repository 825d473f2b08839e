// Package apiv1 holds the REST wire types that the server writes and the
// public Go client reads.
package apiv1

import "github.com/shiplog/shiplog"

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
