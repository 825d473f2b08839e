package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

// People and their tokens: /tokens/, deactivation, deletion, passwords and
// reset links. The rules live in internal/people; these handlers add who
// may see or revoke whose token.

// maxTokenName bounds a token's name, a label.
const maxTokenName = 200

// seesEveryone: owners and admins see and revoke anyone's tokens in their org.
func seesEveryone(p *auth.Principal) bool {
	return p.User != nil && shiplog.HasRole(p.User.Roles, shiplog.CanManageUsers...)
}

func othersTokens(what string) error {
	return shiplog.Errorf(shiplog.EFORBIDDEN, "%s another person's tokens needs one of the roles %s", what,
		strings.Join(shiplog.CanManageUsers, ", "))
}

// listTokens answers the caller's own tokens; owners and admins get every
// token of the org, or one person's with ?user_id=.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	userID := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("user_id")))
	switch {
	case userID == "" && !seesEveryone(p):
		userID = p.User.ID
	case userID != "" && userID != p.User.ID && !seesEveryone(p):
		return othersTokens("Seeing")
	case userID != "" && !shiplog.ValidID(userID):
		return invalid("Query parameter 'user_id' must be a user's id")
	}
	ts, err := s.Store.TokenList(r.Context(), p.OrgID, userID)
	if err != nil {
		return err
	}
	out := make([]apiv1.PersonalToken, 0, len(ts))
	for _, t := range ts {
		out = append(out, apiv1.PersonalToken{Token: t})
	}
	writeJSON(w, http.StatusOK, apiv1.List[apiv1.PersonalToken]{Items: out})
	return nil
}

// createToken makes a token for the caller (never for someone else: that
// would let an admin act as them). The full token is in this answer only.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	var in apiv1.TokenInput
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &in); err != nil {
			return err
		}
	}
	name := strings.TrimSpace(in.Name)
	if len(name) > maxTokenName {
		return invalid("Field 'name' is too long (limit %d bytes)", maxTokenName)
	}
	var text string
	err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		text, err = auth.CreateToken(ctx, tx, p.User, name, s.Clock.Now())
		return err
	})
	if err != nil {
		return err
	}
	tokenID, _, _ := auth.ParseToken(text)
	t, err := s.Store.TokenGet(r.Context(), p.OrgID, tokenID)
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "personal token created", "org", p.OrgName, "token_id", t.TokenID, "user_id", p.User.ID)
	writeJSON(w, http.StatusCreated, apiv1.PersonalToken{Token: t, Text: text})
	return nil
}

// revokeToken revokes by row id, token id, or the whole token text (a
// leaked token can be revoked by pasting it). Revoking twice keeps the
// first time.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	ref := strings.TrimSpace(r.PathValue("id"))
	if id, _, ok := auth.ParseToken(ref); ok {
		ref = id
	}
	if len(ref) != 16 {
		ref = strings.ToLower(ref)
	}
	var out *shiplog.Token
	err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		t, err := tx.TokenGet(ctx, p.OrgID, ref)
		if err != nil {
			return err
		}
		if t.UserID != p.User.ID && !seesEveryone(p) {
			return othersTokens("Revoking")
		}
		if err := tx.TokenRevoke(ctx, p.OrgID, t.ID, s.Clock.Now()); err != nil {
			return err
		}
		out, err = tx.TokenGet(ctx, p.OrgID, t.ID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return shiplog.Errorf(shiplog.ENOTFOUND, "No personal access token %s in this organisation", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "personal token revoked", "org", p.OrgName, "token_id", out.TokenID, "by", p.User.ID)
	writeJSON(w, http.StatusOK, apiv1.PersonalToken{Token: out})
	return nil
}

func (s *Server) setUserActive(active bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		p := principal(r)
		id, err := pathID(r)
		if err != nil {
			return err
		}
		u, err := s.People.SetActive(r.Context(), p.User, p.OrgID, id, active)
		if err != nil {
			return err
		}
		s.Log.InfoContext(r.Context(), "user active changed", "org", p.OrgName, "user_id", u.ID, "active", active, "by", p.User.ID)
		writeJSON(w, http.StatusOK, u)
		return nil
	}
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.People.Delete(r.Context(), p.User, p.OrgID, id)
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "user deleted", "org", p.OrgName, "user_id", u.ID, "by", p.User.ID)
	writeJSON(w, http.StatusOK, u)
	return nil
}

// issueResetLink emails the person a one-time link when SMTP is set;
// otherwise the answer carries the link for the admin to pass on.
func (s *Server) issueResetLink(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	l, err := s.People.IssueResetLink(r.Context(), p.OrgID, id, p.User.ID)
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "password reset link issued", "org", p.OrgName, "user_id", l.UserID, "emailed", l.Emailed,
		"by", p.User.ID)
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	var in apiv1.PasswordChangeInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if err := s.People.ChangePassword(r.Context(), p.User, in.OldPassword, in.NewPassword, p.Session); err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "password changed", "org", p.OrgName, "user_id", p.User.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// resetPassword redeems a reset link: no credentials but the link's token.
func (s *Server) resetPassword(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.PasswordResetInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	u, err := s.People.RedeemReset(r.Context(), in.Token, in.NewPassword)
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "password reset", "user_id", u.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
