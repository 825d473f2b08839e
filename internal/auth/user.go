package auth

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Passwords are hashed with PBKDF2-SHA256 (standard library) at OWASP's
// recommended iteration count; the count is stored so it can be raised.
const pbkdf2Iterations = 600_000

// HashPassword returns "pbkdf2-sha256$<iterations>$<salt>$<hash>".
func HashPassword(pw string) (string, error) { return HashPasswordIterations(pw, 0) }

// HashPasswordIterations is HashPassword at a chosen cost (0: the default).
// CheckPassword reads the count from the hash, so tests that set many
// passwords lower it and still check them the way production does.
func HashPasswordIterations(pw string, iterations int) (string, error) {
	if iterations <= 0 {
		iterations = pbkdf2Iterations
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key, err := pbkdf2.Key(sha256.New, pw, salt, iterations, 32)
	if err != nil {
		return "", err
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches a HashPassword result.
func CheckPassword(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	enc := base64.RawStdEncoding
	salt, err2 := enc.DecodeString(parts[2])
	want, err3 := enc.DecodeString(parts[3])
	if err != nil || err2 != nil || err3 != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, pw, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}

const tokenIDLen = 16

// CreateToken makes a personal access token for a user; the returned text
// (pat_<token id>_<secret>) is shown once and never stored.
func CreateToken(ctx context.Context, tx store.Tx, u *shiplog.User, name string, now time.Time) (string, error) {
	tokenID, secret := newSecret()[:tokenIDLen], newSecret()
	err := tx.TokenCreate(ctx, &store.TokenCreateParams{ID: shiplog.NewID(), OrgID: u.OrgID, UserID: u.ID, TokenID: tokenID,
		Name: name, Hash: hash(secret), Now: now})
	if err != nil {
		return "", err
	}
	return "pat_" + tokenID + "_" + secret, nil
}

// ParseToken splits a personal access token.
func ParseToken(tok string) (tokenID, secret string, ok bool) {
	rest, ok := strings.CutPrefix(tok, "pat_")
	if !ok {
		return "", "", false
	}
	tokenID, secret, ok = strings.Cut(rest, "_")
	if !ok || len(tokenID) != tokenIDLen || secret == "" || len(secret) > 128 || strings.Contains(secret, "_") {
		return "", "", false
	}
	return tokenID, secret, true
}

// ErrInvalidToken is the one answer for every bad personal access token.
var ErrInvalidToken = shiplog.Errorf(shiplog.EUNAUTHORIZED, "Invalid authentication credentials")

func (a *Authenticator) verifyToken(ctx context.Context, tok string) (*Principal, error) {
	tokenID, secret, ok := ParseToken(tok)
	if !ok {
		return nil, ErrInvalidToken
	}
	t, err := a.Store.TokenAuthLookup(ctx, tokenID)
	if errors.Is(err, store.ErrNotFound) {
		subtle.ConstantTimeCompare(hash(secret), make([]byte, sha256.Size))
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(hash(secret), t.Hash) != 1 || t.RevokedAt != nil {
		return nil, ErrInvalidToken
	}
	// The person is read on every request, so a role change, a
	// deactivation or a deletion holds from the next request on.
	u, err := a.Store.UserGet(ctx, t.OrgID, t.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, err
	}
	if !u.Active() {
		return nil, ErrInvalidToken
	}
	a.touchToken(t)
	return &Principal{OrgID: t.OrgID, OrgName: t.OrgName, User: u, Via: CredToken}, nil
}

func (a *Authenticator) touchToken(t *store.TokenAuth) {
	now := a.Clock.Now()
	if t.LastUsed != nil && now.Sub(*t.LastUsed) < touchEvery {
		return
	}
	go func() {
		_ = a.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			return tx.TokenTouch(ctx, t.ID, now)
		})
	}()
}

// Actor is how a principal is named in audit fields and payloads.
func (p *Principal) Actor() string {
	if p.User != nil {
		if p.User.Name != "" {
			return p.User.Name
		}
		return p.User.Email
	}
	return "API key " + p.KeyName
}

// Credential names the principal in records that must say who acted (a
// skipped preflight check, a run marked aborted), with the person's roles.
func (p *Principal) Credential() shiplog.Credential {
	if p.User != nil {
		return shiplog.Credential{Kind: shiplog.CredentialUser, UserID: p.User.ID, Name: p.User.Name, Email: p.User.Email,
			Roles: p.User.Roles}
	}
	return shiplog.Credential{Kind: shiplog.CredentialAPIKey, KeyID: p.KeyName}
}
