// Package reqid gives every HTTP request an id, carried in its context,
// echoed in the X-Request-Id response header and added to every log line
// written with that context. The API and the web console share it, so a
// request is one id wherever it is handled.
package reqid

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
)

// Header carries the id in requests (a proxy's or client's own id, kept
// when valid) and in every response.
const Header = "X-Request-Id"

// MaxLen bounds an id taken from a request.
const MaxLen = 128

type ctxKey struct{}

// With returns ctx carrying id.
func With(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// From returns the id ctx carries, or "".
func From(ctx context.Context) string {
	id, _ := ctx.Value(ctxKey{}).(string)
	return id
}

// New returns a fresh random id (16 hex digits).
func New() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Valid reports whether an id from a request may be kept: 1 to MaxLen
// characters from a set that needs no quoting in logs or headers (letters,
// digits and - _ . : / + = @). Anything else is replaced, so a client cannot
// write odd bytes into every log line of its request.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=' || c == '@':
		default:
			return false
		}
	}
	return true
}

// Middleware gives each request an id: the one its context already has
// (an outer Middleware), else a valid X-Request-Id from the client or a
// proxy, else a new one. The id is set as the response's X-Request-Id
// before next runs, so every answer carries it, errors included.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id := From(r.Context()); id != "" {
			next.ServeHTTP(w, r)
			return
		}
		id := r.Header.Get(Header)
		if !Valid(id) {
			id = New()
		}
		w.Header().Set(Header, id)
		next.ServeHTTP(w, r.WithContext(With(r.Context(), id)))
	})
}
