package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
	"github.com/shiplog/shiplog/internal/testutil/smtptest"
)

// user adds a person with roles to org and returns a personal access token.
func (s *server) user(org, email, name string, roles ...string) string {
	s.t.Helper()
	var tok string
	err := s.app.Store.Write(context.Background(), func(ctx context.Context, tx store.Tx) error {
		o, err := tx.OrgGetByName(ctx, org)
		if err != nil {
			return err
		}
		u := &shiplog.User{ID: shiplog.NewID(), OrgID: o.ID, Email: email, Name: name, Roles: roles, CreatedAt: time.Now()}
		if err := tx.UserCreate(ctx, u, ""); err != nil {
			return err
		}
		tok, err = auth.CreateToken(ctx, tx, u, "test", shiplog.SystemClock{}.Now())
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

func payload(t *testing.T, h hit) map[string]any {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(h.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func expectStatus(t *testing.T, r resp, status int, detail string) {
	t.Helper()
	if r.status != status || !strings.Contains(r.detail(t), detail) {
		t.Errorf("got %d %s; want %d containing %q", r.status, r.body, status, detail)
	}
}

// mails collects the relay's mail until n arrived: subject → recipients.
func mails(t *testing.T, relay *smtptest.Server, n int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for range n {
		select {
		case m := <-relay.Mail:
			var subject string
			for _, line := range strings.Split(string(m.Data), "\r\n") {
				if v, ok := strings.CutPrefix(line, "Subject: "); ok {
					subject, _ = new(mime.WordDecoder).DecodeHeader(v)
				}
			}
			out[subject] = append(out[subject], m.To...)
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d of %d mails arrived: %v", len(out), n, out)
		}
	}
	for _, v := range out {
		sort.Strings(v)
	}
	return out
}

func TestDeploymentRequestLifecycle(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		relay := smtptest.Start(t)
		s := startWith(t, app.Config{DB: db, SMTPURL: relay.URL(), MailFrom: "shiplog@example.com", BaseURL: "https://shiplog.example.com"})
		key := s.org("acme")
		dev := s.user("acme", "dev@example.com", "Dee Dev", "developer")
		qa := s.user("acme", "qa@example.com", "Quinn QA", "qa")
		sec := s.user("acme", "sec@example.com", "Sam Sec", "security")
		viewer := s.user("acme", "vic@example.com", "Vic Viewer", "viewer")
		s.user("acme", "pm@example.com", "Pat PM", "product")
		rcv := newReceiver(t)
		gov := []string{"dr.created", "dr.activated", "dr.deactivated", "dr.approved", "dr.rejected", "dr.completed", "dr.cancelled", "version.approved"}
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "gov", "url": rcv.URL, "events": gov})

		// People whose roles manage DRs create them (org API keys too: TestAgentDeploymentRequest); viewers cannot.
		body := map[string]any{"name": "Q4 release", "description": "Faster checkout.", "items": []map[string]string{{"product_name": "api", "version": "1.0"}},
			"environment_names": []string{"production"}, "approval_slots": []map[string]any{{"approval_type": "qa"}, {"approval_type": "security"},
				{"approval_type": "uat", "required": false}}}
		expectStatus(t, s.post("/deployment-requests/", viewer, body), 403, "needs one of the roles")
		r := s.post("/deployment-requests/", dev, body)
		if r.status != 201 {
			t.Fatalf("create DR: %d %s", r.status, r.body)
		}
		d := r.json(t)
		id := d["id"].(string)
		slots := d["approval_slots"].([]any)
		slot := func(i int) string { return slots[i].(map[string]any)["id"].(string) }
		if d["status"] != "draft" || len(slots) != 3 || slots[2].(map[string]any)["required"] != false {
			t.Fatalf("created DR: %v", d)
		}
		created := payload(t, rcv.next(t))
		if created["event_type"] != "dr.created" || created["dr_id"] != id || created["dr_url"] != "https://shiplog.example.com/deployment-requests/"+id ||
			created["actor"] != "Dee Dev" || created["approval_type"] != nil || created["status"] != "draft" || len(created) != 12 {
			t.Errorf("dr.created payload: %v", created)
		}
		drPath := "/deployment-requests/" + id
		expectStatus(t, s.post(drPath+"/slots/"+slot(0)+"/approve", qa, nil), 409, "Cannot decide a slot of a deployment request that is draft")
		expectStatus(t, s.post(drPath+"/complete", dev, nil), 409, "Cannot complete a deployment request that is draft")

		// Activation: one approval-request email per person whose role fits an open slot.
		if a := mustOK(t, s.post(drPath+"/activate", dev, nil)); a["status"] != "in_progress" {
			t.Fatalf("activate: %v", a)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.activated" || p["status"] != "in_progress" {
			t.Errorf("dr.activated: %v", p)
		}
		got := mails(t, relay, 4)
		want := "Approval requested: api 1.0 → production"
		if strings.Join(got[want], ",") != "pm@example.com,qa@example.com,root@acme.test,sec@example.com" {
			t.Errorf("approval requests: %v", got)
		}

		// Approvals are a person's act, by a fitting role, once per slot.
		expectStatus(t, s.post(drPath+"/slots/"+slot(0)+"/approve", key, nil), 403, "needs a person")
		expectStatus(t, s.post(drPath+"/slots/"+slot(0)+"/approve", sec, nil), 403, "cannot fill a qa approval")
		expectStatus(t, s.post(drPath+"/slots/"+slot(0)+"/approve", viewer, nil), 403, "Approving a slot needs one of the roles")
		a := mustOK(t, s.post(drPath+"/slots/"+slot(0)+"/approve", qa, map[string]any{"comments": "All regression tests passed."}))
		if a["status"] != "in_progress" {
			t.Errorf("after one of two required approvals: %v", a["status"])
		}
		p := payload(t, rcv.next(t))
		if p["event_type"] != "dr.approved" || p["approval_type"] != "qa" || p["approver_role"] != "qa" || p["slot_status"] != "approved" ||
			p["comments"] != "All regression tests passed." || p["actor"] != "Quinn QA" || p["status"] != "in_progress" {
			t.Errorf("dr.approved: %v", p)
		}
		expectStatus(t, s.post(drPath+"/slots/"+slot(0)+"/approve", qa, nil), 409, "already approved")
		mustOK(t, s.post(drPath+"/slots/"+slot(1)+"/approve", sec, nil))
		if p := payload(t, rcv.next(t)); p["status"] != "approved" || p["approver_role"] != "security" || p["comments"] != nil {
			t.Errorf("second approval: %v", p)
		}
		// The creator hears of each decision, then that it is ready.
		got = mails(t, relay, 3)
		for _, subj := range []string{"Q4 release: qa approved by Quinn QA", "Q4 release: security approved by Sam Sec", "Q4 release: ready to deploy"} {
			if strings.Join(got[subj], ",") != "dev@example.com" {
				t.Errorf("creator mail %q: %v", subj, got)
			}
		}
		// The audit: who, which role, when, why.
		full := mustOK(t, s.get(drPath, viewer))
		s0 := full["approval_slots"].([]any)[0].(map[string]any)
		if s0["decided_by_name"] != "Quinn QA" || s0["approver_role"] != "qa" || s0["decided_at"] == nil || s0["comments"] != "All regression tests passed." {
			t.Errorf("slot audit: %v", s0)
		}
		if c := mustOK(t, s.post(drPath+"/complete", dev, nil)); c["status"] != "completed" {
			t.Errorf("complete: %v", c)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.completed" {
			t.Errorf("dr.completed: %v", p)
		}
		expectStatus(t, s.post(drPath+"/cancel", dev, nil), 409, "that is completed")

		// A rejection is final.
		r2 := s.post("/deployment-requests/", dev, body).json(t)
		id2 := r2["id"].(string)
		rcv.next(t)
		mustOK(t, s.post("/deployment-requests/"+id2+"/activate", dev, nil))
		rcv.next(t)
		mails(t, relay, 3)
		slot2 := r2["approval_slots"].([]any)[1].(map[string]any)["id"].(string)
		if rj := mustOK(t, s.post("/deployment-requests/"+id2+"/slots/"+slot2+"/reject", sec, map[string]any{"comments": "CVE open"})); rj["status"] != "rejected" {
			t.Errorf("reject: %v", rj)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.rejected" || p["slot_status"] != "rejected" || p["status"] != "rejected" {
			t.Errorf("dr.rejected: %v", p)
		}
		expectStatus(t, s.post("/deployment-requests/"+id2+"/activate", dev, nil), 409, "that is rejected")
		// Deactivate and cancel on a third.
		id3 := s.post("/deployment-requests/", dev, body).json(t)["id"].(string)
		rcv.next(t)
		noItems := s.post("/deployment-requests/", dev, map[string]any{"name": "empty", "environment_names": []string{"prod"}}).json(t)["id"].(string)
		rcv.next(t)
		expectStatus(t, s.post("/deployment-requests/"+noItems+"/activate", dev, nil), 400, "needs at least one item")
		mustOK(t, s.post("/deployment-requests/"+id3+"/activate", dev, nil))
		rcv.next(t)
		if dd := mustOK(t, s.post("/deployment-requests/"+id3+"/deactivate", dev, nil)); dd["status"] != "draft" {
			t.Errorf("deactivate: %v", dd)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.deactivated" || p["status"] != "draft" {
			t.Errorf("dr.deactivated: %v", p)
		}
		mustOK(t, s.post("/deployment-requests/"+id3+"/cancel", dev, nil))
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.cancelled" || p["status"] != "cancelled" {
			t.Errorf("dr.cancelled: %v", p)
		}
		if l := s.get("/deployment-requests/?status=cancelled", key).items(t); len(l) != 1 {
			t.Errorf("cancelled DRs listed: %d", len(l))
		}
	})
}

