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
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/rule"
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

// RecordDeployment stores a deployment event. idemKey may be empty. A
// started event is first judged by the org's deployment rules (preflight);
// a blocked one is recorded as such and answered 409/423/428. A pending
// event is a queue entry, not an attempt to deploy, and is never judged.
// by is who submits it: skip_preflight_checks is honoured only when the
// org's policy lets by skip (shiplog.MaySkipPreflight), and is recorded.
func (s *Service) RecordDeployment(ctx context.Context, orgID string, ev *DeploymentEvent, idem Idempotency, by shiplog.Credential) (*Result, error) {
	var res *Result
	found := s.lookup(ctx, orgID, ev.ProductName, ev.Version, ev.EnvironmentName)
	err := s.Store.WriteKeyed(ctx, orgID+"/"+ev.ProductName, func(ctx context.Context, tx store.Tx) error {
		now := s.Clock.Now()
		r, err := s.idempotent(ctx, tx, orgID, idem, now, func() (*Result, error) {
			return s.recordDeployment(ctx, tx, orgID, ev, found, now, by)
		})
		res = r
		return err
	})
	if err == nil {
		s.committed(res)
		if res.Event != nil {
			s.EventsCommitted(orgID)
		}
	}
	return res, err
}

// SettingsLock is the lock a change of an org's settings takes, and so does
// a deployment that skips the preflight checks, so that the two never
// interleave: a skip is decided under the policy in force when it commits.
func SettingsLock(orgID string) string { return "org-settings/" + orgID }

// maySkip decides a skip under the org's policy, holding SettingsLock.
func maySkip(ctx context.Context, tx store.Tx, orgID string, by shiplog.Credential) error {
	if err := tx.LockSubject(ctx, SettingsLock(orgID)); err != nil {
		return err
	}
	set, err := Settings(ctx, tx, orgID)
	if err != nil {
		return err
	}
	return shiplog.MaySkipPreflight(set.SkipPreflightChecks, by)
}

