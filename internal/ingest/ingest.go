package ingest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// IdempotencyWindow is how long a repeated Idempotency-Key replays the first answer.
const IdempotencyWindow = 24 * time.Hour

// Fanout is called in the event's own transaction for every event recorded,
// so that the deliveries it writes commit or roll back with the event: the
// outbox. It returns them for Dispatch.
type Fanout func(ctx context.Context, tx store.Tx, e *shiplog.Event) ([]*shiplog.Delivery, error)

// Service records events.
type Service struct {
	Store store.Store
	// catalogue keeps the products, versions and environments events name.
	catalogue catalogue
	Clock     shiplog.Clock
	Fanout    Fanout // optional
	// Dispatch receives an event's deliveries once they are committed.
	Dispatch func([]*shiplog.Delivery)
	// Recorded is told of each event received and committed (metrics);
	// optional. Idempotent replays are not new events and are not told.
	Recorded func(*shiplog.Event)
	// Notify, when set, is told after commit that an org has new events
	// (the live stream's hub wakes that org's readers).
	Notify func(orgID string)
	// BaseURL is the server's public URL, for console links in refusals.
	BaseURL string
}

// Result is what the caller answers: the status and the JSON body, which for
// a replayed Idempotency-Key is the first answer's.
type Result struct {
	StatusCode int
	Body       json.RawMessage
	Replayed   bool
	Event      *shiplog.Event // nil when replayed
	Deliveries []*shiplog.Delivery
}

func versionConflict(v string) error {
	return shiplog.Errorf(shiplog.ECONFLICT, "Version %s already exists with different SHA", v)
}

// Idempotency is a request's Idempotency-Key (empty: none) and the
// fingerprint of the request itself (RequestHash).
type Idempotency struct {
	Key     string
	Request []byte
}

// RequestHash fingerprints a request for its Idempotency-Key: the method,
// the operation (path pattern, one spelling for /x and /x/) and the body
// without insignificant whitespace, so a retry matches and anything else
// does not.
func RequestHash(method, operation string, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, operation)
	var c bytes.Buffer
	if json.Compact(&c, body) == nil {
		body = c.Bytes()
	}
	h.Write(body)
	return h.Sum(nil)
}

// idempotent wraps fn so that a repeated key answers the stored result,
// when the key was first used for this same request (IETF
// draft-ietf-httpapi-idempotency-key-header, as Stripe does): the key with
// another request is refused with 422 and records nothing.
func (s *Service) idempotent(ctx context.Context, tx store.Tx, orgID string, idem Idempotency, now time.Time,
	fn func() (*Result, error)) (*Result, error) {
	key := idem.Key
	if key == "" {
		return fn()
	}
	notBefore := now.Add(-IdempotencyWindow)
	replay := func() (*Result, error) {
		r, err := tx.IdempotencyGet(ctx, orgID, key, notBefore)
		if err != nil {
			return nil, err
		}
		if r.RequestHash != nil && !bytes.Equal(r.RequestHash, idem.Request) {
			return nil, shiplog.Errorf(shiplog.EUNPROCESSABLE, "Idempotency-Key '%s' was already used for a different request "+
				"(another endpoint or another body) in the last %d hours; send a new key for a new request", key, int(IdempotencyWindow/time.Hour))
		}
		return &Result{StatusCode: r.StatusCode, Body: r.Body, Replayed: true}, nil
	}
	if r, err := replay(); err == nil {
		return r, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err := tx.IdempotencyClaim(ctx, orgID, key, now, notBefore); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// Another replica answered the same key and committed first.
			return replay()
		}
		return nil, err
	}
	res, err := fn()
	if err != nil {
		return nil, err
	}
	if err := tx.IdempotencyComplete(ctx, orgID, key, &store.IdempotentResponse{StatusCode: res.StatusCode, Body: res.Body,
		RequestHash: idem.Request}); err != nil {
		return nil, err
	}
	return res, nil
}

