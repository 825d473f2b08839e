package web

import (
	"net/http"
	"net/url"

	"github.com/shiplog/shiplog/apiv1"
)

// Settings → API keys: the org's keys for pipelines. A new key is shown on
// the page that answers its creation and never again (only its hash is kept).

type apiKeysData struct {
	Keys []apiv1.APIKey
	// Created is the key just made, with its full text.
	Created *apiv1.APIKey
	// Name is what was typed into the form, kept after a refusal.
	Name string
	// Denied: the API refused the listing (the page shows why, not a form).
	Denied bool
}

func (s *Server) apiKeysData(r *http.Request, v *view) (*apiKeysData, int, error) {
	d := &apiKeysData{}
	var list apiv1.List[apiv1.APIKey]
	if err := s.call(r, v, http.MethodGet, "/api-keys/", nil, &list); err != nil {
		if ae, ok := apiRefusal(err); ok {
			v.Error, d.Denied = ae.Detail, true
			return d, ae.Status, nil
		}
		return nil, 0, err
	}
	d.Keys = list.Items
	return d, http.StatusOK, nil
}

func (s *Server) apiKeysPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	d, status, err := s.apiKeysData(r, v)
	if err != nil {
		return err
	}
	return s.render(w, r, status, "settings_apikeys", v, d)
}

func (s *Server) apiKeyCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	name := r.PostFormValue("name")
	var created apiv1.APIKey
	callErr := s.call(r, v, http.MethodPost, "/api-keys/", apiv1.APIKeyInput{Name: name}, &created)
	ae, refused := apiRefusal(callErr)
	if callErr != nil && !refused {
		return callErr
	}
	d, status, err := s.apiKeysData(r, v)
	if err != nil {
		return err
	}
	if refused {
		v.Error, d.Name = ae.Detail, name
		return s.render(w, r, ae.Status, "settings_apikeys", v, d)
	}
	// Not a redirect: the key must not travel in a cookie or a URL.
	d.Created = &created
	return s.render(w, r, status, "settings_apikeys", v, d)
}

func (s *Server) apiKeyRevoke(w http.ResponseWriter, r *http.Request, v *view) error {
	var k apiv1.APIKey
	if err := s.call(r, v, http.MethodDelete, "/api-keys/"+url.PathEscape(r.PathValue("id")), nil, &k); err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/settings/api-keys", "Revoked "+k.KeyID+" ("+k.Name+"). Requests that use it are refused from now on.")
}
