package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	t.Parallel()
	for h, want := range map[string]bool{
		"":                          false,
		"gzip":                      true,
		"GZIP":                      true,
		"gzip, deflate, br, zstd":   true,
		"br;q=1.0, gzip;q=0.8":      true,
		"gzip;q=0":                  false,
		"gzip; q=0.000":             false,
		"gzip;q=0.001":              true,
		"*":                         true,
		"identity":                  false,
		"x-gzip":                    true,
		"deflate, gzipped":          false,
		"br;q=1, *;q=0, gzip;q=0.5": true,
		"gzip;q=0, *":               false,
	} {
		if got := acceptsGzip(h); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", h, got, want)
		}
	}
}

func FuzzAcceptsGzip(f *testing.F) {
	for _, s := range []string{"gzip", "gzip;q=0", "br, gzip;q=0.5", "*;q=0", ";;,,q="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := acceptsGzip(h)
		if !strings.Contains(strings.ToLower(h), "gzip") && !strings.Contains(h, "*") && got {
			t.Errorf("acceptsGzip(%q) without gzip or * offered", h)
		}
	})
}

// TestGzipWriter: what a handler writes comes out whole, compressed or not,
// however it is written; a flush sends what there is.
func TestGzipWriter(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("shiplog records deployments. ", 200)
	for name, c := range map[string]struct {
		h        http.HandlerFunc
		gzipped  bool
		body     string
		status   int
		wantType string
	}{
		"big html in pieces": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			for i := 0; i < len(big); i += 100 {
				io.WriteString(w, big[i:min(i+100, len(big))])
			}
		}, true, big, 200, "text/html; charset=utf-8"},
		"big, untyped: sniffed from the plain bytes": {func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "<!doctype html>"+big)
		}, true, "<!doctype html>" + big, 200, "text/html; charset=utf-8"},
		"small": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "short")
		}, false, "short", 200, "text/plain"},
		"an image": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			io.WriteString(w, big)
		}, false, big, 200, "image/png"},
		"already encoded": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Encoding", "br")
			io.WriteString(w, big)
		}, false, big, 200, "text/plain"},
		"a status, no body": {func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, false, "", 204, ""},
		"flushed early": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "<p>")
			w.(http.Flusher).Flush()
			io.WriteString(w, big)
		}, false, "<p>" + big, 404, "text/html"},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/ui/x", nil)
		req.Header.Set("Accept-Encoding", "gzip")
		compress(c.h).ServeHTTP(rec, req)
		body := rec.Body.Bytes()
		if gz := rec.Header().Get("Content-Encoding") == "gzip"; gz != c.gzipped {
			t.Errorf("%s: gzipped %v, want %v", name, gz, c.gzipped)
		} else if gz {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if string(body) != c.body || rec.Code != c.status || rec.Header().Get("Content-Type") != c.wantType {
			t.Errorf("%s: %d %q, %d bytes; want %d %q, %d bytes", name, rec.Code, rec.Header().Get("Content-Type"), len(body),
				c.status, c.wantType, len(c.body))
		}
	}
}
