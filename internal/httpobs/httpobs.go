// Package httpobs watches HTTP requests: one access log line per request
// and a Record for metrics, labelled by the ServeMux route pattern that
// matched (never the raw path, whose ids would make every request its own
// series).
package httpobs

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Record is one finished request.
type Record struct {
	Method   string // a standard method, or "OTHER"
	Route    string // the matched pattern's path ("/builds/{id}"), or "unmatched"
	Path     string // the request path, for the log only
	Status   int
	Bytes    int64 // response body bytes written
	Duration time.Duration
}

// Options configure Middleware.
type Options struct {
	Log *slog.Logger // nil: no access log
	// Observe receives every Record (metrics); optional.
	Observe func(Record)
	// Quiet routes are logged at Debug instead of Info: probes and scrapes
	// that would otherwise drown the log.
	Quiet []string
}

// Middleware wraps mux, which must be the *http.ServeMux that routes the
// request: ServeMux sets Request.Pattern on the request it is given, and
// that request is the one this middleware holds. Wrap it inside
// reqid.Middleware so the log line carries the request id. Only the path
// is logged: query strings and headers (Authorization) never are.
func Middleware(mux http.Handler, o Options) http.Handler {
	quiet := make(map[string]bool, len(o.Quiet))
	for _, q := range o.Quiet {
		quiet[q] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rw := &recorder{ResponseWriter: w}
		returned := false
		defer func() {
			switch {
			case !returned && rw.status == 0:
				// The handler panicked before answering; net/http recovers
				// and closes the connection: a 500 for the record.
				rw.status = http.StatusInternalServerError
			case rw.status == 0:
				rw.status = http.StatusOK // nothing written: net/http sends 200
			}
			rec := Record{Method: Method(r.Method), Route: Route(r.Pattern), Path: r.URL.Path, Status: rw.status,
				Bytes: rw.bytes, Duration: time.Since(start)}
			if o.Observe != nil {
				o.Observe(rec)
			}
			if o.Log == nil {
				return
			}
			level := slog.LevelInfo
			if quiet[rec.Route] {
				level = slog.LevelDebug
			}
			o.Log.LogAttrs(r.Context(), level, "http request",
				slog.String("method", rec.Method), slog.String("route", rec.Route), slog.String("path", rec.Path),
				slog.Int("status", rec.Status), slog.Int64("bytes", rec.Bytes),
				slog.Float64("duration_ms", float64(rec.Duration.Microseconds())/1000))
		}()
		mux.ServeHTTP(rw, r)
		returned = true
	})
}

var methods = map[string]bool{http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true}

// Method keeps the standard methods and folds any other word a client sends
// into "OTHER", so a label cannot grow without bound.
func Method(m string) string {
	if methods[m] {
		return m
	}
	return "OTHER"
}

// Route turns a ServeMux pattern into a route label: the method is dropped
// (it is its own label) and the "/{$}" and bare twins of a collection path
// become one route. An empty pattern (nothing matched) is "unmatched".
func Route(pattern string) string {
	if pattern == "" {
		return "unmatched"
	}
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		pattern = strings.TrimLeft(pattern[i+1:], " \t")
	}
	for {
		p, ok := strings.CutSuffix(pattern, "/{$}")
		if !ok || p == "" {
			break
		}
		pattern = p
	}
	if pattern == "" {
		return "unmatched"
	}
	return pattern
}

// recorder notes the status and size of a response.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// Flush keeps streaming responses (server-sent events) working through the
// wrapper for handlers that assert http.Flusher.
func (r *recorder) Flush() {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	_ = http.NewResponseController(r.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection's own writer
// (deadlines, hijacking).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
