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
	SignatureScheme        *string   `json:"signature_scheme"`
	Recipients             *[]string `json:"recipients"`
	RetrySchedule          *[]string `json:"retry_schedule"` // Go durations: "5s", "5m", "2h"
}

// Channel is a channel as the API shows it: write-only values masked.
type Channel struct {
	*shiplog.Channel
	URL           string   `json:"url,omitempty"` // webhooks: the URL; Slack: masked
	SecretHint    *string  `json:"secret_hint"`   // "…abcd" or null
	RetrySchedule []string `json:"retry_schedule"`
	// Secret is present once, in the answer that generated it.
	Secret string `json:"secret,omitempty"`
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
