package app_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The formats end to end, each created through the API as that system's
// user would create it, fed by POST /deployment-events/, and checked at a
// loopback receiver for the payload and headers that system's receivers
// read.

func TestQoveryFormatEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	rc := newReceiver(t)
	// Qovery's own spelling: kind STANDARD, target_url, Qovery's event
	// names, project_names_filter.
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "STANDARD", "target_url": rc.URL + "/qovery",
		"description": "deployments to ops", "secret": "s3cret",
		"events":                   []string{"DEPLOYMENT_STARTED", "deployment_failure", "DEPLOYMENT_SUCCESSFUL"},
		"environment_types_filter": []string{"PRODUCTION"}, "project_names_filter": []string{"api*"}})
	if ch["kind"] != "webhook" || ch["format"] != "qovery" || !slices.Equal(toStrings(ch["events"]),
		[]string{"deployment.started", "deployment.failed", "deployment.completed"}) ||
		!slices.Equal(toStrings(ch["product_names_filter"]), []string{"api*"}) || ch["name"] == "" {
		t.Fatalf("channel = %v", ch)
	}
	mustOK(t, s.post("/deployment-events/", key, dep("web", "1", "production", "failed")))  // filtered out: project
	mustOK(t, s.post("/deployment-events/", key, dep("api", "1", "staging", "failed")))     // filtered out: mode
	mustOK(t, s.post("/deployment-events/", key, dep("api", "1", "production", "aborted"))) // not subscribed
	d := mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "failed", "scm_sha", "abc123")))
	h := rc.next(t)
	if h.header.Get("qovery-secret") != "s3cret" || h.header.Get("Content-Type") != "application/json" {
		t.Errorf("headers: %v", h.header)
	}
	type named struct {
		ID   string `json:"id"`
		Name string `json:"name"`
		Mode string `json:"mode"`
	}
	var b struct {
		EventType   string `json:"event_type"`
		PayloadType string `json:"payload_type"`
		PayloadID   string `json:"payload_id"`
		Payload     struct {
			ID            string `json:"id"`
			CurrentStatus string `json:"current_status"`
			DesiredStatus string `json:"desired_status"`
			Organization  named  `json:"organization"`
			Project       named  `json:"project"`
			Environment   named  `json:"environment"`
			Applications  []struct {
				Application named `json:"application"`
			} `json:"applications"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(h.body, &b); err != nil {
		t.Fatal(err)
	}
	if b.EventType != "DEPLOYMENT_FAILURE" || b.PayloadType != "DEPLOYMENT" || b.PayloadID != d["id"] ||
		b.Payload.CurrentStatus != "DEPLOYMENT_ERROR" || b.Payload.DesiredStatus != "DEPLOYED" ||
		b.Payload.Organization.Name != "acme" || b.Payload.Project.Name != "api" || b.Payload.Environment.Mode != "PRODUCTION" ||
		len(b.Payload.Applications) != 1 || b.Payload.Applications[0].Application.Name != "api" {
		t.Errorf("qovery body: %s", h.body)
	}
	rc.none(t)

	// A Qovery SLACK webhook is a slack channel.
	sl := channel(t, s, s.admin(key), map[string]any{"kind": "SLACK", "target_url": "https://hooks.slack.com/services/T/B/x",
		"events": []string{"DEPLOYMENT_SUCCESSFUL"}})
	if sl["kind"] != "slack" || !slices.Equal(toStrings(sl["events"]), []string{"deployment.completed"}) {
		t.Errorf("SLACK channel = %v", sl)
	}
	// Builds have no Qovery event.
	r := s.post("/notification-channels/", s.admin(key), map[string]any{"kind": "STANDARD", "target_url": rc.URL,
		"events": []string{"build.completed"}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "deployment.started, deployment.completed, deployment.failed, deployment.aborted") {
		t.Errorf("build event on a qovery channel: %d %s", r.status, r.body)
	}
}

func TestCleverFormatEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	rc := newReceiver(t)
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "format": "clever", "name": "clever",
		"url": rc.URL + "/clever", "events": []string{"deployment.started", "deployment.completed"}})
	if ch["format"] != "clever" {
		t.Fatalf("channel = %v", ch)
	}
	d := mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "started", "scm_sha", "abc123", "deployed_by", "bob")))
	mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "success")))
	var uuids []string
	for _, want := range [][2]string{{"DEPLOYMENT_ACTION_BEGIN", "WIP"}, {"DEPLOYMENT_SUCCESS", "OK"}} {
		h := rc.next(t)
		var ev struct{ Event, Date, Data string }
		if err := json.Unmarshal(h.body, &ev); err != nil {
			t.Fatalf("%v: %s", err, h.body)
		}
		var data map[string]any
		if err := json.Unmarshal([]byte(ev.Data), &data); err != nil {
			t.Fatalf("data is not JSON text: %v", err)
		}
		if ev.Event != want[0] || data["state"] != want[1] || data["action"] != "DEPLOY" || data["appName"] != "api" ||
			!strings.HasPrefix(fmt.Sprint(data["id"]), "app_") || h.header.Get("X-Versioner-Event") == "" {
			t.Errorf("clever event %s: %s %v", want[0], h.body, h.header)
		}
		uuids = append(uuids, fmt.Sprint(data["uuid"]))
	}
	if uuids[0] != d["id"] || uuids[1] != d["id"] {
		t.Errorf("uuid %v, want the deployment's id %v", uuids, d["id"])
	}
	// Flowdock is gone.
	r := s.post("/notification-channels/", s.admin(key), map[string]any{"kind": "webhook", "format": "flowdock", "name": "f",
		"url": rc.URL, "events": []string{"deployment.completed"}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "2023") {
		t.Errorf("flowdock: %d %s", r.status, r.body)
	}
}

func TestStandardWebhooksFormatEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	rc := newReceiver(t)
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "webhook", "format": "standard-webhooks", "name": "sw",
		"signature_scheme": "standard-webhooks", "url": rc.URL + "/sw", "events": []string{"deployment.completed"}})
	secret, _ := ch["secret"].(string) // generated, shown once
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("no generated secret: %v", ch)
	}
	mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "success")))
	h := rc.next(t)
	var env struct {
		Type, Timestamp string
		Data            map[string]any
	}
	if err := json.Unmarshal(h.body, &env); err != nil || env.Type != "deployment.completed" || env.Data["product_name"] != "api" {
		t.Fatalf("envelope %s (%v)", h.body, err)
	}
	{
		k, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		mac := hmac.New(sha256.New, k)
		fmt.Fprintf(mac, "%s.%s.%s", h.header.Get("webhook-id"), h.header.Get("webhook-timestamp"), h.body)
		if want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)); h.header.Get("webhook-signature") != want {
			t.Errorf("signature %q, want %q", h.header.Get("webhook-signature"), want)
		}
	}
}

func TestTeamsEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	rc := newReceiver(t, http.StatusAccepted)
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "teams", "name": "ops", "url": rc.URL + "/workflows/x",
		"events": []string{"deployment.failed"}})
	if strings.Contains(fmt.Sprint(ch["url"]), "/workflows/x") {
		t.Errorf("teams URL is a secret: %v", ch["url"])
	}
	mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "failed")))
	h := rc.next(t)
	var m struct {
		Type        string
		Attachments []struct {
			ContentType string
			Content     struct {
				Type, Version string
				Body          []struct{ Type, Text string }
			}
		}
	}
	if err := json.Unmarshal(h.body, &m); err != nil || m.Type != "message" || len(m.Attachments) != 1 ||
		m.Attachments[0].ContentType != "application/vnd.microsoft.card.adaptive" || m.Attachments[0].Content.Type != "AdaptiveCard" ||
		m.Attachments[0].Content.Body[0].Text != "❌ api 2.0 failed to deploy to production" {
		t.Errorf("teams body %s (%v)", h.body, err)
	}
	r := s.post("/notification-channels/", s.admin(key), map[string]any{"kind": "teams", "name": "x",
		"url": "https://example.com/hook", "events": []string{"deployment.failed"}})
	if r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Teams Workflows URL") {
		t.Errorf("non-Teams URL: %d %s", r.status, r.body)
	}
}

func TestDiscordEndToEnd(t *testing.T) {
	t.Parallel()
	s := start(t, "sqlite://"+t.TempDir()+"/s.db")
	key := s.org("acme")
	rc := newReceiver(t, http.StatusNoContent, http.StatusNotFound)
	ch := channel(t, s, s.admin(key), map[string]any{"kind": "discord", "name": "ops", "url": rc.URL + "/api/webhooks/123/tok",
		"events": []string{"build.completed", "deployment.completed"}})
	mustOK(t, s.post("/build-events/", key, build("api", "2.0", "completed")))
	h := rc.next(t)
	var m struct {
		Embeds []struct {
			Title  string
			Fields []struct{ Name, Value string }
		}
		AllowedMentions struct{ Parse []string } `json:"allowed_mentions"`
	}
	if err := json.Unmarshal(h.body, &m); err != nil || len(m.Embeds) != 1 || m.Embeds[0].Title != "✅ api 2.0 built" ||
		m.AllowedMentions.Parse == nil {
		t.Errorf("discord body %s (%v)", h.body, err)
	}
	// 404 Unknown Webhook switches the channel off.
	mustOK(t, s.post("/deployment-events/", key, dep("api", "2.0", "production", "success")))
	rc.next(t)
	waitDisabled(t, s, key, ch["id"].(string))
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// waitDisabled waits for the worker to switch a channel off.
func waitDisabled(t *testing.T, s *server, key, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		c := mustOK(t, s.get("/notification-channels/"+id, key))
		if c["enabled"] == false {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatal("channel not disabled")
		}
	}
}
