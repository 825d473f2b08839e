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

// SignInThrottle counts console sign-in attempts per key (an account or a
// client address, hashed by the caller) in the database, so every replica
// shares one count. An attempt takes a slot before its password is
// checked: the take is one conditional statement, so however many
// attempts arrive at once, at most Limit of them are checked per window.
type SignInThrottle interface {
	// ThrottleTake takes a slot for p.Key when fewer than p.Limit failures
	// and checks in flight are counted in its window (a window starts
	// with the first attempt and lasts p.Window). It returns the zero time
	// when the slot is taken, else when the window ends.
	ThrottleTake(ctx context.Context, p *ThrottleTakeParams) (time.Time, error)
	// ThrottleSettle ends a check that took a slot: a failure stays
	// counted; a success gives its slot back and, with p.Forget, clears the
	// key's failures when no other check is in flight (so a success cannot
	// reopen the key while a burst of guesses is being checked).
	ThrottleSettle(ctx context.Context, p *ThrottleSettleParams) error
	// ThrottleDeleteBefore removes keys whose window started before t.
	ThrottleDeleteBefore(ctx context.Context, t time.Time) (int64, error)
}

// ThrottleTakeParams names a key, its limit and window, and the time.
type ThrottleTakeParams struct {
	Key    []byte
	Now    time.Time
	Window time.Duration
	Limit  int
}

// ThrottleSettleParams reports how a check that took a slot ended.
type ThrottleSettleParams struct {
	Key    []byte
	Failed bool
	Forget bool // on success: clear the key's failures
}
