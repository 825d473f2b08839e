package httpapi

import (
	"context"

	"github.com/shiplog/shiplog/internal/auth"
)

type inProcessKey struct{}

// WithPrincipal makes requests served with ctx act for p without a bearer
// token. The console uses it to call the API in-process for a signed-in
// user, so both share one set of validation, role checks and error texts.
// Only Go code can put a value in a context, so nothing on the network can
// reach this path.
func WithPrincipal(ctx context.Context, p *auth.Principal) context.Context {
	return context.WithValue(ctx, inProcessKey{}, p)
}
