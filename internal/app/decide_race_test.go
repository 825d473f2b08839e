package app_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/shiplog/shiplog/internal/app"
)

// race sends every request at the same moment: each goroutine waits on one
// closed channel, so none has a head start beyond the scheduler's.
func race(reqs ...func() resp) []resp {
	out := make([]resp, len(reqs))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			<-start
			out[i] = req()
		})
	}
	close(start)
	wg.Wait()
	return out
}

// decisionEvents counts a deployment request's events by type, read from
// the event log (the audit trail the outbox delivers from).
func decisionEvents(t *testing.T, s *server, org, drID string) map[string]int {
	t.Helper()
	o, err := s.app.Store.OrgGetByName(context.Background(), org)
	if err != nil {
		t.Fatal(err)
	}
	es, err := s.app.Store.EventListBySubject(context.Background(), o.ID, drID)
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, e := range es {
		n[string(e.Type)]++
	}
	return n
}

// twoReplicas starts two servers on one database: one PostgreSQL schema,
// or one SQLite file.
func twoReplicas(t *testing.T, db string) (*server, *server) {
	return startWith(t, app.Config{DB: db}), startWith(t, app.Config{DB: db})
}

// An approve and a reject of the same slot, sent at the same moment to two
// servers on one database: exactly one wins, the loser gets 409 naming the
// state the winner left, the request ends in the winner's state, and the
// audit trail holds one decision. The same for complete against cancel.
func TestDecisionsRaceAcrossReplicas(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		a, b := twoReplicas(t, db)
		a.org("acme")
		dev := a.user("acme", "dev@example.com", "Dee", "developer")
		qa1 := a.user("acme", "qa1@example.com", "Quinn", "qa")
		qa2 := b.user("acme", "qa2@example.com", "Quincy", "qa")
		newDR := func(slots ...string) (string, []string) {
			t.Helper()
			var ss []map[string]any
			for _, s := range slots {
				ss = append(ss, map[string]any{"approval_type": s})
			}
			r := a.post("/deployment-requests/", dev, map[string]any{"name": "r", "items": []map[string]string{{"product_name": "api", "version": "1"}},
				"environment_names": []string{"production"}, "approval_slots": ss})
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			d := r.json(t)
			var ids []string
			for _, s := range d["approval_slots"].([]any) {
				ids = append(ids, s.(map[string]any)["id"].(string))
			}
			id := d["id"].(string)
			mustOK(t, b.post("/deployment-requests/"+id+"/activate", dev, nil))
			return id, ids
		}
		wins := map[string]int{}
		const rounds = 15
		for round := range rounds {
			id, slots := newDR("qa")
			path := "/deployment-requests/" + id + "/slots/" + slots[0]
			first, second := a, b // alternate who approves, so neither server is always first in line
			if round%2 == 1 {
				first, second = b, a
			}
			got := race(
				func() resp { return first.post(path+"/approve", qa1, nil) },
				func() resp { return second.post(path+"/reject", qa2, map[string]any{"comments": "no"}) })
			winner, loser := "approved", got[1]
			switch {
			case got[0].status == 200 && got[1].status == 409:
			case got[1].status == 200 && got[0].status == 409:
				winner, loser = "rejected", got[0]
			default:
				t.Fatalf("round %d: approve %d %s, reject %d %s; want one 200 and one 409", round, got[0].status, got[0].body, got[1].status, got[1].body)
			}
			wins[winner]++
			if d := loser.detail(t); !strings.Contains(d, winner) {
				t.Errorf("round %d: the loser's 409 %q does not name the state %s", round, d, winner)
			}
			dr := mustOK(t, b.get("/deployment-requests/"+id, dev))
			slot := dr["approval_slots"].([]any)[0].(map[string]any)
			if dr["status"] != winner || slot["status"] != winner {
				t.Errorf("round %d: %s won, but the request is %v with its slot %v", round, winner, dr["status"], slot["status"])
			}
			ev := decisionEvents(t, a, "acme", id)
			if ev["dr.approved"]+ev["dr.rejected"] != 1 || ev["dr."+winner] != 1 {
				t.Errorf("round %d: %s won; audit trail %v", round, winner, ev)
			}
		}
		t.Logf("%d rounds: %v", rounds, wins)

		// Complete against cancel of an approved request.
		for round := range rounds {
			id, slots := newDR("qa")
			mustOK(t, a.post("/deployment-requests/"+id+"/slots/"+slots[0]+"/approve", qa1, nil))
			got := race(
				func() resp { return a.post("/deployment-requests/"+id+"/complete", dev, nil) },
				func() resp { return b.post("/deployment-requests/"+id+"/cancel", dev, nil) })
			winner, loser := "completed", got[1]
			switch {
			case got[0].status == 200 && got[1].status == 409:
			case got[1].status == 200 && got[0].status == 409:
				winner, loser = "cancelled", got[0]
			default:
				t.Fatalf("round %d: complete %d %s, cancel %d %s; want one 200 and one 409", round, got[0].status, got[0].body, got[1].status, got[1].body)
			}
			if d := loser.detail(t); !strings.Contains(d, winner) {
				t.Errorf("round %d: the loser's 409 %q does not name the state %s", round, d, winner)
			}
			if dr := mustOK(t, a.get("/deployment-requests/"+id, dev)); dr["status"] != winner {
				t.Errorf("round %d: %s won, but the request is %v", round, winner, dr["status"])
			}
			if ev := decisionEvents(t, b, "acme", id); ev["dr.completed"]+ev["dr.cancelled"] != 1 {
				t.Errorf("round %d: audit trail %v", round, ev)
			}
		}

		// Decisions on different slots of one request do not conflict: the
		// second waits for the first and both count.
		for round := range 5 {
			id, slots := newDR("qa", "qa")
			got := race(
				func() resp { return a.post("/deployment-requests/"+id+"/slots/"+slots[0]+"/approve", qa1, nil) },
				func() resp { return b.post("/deployment-requests/"+id+"/slots/"+slots[1]+"/approve", qa2, nil) })
			for i, r := range got {
				if r.status != http.StatusOK {
					t.Errorf("round %d: approval %d of two different slots: %d %s", round, i, r.status, r.body)
				}
			}
			if dr := mustOK(t, a.get("/deployment-requests/"+id, dev)); dr["status"] != "approved" {
				t.Errorf("round %d: both slots approved, but the request is %v", round, dr["status"])
			}
			if ev := decisionEvents(t, a, "acme", id); ev["dr.approved"] != 2 {
				t.Errorf("round %d: audit trail %v", round, ev)
			}
		}
	})
}