func (s *Service) recordDeployment(ctx context.Context, tx store.Tx, orgID string, ev *DeploymentEvent, found *catalog, now time.Time,
	by shiplog.Credential) (*Result, error) {
	starts := ev.Status == shiplog.StatusStarted
	skip := starts && ev.SkipPreflightChecks
	judged := starts && !skip
	if skip {
		if err := maySkip(ctx, tx, orgID, by); err != nil {
			return nil, err
		}
	}
	c, err := found.ensure(ctx, tx, orgID, ev.ProductName, ev.Version, ev.ScmSHA, ev.ScmBranch, ev.ScmRepository, now)
	if err != nil {
		return nil, err
	}
	env := c.env
	if env == nil {
		if env, err = tx.EnvironmentEnsure(ctx, orgID, ev.EnvironmentName, shiplog.InferEnvType(ev.EnvironmentName), now); err != nil {
			return nil, err
		}
	}
	if judged {
		// Concurrent starts of other versions in the same environment must
		// not both pass the concurrency check. Always taken before the
		// subject lock below, so the two never wait on each other in turn.
		if err := tx.LockSubject(ctx, fmt.Sprintf("preflight/%s/%s", c.product.ID, env.ID)); err != nil {
			return nil, err
		}
	}
	// Two events for the same run may race in from parallel CI steps.
	if err := tx.LockSubject(ctx, fmt.Sprintf("deployment/%s/%s/%s", c.product.ID, c.version.ID, env.ID)); err != nil {
		return nil, err
	}
	d, err := tx.DeploymentFindOpen(ctx, &store.FindOpenParams{OrgID: orgID, ProductID: c.product.ID,
		VersionID: c.version.ID, EnvironmentID: env.ID, InvokeID: ev.InvokeID, ProductName: c.product.Name,
		Version: c.version.Version, EnvironmentName: env.Name, EnvironmentType: env.Type})
	isNew := errors.Is(err, store.ErrNotFound)
	if err != nil && !isNew {
		return nil, err
	}
	current := ""
	if isNew {
		d = &shiplog.Deployment{ID: shiplog.NewID(), OrgID: orgID, ProductID: c.product.ID, ProductName: c.product.Name,
			VersionID: c.version.ID, Version: c.version.Version, EnvironmentID: env.ID, EnvironmentName: env.Name,
			EnvironmentType: env.Type, InvokeID: ev.InvokeID, CreatedAt: now, Status: ev.Status}
	} else {
		current = d.ID
		if d.PreflightStatus != nil && *d.PreflightStatus == PreflightFailed && starts {
			// A run refused by preflight may be tried again (same invoke id).
			d.Status = ev.Status
		}
	}
	var verdict rule.Verdict
	switch {
	case judged:
		if verdict, err = Evaluate(ctx, tx, orgID, rule.Attempt{ProductName: c.product.Name, Version: c.version.Version,
			EnvironmentName: env.Name}, Subject{ProductID: c.product.ID, VersionID: c.version.ID, EnvironmentID: env.ID,
			CurrentRun: current}, now, s.BaseURL); err != nil {
			return nil, err
		}
		ps := verdict.PreflightStatus()
		d.PreflightStatus, d.PreflightSkippedBy = &ps, nil
	case skip: // allowed by maySkip
		ps := PreflightSkipped
		d.PreflightStatus, d.PreflightSkippedBy = &ps, submitter(by)
	}
	eventType := shiplog.TypeOf(shiplog.KindDeployment, ev.Status)
	status := ev.Status
	if verdict.Blocked != nil {
		// The attempt is kept, visible and audited, but nothing was deployed.
		status, eventType = shiplog.StatusAborted, shiplog.EventDeploymentPreflightFailed
		d.Status = status
	}
	d.Status = nextStatus(d.Status, status)
	override(&d.DeployedBy, ev.DeployedBy)
	override(&d.DeployedByName, ev.DeployedByName)
	override(&d.DeployedByEmail, ev.DeployedByEmail)
	override(&d.ScmSHA, ev.ScmSHA)
	if d.ScmSHA == nil {
		d.ScmSHA = c.version.ScmSHA
	}
	override(&d.ScmBranch, ev.ScmBranch)
	override(&d.ScmRepository, ev.ScmRepository)
	override(&d.BuildURL, ev.BuildURL)
	override(&d.BuildNumber, ev.BuildNumber)
	override(&d.DeployURL, ev.DeployURL)
	override(&d.SourceSystem, ev.SourceSystem)
	if d.ExtraMetadata, err = mergeMetadata(d.ExtraMetadata, ev.ExtraMetadata); err != nil {
		return nil, err
	}
	if d.ExtraMetadata, err = reportOnly(d.ExtraMetadata, verdict); err != nil {
		return nil, err
	}
	at := now
	if ev.CompletedAt != nil && ev.Status.Terminal() {
		at = *ev.CompletedAt
	}
	if ev.Status == shiplog.StatusStarted && d.StartedAt == nil {
		d.StartedAt = &now
	}
	if d.Status.Terminal() && d.CompletedAt == nil {
		d.CompletedAt = &at
	}
	d.DeployedAt, d.UpdatedAt = at, now
	if isNew {
		err = tx.DeploymentInsert(ctx, d)
	} else {
		err = tx.DeploymentUpdate(ctx, d)
	}
	if err != nil {
		return nil, err
	}
	// The run's deployer, not only this event's: CI often names the
	// deployer on started alone, and the completed notification must too.
	e := &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: eventType,
		Kind: shiplog.KindDeployment, SubjectID: d.ID, ProductName: d.ProductName, Version: d.Version,
		EnvironmentName: d.EnvironmentName, EnvironmentType: d.EnvironmentType, Status: status,
		Actor: deployer(d), ActorEmail: deref(d.DeployedByEmail), ScmSHA: deref(d.ScmSHA),
		ScmRepository: deref(d.ScmRepository), PreflightStatus: deref(d.PreflightStatus), SubmittedBy: submitter(by),
		Payload: ev.Raw, OccurredAt: now}
	ds, err := s.Emit(ctx, tx, e)
	if err != nil {
		return nil, err
	}
	if v := verdict.Blocked; v != nil {
		body, err := json.Marshal(v.Body())
		if err != nil {
			return nil, err
		}
		return &Result{StatusCode: v.HTTPStatus, Body: body, Event: e, Deliveries: ds}, nil
	}
	body, err := json.Marshal(apiv1.DeploymentEventResponse{Deployment: d, EventType: e.Type})
	if err != nil {
		return nil, err
	}
	return &Result{StatusCode: http.StatusOK, Body: body, Event: e, Deliveries: ds}, nil
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

