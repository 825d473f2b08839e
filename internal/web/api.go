package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shiplog/shiplog/internal/httpapi"
)

// APIError is the API's refusal of an in-process call: its status and the
// {"detail"} text, shown to the user as is.
type APIError struct {
	Status int
	Detail string
	Body   json.RawMessage
}

func (e *APIError) Error() string { return fmt.Sprintf("%d: %s", e.Status, e.Detail) }

// call runs one API request in-process as the signed-in user and decodes
// its JSON answer into out (when not nil). in is sent as the JSON body.
func (s *Server) call(r *http.Request, v *view, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(httpapi.WithPrincipal(r.Context(), v.Principal), method, "http://console"+path, body)
	if err != nil {
		return err
	}
	req.RemoteAddr = r.RemoteAddr
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	s.API.ServeHTTP(rec, req)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if rec.status >= 400 {
		e := &APIError{Status: rec.status, Body: rec.buf.Bytes()}
		var d struct {
			Detail json.RawMessage `json:"detail"`
		}
		if json.Unmarshal(rec.buf.Bytes(), &d) == nil && len(d.Detail) > 0 {
			var text string
			if json.Unmarshal(d.Detail, &text) == nil {
				e.Detail = text
			} else {
				e.Detail = strings.TrimSpace(string(d.Detail))
			}
		}
		if e.Detail == "" {
			e.Detail = http.StatusText(rec.status)
		}
		return e
	}
	if out != nil && rec.buf.Len() > 0 {
		return json.Unmarshal(rec.buf.Bytes(), out)
	}
	return nil
}

// recorder collects an in-process response.
type recorder struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.buf.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
