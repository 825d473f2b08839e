package web

import (
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/testutil/fakeclock"
)

func TestLimiter(t *testing.T) {
	clock := fakeclock.New(time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC))
	l := newLimiter(clock)
	acct := "acme\x00ann@acme.test"
	for range limitPerAccount - 1 {
		l.fail("10.0.0.1", acct)
		clock.Advance(time.Minute)
	}
	if w := l.blocked("10.0.0.1", acct); w != 0 {
		t.Fatalf("blocked after %d failures: %v", limitPerAccount-1, w)
	}
	l.fail("10.0.0.1", acct)
	// Blocked until the oldest of the last five failures leaves the window.
	if w, want := l.blocked("10.0.0.9", acct), limitWindow-time.Duration(limitPerAccount-1)*time.Minute; w != want {
		t.Fatalf("wait after %d failures from any address = %v, want %v", limitPerAccount, w, want)
	}
	clock.Advance(limitWindow - time.Duration(limitPerAccount-1)*time.Minute)
	if w := l.blocked("10.0.0.1", acct); w != 0 {
		t.Errorf("still blocked once the oldest failure left the window: %v", w)
	}
	// An address guessing across accounts is blocked too, and a success on
	// one account does not clear the address.
	for i := range limitPerIP {
		l.fail("10.0.0.2", string(rune('a'+i)))
	}
	l.succeed("a")
	if w := l.blocked("10.0.0.2", "fresh"); w <= 0 {
		t.Errorf("address with %d failures over many accounts not blocked", limitPerIP)
	}
	if w := l.blocked("10.0.0.3", "fresh"); w != 0 {
		t.Errorf("another address blocked: %v", w)
	}
}

func TestSessionExpiry(t *testing.T) {
	s := &Server{SessionIdle: 12 * time.Hour, SessionMax: 30 * 24 * time.Hour}
	signIn := time.Date(2025, 3, 4, 5, 0, 0, 0, time.UTC)
	if got, want := s.expiry(signIn, signIn), signIn.Add(12*time.Hour); !got.Equal(want) {
		t.Errorf("fresh session ends %v, want %v", got, want)
	}
	late := signIn.Add(30*24*time.Hour - time.Hour)
	if got, want := s.expiry(signIn, late), signIn.Add(30*24*time.Hour); !got.Equal(want) {
		t.Errorf("a session used near its maximum age ends %v, want %v (the cap)", got, want)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/ui/deployments?x=1":  "/ui/deployments?x=1",
		"":                     "/ui/",
		"https://evil.example": "/ui/",
		"//evil.example/ui/":   "/ui/",
		"/ui/\\evil":           "/ui/",
		"/api-keys":            "/ui/",
		"/ui/x\r\nSet-Cookie:": "/ui/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
