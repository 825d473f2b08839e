package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/ingest"
	"github.com/shiplog/shiplog/internal/input"
	"github.com/shiplog/shiplog/internal/store"
)

const maxIdempotencyKey = 255

// idempotency reads the Idempotency-Key and fingerprints the request it
// comes with (method, operation and body), which the key is bound to.
func idempotency(r *http.Request, body []byte) (ingest.Idempotency, error) {
	k := strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(k) > maxIdempotencyKey {
		return ingest.Idempotency{}, shiplog.Errorf(shiplog.EINVALID, "Idempotency-Key is too long (limit %d characters)", maxIdempotencyKey)
	}
	if err := input.Text("Idempotency-Key", k); err != nil {
		return ingest.Idempotency{}, err
	}
	if k == "" {
		return ingest.Idempotency{}, nil
	}
	method, path, _ := strings.Cut(r.Pattern, " ")
	return ingest.Idempotency{Key: k, Request: ingest.RequestHash(method, strings.TrimPrefix(opKey(method, path), method+" "), body)}, nil
}

func writeResult(w http.ResponseWriter, res *ingest.Result) {
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	writeRaw(w, res.StatusCode, res.Body)
}

// postRunEvent answers POST /deployment-events/ and /build-events/
// (kind's) with ingest's answer.
func (s *Server) postRunEvent(kind shiplog.Kind) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		body, err := readBody(w, r)
		if err != nil {
			return err
		}
		key, err := idempotency(r, body)
		if err != nil {
			return err
		}
		ev, err := ingest.Decode(kind, body)
		if err != nil {
			return err
		}
		if ev.SkipsPreflight() {
			if err := s.authorizeField(r, http.MethodPost, "/deployment-events/", "skip_preflight_checks"); err != nil {
				return err
			}
		}
		p := principal(r)
		res, err := s.Ingest.Record(r.Context(), p.OrgID, ev, key, p.Credential())
		if err != nil {
			return err
		}
		writeResult(w, res)
		return nil
	}
}

// page reads ?limit= and ?cursor= and asks for one extra row to know
// whether another page follows.
func page(r *http.Request) (store.Page, error) {
	q := r.URL.Query()
	p := store.Page{Limit: store.DefaultLimit, Cursor: q.Get("cursor")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxLimit {
			return p, shiplog.Errorf(shiplog.EINVALID, "Query parameter 'limit' must be a whole number from 1 to %d", store.MaxLimit)
		}
		p.Limit = n
	}
	if p.Cursor != "" && !shiplog.ValidID(p.Cursor) {
		return p, shiplog.Errorf(shiplog.EINVALID, "Query parameter 'cursor' is not a cursor this server issued")
	}
	p.Limit++
	return p, nil
}

func writeList[T any](w http.ResponseWriter, items []T, p store.Page, id func(T) string) {
	out := apiv1.List[T]{Items: items}
	if len(items) == p.Limit {
		out.Items = items[:p.Limit-1]
		c := id(out.Items[len(out.Items)-1])
		out.NextCursor = &c
	}
	if out.Items == nil {
		out.Items = []T{}
	}
	writeJSON(w, http.StatusOK, out)
}

// first returns the first non-empty query parameter of names: the spec's
// examples write ?product= and ?environment= as well as the _name forms.
func first(r *http.Request, names ...string) string {
	for _, n := range names {
		if v := strings.TrimSpace(r.URL.Query().Get(n)); v != "" {
			return v
		}
	}
	return ""
}

// orderParam reads ?order=: "received" (the default, by id) or "time"
// (when it happened).
func orderParam(r *http.Request) (byTime bool, err error) {
	switch first(r, "order") {
	case "", "received":
		return false, nil
	case "time":
		return true, nil
	}
	return false, shiplog.Errorf(shiplog.EINVALID, "Query parameter 'order' must be received or time")
}

func statusParam(r *http.Request, k shiplog.Kind) (shiplog.Status, error) {
	v := first(r, "status")
	if v == "" {
		return "", nil
	}
	st, ok := shiplog.ParseStatus(k, v)
	if !ok {
		return "", shiplog.Errorf(shiplog.EINVALID, "Query parameter 'status' has an unknown value '%s'; accepted values: %s",
			v, strings.Join(shiplog.StatusWords(k), ", "))
	}
	return st, nil
}

// pathID reads {id}; a malformed id is simply not found, like another org's.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !shiplog.ValidID(id) {
		return "", shiplog.Errorf(shiplog.ENOTFOUND, "Not found")
	}
	return strings.ToLower(id), nil
}

