// Package people is the lifecycle of a person in an org: deactivation and
// reactivation, deletion as a tombstone, password changes and one-time
// reset links. The API and the CLI both act through it, so the rules (not
// yourself, the last admin stays, old password required, one use) live in
// one place.
package people

import (
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/throttle"
)

// Mailer sends one message (email.Sender).
type Mailer interface {
	Send(ctx context.Context, msg email.Message, to []string) error
}

// Service acts on people.
type Service struct {
	Store store.Store
	Clock shiplog.Clock
	// Mailer, when set, sends reset links by email; without one the link
	// is handed to whoever issued it (the CLI prints it).
	Mailer  Mailer
	BaseURL string
	Log     *slog.Logger
	// PasswordIterations is the PBKDF2 cost of new passwords (0: the
	// default); tests lower it.
	PasswordIterations int
}

// PasswordChecksPerWindow is how many wrong current passwords a person
// may send in throttle.Window before changes are refused for a while.
const PasswordChecksPerWindow = 5

// Password bounds: at least 12 characters (as the console asks), at most
// 1 KiB (hashing cost is per byte).
const (
	MinPassword = 12
	MaxPassword = 1024
)

// CheckPassword validates a new password named field.
func CheckPassword(field, pw string) error {
	if len(pw) < MinPassword {
		return shiplog.Errorf(shiplog.EINVALID, "Field '%s' must be at least %d characters", field, MinPassword)
	}
	if len(pw) > MaxPassword {
		return shiplog.Errorf(shiplog.EINVALID, "Field '%s' is too long (limit %d bytes)", field, MaxPassword)
	}
	return nil
}

func notFound(id string) error {
	return shiplog.Errorf(shiplog.ENOTFOUND, "No user %s in this organisation", id)
}

// target reads the person acted on, in tx, refusing acts on oneself.
func target(ctx context.Context, tx store.Tx, orgID, userID string, by *shiplog.User, what string) (*shiplog.User, error) {
	u, err := tx.UserGet(ctx, orgID, userID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.DeletedAt != nil {
		return nil, notFound(userID)
	}
	if err != nil {
		return nil, err
	}
	if by != nil && by.ID == u.ID {
		return nil, shiplog.Errorf(shiplog.EFORBIDDEN, "You cannot %s yourself; ask another admin", what)
	}
	return u, nil
}

// LastAdminStays refuses a change that would leave the org without an
// active admin: changed is the person as they would be after it.
func LastAdminStays(ctx context.Context, rd store.Reader, changed *shiplog.User) error {
	if changed.Active() && shiplog.HasRole(changed.Roles, shiplog.CanManageUsers...) {
		return nil
	}
	us, err := rd.UserList(ctx, changed.OrgID)
	if err != nil {
		return err
	}
	for _, u := range us {
		// A first owner nobody has set up yet (setup.go) does not count:
		// their address is a stand-in, so they are no one to ask.
		if u.ID != changed.ID && u.Active() && shiplog.HasRole(u.Roles, shiplog.CanManageUsers...) && !Placeholder(u.Email) {
			return nil
		}
	}
	return shiplog.Errorf(shiplog.ECONFLICT, "%s is the last active admin; make someone else an admin first", changed.Email)
}

// SetActive deactivates (active false) or reactivates a person. by is who
// asks (nil: the CLI, run by whoever runs the server). Deactivation ends
// their sessions at once; their tokens are refused while it lasts and work
// again after reactivation (revoke them to end them for good).
func (s *Service) SetActive(ctx context.Context, by *shiplog.User, orgID, userID string, active bool) (*shiplog.User, error) {
	what := "deactivate"
	if active {
		what = "reactivate"
	}
	var out *shiplog.User
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, err := target(ctx, tx, orgID, userID, by, what)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		if !active {
			after := *u
			after.DeactivatedAt = &now
			if err := LastAdminStays(ctx, tx, &after); err != nil {
				return err
			}
		}
		if err := tx.UserSetActive(ctx, &store.UserSetActiveParams{OrgID: orgID, UserID: u.ID, Active: active, Now: now}); err != nil {
			return err
		}
		if !active {
			if err := tx.SessionDeleteUser(ctx, orgID, u.ID, nil); err != nil {
				return err
			}
		}
		out, err = tx.UserGet(ctx, orgID, u.ID)
		return err
	})
	return out, err
}

// Delete turns a person into a tombstone: they can never act again (tokens
// revoked, sessions ended, password and reset links gone) and their address
// is free, but their id and name stay on every approval, sign-off and
// request they made.
func (s *Service) Delete(ctx context.Context, by *shiplog.User, orgID, userID string) (*shiplog.User, error) {
	var out *shiplog.User
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		u, err := target(ctx, tx, orgID, userID, by, "delete")
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		after := *u
		after.DeletedAt = &now
		if err := LastAdminStays(ctx, tx, &after); err != nil {
			return err
		}
		if err := tx.UserDelete(ctx, &store.UserDeleteParams{OrgID: orgID, UserID: u.ID, Now: now}); err != nil {
			return err
		}
		out, err = tx.UserGet(ctx, orgID, u.ID)
		return err
	})
	return out, err
}

