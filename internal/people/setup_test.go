package people_test

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/people"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/store/sqlite"
)

type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func setup(t *testing.T, org string, owners ...string) (*people.Service, *shiplog.Org, *clock) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "shiplog.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	var o *shiplog.Org
	err = st.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		if o, err = tx.OrgCreate(ctx, org, c.now); err != nil {
			return err
		}
		return tx.OrgSetOwnerEmails(ctx, o.ID, owners)
	})
	if err != nil {
		t.Fatal(err)
	}
	return &people.Service{Store: st, Clock: c, BaseURL: "https://shiplog.example/", PasswordIterations: 1}, o, c
}

func token(t *testing.T, l *people.ResetLink) string {
	t.Helper()
	u, err := url.Parse(l.URL)
	if err != nil || u.Path != "/ui/setup" || u.Host != "shiplog.example" {
		t.Fatalf("setup link %q: want https://shiplog.example/ui/setup?token=…", l.URL)
	}
	return u.Query().Get("token")
}

// TestFirstOwnerSetup: an org with nobody gets a placeholder owner whose
// links (several, as printed and as logged) all work until one is used;
// the one used sets name, address and password; then no link works and no
// new first-owner link is issued.
func TestFirstOwnerSetup(t *testing.T) {
	t.Parallel()
	svc, org, c := setup(t, "acme")
	ctx := t.Context()
	printed, err := svc.FirstOwnerLink(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if printed.Email != "owner@acme.invalid" || !people.Placeholder(printed.Email) {
		t.Errorf("first owner address = %q, want the placeholder owner@acme.invalid", printed.Email)
	}
	c.now = c.now.Add(time.Hour)
	logged, err := svc.FirstOwnerLink(ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if logged.UserID != printed.UserID {
		t.Errorf("a second link made another person (%s, first %s)", logged.UserID, printed.UserID)
	}
	s, err := svc.SetupFor(ctx, token(t, printed))
	if err != nil || s.OrgName != "acme" || s.User.ID != printed.UserID {
		t.Fatalf("SetupFor(printed) = %+v, %v", s, err)
	}
	for _, c := range []struct {
		name string
		in   people.SetupInput
		code string
	}{
		{"no name", people.SetupInput{Email: "ann@acme.test", Password: "correct horse battery"}, shiplog.EINVALID},
		{"short password", people.SetupInput{Name: "Ann", Email: "ann@acme.test", Password: "short"}, shiplog.EINVALID},
		{"no address", people.SetupInput{Name: "Ann", Password: "correct horse battery"}, shiplog.EINVALID},
		{"a placeholder address", people.SetupInput{Name: "Ann", Email: "x@y.invalid", Password: "correct horse battery"}, shiplog.EINVALID},
	} {
		if _, err := svc.RedeemSetup(ctx, token(t, logged), c.in); shiplog.ErrorCode(err) != c.code {
			t.Errorf("%s: got %v, want %s", c.name, err, c.code)
		}
	}
	// A refusal does not use the link up.
	done, err := svc.RedeemSetup(ctx, token(t, logged), people.SetupInput{Name: " Ann Owner ", Email: "Ann@Acme.test", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if done.User.Email != "ann@acme.test" || done.User.Name != "Ann Owner" || !shiplog.HasRole(done.User.Roles, shiplog.RoleOwner) {
		t.Errorf("after setup: %+v", done.User)
	}
	h, err := svc.Store.UserPasswordHash(ctx, org.ID, done.User.ID)
	if err != nil || !auth.CheckPassword(h, "correct horse battery") {
		t.Errorf("the password set does not check (%v)", err)
	}
	for name, l := range map[string]*people.ResetLink{"used": logged, "printed": printed} {
		if _, err := svc.RedeemSetup(ctx, token(t, l), people.SetupInput{Name: "Eve", Email: "eve@x.test", Password: "correct horse battery"}); !errors.Is(err, people.ErrInvalidSetup) {
			t.Errorf("the %s link after setup: %v, want ErrInvalidSetup", name, err)
		}
	}
	if _, err := svc.FirstOwnerLink(ctx, org); !errors.Is(err, people.ErrNotFirstRun) {
		t.Errorf("FirstOwnerLink once an owner can sign in: %v, want ErrNotFirstRun", err)
	}
}

// TestFirstOwnerFromOwnerEmails: org create --owner-email names the first
// owner; the setup page then keeps that address whatever is sent.
func TestFirstOwnerFromOwnerEmails(t *testing.T) {
	t.Parallel()
	svc, org, _ := setup(t, "beta", "Boss@Beta.test")
	l, err := svc.FirstOwnerLink(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	if l.Email != "boss@beta.test" {
		t.Errorf("first owner address = %q, want boss@beta.test", l.Email)
	}
	s, err := svc.RedeemSetup(t.Context(), token(t, l), people.SetupInput{Name: "Bo", Email: "other@x.test", Password: "correct horse battery"})
	if err != nil {
		t.Fatal(err)
	}
	if s.User.Email != "boss@beta.test" {
		t.Errorf("address after setup = %q, want it kept", s.User.Email)
	}
}

// TestSetupLinkIsNotAResetLink: a reset link does not open the setup
// page, and a setup link expires.
func TestSetupLinkIsNotAResetLink(t *testing.T) {
	t.Parallel()
	svc, org, c := setup(t, "gamma")
	l, err := svc.FirstOwnerLink(t.Context(), org)
	if err != nil {
		t.Fatal(err)
	}
	reset, err := svc.IssueResetLink(t.Context(), org.ID, l.UserID, "cli")
	if err != nil {
		t.Fatal(err)
	}
	rt := reset.URL[strings.Index(reset.URL, "token=")+len("token="):]
	rt, _ = url.QueryUnescape(rt)
	if _, err := svc.SetupFor(t.Context(), rt); !errors.Is(err, people.ErrInvalidSetup) {
		t.Errorf("a reset link on the setup page: %v", err)
	}
	l, err = svc.IssueSetupLink(t.Context(), org.ID, l.UserID)
	if err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(people.SetupTTL)
	if _, err := svc.SetupFor(t.Context(), token(t, l)); !errors.Is(err, people.ErrInvalidSetup) {
		t.Errorf("an expired setup link: %v", err)
	}
}
