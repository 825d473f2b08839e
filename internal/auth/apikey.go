// Package auth issues and verifies org API keys. A key reads
// sk_<org>_<key id>_<secret>; only SHA-256(secret) is stored. The secret is
// 256 random bits, so a fast hash is enough: nothing to brute-force.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"log/slog"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

const secretLen = 43 // base62 characters ≈ 256 bits

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func newSecret() string {
	b := make([]byte, secretLen)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Parsed is a key split into its parts.
type Parsed struct {
	Org, KeyID, Secret string
}

// Parse splits a key; ok is false for anything not shaped like one.
func Parse(key string) (Parsed, bool) {
	rest, ok := strings.CutPrefix(key, "sk_")
	if !ok {
		return Parsed{}, false
	}
	parts := strings.Split(rest, "_")
	if len(parts) != 3 || !shiplog.ValidSlug(parts[0]) || len(parts[1]) < 2 || parts[1][0] != 'k' || parts[2] == "" || len(parts[2]) > 128 {
		return Parsed{}, false
	}
	return Parsed{Org: parts[0], KeyID: parts[1], Secret: parts[2]}, true
}

// CreateKey makes a new key for org in tx and returns it with the full key
// text, which is shown once and never stored.
func CreateKey(ctx context.Context, tx store.Tx, org *shiplog.Org, name string, now time.Time) (*shiplog.APIKey, string, error) {
	secret := newSecret()
	k, err := tx.APIKeyCreate(ctx, &store.APIKeyCreateParams{OrgID: org.ID, Name: name, Hash: hash(secret),
		Hint: secret[len(secret)-4:], Now: now})
	if err != nil {
		return nil, "", err
	}
	return k, "sk_" + org.Name + "_" + k.KeyID + "_" + secret, nil
}

// Credential is how a request proved who it acts for. The permission table
// (httpapi) says which credentials may call each operation.
type Credential string

const (
	// CredAPIKey is an org API key (sk_…): automation, no person, no roles.
	CredAPIKey Credential = "api_key"
	// CredToken is a person's personal access token (pat_…).
	CredToken Credential = "pat"
	// CredSession is a person signed in to the console, whose pages call the
	// API in-process.
	CredSession Credential = "session"
)

// Credentials lists every kind, in the order the permission table shows them.
var Credentials = []Credential{CredAPIKey, CredToken, CredSession}

// Principal is who a request acts for: an org API key (automation) or a
// person (User set) through a personal access token or a console session.
type Principal struct {
	OrgID   string
	OrgName string
	KeyID   string // the api_keys row id, for API keys
	KeyName string
	User    *shiplog.User // for personal access tokens and console sessions
	Via     Credential
	// Session is the console session's id hash, for acts that end a
	// person's other sessions but not the one asking (a password change).
	Session []byte
}

// ErrInvalidKey is the one answer for every bad credential, so a caller
// cannot tell a wrong org from a wrong secret.
var ErrInvalidKey = shiplog.Errorf(shiplog.EUNAUTHORIZED, "Invalid API key")

// Authenticator verifies keys and records when each was last used.
type Authenticator struct {
	Store store.Store
	Clock shiplog.Clock
	Log   *slog.Logger

	mu      sync.Mutex
	touched map[string]time.Time
}

// touchEvery bounds last_used_at writes: one per key per minute is enough
// to spot unused keys and keeps the hot path free of writes.
const touchEvery = time.Minute

// Verify checks a bearer token: an org API key or a personal access token.
func (a *Authenticator) Verify(ctx context.Context, token string) (*Principal, error) {
	if strings.HasPrefix(token, "pat_") {
		return a.verifyToken(ctx, token)
	}
	p, ok := Parse(token)
	if !ok {
		return nil, ErrInvalidKey
	}
	k, err := a.Store.APIKeyAuthLookup(ctx, p.Org, p.KeyID)
	if errors.Is(err, store.ErrNotFound) {
		// Compare anyway so a missing key costs the same as a wrong one.
		subtle.ConstantTimeCompare(hash(p.Secret), make([]byte, sha256.Size))
		return nil, ErrInvalidKey
	}
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(hash(p.Secret), k.Hash) != 1 || k.RevokedAt != nil {
		return nil, ErrInvalidKey
	}
	a.touch(k)
	return &Principal{OrgID: k.OrgID, OrgName: k.OrgName, KeyID: k.ID, KeyName: p.KeyID, Via: CredAPIKey}, nil
}

func (a *Authenticator) touch(k *store.APIKeyAuth) {
	now := a.Clock.Now()
	if k.LastUsed != nil && now.Sub(*k.LastUsed) < touchEvery {
		return
	}
	a.mu.Lock()
	if a.touched == nil {
		a.touched = map[string]time.Time{}
	}
	if last, ok := a.touched[k.ID]; ok && now.Sub(last) < touchEvery {
		a.mu.Unlock()
		return
	}
	a.touched[k.ID] = now
	a.mu.Unlock()
	// Off the request path: a lost touch costs nothing but precision.
	go func() {
		err := a.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
			return tx.APIKeyTouch(ctx, k.ID, now)
		})
		if err != nil && a.Log != nil {
			a.Log.Warn("record api key use", "key_id", k.ID, "err", err)
		}
	}()
}