func TestVersionApprovals(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		key := s.org("acme")
		qa := s.user("acme", "qa@example.com", "Jane Smith", "qa")
		dev := s.user("acme", "dev@example.com", "Dee", "developer")
		rcv := newReceiver(t)
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "gov", "url": rcv.URL, "events": []string{"version.approved"}})
		v := mustOK(t, s.post("/build-events/", key, build("api-service", "2.4.1", "completed")))
		path := "/versions/api-service/2.4.1/approvals"
		expectStatus(t, s.post(path, key, map[string]any{"approval_type": "qa"}), 403, "needs a person")
		expectStatus(t, s.post(path, dev, map[string]any{"approval_type": "code_review"}), 403, "Signing off a version needs one of the roles")
		expectStatus(t, s.post(path, qa, map[string]any{"approval_type": "security"}), 403, "cannot sign off security")
		expectStatus(t, s.post(path, qa, map[string]any{"approval_type": "vibes"}), 400, "must be one of")
		expectStatus(t, s.post("/versions/api-service/9.9/approvals", qa, map[string]any{"approval_type": "qa"}), 404, "No version 9.9")
		r := s.post(path, qa, map[string]any{"approval_type": "qa", "environment_name": "staging", "comments": "Load tests passed, ready for production."})
		if r.status != 201 {
			t.Fatalf("approve: %d %s", r.status, r.body)
		}
		p := payload(t, rcv.next(t))
		want := map[string]any{"event_type": "version.approved", "version_id": v["version_id"], "product_name": "api-service", "version": "2.4.1",
			"approval_type": "qa", "approver_role": "qa", "environment_name": "staging", "comments": "Load tests passed, ready for production.", "actor": "Jane Smith"}
		for k, w := range want {
			if p[k] != w {
				t.Errorf("version.approved %s = %v, want %v", k, p[k], w)
			}
		}
		if len(p) != 10 || p["occurred_at"] == nil {
			t.Errorf("payload keys: %v", p)
		}
		ver := mustOK(t, s.get("/versions/"+v["version_id"].(string), key))
		if as := ver["approvals"].([]any); len(as) != 1 || as[0].(map[string]any)["actor"] != "Jane Smith" {
			t.Errorf("approvals on the version: %v", ver["approvals"])
		}
	})
}