// RecordBuild stores a build event. idem.Key may be empty; by is who submits it.
func (s *Service) RecordBuild(ctx context.Context, orgID string, ev *BuildEvent, idem Idempotency, by shiplog.Credential) (*Result, error) {
	var res *Result
	found := s.lookup(ctx, orgID, ev.ProductName, ev.Version, "")
	err := s.Store.WriteKeyed(ctx, orgID+"/"+ev.ProductName, func(ctx context.Context, tx store.Tx) error {
		now := s.Clock.Now()
		r, err := s.idempotent(ctx, tx, orgID, idem, now, func() (*Result, error) {
			return s.recordBuild(ctx, tx, orgID, ev, found, now, by)
		})
		res = r
		return err
	})
	if err == nil {
		s.committed(res)
		if res.Event != nil {
			s.EventsCommitted(orgID)
		}
	}
	return res, err
}

func (s *Service) recordBuild(ctx context.Context, tx store.Tx, orgID string, ev *BuildEvent, found *catalog, now time.Time,
	by shiplog.Credential) (*Result, error) {
	c, err := found.ensure(ctx, tx, orgID, ev.ProductName, ev.Version, ev.ScmSHA, ev.ScmBranch, ev.ScmRepository, now)
	if err != nil {
		return nil, err
	}
	if err := tx.LockSubject(ctx, fmt.Sprintf("build/%s/%s", c.product.ID, c.version.ID)); err != nil {
		return nil, err
	}
	b, err := tx.BuildFindOpen(ctx, &store.FindOpenParams{OrgID: orgID, ProductID: c.product.ID, VersionID: c.version.ID, InvokeID: ev.InvokeID})
	isNew := errors.Is(err, store.ErrNotFound)
	if err != nil && !isNew {
		return nil, err
	}
	if isNew {
		b = &shiplog.Build{ID: shiplog.NewID(), OrgID: orgID, ProductID: c.product.ID, ProductName: c.product.Name,
			VersionID: c.version.ID, Version: c.version.Version, InvokeID: ev.InvokeID, CreatedAt: now, Status: ev.Status}
	}
	b.Status = nextStatus(b.Status, ev.Status)
	override(&b.BuiltBy, ev.BuiltBy)
	override(&b.BuiltByName, ev.BuiltByName)
	override(&b.BuiltByEmail, ev.BuiltByEmail)
	override(&b.ScmSHA, ev.ScmSHA)
	if b.ScmSHA == nil {
		b.ScmSHA = c.version.ScmSHA
	}
	override(&b.ScmBranch, ev.ScmBranch)
	override(&b.ScmRepository, ev.ScmRepository)
	override(&b.BuildURL, ev.BuildURL)
	override(&b.BuildNumber, ev.BuildNumber)
	override(&b.SourceSystem, ev.SourceSystem)
	override(&b.ErrorMessage, ev.ErrorMessage)
	override(&b.ErrorCode, ev.ErrorCode)
	if b.ExtraMetadata, err = mergeMetadata(b.ExtraMetadata, ev.ExtraMetadata); err != nil {
		return nil, err
	}
	if ev.StartedAt != nil {
		b.StartedAt = ev.StartedAt
	} else if ev.Status == shiplog.StatusStarted && b.StartedAt == nil {
		b.StartedAt = &now
	}
	if b.Status.Terminal() && b.CompletedAt == nil {
		at := now
		if ev.CompletedAt != nil {
			at = *ev.CompletedAt
		}
		b.CompletedAt = &at
	}
	b.UpdatedAt = now
	if isNew {
		err = tx.BuildInsert(ctx, b)
	} else {
		err = tx.BuildUpdate(ctx, b)
	}
	if err != nil {
		return nil, err
	}
	e := &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: shiplog.TypeOf(shiplog.KindBuild, ev.Status),
		Kind: shiplog.KindBuild, SubjectID: b.ID, ProductName: b.ProductName, Version: b.Version, Status: ev.Status,
		Actor: firstOf(b.BuiltByName, b.BuiltBy, b.BuiltByEmail), ActorEmail: deref(b.BuiltByEmail), ScmSHA: deref(b.ScmSHA),
		ScmRepository: deref(b.ScmRepository), SubmittedBy: submitter(by), Payload: ev.Raw, OccurredAt: now}
	ds, err := s.Emit(ctx, tx, e)
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(apiv1.BuildEventResponse{Build: b, EventType: e.Type})
	if err != nil {
		return nil, err
	}
	return &Result{StatusCode: http.StatusOK, Body: body, Event: e, Deliveries: ds}, nil
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
