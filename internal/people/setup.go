package people

import (
	"cmp"
	"context"
	"errors"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/input"
	"github.com/shiplog/shiplog/internal/store"
)

// First-run setup. An org nobody can sign in to yet gets a one-time setup
// link for its first owner, who opens it and chooses their name, address
// and password in the browser, as Gitea and Grafana do. A setup link is a
// reset link (same token, same table, same single use) issued by SetupBy;
// it works only while its person has no password, so the several links a
// first owner may have (the one `org create` printed, one per server start)
// all die once one of them is used.

// SetupBy is the issuer recorded on setup links.
const SetupBy = "setup"

// SetupTTL is how long a setup link works: the operator who created the
// org may hand it on days later (and each server start logs a new one).
const SetupTTL = 7 * 24 * time.Hour

// placeholderDomain marks the address of a first owner nobody has named
// yet (.invalid is reserved: it can never be someone's mailbox).
const placeholderDomain = ".invalid"

// Placeholder reports whether email is a stand-in the setup page asks to replace.
func Placeholder(email string) bool { return strings.HasSuffix(email, placeholderDomain) }

// ErrNotFirstRun refuses a first-owner setup link for an org that is past
// its first run: an owner or admin can sign in, or it has people but none
// who could manage the others.
var ErrNotFirstRun = shiplog.Errorf(shiplog.ECONFLICT,
	"This organisation is set up already: ask its owners, or use 'shiplog user reset-link' or 'shiplog user create'")

// ErrInvalidSetup is the one answer for a setup link that does not work.
var ErrInvalidSetup = shiplog.Errorf(shiplog.EINVALID,
	"This setup link is not valid: it was used already, has expired or the person has a password now. "+
		"Sign in, or get a new link with 'shiplog org setup-link --org ORG' (the server also logs one when it starts)")

// FirstOwnerLink returns a setup link for org's first owner when no active
// owner or admin has a password yet (ErrNotFirstRun otherwise). The first
// owner is the first active owner (else admin) without a password; an org
// with nobody at all gets one: an owner whose address is the first of the
// org's owner emails, else a placeholder the setup page replaces. Earlier
// setup links keep working.
func (s *Service) FirstOwnerLink(ctx context.Context, org *shiplog.Org) (*ResetLink, error) {
	now := s.Clock.Now()
	id, hashed, text := auth.NewResetToken()
	var u *shiplog.User
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		us, err := tx.UserList(ctx, org.ID)
		if err != nil {
			return err
		}
		var admin *shiplog.User
		for _, p := range us {
			if !p.Active() || !shiplog.HasRole(p.Roles, shiplog.CanManageUsers...) {
				continue
			}
			h, err := tx.UserPasswordHash(ctx, org.ID, p.ID)
			if err != nil {
				return err
			}
			if h != "" {
				return ErrNotFirstRun
			}
			if u == nil && slices.Contains(p.Roles, shiplog.RoleOwner) {
				u = p
			}
			if admin == nil {
				admin = p
			}
		}
		u = cmp.Or(u, admin)
		if u == nil && len(us) > 0 {
			// People who only use tokens: not a first run to take over.
			return ErrNotFirstRun
		}
		if u == nil {
			owners, err := tx.OrgOwnerEmails(ctx, org.ID)
			if err != nil {
				return err
			}
			addr := "owner@" + org.Name + placeholderDomain
			if len(owners) > 0 {
				addr = strings.ToLower(owners[0])
			}
			u = &shiplog.User{ID: shiplog.NewID(), OrgID: org.ID, Email: addr, Name: "First owner",
				Roles: []string{shiplog.RoleOwner}, CreatedAt: now}
			if err := tx.UserCreate(ctx, u, ""); err != nil {
				return err
			}
		}
		return tx.PasswordResetCreate(ctx, &store.PasswordResetCreateParams{ID: id, OrgID: org.ID, UserID: u.ID, Hash: hashed,
			CreatedBy: SetupBy, Now: now, ExpiresAt: now.Add(SetupTTL), KeepEarlier: true})
	})
	if err != nil {
		return nil, err
	}
	return s.setupLink(u, text, now), nil
}

// IssueSetupLink returns a setup link for a person who has no password
// yet (someone `user create` added without one), replacing their earlier
// links.
func (s *Service) IssueSetupLink(ctx context.Context, orgID, userID string) (*ResetLink, error) {
	now := s.Clock.Now()
	id, hashed, text := auth.NewResetToken()
	var u *shiplog.User
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		if u, err = target(ctx, tx, orgID, userID, nil, ""); err != nil {
			return err
		}
		if !u.Active() {
			return shiplog.Errorf(shiplog.ECONFLICT, "%s is deactivated; reactivate them first", u.Email)
		}
		if h, err := tx.UserPasswordHash(ctx, orgID, u.ID); err != nil {
			return err
		} else if h != "" {
			return shiplog.Errorf(shiplog.ECONFLICT, "%s has a password already; use 'shiplog user reset-link' for a new one", u.Email)
		}
		return tx.PasswordResetCreate(ctx, &store.PasswordResetCreateParams{ID: id, OrgID: orgID, UserID: u.ID, Hash: hashed,
			CreatedBy: SetupBy, Now: now, ExpiresAt: now.Add(SetupTTL)})
	})
	if err != nil {
		return nil, err
	}
	return s.setupLink(u, text, now), nil
}

