package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/rule"
	"github.com/shiplog/shiplog/internal/store"
)

// ruleOut is a rule as the API shows it: the engine's fields plus times.
type ruleOut struct {
	rule.Rule
	CreatedAt string `json:"created_at"`
	UpdatedAt string `json:"updated_at"`
}

func toRuleOut(r *shiplog.Rule) (ruleOut, error) {
	rr, err := ingest.RuleFrom(r)
	return ruleOut{Rule: rr, CreatedAt: r.CreatedAt.Format(timeLayout), UpdatedAt: r.UpdatedAt.Format(timeLayout)}, err
}

const timeLayout = "2006-01-02T15:04:05.999999Z07:00"

// storeRule validates rr and fills r from it.
func storeRule(r *shiplog.Rule, rr *rule.Rule) error {
	rr.Name = strings.TrimSpace(rr.Name)
	if rr.Status == "" {
		rr.Status = "enabled"
	}
	if err := rr.Validate(); err != nil {
		return invalid("%s", err.Error())
	}
	cfg, err := json.Marshal(rr)
	if err != nil {
		return err
	}
	r.Name, r.Type, r.Status, r.Config = rr.Name, string(rr.Type), string(rr.Status), cfg
	return nil
}

// writeRule answers a stored rule.
func writeRule(w http.ResponseWriter, status int, sr *shiplog.Rule) error {
	out, err := toRuleOut(sr)
	if err != nil {
		return err
	}
	writeJSON(w, status, out)
	return nil
}

// decodeRule applies a JSON body over into (so a PATCH keeps what it does
// not name).
func decodeRule(body []byte, into *rule.Rule) error {
	if err := json.Unmarshal(body, into); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return invalid("Field '%s' has the wrong type (expected %s)", te.Field, te.Type)
		}
		return invalid("Invalid JSON in request body")
	}
	return nil
}

func (s *Server) createRule(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var rr rule.Rule
	if err := decodeRule(body, &rr); err != nil {
		return err
	}
	now := s.Clock.Now()
	sr := &shiplog.Rule{ID: shiplog.NewID(), OrgID: p.OrgID, CreatedAt: now, UpdatedAt: now}
	rr.ID = sr.ID
	if err := storeRule(sr, &rr); err != nil {
		return err
	}
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.RuleCreate(ctx, sr) }); err != nil {
		return err
	}
	return writeRule(w, http.StatusCreated, sr)
}

func (s *Server) listRules(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.Store.RuleList(r.Context(), principal(r).OrgID)
	if err != nil {
		return err
	}
	out := []ruleOut{}
	for _, sr := range rs {
		o, err := toRuleOut(sr)
		if err != nil {
			return err
		}
		out = append(out, o)
	}
	writeJSON(w, http.StatusOK, apiv1.List[ruleOut]{Items: out})
	return nil
}

func (s *Server) getRule(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sr, err := s.Store.RuleGet(r.Context(), principal(r).OrgID, id)
	if err != nil {
		return err
	}
	return writeRule(w, http.StatusOK, sr)
}

// patchRule applies the fields given over the stored rule: the usual way
// to switch a rule to report_only or disabled (an audited change of status).
func (s *Server) patchRule(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	// Read the body before the write: no network I/O while holding the
	// writer, and a retried transaction must be able to decode it again.
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var sr *shiplog.Rule
	err = s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		if sr, err = tx.RuleGet(ctx, p.OrgID, id); err != nil {
			return err
		}
		rr, err := ingest.RuleFrom(sr)
		if err != nil {
			return err
		}
		if err := decodeRule(body, &rr); err != nil {
			return err
		}
		rr.ID = sr.ID
		if err := storeRule(sr, &rr); err != nil {
			return err
		}
		sr.UpdatedAt = s.Clock.Now()
		return tx.RuleUpdate(ctx, sr)
	})
	if err != nil {
		return err
	}
	return writeRule(w, http.StatusOK, sr)
}

func (s *Server) deleteRule(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error { return tx.RuleDelete(ctx, p.OrgID, id) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// preflight answers the verdict a started deployment would get, recording
// nothing: for dry runs (shiplog preflight).
func (s *Server) preflight(w http.ResponseWriter, r *http.Request) error {
	var in apiv1.PreflightInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	for f, v := range map[string]string{"product_name": in.ProductName, "version": in.Version, "environment_name": in.EnvironmentName} {
		if strings.TrimSpace(v) == "" {
			return invalid("Field '%s' is required", f)
		}
	}
	org := principal(r).OrgID
	var subj ingest.Subject
	if pr, err := s.Store.ProductByName(r.Context(), org, in.ProductName); err == nil {
		subj.ProductID = pr.ID
		if v, err := s.Store.VersionByName(r.Context(), pr.ID, in.Version); err == nil {
			subj.VersionID = v.ID
		}
	}
	if e, err := s.Store.EnvironmentByName(r.Context(), org, in.EnvironmentName); err == nil {
		subj.EnvironmentID = e.ID
	}
	v, err := ingest.Evaluate(r.Context(), s.Store, org, rule.Attempt{ProductName: in.ProductName, Version: in.Version,
		EnvironmentName: in.EnvironmentName}, subj, s.Clock.Now(), s.BaseURL)
	if err != nil {
		return err
	}
	if v.Blocked != nil {
		writeJSON(w, v.Blocked.HTTPStatus, v.Blocked.Body())
		return nil
	}
	writeJSON(w, http.StatusOK, apiv1.PreflightResult{Allowed: true, PreflightStatus: v.PreflightStatus(),
		RulesEvaluated: nonNil(v.Evaluated), Warnings: nonNil(v.Warnings)})
	return nil
}
