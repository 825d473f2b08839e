package web

import (
	"compress/gzip"
	"net/http"
	"strings"
	"sync"
)

// Compression of the console's pages and assets: gzip when the browser
// accepts it and the answer is worth it (text, at least gzipMin bytes).
// The live feed is never compressed (a compressor holds back what a stream
// must send now), nor is anything already encoded or asked for by range.

const gzipMin = 1024

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression); return w }}

func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || r.Header.Get("Range") != "" || r.URL.Path == "/ui/live" ||
			strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

// acceptsGzip reads Accept-Encoding: gzip (or, when gzip is not named, *)
// offered without q=0.
func acceptsGzip(h string) bool {
	gz, star := -1, -1 // -1 not named, 0 refused, 1 accepted
	for _, part := range strings.Split(h, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		ok := 1
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if strings.HasPrefix(q, "q=0") && strings.Trim(strings.TrimPrefix(q, "q="), "0.") == "" {
			ok = 0 // q=0, q=0.0, q=0.000: refused
		}
		switch name {
		case "gzip", "x-gzip":
			gz = max(gz, ok)
		case "*":
			star = max(star, ok)
		}
	}
	if gz >= 0 {
		return gz == 1
	}
	return star == 1
}

// compressible reports whether a body of this type shrinks with gzip.
func compressible(contentType string) bool {
	t, _, _ := strings.Cut(contentType, ";")
	t = strings.TrimSpace(strings.ToLower(t))
	return strings.HasPrefix(t, "text/") && t != "text/event-stream" ||
		t == "application/javascript" || t == "application/json" || t == "image/svg+xml"
}

// gzipWriter holds the first gzipMin bytes back to decide: small answers
// go out as they are.
type gzipWriter struct {
	http.ResponseWriter
	status  int
	buf     []byte
	decided bool
	gz      *gzip.Writer
}

func (w *gzipWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	if code < 200 {
		w.ResponseWriter.WriteHeader(code)
	}
}

func (w *gzipWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if !w.decided {
		w.buf = append(w.buf, p...)
		if len(w.buf) < gzipMin {
			return len(p), nil
		}
		if err := w.decide(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if w.gz != nil {
		return w.gz.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// decide sends the header, compressed or not, and what was held back.
func (w *gzipWriter) decide() error {
	w.decided = true
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.Header()
	if len(w.buf) > 0 && h.Get("Content-Type") == "" {
		// What net/http would sniff, from the plain bytes.
		h.Set("Content-Type", http.DetectContentType(w.buf))
	}
	if len(w.buf) >= gzipMin && h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type")) &&
		w.status != http.StatusNoContent && w.status != http.StatusNotModified && w.status != http.StatusPartialContent {
		h.Del("Content-Length")
		h.Set("Content-Encoding", "gzip")
		w.gz = gzipPool.Get().(*gzip.Writer)
		w.gz.Reset(w.ResponseWriter)
	}
	w.ResponseWriter.WriteHeader(w.status)
	if len(w.buf) == 0 {
		return nil
	}
	var err error
	if w.gz != nil {
		_, err = w.gz.Write(w.buf)
	} else {
		_, err = w.ResponseWriter.Write(w.buf)
	}
	w.buf = nil
	return err
}

// Flush sends what there is (a handler that flushes wants it out).
func (w *gzipWriter) Flush() {
	if !w.decided {
		_ = w.decide()
	}
	if w.gz != nil {
		_ = w.gz.Flush()
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *gzipWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *gzipWriter) close() {
	if !w.decided {
		if w.status == 0 && len(w.buf) == 0 {
			return // nothing written: net/http answers 200 itself
		}
		_ = w.decide()
	}
	if w.gz != nil {
		_ = w.gz.Close()
		w.gz.Reset(nil)
		gzipPool.Put(w.gz)
		w.gz = nil
	}
}