func (s *Service) setupLink(u *shiplog.User, text string, now time.Time) *ResetLink {
	return &ResetLink{UserID: u.ID, Email: u.Email, ExpiresAt: now.Add(SetupTTL),
		URL: strings.TrimRight(s.BaseURL, "/") + "/ui/setup?token=" + url.QueryEscape(text)}
}

// Setup is a usable setup link's person and org, for the page it opens.
type Setup struct {
	User    *shiplog.User
	OrgName string
}

// SetupFor returns whom a setup link is for, without using it.
func (s *Service) SetupFor(ctx context.Context, token string) (*Setup, error) {
	r, err := s.checkSetup(ctx, token)
	if err != nil {
		return nil, err
	}
	u, err := s.pending(ctx, s.Store, r)
	if err != nil {
		return nil, err
	}
	return s.withOrg(ctx, u)
}

// withOrg adds the person's org name (a session records it).
func (s *Service) withOrg(ctx context.Context, u *shiplog.User) (*Setup, error) {
	o, err := s.Store.OrgGet(ctx, u.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidSetup
	}
	if err != nil {
		return nil, err
	}
	return &Setup{User: u, OrgName: o.Name}, nil
}

func (s *Service) checkSetup(ctx context.Context, token string) (*store.PasswordReset, error) {
	id, secret, ok := auth.ParseResetToken(strings.TrimSpace(token))
	if !ok {
		return nil, ErrInvalidSetup
	}
	r, err := s.Store.PasswordResetGet(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if auth.CheckReset(r, secret, s.Clock.Now()) != nil || r.CreatedBy != SetupBy {
		return nil, ErrInvalidSetup
	}
	return r, nil
}

// pending returns the link's person while they are active and have no password.
func (s *Service) pending(ctx context.Context, rd store.Reader, r *store.PasswordReset) (*shiplog.User, error) {
	u, err := rd.UserGet(ctx, r.OrgID, r.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ErrInvalidSetup
	}
	if err != nil {
		return nil, err
	}
	h, err := rd.UserPasswordHash(ctx, r.OrgID, r.UserID)
	if err != nil {
		return nil, err
	}
	if !u.Active() || h != "" {
		return nil, ErrInvalidSetup
	}
	return u, nil
}

// SetupInput is what the setup page asks. Email counts only when the
// person's address is a placeholder.
type SetupInput struct {
	Name, Email, Password string
}

// RedeemSetup uses a setup link once: the person gets their name, their
// address (when it was a placeholder) and a password.
func (s *Service) RedeemSetup(ctx context.Context, token string, in SetupInput) (*Setup, error) {
	r, err := s.checkSetup(ctx, token)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return nil, shiplog.Errorf(shiplog.EINVALID, "Field 'name' is required")
	}
	if err := input.Text("name", name); err != nil || len(name) > 200 {
		return nil, shiplog.Errorf(shiplog.EINVALID, "Field 'name' must be text of at most 200 bytes")
	}
	if err := CheckPassword("password", in.Password); err != nil {
		return nil, err
	}
	hash, err := auth.HashPasswordIterations(in.Password, s.PasswordIterations)
	if err != nil {
		return nil, err
	}
	now := s.Clock.Now()
	var u *shiplog.User
	err = s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		if u, err = s.pending(ctx, tx, r); err != nil {
			return err
		}
		if err := tx.PasswordResetUse(ctx, r.ID, now); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return ErrInvalidSetup
			}
			return err
		}
		if Placeholder(u.Email) {
			addr := strings.ToLower(strings.TrimSpace(in.Email))
			if a, err := mail.ParseAddress(addr); err != nil || a.Address != addr || Placeholder(addr) {
				return shiplog.Errorf(shiplog.EINVALID, "Field 'email' must be your email address")
			}
			if err := tx.UserSetEmail(ctx, u.OrgID, u.ID, addr); errors.Is(err, store.ErrConflict) {
				return shiplog.Errorf(shiplog.ECONFLICT, "Someone in this organisation has the address %s already", addr)
			} else if err != nil {
				return err
			}
			u.Email = addr
		}
		u.Name = name
		if err := tx.UserUpdate(ctx, u); err != nil {
			return err
		}
		return tx.UserSetPassword(ctx, u.OrgID, u.ID, hash)
	})
	if err != nil {
		return nil, err
	}
	if s.Log != nil {
		s.Log.InfoContext(ctx, "first-run setup done", "user_id", u.ID)
	}
	return s.withOrg(ctx, u)
}