func TestUsersAPI(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	admin := s.user("acme", "ada@example.com", "Ada", "admin")
	qa := s.user("acme", "qa@example.com", "Q", "qa")
	expectStatus(t, s.get("/users/", key), 403, "personal access token")
	expectStatus(t, s.get("/users/", qa), 403, "needs one of the roles owner, admin")
	if n := len(s.get("/users/", admin).items(t)); n != 2 {
		t.Errorf("%d users", n)
	}
	expectStatus(t, s.post("/users/", admin, map[string]any{"email": "x@example.com", "name": "X", "roles": []string{"wizard"}}), 400, "Unknown role 'wizard'")
	expectStatus(t, s.post("/users/", admin, map[string]any{"email": "nope", "name": "X", "roles": []string{"qa"}}), 400, "email address")
	u := s.post("/users/", admin, map[string]any{"email": "Sre@Example.com", "name": "S", "roles": []string{"sre"}, "password": "correct horse battery"})
	if u.status != 201 || u.json(t)["email"] != "sre@example.com" || strings.Contains(string(u.body), "horse") {
		t.Fatalf("create user: %d %s", u.status, u.body)
	}
	expectStatus(t, s.post("/users/", admin, map[string]any{"email": "sre@example.com", "name": "S", "roles": []string{"sre"}}), 409, "already exists")
	me := ""
	for _, it := range s.get("/users/", admin).items(t) {
		if it["email"] == "ada@example.com" {
			me = it["id"].(string)
		}
	}
	expectStatus(t, s.do(http.MethodPatch, "/users/"+me, admin, map[string]any{"roles": []string{"viewer"}}), 403, "own roles")
	sreID := u.json(t)["id"].(string)
	if p := mustOK(t, s.do(http.MethodPatch, "/users/"+sreID, admin, map[string]any{"roles": []string{"sre", "qa"}})); fmt.Sprint(p["roles"]) != "[sre qa]" {
		t.Errorf("patched roles: %v", p["roles"])
	}
}

