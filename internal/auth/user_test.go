package auth_test

import (
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/auth"
)

func TestPasswordHash(t *testing.T) {
	t.Parallel()
	h, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "pbkdf2-sha256$600000$") || strings.Contains(h, "horse") {
		t.Errorf("hash %q", h)
	}
	if !auth.CheckPassword(h, "correct horse battery") || auth.CheckPassword(h, "correct horse batterY") || auth.CheckPassword("", "x") ||
		auth.CheckPassword("pbkdf2-sha256$0$AA$AA", "x") {
		t.Error("CheckPassword accepts or refuses wrongly")
	}
	if h2, _ := auth.HashPassword("correct horse battery"); h2 == h {
		t.Error("no salt")
	}
}

func TestParseToken(t *testing.T) {
	t.Parallel()
	for tok, ok := range map[string]bool{
		"pat_0123456789abcdef_secret": true, "pat_short_secret": false, "pat_0123456789abcdef_": false,
		"sk_acme_k1_x": false, "pat_0123456789abcdef_a_b": false,
	} {
		if _, _, got := auth.ParseToken(tok); got != ok {
			t.Errorf("ParseToken(%q) = %v", tok, got)
		}
	}
}

func FuzzParseToken(f *testing.F) {
	f.Add("pat_0123456789abcdef_secret")
	f.Fuzz(func(t *testing.T, s string) {
		id, secret, ok := auth.ParseToken(s)
		if ok && "pat_"+id+"_"+secret != s {
			t.Fatalf("ParseToken(%q) = %q %q", s, id, secret)
		}
	})
}
