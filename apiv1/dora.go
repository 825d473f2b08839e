package apiv1

import (
	"time"

	"github.com/shiplog/shiplog"
)

// DoraResponse is GET /metrics/dora: the DORA metrics of the deployments
// that finished in [from, to), over the whole scope (total) and per product
// × environment (groups). docs/dora.md defines every field.
type DoraResponse struct {
	From            time.Time `json:"from"`
	To              time.Time `json:"to"`
	Days            float64   `json:"days"`             // the window's length, the denominator of frequency
	ProductName     *string   `json:"product_name"`     // the filter asked for; null: every product
	EnvironmentName *string   `json:"environment_name"` // null: every environment
	// EnvironmentType is the type asked for (environment_type); null: any.
	EnvironmentType *shiplog.EnvType `json:"environment_type"`
	Total           DoraReport       `json:"total"`
	Groups          []DoraGroup      `json:"groups"` // sorted by product, then environment
}

// DoraGroup is one product × environment's report.
type DoraGroup struct {
	ProductName     string          `json:"product_name"`
	EnvironmentName string          `json:"environment_name"`
	EnvironmentType shiplog.EnvType `json:"environment_type"`
	DoraReport
}

// DoraReport holds the four metrics and the per-day series.
type DoraReport struct {
	DeploymentFrequency DoraFrequency   `json:"deployment_frequency"`
	LeadTime            DoraLeadTime    `json:"lead_time"`
	ChangeFailureRate   DoraFailureRate `json:"change_failure_rate"`
	TimeToRestore       DoraRestore     `json:"time_to_restore"`
	Series              []DoraDay       `json:"series"`
}

// DoraFrequency is deployment frequency.
type DoraFrequency struct {
	Deployments int     `json:"deployments"`
	PerDay      float64 `json:"per_day"`
	PerWeek     float64 `json:"per_week"`
	Band        string  `json:"band"`
}

// DoraDurations summarises duration samples in seconds; null without samples.
type DoraDurations struct {
	Samples       int      `json:"samples"`
	MedianSeconds *float64 `json:"median_seconds"`
	P90Seconds    *float64 `json:"p90_seconds"`
	Band          string   `json:"band"`
}

// DoraLeadTime is lead time for changes.
type DoraLeadTime struct {
	DoraDurations
	FromCommit    int `json:"from_commit"`
	FromBuild     int `json:"from_build"`
	WithoutOrigin int `json:"without_origin"`
	Redeploys     int `json:"redeploys"`
}

// DoraFailureRate is the change failure rate; rate is null when no
// deployment finished.
type DoraFailureRate struct {
	Failures    int      `json:"failures"`
	Deployments int      `json:"deployments"`
	Rate        *float64 `json:"rate"`
	Band        string   `json:"band"`
}

// DoraRestore is time to restore.
type DoraRestore struct {
	DoraDurations
	Unrestored int `json:"unrestored"`
}

// DoraDay is one UTC day of the series.
type DoraDay struct {
	Date        string `json:"date"` // YYYY-MM-DD
	Deployments int    `json:"deployments"`
	Failures    int    `json:"failures"`
}
