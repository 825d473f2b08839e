package web

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/dora"
)

func (s *Server) insightRoutes(page func(pattern string, h pageFunc)) {
	page("GET /ui/insight", s.insight)
}

// insightPreset is a quick window choice.
type insightPreset struct {
	Label, Query string
	Current      bool
}

type insightGroup struct {
	apiv1.DoraGroup
	Link string // this product × environment's own charts
}

type insightData struct {
	Product, Environment, From, To string
	// EnvType is the environment type measured: production unless the
	// viewer switched to all ("") or chose one environment.
	EnvType                string
	Products, Environments []string
	Presets                []insightPreset
	// Switch links to the production figures and to every environment's.
	ProductionLink, AllLink string
	Report                  *apiv1.DoraResponse
	Groups                  []insightGroup
	Daily, Durations        []insightChart
	Scope                   string
}

// insightChart is one chart drawn for one width; the page shows the one
// that fits the screen.
type insightChart struct {
	Width int
	SVG   template.HTML
}

// insight charts the DORA metrics (GET /metrics/dora) for the org, one
// product, one environment or one pair, over a chosen window.
func (s *Server) insight(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "insight"
	q := r.URL.Query()
	d := &insightData{Product: q.Get("product"), Environment: q.Get("environment"), From: q.Get("from"), To: q.Get("to")}
	// The headline is production's by default: a change counts when it
	// reaches people, and dev and staging runs would swamp the figures.
	switch et := q.Get("env_type"); {
	case d.Environment != "":
	case et == "":
		d.EnvType = string(shiplog.EnvProduction)
	case et != "all":
		if t, ok := shiplog.ParseEnvType(et); ok {
			d.EnvType = string(t)
		}
	}
	api := url.Values{}
	for k, val := range map[string]string{"product_name": d.Product, "environment_name": d.Environment, "from": d.From, "to": d.To,
		"environment_type": d.EnvType} {
		if val != "" {
			api.Set(k, val)
		}
	}
	var rep apiv1.DoraResponse
	if err := s.call(r, v, http.MethodGet, "/metrics/dora/?"+api.Encode(), nil, &rep); err != nil {
		return err
	}
	d.Report = &rep
	d.Products, d.Environments = s.names(r, v, "/products/"), s.names(r, v, "/environments/")
	now := s.Clock.Now().UTC()
	for _, p := range []struct {
		label string
		days  int
	}{{"7 days", 7}, {"30 days", 30}, {"90 days", 90}, {"1 year", 365}} {
		from := now.AddDate(0, 0, -p.days+1).Format(time.DateOnly)
		pq := url.Values{"from": {from}, "to": {now.Format(time.DateOnly)}}
		if d.Product != "" {
			pq.Set("product", d.Product)
		}
		if d.Environment != "" {
			pq.Set("environment", d.Environment)
		}
		d.keepType(pq)
		d.Presets = append(d.Presets, insightPreset{Label: p.label, Query: pq.Encode(),
			Current: int(rep.Days+0.5) == p.days})
	}
	d.Scope = scopeWords(d.Product, d.Environment, d.EnvType)
	rows := []dora.DurationRow{
		{Label: "Lead time for changes", Summary: durations(rep.Total.LeadTime.DoraDurations)},
		{Label: "Time to restore", Summary: durations(rep.Total.TimeToRestore.DoraDurations)},
	}
	for _, w := range dora.Widths { // the dora package escapes every text
		d.Daily = append(d.Daily, insightChart{w, template.HTML(dora.DailyChart("Deployments per day, "+d.Scope, days(rep.Total.Series), w))})
		d.Durations = append(d.Durations, insightChart{w, template.HTML(dora.DurationChart("Lead time and time to restore, "+d.Scope, rows, w))})
	}
	if d.Environment == "" {
		sw := url.Values{}
		for k, val := range map[string]string{"product": d.Product, "from": d.From, "to": d.To} {
			if val != "" {
				sw.Set(k, val)
			}
		}
		d.ProductionLink = "/ui/insight?" + sw.Encode()
		sw.Set("env_type", "all")
		d.AllLink = "/ui/insight?" + sw.Encode()
	}
	for _, g := range rep.Groups {
		gq := url.Values{"product": {g.ProductName}, "environment": {g.EnvironmentName}, "env_type": {"all"},
			"from": {rep.From.Format(time.RFC3339)}, "to": {rep.To.Format(time.RFC3339)}}
		d.Groups = append(d.Groups, insightGroup{DoraGroup: g, Link: "/ui/insight?" + gq.Encode()})
	}
	d.From, d.To = rep.From.UTC().Format(time.DateOnly), rep.To.UTC().Add(-time.Nanosecond).Format(time.DateOnly)
	return s.render(w, r, http.StatusOK, "insight", v, d)
}

// keepType carries the type switch into a link: absent is production.
func (d *insightData) keepType(q url.Values) {
	if d.Environment == "" && d.EnvType != string(shiplog.EnvProduction) {
		q.Set("env_type", cmp.Or(d.EnvType, "all"))
	}
}

func scopeWords(product, env, envType string) string {
	envs := "every environment"
	if envType != "" {
		envs = envType + " environments"
	}
	switch {
	case product != "" && env != "":
		return product + " in " + env
	case product != "":
		return product + ", " + envs
	case env != "":
		return "every product in " + env
	}
	return "every product, " + envs
}

func days(series []apiv1.DoraDay) []dora.Day {
	out := make([]dora.Day, 0, len(series))
	for _, d := range series {
		t, err := time.Parse(time.DateOnly, d.Date)
		if err != nil {
			continue
		}
		out = append(out, dora.Day{Date: t, Deployments: d.Deployments, Failures: d.Failures})
	}
	return out
}

func durations(d apiv1.DoraDurations) dora.Durations {
	out := dora.Durations{Samples: d.Samples, Band: dora.Band(d.Band)}
	if d.MedianSeconds != nil && d.P90Seconds != nil {
		med := time.Duration(*d.MedianSeconds * float64(time.Second))
		p90 := time.Duration(*d.P90Seconds * float64(time.Second))
		out.Median, out.P90 = &med, &p90
	}
	return out
}

// seconds formats a duration metric for a table cell.
func seconds(v *float64) string {
	if v == nil {
		return "—"
	}
	return dora.FormatDuration(time.Duration(*v * float64(time.Second)))
}

func percent(v *float64) string {
	if v == nil {
		return "—"
	}
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", *v*100), "0"), ".") + "%"
}
