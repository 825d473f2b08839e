package httpapi

import (
	"net/http"

	"github.com/shiplog/shiplog/internal/stream"
)

// streamEvents is GET /events/stream: the org's events, live, as
// server-sent events that a client resumes with Last-Event-ID
// (docs/stream.md). ?types= selects event types.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) error {
	f, err := stream.ParseFilter(r.URL.Query().Get("types"))
	if err != nil {
		return err
	}
	return s.Stream.Serve(w, r, principal(r).OrgID, stream.LastEventID(r), f)
}
