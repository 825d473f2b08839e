package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	t.Parallel()
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	b1, _ := New(k1)
	b2, _ := New(k2)
	sealed, err := b1.Seal([]byte("https://hooks.slack.com/services/T/B/secret"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Error("sealed value contains the plain text")
	}
	again, _ := b1.Seal([]byte("https://hooks.slack.com/services/T/B/secret"))
	if bytes.Equal(sealed, again) {
		t.Error("two seals of one value are equal (nonce reuse)")
	}
	if p, err := b1.Open(sealed); err != nil || string(p) != "https://hooks.slack.com/services/T/B/secret" {
		t.Errorf("Open = %q, %v", p, err)
	}
	if _, err := b2.Open(sealed); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := b1.Open(sealed); !errors.Is(err, ErrWrongKey) {
		t.Errorf("tampered: %v", err)
	}
	if _, err := New(k1[:16]); err == nil {
		t.Error("16-byte key accepted")
	}
}

func TestParseKey(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xab}, 32)
	for _, s := range []string{base64.StdEncoding.EncodeToString(raw), base64.RawURLEncoding.EncodeToString(raw),
		strings.Repeat("ab", 32), " " + base64.StdEncoding.EncodeToString(raw) + "\n"} {
		if k, err := ParseKey(s); err != nil || !bytes.Equal(k, raw) {
			t.Errorf("ParseKey(%q) = %x, %v", s, k, err)
		}
	}
	for _, s := range []string{"", "short", base64.StdEncoding.EncodeToString(raw[:31]), strings.Repeat("zz", 32)} {
		if _, err := ParseKey(s); err == nil {
			t.Errorf("ParseKey(%q) accepted", s)
		}
	}
}

func TestKeyFileCreatedOnceWithPrivateMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "shiplog.db.key")
	k1, err := LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v", st.Mode(), err)
	}
	k2, err := LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) || len(k1) != 32 {
		t.Errorf("second load differs: %x vs %x (%v)", k1, k2, err)
	}
}
