package app_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/app"
	"github.com/shiplog/shiplog/internal/testutil/smtptest"
)

// Issue 12: the deployer (or builder) named on started only is the deployer
// of every later event of the run: the completed webhook's "deployer",
// Slack's and email's "by …". Builds' webhooks have a non-null environment.
func TestRunActorOnLaterEvents(t *testing.T) {
	t.Parallel()
	drivers(t, func(t *testing.T, db string) {
		relay := smtptest.Start(t)
		slack := make(chan string, 10)
		slackSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			slack <- string(b)
			io.WriteString(w, "ok")
		}))
		t.Cleanup(slackSrv.Close)
		s := startWith(t, app.Config{DB: db, SMTPURL: relay.URL(), MailFrom: "shiplog@example.com"})
		key := s.org("acme")
		deps, builds := newReceiver(t), newReceiver(t)
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "d", "url": deps.URL, "events": []string{"deployment.completed"}})
		channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "name": "b", "url": builds.URL, "events": []string{"build.started", "build.completed"}})
		channel(t, s, s.admin(key), map[string]any{"kind": "slack", "name": "#d", "url": slackSrv.URL + "/services/T/B/x", "events": []string{"deployment.completed"}})
		channel(t, s, s.admin(key), map[string]any{"kind": "email", "name": "m", "recipients": []string{"dl@example.com"}, "events": []string{"deployment.completed"}})

		// Two interleaved runs of one product in two environments, each
		// naming its deployer on started only: no cross-talk.
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "started", "invoke_id", "a",
			"deployed_by", "jdoe", "deployed_by_name", "Jane Doe", "deployed_by_email", "jane@example.com")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "staging", "started", "invoke_id", "b", "deployed_by", "bob")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "staging", "success", "invoke_id", "b")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.0", "production", "success", "invoke_id", "a")))
		byEnv := map[string]map[string]any{}
		for range 2 {
			p := rc(t, deps)
			byEnv[p["environment"].(string)] = p
		}
		if byEnv["production"]["deployer"] != "Jane Doe" || byEnv["staging"]["deployer"] != "bob" {
			t.Errorf("deployers on completed: %v", byEnv)
		}
		next := func() string {
			t.Helper()
			select {
			case b := <-slack:
				return b
			case <-time.After(30 * time.Second):
				t.Fatal("the Slack stand-in got nothing")
				return ""
			}
		}
		texts := []string{next(), next()}
		joined := strings.Join(texts, "\n")
		if !strings.Contains(joined, "deployed to production by Jane Doe") || !strings.Contains(joined, "deployed to staging by bob") {
			t.Errorf("slack: %s", joined)
		}
		for range 2 {
			select {
			case m := <-relay.Mail:
				data := string(m.Data)
				if strings.Contains(data, "production") && !strings.Contains(data, "Jane Doe &lt;jane@example.com&gt;") &&
					!strings.Contains(data, "Jane Doe <jane@example.com>") {
					t.Errorf("production mail lacks the deployer:\n%s", data)
				}
				if strings.Contains(data, "staging") && !strings.Contains(data, "bob") {
					t.Errorf("staging mail lacks the deployer:\n%s", data)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no mail")
			}
		}
		// A later event that names someone else is the newer word.
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "production", "started", "invoke_id", "c", "deployed_by_name", "Jane Doe")))
		mustOK(t, s.post("/deployment-events/", key, dep("api", "1.1", "production", "success", "invoke_id", "c", "deployed_by_name", "Ray Release")))
		if p := rc(t, deps); p["deployer"] != "Ray Release" {
			t.Errorf("override: %v", p)
		}
		next()
		mails(t, relay, 1)

		// Builds alike, and their environment is a string, never null.
		mustOK(t, s.post("/build-events/", key, build("api", "2.0", "started", "built_by", "ci-bot", "built_by_name", "CI Bot")))
		mustOK(t, s.post("/build-events/", key, build("api", "2.0", "completed")))
		seen := map[string]bool{}
		for range 2 {
			h := builds.next(t)
			p := payload(t, h)
			if env, ok := p["environment"].(string); !ok || env != "" || p["deployer"] != "CI Bot" {
				t.Errorf("build webhook: %s", h.body)
			}
			seen[p["event_type"].(string)] = true
		}
		if !seen["build.started"] || !seen["build.completed"] {
			t.Errorf("build events: %v", seen)
		}
	})
}
