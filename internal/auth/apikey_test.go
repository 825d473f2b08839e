package auth_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in            string
		ok            bool
		org, id, secr string
	}{
		{"sk_acme_k1_abcDEF123", true, "acme", "k1", "abcDEF123"},
		{"sk_my-company_k12_x", true, "my-company", "k12", "x"},
		{"sk_acme_k1_", false, "", "", ""},
		{"pk_acme_k1_abc", false, "", "", ""},
		{"sk_Acme_k1_abc", false, "", "", ""},
		{"sk_acme_1_abc", false, "", "", ""},
		{"sk_acme_k1_abc_def", false, "", "", ""},
		{"sk_acme_k1", false, "", "", ""},
		{"", false, "", "", ""},
		{"sk_acme_k1_" + strings.Repeat("a", 129), false, "", "", ""},
	}
	for _, tt := range tests {
		p, ok := auth.Parse(tt.in)
		if ok != tt.ok || p.Org != tt.org || p.KeyID != tt.id || p.Secret != tt.secr {
			t.Errorf("Parse(%q) = %+v, %v", tt.in, p, ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("sk_acme_k1_abcDEF123")
	f.Add("sk__k_")
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := auth.Parse(s)
		if !ok {
			return
		}
		if "sk_"+p.Org+"_"+p.KeyID+"_"+p.Secret != s || !shiplog.ValidSlug(p.Org) || p.Secret == "" {
			t.Fatalf("Parse(%q) accepted %+v", s, p)
		}
	})
}

func TestCreateAndVerify(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var key string
	err = st.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		o, err := tx.OrgCreate(ctx, "acme", time.Now())
		if err != nil {
			return err
		}
		_, key, err = auth.CreateKey(ctx, tx, o, "ci", time.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &auth.Authenticator{Store: st, Clock: shiplog.SystemClock{}}
	p, err := a.Verify(ctx, key)
	if err != nil || p.OrgName != "acme" {
		t.Fatalf("Verify(own key) = %+v, %v", p, err)
	}
	// The stored hash is not the secret.
	k, err := st.APIKeyAuthLookup(ctx, "acme", "k1")
	if err != nil || strings.Contains(string(k.Hash), key[len(key)-43:]) || len(k.Hash) != 32 {
		t.Errorf("stored hash looks wrong: %x %v", k.Hash, err)
	}
	for _, bad := range []string{key + "x", key[:len(key)-1] + "!", strings.Replace(key, "_k1_", "_k2_", 1), "sk_other_k1_" + key[len(key)-43:]} {
		if _, err := a.Verify(ctx, bad); shiplog.ErrorCode(err) != shiplog.EUNAUTHORIZED {
			t.Errorf("Verify(%q) = %v, want unauthorized", bad, err)
		}
	}
}
