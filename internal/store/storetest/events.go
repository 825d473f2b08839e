package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

func deploymentEvent(d *shiplog.Deployment, orgID string, st shiplog.Status, minute int) *shiplog.Event {
	return &shiplog.Event{ID: shiplog.NewID(), OrgID: orgID, Type: shiplog.TypeOf(shiplog.KindDeployment, st),
		Kind: shiplog.KindDeployment, SubjectID: d.ID, ProductName: d.ProductName, Version: d.Version,
		EnvironmentName: d.EnvironmentName, EnvironmentType: d.EnvironmentType, Status: st, OccurredAt: at(minute)}
}

func testEvent(t *testing.T, open OpenFunc) {
	t.Run("SeqAndOrder", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		org := createOrg(t, s, "acme")
		c := ensureCatalog(t, s, org, "api", "prod", "1.0")
		d := c.deployment(shiplog.StatusCompleted, t0)
		b := c.build(shiplog.StatusCompleted, t0)
		insertDeployments(t, s, d)
		insertBuilds(t, s, b)

		e1 := deploymentEvent(d, org.ID, shiplog.StatusPending, 1)
		e1.Payload = json.RawMessage(`{"status": "queued" }`)
		e2 := deploymentEvent(d, org.ID, shiplog.StatusStarted, 2)
		e2.Actor, e2.ScmSHA, e2.ScmRepository, e2.PreflightStatus = "alice", "abc", "git@x:api", "skipped"
		e2.ActorEmail = "alice@example.com"
		e2.SubmittedBy = &shiplog.Credential{Kind: shiplog.CredentialAPIKey, KeyID: "k2"}
		eb := &shiplog.Event{ID: shiplog.NewID(), OrgID: org.ID, Type: shiplog.TypeOf(shiplog.KindBuild, shiplog.StatusCompleted),
			Kind: shiplog.KindBuild, SubjectID: b.ID, ProductName: "api", Version: "1.0", Status: shiplog.StatusCompleted,
			Payload: json.RawMessage(`[]`), OccurredAt: at(3)}
		e3 := deploymentEvent(d, org.ID, shiplog.StatusCompleted, 4)
		// Two events in one transaction, then two more in separate ones.
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.EventInsert(ctx, e1); err != nil {
				return err
			}
			return tx.EventInsert(ctx, e2)
		})
		for _, e := range []*shiplog.Event{eb, e3} {
			write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, e) })
		}
		order := []*shiplog.Event{e1, e2, eb, e3}
		for i := 1; i < len(order); i++ {
			if order[i].Seq <= order[i-1].Seq {
				t.Errorf("event %d got seq %d after seq %d", i, order[i].Seq, order[i-1].Seq)
			}
		}
		if e1.Seq == 0 {
			t.Errorf("EventInsert left Seq 0")
		}

		got, err := s.EventListBySubject(t.Context(), org.ID, d.ID)
		ok(t, "EventListBySubject", err)
		same(t, "deployment's events, oldest first", got, []*shiplog.Event{e1, e2, e3})
		got, err = s.EventListBySubject(t.Context(), org.ID, b.ID)
		ok(t, "EventListBySubject", err)
		same(t, "build's events", got, []*shiplog.Event{eb})
		got, err = s.EventListBySubject(t.Context(), org.ID, shiplog.NewID())
		if err != nil || len(got) != 0 {
			t.Errorf("EventListBySubject of an unknown subject: got %d events, error %v; want none, no error", len(got), err)
		}
	})
	t.Run("DuplicateID", func(t *testing.T) {
		t.Parallel()
		s := open(t)
		org := createOrg(t, s, "acme")
		c := ensureCatalog(t, s, org, "api", "prod", "1.0")
		d := c.deployment(shiplog.StatusCompleted, t0)
		insertDeployments(t, s, d)
		e := deploymentEvent(d, org.ID, shiplog.StatusCompleted, 1)
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, e) })
		again := *e
		err := s.Write(t.Context(), func(ctx context.Context, tx store.Tx) error { return tx.EventInsert(ctx, &again) })
		wantErr(t, "EventInsert of an existing id", err, store.ErrConflict)
	})
}

