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

// maxKeyName bounds an API key's name: a label, not a document.
const maxKeyName = 200

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	ks, err := s.Store.APIKeyList(r.Context(), p.OrgID)
	if err != nil {
		return err
	}
	out := make([]apiv1.APIKey, 0, len(ks))
	for _, k := range ks {
		out = append(out, apiv1.APIKey{APIKey: k})
	}
	writeJSON(w, http.StatusOK, apiv1.List[apiv1.APIKey]{Items: out})
	return nil
}

// createAPIKey answers the full key once; only its hash is kept.
func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	var in apiv1.APIKeyInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return invalid("Field 'name' is required: say where the key is used, e.g. the pipeline's name")
	}
	if len(name) > maxKeyName {
		return invalid("Field 'name' is too long (limit %d bytes)", maxKeyName)
	}
	org := &shiplog.Org{ID: p.OrgID, Name: p.OrgName}
	var out apiv1.APIKey
	err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		out.APIKey, out.Key, err = auth.CreateKey(ctx, tx, org, name, s.Clock.Now())
		return err
	})
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "api key created", "org", p.OrgName, "key_id", out.KeyID, "by", p.User.ID)
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// revokeAPIKey revokes by key id (k1, as the CLI and the key text name it)
// or by the key's row id. Revoking twice keeps the first time; the key stays
// listed, as revoked.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	ref := strings.ToLower(strings.TrimSpace(r.PathValue("id")))
	var out *shiplog.APIKey
	err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		k, err := findKey(ctx, tx, p.OrgID, ref)
		if err != nil {
			return err
		}
		if err := tx.APIKeyRevoke(ctx, p.OrgID, k.KeyID, s.Clock.Now()); err != nil {
			return err
		}
		out, err = findKey(ctx, tx, p.OrgID, k.KeyID)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return shiplog.Errorf(shiplog.ENOTFOUND, "No API key %s in this organisation", r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	s.Log.InfoContext(r.Context(), "api key revoked", "org", p.OrgName, "key_id", out.KeyID, "by", p.User.ID)
	writeJSON(w, http.StatusOK, apiv1.APIKey{APIKey: out})
	return nil
}

// findKey finds one of an org's keys by key id or row id.
func findKey(ctx context.Context, rd store.Reader, orgID, ref string) (*shiplog.APIKey, error) {
	ks, err := rd.APIKeyList(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, k := range ks {
		if k.KeyID == ref || k.ID == ref {
			return k, nil
		}
	}
	return nil, store.ErrNotFound
}
