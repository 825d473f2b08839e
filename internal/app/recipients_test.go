package app_test

import (
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/testutil/smtptest"
)

// Issue 14, "the default 'Default deployment result e-mails' hook reaches
// nobody": its word "owners" meant a separate owners list only the CLI
// set, so in an org made the normal way (an owner with an email) every
// delivery failed "no recipients", and "members" was refused. The words
// now stand for people: owners and admins, or every active person, read
// when the mail is sent.
func TestRecipientWordsAreThePeople(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		relay := smtptest.Start(t)
		s := startWith(t, app.Config{DB: db, SMTPURL: relay.URL(), MailFrom: "shiplog@example.com"})
		key := s.org("acme")
		owner := s.user("acme", "olga@example.com", "Olga", "owner")
		s.user("acme", "adam@example.com", "Adam", "admin")
		s.user("acme", "dev@example.com", "Dee", "developer")
		s.user("acme", "gone@example.com", "Gone", "admin")
		s.org("globex")
		s.user("globex", "boss@globex.test", "Boss", "owner")

		for _, c := range []struct{ name, word string }{{"Default deployment result e-mails", "owners"}, {"everyone", "members"}} {
			channel(t, s, owner, map[string]any{"kind": "email", "name": c.name, "recipients": []string{c.word},
				"events": []string{"deployment.completed"}})
		}
		// A person who leaves gets nothing from then on.
		users := mustOK(t, s.get("/users/", owner))
		for _, u := range users["items"].([]any) {
			if u := u.(map[string]any); u["email"] == "gone@example.com" {
				mustOK(t, s.post("/users/"+u["id"].(string)+"/deactivate", owner, nil))
			}
		}
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success")))
		// Two mails, one per channel, with one subject: owners and admins
		// (adam, olga); every active person (adam, dev, olga). Not the
		// deactivated admin, nobody of the other org.
		got := mails(t, relay, 2)
		if to := strings.Join(got["✅ api 1.0 deployed to production"], ","); to != "adam@example.com,adam@example.com,dev@example.com,olga@example.com,olga@example.com" {
			t.Errorf("recipients: %v", got)
		}
	})
}
