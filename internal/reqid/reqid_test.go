package reqid_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/reqid"
)

func TestValid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id   string
		want bool
	}{
		{"", false},
		{"abc123", true},
		{"0f9e-4c1a_b.2:x/y+z=@host", true},
		{strings.Repeat("a", reqid.MaxLen), true},
		{strings.Repeat("a", reqid.MaxLen+1), false},
		{"has space", false},
		{"quote\"", false},
		{"new\nline", false},
		{"tab\t", false},
		{"é", false},
		{"semi;colon", false},
	}
	for _, tt := range tests {
		if got := reqid.Valid(tt.id); got != tt.want {
			t.Errorf("Valid(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
}

// serve runs a request with the given X-Request-Id through Middleware and
// returns the response header and the id the handler saw.
func serve(t *testing.T, header string) (string, string) {
	t.Helper()
	var seen string
	h := reqid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = reqid.From(r.Context()) }))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	if header != "" {
		req.Header.Set(reqid.Header, header)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Header().Get(reqid.Header), seen
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string
		keep   bool
	}{
		{"none given", "", false},
		{"valid kept", "req-42", true},
		{"proxy uuid kept", "3f2b8c1e-9d4a-4b7e-8f1a-2c3d4e5f6a7b", true},
		{"invalid replaced", "bad id\r\nX-Evil: 1", false},
		{"too long replaced", strings.Repeat("x", 200), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, seen := serve(t, tt.header)
			if got != seen || !reqid.Valid(got) {
				t.Fatalf("header %q, handler saw %q", got, seen)
			}
			if (got == tt.header) != tt.keep {
				t.Errorf("header %q for request id %q; keep=%v", got, tt.header, tt.keep)
			}
		})
	}
}

// An outer Middleware's id wins: the API mounted inside the console (or
// the reverse) keeps one id per request.
func TestMiddlewareNested(t *testing.T) {
	t.Parallel()
	var seen string
	h := reqid.Middleware(reqid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = reqid.From(r.Context())
	})))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if got := rec.Header().Values(reqid.Header); len(got) != 1 || got[0] != seen {
		t.Errorf("X-Request-Id %v, handler saw %q", got, seen)
	}
}

func TestNewIsFreshAndValid(t *testing.T) {
	t.Parallel()
	a, b := reqid.New(), reqid.New()
	if a == b || !reqid.Valid(a) || len(a) != 16 {
		t.Errorf("New() = %q, %q", a, b)
	}
}

func TestLogHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(reqid.LogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx := reqid.With(context.Background(), "req-7")
	tests := []struct {
		name string
		log  func()
		want string // request_id expected; "" for none
	}{
		{"with context", func() { log.InfoContext(ctx, "hello") }, "req-7"},
		{"without context", func() { log.Info("hello") }, ""},
		{"context without id", func() { log.WarnContext(context.Background(), "hello") }, ""},
		{"attrs kept", func() { log.ErrorContext(ctx, "boom", "err", "x") }, "req-7"},
	}
	for _, tt := range tests {
		buf.Reset()
		tt.log()
		var line map[string]any
		if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v: %s", tt.name, err, buf.Bytes())
		}
		got, _ := line[reqid.LogKey].(string)
		if got != tt.want || line["component"] != "test" {
			t.Errorf("%s: %s", tt.name, buf.Bytes())
		}
	}
	// Wrapping twice does not add the id twice.
	buf.Reset()
	slog.New(reqid.LogHandler(reqid.LogHandler(slog.NewJSONHandler(&buf, nil)))).InfoContext(ctx, "once")
	if n := strings.Count(buf.String(), reqid.LogKey); n != 1 {
		t.Errorf("request_id appears %d times: %s", n, buf.String())
	}
}

// FuzzMiddleware: whatever a client sends, the response's id is valid, is
// what the handler saw, and is the client's only when the client's is valid.
func FuzzMiddleware(f *testing.F) {
	for _, s := range []string{"", "abc", "a b", strings.Repeat("z", 129), "x\x00y", "ünï", "req:1/2+3=@h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		var seen string
		h := reqid.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = reqid.From(r.Context()) }))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header[reqid.Header] = []string{header}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		got := rec.Header().Get(reqid.Header)
		if got != seen || !reqid.Valid(got) {
			t.Fatalf("header %q, handler saw %q", got, seen)
		}
		if reqid.Valid(header) != (got == header) {
			t.Fatalf("client id %q (valid=%v) answered %q", header, reqid.Valid(header), got)
		}
	})
}