func testStatusMatrix(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	apiProd := ensureCatalog(t, s, org, "api", "prod", "1.0")
	apiStage := ensureCatalog(t, s, org, "api", "staging", "1.0")
	api2Prod := ensureCatalog(t, s, org, "api", "prod", "2.0")
	webProd := ensureCatalog(t, s, org, "web", "prod", "1.0")
	ensureCatalog(t, s, org, "idle", "dev", "1.0") // no deployments: no cell

	cells, err := s.StatusMatrix(t.Context(), org.ID)
	ok(t, "StatusMatrix", err)
	if len(cells) != 0 {
		t.Errorf("StatusMatrix before any deployment: %d cells, want none", len(cells))
	}

	done1 := apiProd.deployment(shiplog.StatusCompleted, at(1))
	done2 := api2Prod.deployment(shiplog.StatusCompleted, at(2)) // the newest completed api×prod
	failed := apiProd.deployment(shiplog.StatusFailed, at(3))    // the newest api×prod
	stageStarted := apiStage.deployment(shiplog.StatusStarted, at(4))
	stageFailed := apiStage.deployment(shiplog.StatusFailed, at(5))
	web := webProd.deployment(shiplog.StatusCompleted, at(6))
	insertDeployments(t, s, done1, done2, failed, stageStarted, stageFailed, web)

	cell := func(c *catalog, latest, current *shiplog.Deployment) *store.StatusCell {
		return &store.StatusCell{ProductID: c.product.ID, ProductName: c.product.Name, EnvironmentID: c.env.ID,
			EnvironmentName: c.env.Name, EnvironmentType: c.env.Type, Latest: latest, Current: current}
	}
	check := func(name string, want ...*store.StatusCell) {
		t.Helper()
		cells, err := s.StatusMatrix(t.Context(), org.ID)
		ok(t, "StatusMatrix", err)
		got := map[[2]string]*store.StatusCell{}
		for _, c := range cells {
			key := [2]string{c.ProductName, c.EnvironmentName}
			if got[key] != nil {
				t.Errorf("%s: two cells for %v", name, key)
			}
			got[key] = c
		}
		if len(cells) != len(want) {
			t.Errorf("%s: %d cells, want %d", name, len(cells), len(want))
		}
		for _, w := range want {
			key := [2]string{w.ProductName, w.EnvironmentName}
			if got[key] == nil {
				t.Errorf("%s: no cell for %v", name, key)
				continue
			}
			same(t, name+": cell "+w.ProductName+"×"+w.EnvironmentName, got[key], w)
		}
	}
	check("after six deployments",
		cell(apiProd, failed, done2),
		cell(apiStage, stageFailed, nil),
		cell(webProd, web, web))

	// Finishing an older run does not make it the latest, but a newer
	// completed run becomes current.
	stageStarted.Status, stageStarted.CompletedAt = shiplog.StatusCompleted, ptr(at(7))
	newer := apiProd.deployment(shiplog.StatusCompleted, at(8))
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.DeploymentUpdate(ctx, stageStarted); err != nil {
			return err
		}
		return tx.DeploymentInsert(ctx, newer)
	})
	check("after an update and a newer run",
		cell(apiProd, newer, newer),
		cell(apiStage, stageFailed, stageStarted),
		cell(webProd, web, web))
}