// ChangePassword sets a person's own password, given the current one. It
// ends their other console sessions (all but keep, the asking session's id
// hash, if any); tokens are not passwords and keep working.
func (s *Service) ChangePassword(ctx context.Context, u *shiplog.User, oldPW, newPW string, keep []byte) error {
	if oldPW == "" {
		return shiplog.Errorf(shiplog.EINVALID, "Field 'old_password' is required")
	}
	if err := CheckPassword("new_password", newPW); err != nil {
		return err
	}
	// A stolen session or token must not become a way to guess the
	// password: checks of the current password are throttled per person,
	// as sign-ins are per account.
	limiter := &throttle.Limiter{Store: s.Store, Clock: s.Clock}
	key := throttle.NewKey(PasswordChecksPerWindow, "password-change", u.OrgID, u.ID)
	wait, err := limiter.Take(ctx, key)
	if err != nil {
		return err
	}
	if wait > 0 {
		return shiplog.Errorf(shiplog.ETOOMANY, "Too many wrong current passwords. Try again in %s.", throttle.Words(wait))
	}
	h, err := s.Store.UserPasswordHash(ctx, u.OrgID, u.ID)
	if err != nil {
		_ = limiter.Settle(ctx, false, key)
		return err
	}
	wrong := h != "" && !auth.CheckPassword(h, oldPW)
	if err := limiter.Settle(ctx, wrong, key); err != nil {
		return err
	}
	if h == "" {
		return shiplog.Errorf(shiplog.ECONFLICT, "You have no password yet; ask an admin for a reset link to set one")
	}
	if wrong {
		return shiplog.Errorf(shiplog.EFORBIDDEN, "The current password is wrong")
	}
	newHash, err := auth.HashPasswordIterations(newPW, s.PasswordIterations)
	if err != nil {
		return err
	}
	return s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		// Compare-and-set on the hash read: of two changes racing with the
		// same old password, only one lands.
		if cur, err := tx.UserPasswordHash(ctx, u.OrgID, u.ID); err != nil {
			return err
		} else if cur != h {
			return shiplog.Errorf(shiplog.ECONFLICT, "The password was changed meanwhile; sign in again")
		}
		if err := tx.UserSetPassword(ctx, u.OrgID, u.ID, newHash); err != nil {
			return err
		}
		return tx.SessionDeleteUser(ctx, u.OrgID, u.ID, keep)
	})
}

// ResetLink is an issued reset link. URL is empty when it was emailed: only
// the person it is for sees it then.
type ResetLink struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	URL       string    `json:"url,omitempty"`
	Emailed   bool      `json:"emailed"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueResetLink makes a one-time reset link for a person (replacing any
// earlier one) and emails it when a mailer is set. by names the issuer
// ("cli" for the command line). It refuses deactivated and deleted people.
func (s *Service) IssueResetLink(ctx context.Context, orgID, userID, by string) (*ResetLink, error) {
	id, hashed, text := auth.NewResetToken()
	now := s.Clock.Now()
	var u *shiplog.User
	err := s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		var err error
		if u, err = target(ctx, tx, orgID, userID, nil, ""); err != nil {
			return err
		}
		if !u.Active() {
			return shiplog.Errorf(shiplog.ECONFLICT, "%s is deactivated; reactivate them before sending a reset link", u.Email)
		}
		return tx.PasswordResetCreate(ctx, &store.PasswordResetCreateParams{ID: id, OrgID: orgID, UserID: u.ID, Hash: hashed,
			CreatedBy: by, Now: now, ExpiresAt: now.Add(auth.ResetTTL)})
	})
	if err != nil {
		return nil, err
	}
	link := &ResetLink{UserID: u.ID, Email: u.Email, ExpiresAt: now.Add(auth.ResetTTL),
		URL: strings.TrimRight(s.BaseURL, "/") + "/ui/reset-password?token=" + url.QueryEscape(text)}
	if s.Mailer == nil {
		return link, nil
	}
	if err := s.Mailer.Send(ctx, resetMail(u, link), []string{u.Email}); err != nil {
		if s.Log != nil {
			s.Log.WarnContext(ctx, "email password reset link", "user_id", u.ID, "err", err)
		}
		return nil, shiplog.Errorf(shiplog.EINTERNAL, "The reset link could not be emailed to %s: %v", u.Email, err)
	}
	link.URL, link.Emailed = "", true
	return link, nil
}

func resetMail(u *shiplog.User, l *ResetLink) email.Message {
	text := fmt.Sprintf("Hello %s,\n\nan admin asked shiplog to let you set a new console password. Open this link and choose one:\n\n%s\n\n"+
		"The link works once, until %s. If you did not expect it, ignore this message: your password stays as it is.\n",
		u.Name, l.URL, l.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC"))
	return email.Message{Subject: "Set your shiplog password", Text: text,
		HTML: "<p>" + strings.ReplaceAll(html.EscapeString(text), "\n", "<br>") + "</p>"}
}

// RedeemReset sets a new password with a reset link's token, once. It ends
// every console session of the person.
func (s *Service) RedeemReset(ctx context.Context, token, newPW string) (*shiplog.User, error) {
	id, secret, ok := auth.ParseResetToken(strings.TrimSpace(token))
	if !ok {
		return nil, auth.ErrInvalidReset
	}
	if err := CheckPassword("new_password", newPW); err != nil {
		return nil, err
	}
	r, err := s.Store.PasswordResetGet(ctx, id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	now := s.Clock.Now()
	if err := auth.CheckReset(r, secret, now); err != nil {
		return nil, err
	}
	newHash, err := auth.HashPasswordIterations(newPW, s.PasswordIterations)
	if err != nil {
		return nil, err
	}
	var u *shiplog.User
	err = s.Store.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.PasswordResetUse(ctx, id, now); err != nil {
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				return auth.ErrInvalidReset
			}
			return err
		}
		var err error
		if u, err = tx.UserGet(ctx, r.OrgID, r.UserID); err != nil {
			return err
		}
		if !u.Active() {
			return auth.ErrInvalidReset
		}
		if err := tx.UserSetPassword(ctx, r.OrgID, r.UserID, newHash); err != nil {
			return err
		}
		return tx.SessionDeleteUser(ctx, r.OrgID, r.UserID, nil)
	})
	return u, err
}