func (s *Server) listProducts(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	items, err := s.Store.ProductList(r.Context(), principal(r).OrgID, p)
	if err != nil {
		return err
	}
	writeList(w, items, p, func(v *shiplog.Product) string { return v.ID })
	return nil
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	items, err := s.Store.EnvironmentList(r.Context(), principal(r).OrgID, p)
	if err != nil {
		return err
	}
	writeList(w, items, p, func(v *shiplog.Environment) string { return v.ID })
	return nil
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	e, err := s.Store.EnvironmentGet(r.Context(), principal(r).OrgID, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) patchEnvironment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var in apiv1.EnvironmentPatch
	if err := json.Unmarshal(body, &in); err != nil {
		return shiplog.Errorf(shiplog.EINVALID, "Request body must be a JSON object with 'type' and/or 'description' strings")
	}
	var p store.EnvironmentUpdateParams
	if in.Type != nil {
		t, ok := shiplog.ParseEnvType(*in.Type)
		if !ok {
			return shiplog.Errorf(shiplog.EINVALID, "Field 'type' must be one of production, staging, test, development, preview")
		}
		p.Type = &t
	}
	if in.Description != nil {
		if len(*in.Description) > 2000 {
			return shiplog.Errorf(shiplog.EINVALID, "Field 'description' is too long (limit 2000 bytes)")
		}
		p.Description = in.Description
	}
	var e *shiplog.Environment
	err = s.Store.Write(r.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		e, err = tx.EnvironmentUpdate(ctx, principal(r).OrgID, id, &p)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

func (s *Server) listVersions(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	f := store.VersionFilter{ProductName: first(r, "product_name", "product"), ScmSHA: first(r, "scm_sha")}
	items, err := s.Store.VersionList(r.Context(), principal(r).OrgID, f, p)
	if err != nil {
		return err
	}
	writeList(w, items, p, func(v *shiplog.Version) string { return v.ID })
	return nil
}

func (s *Server) getVersion(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	org := principal(r).OrgID
	v, err := s.Store.VersionGet(r.Context(), org, id)
	if err != nil {
		return err
	}
	as, err := s.Store.VersionApprovalList(r.Context(), org, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.VersionDetail{Version: v, Approvals: as})
	return nil
}

func (s *Server) listDeployments(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	st, err := statusParam(r, shiplog.KindDeployment)
	if err != nil {
		return err
	}
	byTime, err := orderParam(r)
	if err != nil {
		return err
	}
	f := store.DeploymentFilter{ProductName: first(r, "product_name", "product"),
		EnvironmentName: first(r, "environment_name", "environment"), Status: st, Version: first(r, "version"), ByTime: byTime}
	items, err := s.Store.DeploymentList(r.Context(), principal(r).OrgID, f, p)
	if err != nil {
		return err
	}
	writeList(w, items, p, func(v *shiplog.Deployment) string { return v.ID })
	return nil
}

func (s *Server) getDeployment(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	org := principal(r).OrgID
	d, err := s.Store.DeploymentGet(r.Context(), org, id)
	if err != nil {
		return err
	}
	events, err := s.Store.EventListBySubject(r.Context(), org, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.DeploymentDetail{Deployment: d, Events: nonNil(events)})
	return nil
}

func (s *Server) listBuilds(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	st, err := statusParam(r, shiplog.KindBuild)
	if err != nil {
		return err
	}
	byTime, err := orderParam(r)
	if err != nil {
		return err
	}
	f := store.BuildFilter{ProductName: first(r, "product_name", "product"), Version: first(r, "version"), Status: st, ByTime: byTime}
	items, err := s.Store.BuildList(r.Context(), principal(r).OrgID, f, p)
	if err != nil {
		return err
	}
	writeList(w, items, p, func(v *shiplog.Build) string { return v.ID })
	return nil
}

func (s *Server) getBuild(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	org := principal(r).OrgID
	b, err := s.Store.BuildGet(r.Context(), org, id)
	if err != nil {
		return err
	}
	events, err := s.Store.EventListBySubject(r.Context(), org, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiv1.BuildDetail{Build: b, Events: nonNil(events)})
	return nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func summary(d *shiplog.Deployment) *apiv1.StatusDeployment {
	if d == nil {
		return nil
	}
	return &apiv1.StatusDeployment{DeploymentID: d.ID, Version: d.Version, Status: d.Status, DeployedBy: d.DeployedBy,
		DeployedAt: d.DeployedAt.Format(time.RFC3339Nano), PreflightStatus: d.PreflightStatus}
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	cells, err := s.Store.StatusMatrix(r.Context(), principal(r).OrgID)
	if err != nil {
		return err
	}
	out := make([]apiv1.StatusCell, 0, len(cells))
	for _, c := range cells {
		out = append(out, apiv1.StatusCell{ProductID: c.ProductID, ProductName: c.ProductName, EnvironmentID: c.EnvironmentID,
			EnvironmentName: c.EnvironmentName, EnvironmentType: c.EnvironmentType, Current: summary(c.Current), Latest: summary(c.Latest)})
	}
	writeJSON(w, http.StatusOK, apiv1.List[apiv1.StatusCell]{Items: out})
	return nil
}