// Issue 12: an agent (an org API key) opens and activates a deployment
// request, as the seed has them "created by a human or agent"; the
// approvals stay a person's act, and so do the other transitions.
func TestAgentDeploymentRequest(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		relay := smtptest.Start(t)
		s := startWith(t, app.Config{DB: db, SMTPURL: relay.URL(), MailFrom: "shiplog@example.com"})
		key := s.org("acme")
		other := s.org("globex")
		qa := s.user("acme", "qa@example.com", "Quinn QA", "qa")
		admin := s.user("acme", "ada@example.com", "Ada", "admin")
		rcv := newReceiver(t)
		channel(t, s, admin, map[string]any{"kind": "webhook", "name": "gov", "url": rcv.URL,
			"events": []string{"dr.created", "dr.activated", "dr.approved"}})
		body := map[string]any{"name": "agent release", "items": []map[string]string{{"product_name": "api", "version": "2.0"}},
			"environment_names": []string{"production"}, "approval_slots": []map[string]any{{"approval_type": "qa"}}}

		r := s.post("/deployment-requests/", key, body)
		if r.status != 201 {
			t.Fatalf("create by key: %d %s", r.status, r.body)
		}
		d := r.json(t)
		id := d["id"].(string)
		if d["created_by"] != nil || d["created_by_key"] != "k1" || d["created_by_name"] != "API key k1" || d["status"] != "draft" {
			t.Errorf("created: %v", d)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.created" || p["actor"] != "API key k1" {
			t.Errorf("dr.created: %v", p)
		}
		// Bad input is refused as it is for people; another org's key sees nothing.
		expectStatus(t, s.post("/deployment-requests/", key, map[string]any{"name": strings.Repeat("n", 201), "environment_names": []string{"p"}}),
			400, "Field 'name' is too long")
		expectStatus(t, s.post("/deployment-requests/"+id+"/activate", other, nil), 404, "")
		// A key moves an agent's requests, never a person's draft.
		mine := s.post("/deployment-requests/", admin, body).json(t)["id"].(string)
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.created" || p["actor"] != "Ada" {
			t.Errorf("person's dr.created: %v", p)
		}
		expectStatus(t, s.post("/deployment-requests/"+mine+"/activate", key, nil), 403, "only the deployment requests an API key created")
		// Activation by the key; the approvers are mailed as usual.
		if a := mustOK(t, s.post("/deployment-requests/"+id+"/activate", key, nil)); a["status"] != "in_progress" {
			t.Fatalf("activate by key: %v", a)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.activated" || p["actor"] != "API key k1" {
			t.Errorf("dr.activated: %v", p)
		}
		if got := mails(t, relay, 2); strings.Join(got["Approval requested: api 2.0 → production"], ",") != "ada@example.com,qa@example.com" {
			t.Errorf("approval requests: %v", got)
		}
		// Deciding slots and the other transitions stay with people.
		slot := d["approval_slots"].([]any)[0].(map[string]any)["id"].(string)
		expectStatus(t, s.post("/deployment-requests/"+id+"/slots/"+slot+"/approve", key, nil), 403, "needs a person")
		for _, a := range []string{"deactivate", "complete", "cancel"} {
			expectStatus(t, s.post("/deployment-requests/"+id+"/"+a, key, nil), 403, "personal access token")
		}
		if a := mustOK(t, s.post("/deployment-requests/"+id+"/slots/"+slot+"/approve", qa, nil)); a["status"] != "approved" {
			t.Errorf("approved by QA: %v", a)
		}
		if p := payload(t, rcv.next(t)); p["event_type"] != "dr.approved" || p["actor"] != "Quinn QA" {
			t.Errorf("dr.approved: %v", p)
		}
		// Nobody to mail about the decision (a key has no inbox): the agent
		// follows the webhooks. The DR is listed with its creator.
		mustOK(t, s.post("/deployment-requests/"+id+"/complete", admin, nil))
		// The outbox is written in each change's transaction, so the count is
		// final: 4 webhooks, 2 approval requests, no creator mail.
		stats, err := s.app.Store.DeliveryStats(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range stats {
			total += n
		}
		if total != 6 {
			t.Errorf("deliveries: %v, want 6 in all", stats)
		}
		if l := s.get("/deployment-requests/?status=completed", qa).items(t); len(l) != 1 || l[0]["created_by_name"] != "API key k1" {
			t.Errorf("listed: %v", l)
		}
	})
}