type catalog struct {
	product *shiplog.Product
	version *shiplog.Version
	env     *shiplog.Environment
	// envGen is the org's generation env was read at: its type may change.
	envGen int64
	cat    *catalogue // where they came from
	// ensured is what the write made sure of (rows it found or created),
	// for Record to keep in memory once the write has committed.
	ensured *catalog
}

// lookup finds the catalogue rows an event names before the write, in
// memory or on the read pool: the single writer is the bottleneck, and
// after an org's first events these rows exist. Products and environments
// are never deleted and a version with a SHA never changes, so what it
// finds stays valid, except an environment's type, which ensure checks
// against the org's generation in the transaction. What it misses, the
// write creates.
func (s *Service) lookup(ctx context.Context, orgID, product, version, env string) *catalog {
	cat := &s.catalogue
	c := &catalog{cat: cat}
	if c.product = cat.product(orgID, product); c.product == nil {
		p, err := s.Store.ProductByName(ctx, orgID, product)
		if err != nil {
			return c
		}
		c.product = cat.putProduct(orgID, p)
	}
	if c.version = cat.version(c.product.ID, version); c.version == nil {
		if v, err := s.Store.VersionByName(ctx, c.product.ID, version); err == nil {
			c.version = cat.putVersion(v)
		}
	}
	if env == "" {
		return c
	}
	if c.env, c.envGen = cat.env(orgID, env); c.env == nil {
		// The generation first: the row read after it is at least as new.
		g, err := s.Store.OrgGeneration(ctx, orgID)
		if err != nil {
			return c
		}
		if e, err := s.Store.EnvironmentByName(ctx, orgID, env); err == nil {
			c.env, c.envGen = cat.putEnv(orgID, e, g), g
		}
	}
	return c
}

// ensure completes a looked-up catalogue in tx: it creates what is missing
// and enforces immutability (once a version has a SHA, an event naming
// another SHA is refused). A version read without a SHA is read again in tx
// when the event brings one, since a racing writer may have set it; an
// environment read at another generation than the transaction's is
// dropped, for the write to read again.
func (c catalog) ensure(ctx context.Context, tx store.Tx, orgID, product, version string, sha, branch, repo *string, now time.Time) (*catalog, error) {
	var err error
	if c.env != nil {
		g, err := tx.OrgGeneration(ctx, orgID)
		if err != nil {
			return nil, err
		}
		if g != c.envGen {
			if c.cat != nil {
				c.cat.forgetEnv(orgID, c.env.Name) // for the next lookup to read it again
			}
			c.env = nil
		}
	}
	if c.product == nil {
		if c.product, err = tx.ProductEnsure(ctx, orgID, product, now); err != nil {
			return nil, err
		}
	}
	if c.version == nil || (c.version.ScmSHA == nil && sha != nil) {
		c.version, err = tx.VersionEnsure(ctx, &store.VersionEnsureParams{OrgID: orgID, ProductID: c.product.ID, Version: version,
			ScmSHA: sha, ScmBranch: branch, ScmRepository: repo, Now: now})
		if err != nil {
			return nil, err
		}
	}
	if sha != nil && c.version.ScmSHA != nil && *c.version.ScmSHA != *sha {
		return nil, versionConflict(version)
	}
	return &c, nil
}

// nextStatus decides a record's state after an event. Events can arrive out
// of order (CI retries, parallel steps): a finished run is never reopened by
// a late pending/started event, but a terminal event always wins.
func nextStatus(cur, ev shiplog.Status) shiplog.Status {
	if cur.Terminal() && !ev.Terminal() {
		return cur
	}
	return ev
}

func override(dst **string, v *string) {
	if v != nil {
		*dst = v
	}
}

// maxMergedMetadata bounds a record's merged metadata; beyond it the newest
// event's metadata replaces the merge.
const maxMergedMetadata = 256 << 10

// mergeMetadata merges the event's object into the record's, keys of the
// newer event winning. The first event's object is kept byte for byte.
func mergeMetadata(cur, ev json.RawMessage) (json.RawMessage, error) {
	if len(ev) == 0 {
		return cur, nil
	}
	if len(cur) == 0 {
		return ev, nil
	}
	var a, b map[string]json.RawMessage
	if err := json.Unmarshal(cur, &a); err != nil {
		return ev, nil
	}
	if err := json.Unmarshal(ev, &b); err != nil {
		return nil, err
	}
	for k, v := range b {
		a[k] = v
	}
	out, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	if len(out) > maxMergedMetadata {
		return ev, nil
	}
	return out, nil
}

