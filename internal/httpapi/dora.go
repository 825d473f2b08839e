package httpapi

import (
	"math"

	"github.com/shiplog/shiplog"
	"net/http"
	"time"

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/dora"
	"github.com/shiplog/shiplog/internal/dora/doradb"
)

// doraMetrics is GET /metrics/dora?product_name=&environment_name=&from=&to=.
func (s *Server) doraMetrics(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	win, err := dora.ParseWindow(q.Get("from"), q.Get("to"), s.Clock.Now())
	if err != nil {
		return err
	}
	dq := doradb.Query{ProductName: first(r, "product_name", "product"),
		EnvironmentName: first(r, "environment_name", "environment"), Window: win}
	if t := q.Get("environment_type"); t != "" {
		et, ok := shiplog.ParseEnvType(t)
		if !ok {
			return shiplog.Errorf(shiplog.EINVALID, "Query parameter 'environment_type' must be one of production, staging, test, development, preview")
		}
		dq.EnvironmentType = et
	}
	res, err := doradb.Load(r.Context(), s.Store, principal(r).OrgID, dq)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, doraResponse(res, dq))
	return nil
}

func doraResponse(res *dora.Result, q doradb.Query) apiv1.DoraResponse {
	out := apiv1.DoraResponse{From: res.Window.From, To: res.Window.To, Days: round(res.Window.Days(), 6),
		Total: doraReport(res.Total), Groups: make([]apiv1.DoraGroup, 0, len(res.Groups))}
	if q.ProductName != "" {
		out.ProductName = &q.ProductName
	}
	if q.EnvironmentName != "" {
		out.EnvironmentName = &q.EnvironmentName
	}
	if q.EnvironmentType != "" {
		out.EnvironmentType = &q.EnvironmentType
	}
	for _, g := range res.Groups {
		out.Groups = append(out.Groups, apiv1.DoraGroup{ProductName: g.Product, EnvironmentName: g.Environment,
			EnvironmentType: g.EnvironmentType, DoraReport: doraReport(g.Report)})
	}
	return out
}

func doraReport(r dora.Report) apiv1.DoraReport {
	out := apiv1.DoraReport{
		DeploymentFrequency: apiv1.DoraFrequency{Deployments: r.Frequency.Deployments, PerDay: round(r.Frequency.PerDay, 4),
			PerWeek: round(r.Frequency.PerWeek, 4), Band: string(r.Frequency.Band)},
		LeadTime: apiv1.DoraLeadTime{DoraDurations: doraDurations(r.LeadTime.Durations), FromCommit: r.LeadTime.FromCommit,
			FromBuild: r.LeadTime.FromBuild, WithoutOrigin: r.LeadTime.WithoutOrigin, Redeploys: r.LeadTime.Redeploys},
		ChangeFailureRate: apiv1.DoraFailureRate{Failures: r.FailureRate.Failures, Deployments: r.FailureRate.Deployments,
			Band: string(r.FailureRate.Band)},
		TimeToRestore: apiv1.DoraRestore{DoraDurations: doraDurations(r.Restore.Durations), Unrestored: r.Restore.Unrestored},
		Series:        make([]apiv1.DoraDay, len(r.Series)),
	}
	if r.FailureRate.Rate != nil {
		rate := round(*r.FailureRate.Rate, 4)
		out.ChangeFailureRate.Rate = &rate
	}
	for i, d := range r.Series {
		out.Series[i] = apiv1.DoraDay{Date: d.Date.Format(time.DateOnly), Deployments: d.Deployments, Failures: d.Failures}
	}
	return out
}

func doraDurations(d dora.Durations) apiv1.DoraDurations {
	out := apiv1.DoraDurations{Samples: d.Samples, Band: string(d.Band)}
	if d.Median != nil && d.P90 != nil {
		med, p90 := d.Median.Seconds(), d.P90.Seconds()
		out.MedianSeconds, out.P90Seconds = &med, &p90
	}
	return out
}

// round keeps ratios readable (0.1429, not 0.14285714285714285); durations
// keep their microseconds.
func round(x float64, places int) float64 {
	p := math.Pow10(places)
	return math.Round(x*p) / p
}
