package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
)

// quietRoutes are logged at Debug: probes and scrapes arrive every few
// seconds and would bury the requests people look for.
var quietRoutes = []string{"/healthz", "/health", "/readyz", "/metrics"}

// Routes lists the patterns the last Handler call registered ("GET
// /builds/{id}", …), for the test that holds the OpenAPI document to them.
func (s *Server) Routes() []string { return slices.Clone(s.routes) }

// metrics serves the Prometheus scrape. It is open unless MetricsToken is
// set: its numbers name no org (docs/metrics.md), and scrapers are usually
// configured without secrets. With a token it wants "Authorization: Bearer
// <token>", compared in constant time.
func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	if s.Metrics == nil {
		return shiplog.Errorf(shiplog.ENOTFOUND, "Metrics are not enabled on this server")
	}
	if s.MetricsToken != "" {
		got, bearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// Hash both sides: ConstantTimeCompare is only constant for equal lengths.
		g, want := sha256.Sum256([]byte(strings.TrimSpace(got))), sha256.Sum256([]byte(s.MetricsToken))
		if subtle.ConstantTimeCompare(g[:], want[:]) != 1 || !bearer {
			return shiplog.Errorf(shiplog.EUNAUTHORIZED, "GET /metrics needs the metrics token: Authorization: Bearer <--metrics-token>")
		}
	}
	s.Metrics.ServeHTTP(w, r)
	return nil
}