// Record stores a run event: a deployment's or a build's. by is who submits
// it; idem.Key may be empty.
func (s *Service) Record(ctx context.Context, orgID string, ev Event, idem Idempotency, by shiplog.Credential) (*Result, error) {
	head := ev.common()
	var res *Result
	found := s.lookup(ctx, orgID, head.ProductName, head.Version, ev.environment())
	err := s.Store.WriteKeyed(ctx, orgID+"/"+head.ProductName, func(ctx context.Context, tx store.Tx) error {
		found.ensured = nil // a write that is run again starts over
		now := s.Clock.Now()
		var err error
		res, err = s.idempotent(ctx, tx, orgID, idem, now, func() (*Result, error) {
			// A fresh run each time: a write that is retried starts over.
			return s.record(ctx, tx, orgID, ev.run(), found, now, by)
		})
		return err
	})
	if err == nil {
		if c := found.ensured; c != nil {
			// Committed, so they exist: the run's next event (its other
			// half, the next environment) finds them here, not on the read
			// pool. Only what cannot change is kept (putVersion: with a SHA).
			s.catalogue.putProduct(orgID, c.product)
			s.catalogue.putVersion(c.version)
		}
		s.committed(res)
		if res.Event != nil {
			s.EventsCommitted(orgID)
		}
	}
	return res, err
}

// A run is one event on its way to its record: the parts of recording it
// that differ by kind (deploying, building). record does the rest, in the
// same order for both.
type run interface {
	event() *RunEvent
	// prepare comes first in the transaction, before any catalogue row is
	// written.
	prepare(ctx context.Context, tx store.Tx, orgID string, by shiplog.Credential) error
	// subject completes the catalogue with the kind's own rows and returns
	// the locks to take, in order: the kind's own, then the run's.
	subject(ctx context.Context, tx store.Tx, orgID string, c *catalog, now time.Time) (locks []string, err error)
	// find loads the run's open record; store.ErrNotFound when none.
	find(ctx context.Context, tx store.Tx, orgID string, c *catalog) error
	// create starts a new record.
	create(orgID string, c *catalog, now time.Time)
	// judge decides what the event does to the record (isNew: it was just
	// created): the status to record and the event's type.
	judge(ctx context.Context, tx store.Tx, s *Service, orgID string, c *catalog, isNew bool, now time.Time,
		by shiplog.Credential) (shiplog.Status, shiplog.EventType, error)
	// fields points at the fields every kind of record has.
	fields() runFields
	// given copies onto the record the strings the event gives.
	given()
	// ended is when the run ended, should this event end it.
	ended(now time.Time) time.Time
	// finish sets what the kind keeps besides (at: see ended).
	finish(at time.Time) error
	save(ctx context.Context, tx store.Tx, isNew bool) error
	// describe adds the kind's own fields to the event.
	describe(e *shiplog.Event)
	// answer is the result for the emitted event.
	answer(e *shiplog.Event, ds []*shiplog.Delivery) (*Result, error)
}

// runFields points into a record at the fields both kinds have.
type runFields struct {
	id, productName, version *string
	status                   *shiplog.Status
	by, byName, byEmail      **string
	sha, repo                **string
	meta                     *json.RawMessage
	started, completed       **time.Time
	updated                  *time.Time
}