// A decision arriving after the request left in_progress is refused with
// 409 naming its state: a rejection cannot slip in after approval, so an
// approved request never has a rejected slot and can always be completed.
func TestNoDecisionAfterTheRequestIsSettled(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		s := start(t, db)
		s.org("acme")
		dev := s.user("acme", "dev@example.com", "Dee", "developer")
		qa := s.user("acme", "qa@example.com", "Quinn", "qa")
		sec := s.user("acme", "sec@example.com", "Sam", "security")
		r := s.post("/deployment-requests/", dev, map[string]any{"name": "r", "items": []map[string]string{{"product_name": "api", "version": "1"}},
			"environment_names": []string{"production"}, "approval_slots": []map[string]any{{"approval_type": "qa"},
				{"approval_type": "security", "required": false}}})
		d := r.json(t)
		id := d["id"].(string)
		slot := func(i int) string { return d["approval_slots"].([]any)[i].(map[string]any)["id"].(string) }
		mustOK(t, s.post("/deployment-requests/"+id+"/activate", dev, nil))
		if got := mustOK(t, s.post("/deployment-requests/"+id+"/slots/"+slot(0)+"/approve", qa, nil)); got["status"] != "approved" {
			t.Fatalf("after the required approval: %v", got["status"])
		}
		for _, verb := range []string{"reject", "approve"} {
			expectStatus(t, s.post("/deployment-requests/"+id+"/slots/"+slot(1)+"/"+verb, sec, nil), 409,
				"Cannot decide a slot of a deployment request that is approved")
		}
		dr := mustOK(t, s.get("/deployment-requests/"+id, dev))
		if st := dr["approval_slots"].([]any)[1].(map[string]any)["status"]; st != "pending" {
			t.Errorf("the refused rejection changed the optional slot to %v", st)
		}
		if ev := decisionEvents(t, s, "acme", id); ev["dr.rejected"] != 0 || ev["dr.approved"] != 1 {
			t.Errorf("audit trail after the refused decisions: %v", ev)
		}
		if c := mustOK(t, s.post("/deployment-requests/"+id+"/complete", dev, nil)); c["status"] != "completed" {
			t.Errorf("complete: %v", c["status"])
		}
		for _, verb := range []string{"reject", "approve"} {
			expectStatus(t, s.post("/deployment-requests/"+id+"/slots/"+slot(1)+"/"+verb, sec, nil), 409, "that is completed")
		}
	})
}
