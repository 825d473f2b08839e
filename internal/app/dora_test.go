package app_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

// doraGet fetches and decodes GET /metrics/dora.
func doraGet(t *testing.T, s *server, key, query string) apiv1.DoraResponse {
	t.Helper()
	r := s.get("/metrics/dora"+query, key)
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics/dora%s: %d %s", query, r.status, r.body)
	}
	var out apiv1.DoraResponse
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("decode: %v\n%s", err, r.body)
	}
	return out
}

func groupNames(r apiv1.DoraResponse) []string {
	var out []string
	for _, g := range r.Groups {
		out = append(out, g.ProductName+"/"+g.EnvironmentName)
	}
	return out
}

func secs(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

// TestDoraMetrics posts a hand-made history through the event API, with
// the finish times events carry (completed_at), on a fake clock that reads
// 2026-05-24 14:00 UTC, and reads the metrics back.
func TestDoraMetrics(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := startWith(t, app.Config{DB: db, Clock: fakeclock.New(fakeclock.Epoch)})
		key := s.org("acme")
		post := func(path string, body map[string]any, want int) {
			t.Helper()
			if r := s.post(path, key, body); r.status != want {
				t.Fatalf("POST %s %v: %d %s", path, body, r.status, r.body)
			}
		}
		deploy := func(version, env, status, at string, extra ...any) {
			t.Helper()
			post("/deployment-events/", dep("api", version, env, status, append([]any{"completed_at", at}, extra...)...), 200)
		}
		// api / production
		post("/build-events/", build("api", "1.0", "completed", "completed_at", "2026-05-01T10:00:00Z"), 200)
		deploy("1.0", "production", "success", "2026-05-01T12:00:00Z") // lead 2 h from the build
		deploy("1.1", "production", "success", "2026-05-02T10:00:00Z", // lead 2 h from the commit
			"extra_metadata", map[string]any{"vi_commit_timestamp": "2026-05-02T08:00:00Z"})
		deploy("1.2", "production", "failed", "2026-05-03T10:00:00Z") // an incident begins
		deploy("1.3", "production", "failed", "2026-05-03T11:00:00Z")
		deploy("1.3", "production", "success", "2026-05-03T13:00:00Z") // restored after 3 h; no lead time origin
		deploy("1.0", "production", "success", "2026-05-04T09:00:00Z") // a redeploy (rollback)
		// 1.4 starts (now), so 1.5's start is refused by the concurrency check; the
		// pipeline then reports 1.5 failed: a preflight failure, not a change failure.
		post("/deployment-events/", dep("api", "1.4", "production", "started"), 200)
		post("/deployment-events/", dep("api", "1.5", "production", "started", "invoke_id", "run-5"), 409)
		post("/deployment-events/", dep("api", "1.5", "production", "failed", "invoke_id", "run-5"), 200)
		deploy("1.4", "production", "success", "2026-05-05T12:00:00Z")
		deploy("1.6", "production", "failed", "2026-05-20T22:00:00Z")  // not restored
		deploy("0.9", "production", "success", "2026-04-30T12:00:00Z") // before the window
		// api / staging
		deploy("1.0", "staging", "success", "2026-05-01T11:00:00Z") // lead 1 h
		// web / production: an incident that began before the window.
		post("/deployment-events/", dep("web", "7", "production", "failed", "completed_at", "2026-04-30T23:00:00Z"), 200)
		post("/deployment-events/", dep("web", "8", "production", "success", "completed_at", "2026-05-01T00:30:00Z"), 200)

		// The window 2026-05-01 up to the end of 2026-05-25 (25 days) includes
		// the clock's now, when 1.5 was refused.
		all := doraGet(t, s, key, "?from=2026-05-01&to=2026-05-25")
		if all.From.Format("2006-01-02T15:04:05Z07:00") != "2026-05-01T00:00:00Z" || all.To.Format("2006-01-02") != "2026-05-26" ||
			all.Days != 25 || all.ProductName != nil || all.EnvironmentName != nil {
			t.Errorf("window: %v – %v, %v days, filters %v %v", all.From, all.To, all.Days, all.ProductName, all.EnvironmentName)
		}
		if got, want := groupNames(all), []string{"api/production", "api/staging", "web/production"}; !slices.Equal(got, want) {
			t.Fatalf("groups %v, want %v", got, want)
		}
		prod := all.Groups[0]
		if f := prod.DeploymentFrequency; f.Deployments != 5 || f.PerDay != 0.2 || f.PerWeek != 1.4 || f.Band != "high" {
			t.Errorf("api/production frequency: %+v", f)
		}
		if l := prod.LeadTime; l.Samples != 2 || secs(l.MedianSeconds) != 7200 || secs(l.P90Seconds) != 7200 || l.Band != "elite" ||
			l.FromCommit != 1 || l.FromBuild != 1 || l.WithoutOrigin != 2 || l.Redeploys != 1 {
			t.Errorf("api/production lead time: %+v (median %v)", l, secs(l.MedianSeconds))
		}
		if c := prod.ChangeFailureRate; c.Failures != 3 || c.Deployments != 8 || c.Rate == nil || *c.Rate != 0.375 || c.Band != "low" {
			t.Errorf("api/production change failure rate: %+v", c)
		}
		if r := prod.TimeToRestore; r.Samples != 1 || secs(r.MedianSeconds) != 3*3600 || r.Unrestored != 1 || r.Band != "high" {
			t.Errorf("api/production time to restore: %+v", r)
		}
		if prod.EnvironmentType != "production" || len(prod.Series) != 25 || prod.Series[0].Date != "2026-05-01" ||
			prod.Series[24].Date != "2026-05-25" {
			t.Errorf("api/production type %s, series of %d days", prod.EnvironmentType, len(prod.Series))
		}
		if d := prod.Series[2]; d.Date != "2026-05-03" || d.Deployments != 1 || d.Failures != 2 {
			t.Errorf("2026-05-03: %+v", d)
		}
		if web := all.Groups[2]; web.TimeToRestore.Samples != 0 || web.TimeToRestore.Band != "none" ||
			web.ChangeFailureRate.Failures != 0 || web.DeploymentFrequency.Deployments != 1 {
			t.Errorf("web/production: an incident begun before the window is not this window's: %+v", web.DoraReport)
		}
		tot := all.Total
		if tot.DeploymentFrequency.Deployments != 7 || tot.ChangeFailureRate.Failures != 3 || *tot.ChangeFailureRate.Rate != 0.3 ||
			tot.LeadTime.Samples != 3 || secs(tot.LeadTime.MedianSeconds) != 7200 || secs(tot.LeadTime.P90Seconds) != 7200 {
			t.Errorf("total: %+v", tot)
		}

		// Filters.
		for _, tt := range []struct {
			query string
			want  []string
		}{
			{"?from=2026-05-01&to=2026-05-25&product_name=api", []string{"api/production", "api/staging"}},
			{"?from=2026-05-01&to=2026-05-25&environment_name=production", []string{"api/production", "web/production"}},
			{"?from=2026-05-01&to=2026-05-25&product=web&environment=production", []string{"web/production"}},
			{"?from=2026-05-01&to=2026-05-25&environment_type=production", []string{"api/production", "web/production"}},
			{"?from=2026-05-01&to=2026-05-25&environment_type=staging&product_name=api", []string{"api/staging"}},
			{"?from=2026-05-02&to=2026-05-02", []string{"api/production"}},
			{"?from=2026-06-01&to=2026-06-30", nil},
		} {
			if got := groupNames(doraGet(t, s, key, tt.query)); !slices.Equal(got, tt.want) {
				t.Errorf("%s: groups %v, want %v", tt.query, got, tt.want)
			}
		}
		one := doraGet(t, s, key, "?from=2026-05-01&to=2026-05-25&product_name=api&environment_name=production")
		if one.ProductName == nil || *one.ProductName != "api" || len(one.Groups) != 1 ||
			one.Total.DeploymentFrequency != one.Groups[0].DeploymentFrequency {
			t.Errorf("one pair: total and group differ: %+v", one)
		}
		// The restoring deployment of a failure may be after the window.
		late := doraGet(t, s, key, "?from=2026-05-03T10:00:00Z&to=2026-05-03T12:00:00Z&product_name=api")
		if r := late.Total.TimeToRestore; r.Samples != 1 || secs(r.MedianSeconds) != 3*3600 || r.Unrestored != 0 {
			t.Errorf("restored after the window: %+v", r)
		}

		// The default window: the 30 days up to the server's now.
		def := doraGet(t, s, key, "/")
		if def.To.Format("2006-01-02T15:04:05Z") != "2026-05-24T14:00:00Z" || def.Days != 30 || len(def.Total.Series) != 31 {
			t.Errorf("default window %v – %v, %v days, %d in the series", def.From, def.To, def.Days, len(def.Total.Series))
		}
		if def.Total.DeploymentFrequency.Deployments != 8 {
			t.Errorf("default window: %d deployments, want the 8 since 2026-04-24 14:00", def.Total.DeploymentFrequency.Deployments)
		}

		// Another organisation sees none of it.
		other := doraGet(t, s, s.org("other"), "?from=2026-05-01&to=2026-05-25")
		if len(other.Groups) != 0 || other.Total.DeploymentFrequency.Band != "none" || other.Total.ChangeFailureRate.Rate != nil ||
			other.Total.LeadTime.MedianSeconds != nil || len(other.Total.Series) != 25 {
			t.Errorf("another org: %+v", other)
		}
	})
}