// record applies an event to its run, in tx: the catalogue, the run's lock,
// its open record (or a new one), status, given fields, metadata and times,
// then the record and the event with its deliveries (the outbox).
func (s *Service) record(ctx context.Context, tx store.Tx, orgID string, r run, found *catalog, now time.Time,
	by shiplog.Credential) (*Result, error) {
	ev := r.event()
	if err := r.prepare(ctx, tx, orgID, by); err != nil {
		return nil, err
	}
	c, err := found.ensure(ctx, tx, orgID, ev.ProductName, ev.Version, ev.ScmSHA, ev.ScmBranch, ev.ScmRepository, now)
	if err != nil {
		return nil, err
	}
	found.ensured = c
	locks, err := r.subject(ctx, tx, orgID, c, now)
	if err != nil {
		return nil, err
	}
	// Two events for the same run may race in from parallel CI steps.
	if err := tx.LockSubject(ctx, locks...); err != nil {
		return nil, err
	}
	err = r.find(ctx, tx, orgID, c)
	isNew := errors.Is(err, store.ErrNotFound)
	if err != nil && !isNew {
		return nil, err
	}
	if isNew {
		r.create(orgID, c, now)
	}
	status, eventType, err := r.judge(ctx, tx, s, orgID, c, isNew, now, by)
	if err != nil {
		return nil, err
	}
	f := r.fields()
	*f.status = nextStatus(*f.status, status)
	r.given()
	if *f.sha == nil {
		*f.sha = c.version.ScmSHA
	}
	if *f.meta, err = mergeMetadata(*f.meta, ev.ExtraMetadata); err != nil {
		return nil, err
	}
	at := r.ended(now)
	if ev.StartedAt != nil {
		*f.started = ev.StartedAt
	} else if ev.Status == shiplog.StatusStarted && *f.started == nil {
		*f.started = &now
	}
	if f.status.Terminal() && *f.completed == nil {
		*f.completed = &at
	}
	*f.updated = now
	if err := r.finish(at); err != nil {
		return nil, err
	}
	if err := r.save(ctx, tx, isNew); err != nil {
		return nil, err
	}
	// The run's actor, not only this event's: CI often names the deployer
	// on started alone, and the completed notification must too.
	e := &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: eventType, SubjectID: *f.id, ProductName: *f.productName,
		Version: *f.version, Status: status, Actor: firstOf(*f.byName, *f.by, *f.byEmail), ActorEmail: deref(*f.byEmail),
		ScmSHA: deref(*f.sha), ScmRepository: deref(*f.repo), SubmittedBy: submitter(by), Payload: ev.Raw, OccurredAt: now}
	r.describe(e)
	ds, err := s.Emit(ctx, tx, e)
	if err != nil {
		return nil, err
	}
	return r.answer(e, ds)
}

// answer is the usual result: 200 and body, the kind's response.
func answer(body any, e *shiplog.Event, ds []*shiplog.Delivery) (*Result, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &Result{StatusCode: http.StatusOK, Body: b, Event: e, Deliveries: ds}, nil
}

// Emit appends an event to the log and writes its deliveries, in tx.
func (s *Service) Emit(ctx context.Context, tx store.Tx, e *shiplog.Event) ([]*shiplog.Delivery, error) {
	if err := tx.EventInsert(ctx, e); err != nil {
		return nil, err
	}
	if s.Fanout != nil {
		return s.Fanout(ctx, tx, e)
	}
	return nil, nil
}

// committed reports a recorded event and dispatches its deliveries.
func (s *Service) committed(res *Result) {
	if res.Event != nil && s.Recorded != nil {
		s.Recorded(res.Event)
	}
	s.Committed(res.Deliveries)
}

// Committed hands committed deliveries to the dispatcher.
func (s *Service) Committed(ds []*shiplog.Delivery) {
	if len(ds) > 0 && s.Dispatch != nil {
		s.Dispatch(ds)
	}
}

// EventsCommitted says that events of orgID were committed.
func (s *Service) EventsCommitted(orgID string) {
	if s.Notify != nil {
		s.Notify(orgID)
	}
}

// submitter is by as recorded: roles are not kept.
func submitter(by shiplog.Credential) *shiplog.Credential {
	by.Roles = nil
	return &by
}

// deployer is the run's deployer as people read it: name, else login,
// else email.
func deployer(d *shiplog.Deployment) string {
	return firstOf(d.DeployedByName, d.DeployedBy, d.DeployedByEmail)
}

func firstOf(vals ...*string) string {
	for _, v := range vals {
		if v != nil && *v != "" {
			return *v
		}
	}
	return ""
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
