package auth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

func TestResetTokenRoundTrip(t *testing.T) {
	t.Parallel()
	id, hashed, text := auth.NewResetToken()
	gotID, secret, ok := auth.ParseResetToken(text)
	if !ok || gotID != id || len(hashed) != 32 || !strings.HasPrefix(text, "rst_"+id+"_") {
		t.Fatalf("parse %q: %q %q %v", text, gotID, secret, ok)
	}
	id2, _, text2 := auth.NewResetToken()
	if id2 == id || text2 == text {
		t.Fatal("two tokens alike")
	}
	for _, bad := range []string{"", "rst_", "rst__", text + "x", text[:len(text)-1], "pat" + text[3:], "rst_" + id + "-" + secret,
		"rst_" + id + "_" + secret[:42] + "!", "rst_" + id[:15] + "_" + secret, " " + text, "rst_" + id + "_" + secret + "_x"} {
		if _, _, ok := auth.ParseResetToken(bad); ok {
			t.Errorf("ParseResetToken(%q) accepted", bad)
		}
	}
}

// TestCheckReset: a reset link works with its own secret, once, before it
// expires; every other case is the same refusal.
func TestCheckReset(t *testing.T) {
	t.Parallel()
	_, hashed, text := auth.NewResetToken()
	_, secret, _ := auth.ParseResetToken(text)
	_, _, other := auth.NewResetToken()
	_, otherSecret, _ := auth.ParseResetToken(other)
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	expires := created.Add(auth.ResetTTL)
	used := created.Add(time.Minute)
	rec := func(usedAt *time.Time) *store.PasswordReset {
		return &store.PasswordReset{ID: "x", Hash: hashed, CreatedAt: created, ExpiresAt: expires, UsedAt: usedAt}
	}
	for _, c := range []struct {
		name   string
		r      *store.PasswordReset
		secret string
		now    time.Time
		ok     bool
	}{
		{"fresh", rec(nil), secret, created, true},
		{"just before expiry", rec(nil), secret, expires.Add(-time.Microsecond), true},
		{"at expiry", rec(nil), secret, expires, false},
		{"after expiry", rec(nil), secret, expires.Add(time.Hour), false},
		{"used", rec(&used), secret, created.Add(2 * time.Minute), false},
		{"another link's secret", rec(nil), otherSecret, created, false},
		{"no such link", nil, secret, created, false},
		{"empty secret", rec(nil), "", created, false},
	} {
		err := auth.CheckReset(c.r, c.secret, c.now)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && err != auth.ErrInvalidReset {
			t.Errorf("%s: %v, want the one refusal", c.name, err)
		}
	}
}

// FuzzResetToken: the parser never panics, accepts only the exact shape,
// and what it accepts checks only against its own record.
func FuzzResetToken(f *testing.F) {
	_, hashed, text := auth.NewResetToken()
	f.Add(text)
	f.Add("rst_0123456789abcdef_" + strings.Repeat("A", 43))
	f.Add("rst_")
	f.Add("rst_\x00_\xff")
	f.Add(text + "_")
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := &store.PasswordReset{Hash: hashed, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := auth.ParseResetToken(s)
		if !ok {
			if id != "" || secret != "" {
				t.Fatalf("refused %q but returned parts", s)
			}
			return
		}
		if s != "rst_"+id+"_"+secret || len(id) != 16 || len(secret) != 43 {
			t.Fatalf("accepted %q as %q %q", s, id, secret)
		}
		if err := auth.CheckReset(rec, secret, now); (err == nil) != (s == text) {
			t.Fatalf("CheckReset(%q) = %v", s, err)
		}
	})
}