func TestDoraMetricsErrors(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1", "production", "success")))
		for _, tt := range []struct {
			query  string
			status int
			detail string
		}{
			{"?from=yesterday", 400, "Query parameter 'from' must be an RFC 3339 timestamp (2026-05-01T00:00:00Z) or a date (2026-05-01)"},
			{"?to=2026-02-30", 400, "Query parameter 'to' must be an RFC 3339 timestamp"},
			{"?from=2026-05-02&to=2026-05-01", 400, "Query parameter 'to' (2026-05-02T00:00:00Z) must be after 'from' (2026-05-02T00:00:00Z)"},
			{"?from=2024-01-01&to=2025-01-01", 400, "the limit is 366 days"},
			{"?from=1900-01-01&to=1900-02-01", 400, "Query parameter 'from' must be between 1970-01-01 and 9999-12-30"},
			{"?product_name=nope", 404, "No product named 'nope' (query parameter 'product_name')"},
			{"?environment_name=nope", 404, "No environment named 'nope' (query parameter 'environment_name')"},
			{"?environment_type=prod", 400, "Query parameter 'environment_type' must be one of"},
		} {
			expectStatus(t, s.get("/metrics/dora"+tt.query, key), tt.status, tt.detail)
		}
		expectStatus(t, s.get("/metrics/dora", ""), 401, "Invalid API key")
		expectStatus(t, s.get("/metrics/dora", "sk_acme_k1_wrong"), 401, "Invalid API key")
		expectStatus(t, s.post("/metrics/dora", key, nil), 405, "use GET")
		// An unencoded '+' of an offset arrives as a space and is understood.
		if r := s.get("/metrics/dora?from=2026-05-01T00:00:00+02:00&to=2026-05-02T00:00:00+02:00", key); r.status != 200 {
			t.Errorf("offset with a raw '+': %d %s", r.status, r.body)
		}
	})
}