func testIdempotency(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	other := createOrg(t, s, "other")
	ctx := t.Context()
	claim := func(org *shiplog.Org, key string, now, staleBefore int) error {
		return s.Write(ctx, func(ctx context.Context, tx store.Tx) error {
			return tx.IdempotencyClaim(ctx, org.ID, key, at(now), at(staleBefore))
		})
	}
	complete := func(org *shiplog.Org, key string, r *store.IdempotentResponse) {
		t.Helper()
		write(t, s, func(ctx context.Context, tx store.Tx) error { return tx.IdempotencyComplete(ctx, org.ID, key, r) })
	}
	get := func(org *shiplog.Org, key string, notBefore int) (*store.IdempotentResponse, error) {
		return s.IdempotencyGet(ctx, org.ID, key, at(notBefore))
	}

	// Claim, complete and read back in one transaction: unanswered, the
	// claim is not a response.
	body := json.RawMessage(`{"id": "x", "n":1}`)
	write(t, s, func(ctx context.Context, tx store.Tx) error {
		if err := tx.IdempotencyClaim(ctx, org.ID, "k", at(0), at(-60)); err != nil {
			return err
		}
		_, err := tx.IdempotencyGet(ctx, org.ID, "k", at(-60))
		wantErr(t, "IdempotencyGet of a claimed, unanswered key", err, store.ErrNotFound)
		return tx.IdempotencyComplete(ctx, org.ID, "k", &store.IdempotentResponse{StatusCode: 201, Body: body})
	})
	got, err := get(org, "k", -60)
	ok(t, "IdempotencyGet", err)
	same(t, "stored response", got, &store.IdempotentResponse{StatusCode: 201, Body: body, CreatedAt: at(0)})
	got, err = get(org, "k", 0)
	ok(t, "IdempotencyGet with notBefore = created_at", err)
	same(t, "stored response", got, &store.IdempotentResponse{StatusCode: 201, Body: body, CreatedAt: at(0)})

	_, err = s.IdempotencyGet(ctx, org.ID, "k", at(0).Add(time.Microsecond))
	wantErr(t, "IdempotencyGet with notBefore after created_at", err, store.ErrNotFound)
	_, err = get(org, "K", -60)
	wantErr(t, "IdempotencyGet of another key", err, store.ErrNotFound)

	wantErr(t, "second claim of a fresh key", claim(org, "k", 1, -59), store.ErrConflict)
	got, err = get(org, "k", -60)
	ok(t, "IdempotencyGet after the refused claim", err)
	same(t, "response after the refused claim", got, &store.IdempotentResponse{StatusCode: 201, Body: body, CreatedAt: at(0)})

	// Keys are per org.
	ok(t, "claim of the same key by another org", claim(other, "k", 1, -59))
	_, err = get(other, "k", -60)
	wantErr(t, "IdempotencyGet of the other org's unanswered claim", err, store.ErrNotFound)

	// A stale row (created before staleBefore) is replaced.
	ok(t, "claim over a stale row", claim(org, "k", 120, 1))
	_, err = get(org, "k", -60)
	wantErr(t, "IdempotencyGet after re-claim, before it is answered", err, store.ErrNotFound)
	body2 := json.RawMessage(`{"second":true}`)
	complete(org, "k", &store.IdempotentResponse{StatusCode: 200, Body: body2})
	got, err = get(org, "k", 60)
	ok(t, "IdempotencyGet after re-claim", err)
	same(t, "replacing response", got, &store.IdempotentResponse{StatusCode: 200, Body: body2, CreatedAt: at(120)})

	// A staleBefore equal to created_at does not make the row stale.
	wantErr(t, "claim with staleBefore = created_at", claim(org, "k", 130, 120), store.ErrConflict)

	// A claim rolled back with its Write leaves nothing behind.
	err = s.Write(ctx, func(ctx context.Context, tx store.Tx) error {
		if err := tx.IdempotencyClaim(ctx, org.ID, "rolled-back", at(0), at(-60)); err != nil {
			return err
		}
		return errBoom
	})
	wantErr(t, "Write of a failing fn", err, errBoom)
	ok(t, "claim of a key whose first claim rolled back", claim(org, "rolled-back", 1, -59))
}

// testIdempotencyRequestHash: the request an answer was for is kept with
// it (the caller refuses the key for any other request).
func testIdempotencyRequestHash(t *testing.T, open OpenFunc) {
	s := open(t)
	org := createOrg(t, s, "acme")
	hash := []byte("0123456789abcdef0123456789abcdef")
	for key, r := range map[string]*store.IdempotentResponse{
		"with":    {StatusCode: 200, Body: json.RawMessage(`{}`), RequestHash: hash},
		"without": {StatusCode: 200, Body: json.RawMessage(`{}`)},
	} {
		write(t, s, func(ctx context.Context, tx store.Tx) error {
			if err := tx.IdempotencyClaim(ctx, org.ID, key, at(0), at(-60)); err != nil {
				return err
			}
			return tx.IdempotencyComplete(ctx, org.ID, key, r)
		})
		got, err := s.IdempotencyGet(t.Context(), org.ID, key, at(-60))
		ok(t, "IdempotencyGet", err)
		same(t, "request hash of key "+key, got.RequestHash, r.RequestHash)
	}
}
