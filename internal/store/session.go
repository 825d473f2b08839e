package store

import (
	"context"
	"time"
)

// Session is a signed-in console user. The cookie carries a random token;
// only its SHA-256 is stored, so a copy of the database signs no one in.
type Session struct {
	IDHash    []byte
	OrgID     string
	OrgName   string
	UserID    string
	CSRF      string // the token every console form and htmx request echoes
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionReader finds sessions; kept in the database so any replica
// serves any signed-in user.
type SessionReader interface {
	// SessionGet returns the session with idHash, expired or not
	// (ErrNotFound when absent); the caller judges expiry.
	SessionGet(ctx context.Context, idHash []byte) (*Session, error)
}

// SessionWriter creates, extends and ends sessions.
type SessionWriter interface {
	SessionCreate(ctx context.Context, s *Session) error
	// SessionExtend moves a session's expiry (sliding sessions).
	SessionExtend(ctx context.Context, idHash []byte, expiresAt time.Time) error
	SessionDelete(ctx context.Context, idHash []byte) error
	// SessionDeleteExpired removes sessions that expired before now.
	SessionDeleteExpired(ctx context.Context, now time.Time) (int64, error)
}
