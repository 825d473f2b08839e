package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Password reset links carry rst_<id>_<secret>: the id finds the stored
// record, the secret (256 random bits) is checked against its SHA-256.

const resetIDLen = 16

// ResetTTL is how long a reset link works: long enough to pass on by hand
// when no mail relay is configured, short enough that a forgotten one dies.
const ResetTTL = 24 * time.Hour

// NewResetToken returns a fresh token's id, the hash to store, and its text.
func NewResetToken() (id string, hashed []byte, text string) {
	id, secret := newSecret()[:resetIDLen], newSecret()
	return id, hash(secret), "rst_" + id + "_" + secret
}

// ParseResetToken splits a reset token; ok is false for anything not shaped
// like one.
func ParseResetToken(tok string) (id, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, "rst_")
	if !ok {
		return "", "", false
	}
	id, secret, ok = strings.Cut(rest, "_")
	if !ok || len(id) != resetIDLen || len(secret) != secretLen || !base62(id) || !base62(secret) {
		return "", "", false
	}
	return id, secret, true
}

func base62(s string) bool {
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(alphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// ErrInvalidReset is the one answer for a reset link that does not work,
// whatever the reason, so a guess learns nothing.
var ErrInvalidReset = shiplog.Errorf(shiplog.EINVALID,
	"This password reset link is not valid: it was used already, has expired or was replaced by a newer one. Ask an admin for a new link.")

// CheckReset judges a presented secret against its stored record at now.
// It compares in constant time and checks expiry and single use; the
// store's PasswordResetUse makes the use itself atomic.
func CheckReset(r *store.PasswordReset, secret string, now time.Time) error {
	if r == nil {
		subtle.ConstantTimeCompare(hash(secret), make([]byte, sha256.Size))
		return ErrInvalidReset
	}
	if subtle.ConstantTimeCompare(hash(secret), r.Hash) != 1 || r.UsedAt != nil || !now.Before(r.ExpiresAt) {
		return ErrInvalidReset
	}
	return nil
}
