package web

import (
	"testing"
	"time"
)

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
