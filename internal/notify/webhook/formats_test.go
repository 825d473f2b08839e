package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
	"github.com/shiplog/shiplog/internal/notify/webhook"
)

// formats are the renderers of the webhook formats besides versioner, with
// the event types each carries.
var formats = []struct {
	name    string
	render  func(notify.Message) ([]byte, error)
	carries []shiplog.EventType
}{
	{"qovery", webhook.RenderQovery, webhook.QoveryEventTypes},
	{"clever", webhook.RenderClever, webhook.CleverEventTypes},
	{"standard", webhook.RenderStandardEvent, append(slices.Clone(notify.CICDEvents), shiplog.EventDeploymentPreflightFailed)},
}

func orgMessage(m notify.Message) notify.Message {
	m.Event.OrgID = "0196f1c2-aaaa-7000-8000-00000000000a"
	m.OrgName = "Acme"
	return m
}

// TestFormatsGolden renders every fixture in every format: the types a
// format carries match their golden file (pretty-printed, so a reviewer
// reads the diff), the others are refused as unsupported.
func TestFormatsGolden(t *testing.T) {
	t.Parallel()
	for _, f := range formats {
		for _, tc := range notifytest.Cases() {
			t.Run(f.name+"/"+tc.Name, func(t *testing.T) {
				t.Parallel()
				got, err := f.render(orgMessage(tc.Msg))
				if !slices.Contains(f.carries, tc.Msg.Event.Type) {
					if !errors.Is(err, notify.ErrUnsupportedEvent) {
						t.Fatalf("%s: err = %v, want ErrUnsupportedEvent", tc.Msg.Event.Type, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				var compact bytes.Buffer
				if err := json.Compact(&compact, got); err != nil || !bytes.Equal(compact.Bytes(), got) {
					t.Errorf("body is not compact JSON: %s", got)
				}
				var pretty bytes.Buffer
				_ = json.Indent(&pretty, got, "", "  ")
				pretty.WriteByte('\n')
				notifytest.Golden(t, f.name+"/"+tc.Name+".json", pretty.Bytes())
			})
		}
	}
}

// qoveryStates is Qovery's State enum (qovery-openapi-spec
// src/schemas/enums/State.yaml).
var qoveryStates = []string{"BUILDING", "CANCELED", "CANCELING", "DELETED", "DELETE_ERROR", "DELETE_QUEUED",
	"DELETING", "DEPLOYED", "DEPLOYING", "DEPLOYMENT_ERROR", "DEPLOYMENT_QUEUED", "QUEUED", "READY", "RUNNING",
	"STOPPED", "STOPPING", "STOP_ERROR", "STOP_QUEUED"}

// qoveryReceiver is what a receiver written for Qovery's standard webhook
// checks: a POST of JSON with the seed's keys, one of the four event names,
// statuses from the State enum, and objects that refer to one another.
type qoveryReceiver struct {
	t    *testing.T
	got  []qoveryBody
	keys [][]string
}

type qoveryRef struct {
	ID string `json:"id"`
}

type qoveryBody struct {
	CreatedAt   string `json:"created_at"`
	EventType   string `json:"event_type"`
	PayloadType string `json:"payload_type"`
	PayloadID   string `json:"payload_id"`
	Payload     struct {
		ID            string `json:"id"`
		CurrentStatus string `json:"current_status"`
		DesiredStatus string `json:"desired_status"`
		Organization  struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"organization"`
		Project struct {
			ID           string    `json:"id"`
			Name         string    `json:"name"`
			Organization qoveryRef `json:"organization"`
		} `json:"project"`
		Environment struct {
			ID      string    `json:"id"`
			Name    string    `json:"name"`
			Mode    string    `json:"mode"`
			Project qoveryRef `json:"project"`
		} `json:"environment"`
		Applications []struct {
			CurrentStatus string `json:"current_status"`
			DesiredStatus string `json:"desired_status"`
			Application   struct {
				ID            string    `json:"id"`
				Name          string    `json:"name"`
				Environment   qoveryRef `json:"environment"`
				GitRepository struct {
					DeployedCommitID string `json:"deployed_commit_id"`
				} `json:"git_repository"`
			} `json:"application"`
		} `json:"applications"`
		Databases  []json.RawMessage `json:"databases"`
		Containers []json.RawMessage `json:"containers"`
		Jobs       []json.RawMessage `json:"jobs"`
		Logs       []json.RawMessage `json:"logs"`
	} `json:"payload"`
}

func (q *qoveryReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		http.Error(w, "want a JSON POST", http.StatusBadRequest)
		return
	}
	var top map[string]json.RawMessage
	var b qoveryBody
	if json.Unmarshal(raw, &top) != nil || json.Unmarshal(raw, &b) != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	var keys []string
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	q.keys = append(q.keys, keys)
	q.got = append(q.got, b)
	w.WriteHeader(http.StatusOK)
}

func post(t *testing.T, url string, body []byte) {
	t.Helper()
	res, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("receiver answered %d", res.StatusCode)
	}
}

func TestQoveryReceiver(t *testing.T) {
	t.Parallel()
	rcv := &qoveryReceiver{t: t}
	srv := httptest.NewServer(rcv)
	defer srv.Close()

	types := []shiplog.EventType{"deployment.started", "deployment.completed", "deployment.failed", "deployment.aborted"}
	for _, typ := range types {
		body, err := webhook.RenderQovery(orgMessage(notifytest.Deployment(typ)))
		if err != nil {
			t.Fatal(err)
		}
		post(t, srv.URL, body)
	}
	wantNames := []string{"DEPLOYMENT_STARTED", "DEPLOYMENT_SUCCESSFUL", "DEPLOYMENT_FAILURE", "DEPLOYMENT_CANCELLED"}
	wantCurrent := []string{"DEPLOYING", "DEPLOYED", "DEPLOYMENT_ERROR", "CANCELED"}
	if len(rcv.got) != len(types) {
		t.Fatalf("receiver got %d bodies", len(rcv.got))
	}
	first := rcv.got[0]
	for i, b := range rcv.got {
		if got := strings.Join(rcv.keys[i], ","); got != "created_at,event_type,payload,payload_id,payload_type" {
			t.Errorf("top-level keys = %s", got)
		}
		if b.EventType != wantNames[i] || b.PayloadType != "DEPLOYMENT" {
			t.Errorf("event_type, payload_type = %s, %s; want %s, DEPLOYMENT", b.EventType, b.PayloadType, wantNames[i])
		}
		if _, err := time.Parse(time.RFC3339, b.CreatedAt); err != nil || !strings.HasSuffix(b.CreatedAt, "Z") {
			t.Errorf("created_at %q: %v", b.CreatedAt, err)
		}
		p := b.Payload
		if b.PayloadID != notifytest.DeploymentID || p.ID != b.PayloadID {
			t.Errorf("payload_id %q, payload.id %q; want the deployment's id", b.PayloadID, p.ID)
		}
		if p.CurrentStatus != wantCurrent[i] || p.DesiredStatus != "DEPLOYED" {
			t.Errorf("statuses = %s → %s", p.CurrentStatus, p.DesiredStatus)
		}
		for _, s := range []string{p.CurrentStatus, p.DesiredStatus} {
			if !slices.Contains(qoveryStates, s) {
				t.Errorf("status %q is not in Qovery's State enum", s)
			}
		}
		if p.Organization.Name != "Acme" || p.Project.Organization.ID != p.Organization.ID ||
			p.Environment.Project.ID != p.Project.ID || p.Project.Name != "my-service" {
			t.Errorf("objects do not refer to one another: %+v", p)
		}
		if p.Environment.Name != "production" || p.Environment.Mode != "PRODUCTION" {
			t.Errorf("environment = %+v", p.Environment)
		}
		if len(p.Applications) != 1 {
			t.Fatalf("applications = %+v", p.Applications)
		}
		a := p.Applications[0]
		if a.Application.Name != "my-service" || a.Application.Environment.ID != p.Environment.ID ||
			a.CurrentStatus != p.CurrentStatus || a.Application.GitRepository.DeployedCommitID == "" {
			t.Errorf("application = %+v", a)
		}
		for _, l := range [][]json.RawMessage{p.Databases, p.Containers, p.Jobs, p.Logs} {
			if l == nil || len(l) != 0 {
				t.Errorf("databases/containers/jobs/logs must be empty lists, got %v", l)
			}
		}
		// A receiver keys its state by these ids: they hold across events.
		if p.Organization.ID != first.Payload.Organization.ID || p.Project.ID != first.Payload.Project.ID ||
			p.Environment.ID != first.Payload.Environment.ID || a.Application.ID != first.Payload.Applications[0].Application.ID {
			t.Errorf("ids changed between events")
		}
	}
}

func TestQoveryEnvironmentMode(t *testing.T) {
	t.Parallel()
	for typ, want := range map[shiplog.EnvType]string{
		shiplog.EnvProduction: "PRODUCTION", shiplog.EnvStaging: "STAGING", shiplog.EnvTest: "STAGING",
		shiplog.EnvDevelopment: "DEVELOPMENT", shiplog.EnvPreview: "PREVIEW", "": "PRODUCTION",
	} {
		m := orgMessage(notifytest.Deployment("deployment.completed"))
		m.Event.EnvironmentType = typ
		m.Event.EnvironmentName = "prod-eu" // inferred when the type is unknown
		var b qoveryBody
		body, err := webhook.RenderQovery(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(body, &b); err != nil {
			t.Fatal(err)
		}
		if b.Payload.Environment.Mode != want {
			t.Errorf("type %q: mode = %s, want %s", typ, b.Payload.Environment.Mode, want)
		}
	}
}

func TestQoveryEventNames(t *testing.T) {
	t.Parallel()
	for _, name := range webhook.QoveryEventNames {
		typ, ok := webhook.ParseQoveryEvent(" " + strings.ToLower(name) + " ")
		if !ok {
			t.Fatalf("%s not parsed", name)
		}
		back, ok := webhook.QoveryEventName(typ)
		if !ok || back != name {
			t.Errorf("%s → %s → %s", name, typ, back)
		}
	}
	for _, bad := range []string{"", "DEPLOYMENT", "deployment.completed", "DEPLOYMENT_SUCCESS"} {
		if _, ok := webhook.ParseQoveryEvent(bad); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParseQoveryEvent(f *testing.F) {
	for _, n := range webhook.QoveryEventNames {
		f.Add(n)
	}
	f.Add("deployment_failure\t")
	f.Add("DEPLOYMENT_\u017fTARTED") // ſ folds to s under EqualFold
	f.Fuzz(func(t *testing.T, s string) {
		typ, ok := webhook.ParseQoveryEvent(s)
		if !ok {
			return
		}
		name, ok := webhook.QoveryEventName(typ)
		if !ok || !strings.EqualFold(strings.TrimSpace(s), name) {
			t.Fatalf("%q → %q → %q", s, typ, name)
		}
		if !slices.Contains(webhook.QoveryEventTypes, typ) {
			t.Fatalf("%q → %q, not a Qovery type", s, typ)
		}
	})
}

func FuzzParseCleverEvent(f *testing.F) {
	f.Add("DEPLOYMENT_ACTION_BEGIN")
	f.Add(" deployment_success")
	f.Fuzz(func(t *testing.T, s string) {
		typ, ok := webhook.ParseCleverEvent(s)
		if !ok {
			return
		}
		name, ok := webhook.CleverEventName(typ)
		if !ok || !strings.EqualFold(strings.TrimSpace(s), name) {
			t.Fatalf("%q → %q → %q", s, typ, name)
		}
	})
}

// TestCleverReceiver plays a receiver written for Clever Cloud's raw
// events, doing what clever-tools does with the events stream: parse the
// event, parse its data a second time, match the application by data.id
// or data.appId, follow one deployment by data.uuid, and read the result
// from the event name and data.state.
func TestCleverReceiver(t *testing.T) {
	t.Parallel()
	type result struct{ event, state, uuid, app string }
	var got []result
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev struct {
			Event string          `json:"event"`
			Date  string          `json:"date"`
			Data  json.RawMessage `json:"data"`
		}
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var text string // data is JSON text inside a string, as on Clever's events stream
		if err := json.Unmarshal(ev.Data, &text); err != nil {
			http.Error(w, "data is not a string: "+err.Error(), http.StatusBadRequest)
			return
		}
		var d map[string]any
		if err := json.Unmarshal([]byte(text), &d); err != nil {
			http.Error(w, "data is not JSON text: "+err.Error(), http.StatusBadRequest)
			return
		}
		if _, err := time.Parse(time.RFC3339, ev.Date); err != nil {
			http.Error(w, "date: "+err.Error(), http.StatusBadRequest)
			return
		}
		for _, k := range []string{"id", "appId", "ownerId", "uuid", "state", "action", "commit", "cause"} {
			if _, ok := d[k].(string); !ok {
				http.Error(w, "data."+k+" missing", http.StatusBadRequest)
				return
			}
		}
		if d["id"] != d["appId"] || !strings.HasPrefix(d["id"].(string), "app_") || !strings.HasPrefix(d["ownerId"].(string), "orga_") {
			http.Error(w, "ids", http.StatusBadRequest)
			return
		}
		got = append(got, result{ev.Event, d["state"].(string), d["uuid"].(string), d["id"].(string)})
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()

	for _, typ := range []shiplog.EventType{"deployment.started", "deployment.completed", "deployment.failed", "deployment.aborted"} {
		body, err := webhook.RenderClever(orgMessage(notifytest.Deployment(typ)))
		if err != nil {
			t.Fatal(err)
		}
		post(t, srv.URL, body)
	}
	want := []struct{ event, state string }{
		{"DEPLOYMENT_ACTION_BEGIN", "WIP"}, {"DEPLOYMENT_SUCCESS", "OK"}, {"DEPLOYMENT_FAIL", "FAIL"}, {"DEPLOYMENT_ACTION_END", "CANCELLED"},
	}
	if len(got) != len(want) {
		t.Fatalf("receiver accepted %d events: %+v", len(got), got)
	}
	for i, w := range want {
		if got[i].event != w.event || got[i].state != w.state {
			t.Errorf("event %d = %s/%s, want %s/%s", i, got[i].event, got[i].state, w.event, w.state)
		}
		if got[i].uuid != notifytest.DeploymentID || got[i].app != got[0].app {
			t.Errorf("event %d does not follow the same deployment and app: %+v", i, got[i])
		}
	}
}

func TestCleverDataRoundTrip(t *testing.T) {
	t.Parallel()
	ev, err := webhook.NewCleverEvent(orgMessage(notifytest.Deployment("deployment.completed")))
	if err != nil {
		t.Fatal(err)
	}
	d, err := webhook.DecodeCleverData(ev)
	if err != nil {
		t.Fatal(err)
	}
	if d.Commit != "a3f9c2d1e4b5f60718293a4b5c6d7e8f90a1b2c3" || d.Cause != "Jane Doe" || d.Action != "DEPLOY" ||
		d.AppName != "my-service" || d.Environment != "production" || d.Version != "1.2.3" ||
		d.URL != "https://shiplog.example.com/deployments/"+notifytest.DeploymentID {
		t.Errorf("data = %+v", d)
	}
}

// TestStandardEnvelope checks the Standard Webhooks payload structure:
// exactly type, timestamp and data, the type full-stop delimited, the
// timestamp the event's, and data the versioner payload.
func TestStandardEnvelope(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment("deployment.completed")
	body, err := webhook.RenderStandardEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil || len(top) != 3 {
		t.Fatalf("envelope = %s (%v)", body, err)
	}
	var env webhook.StandardEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, env.Timestamp)
	if env.Type != "deployment.completed" || err != nil || !ts.Equal(notifytest.When) {
		t.Errorf("type %q timestamp %q (%v)", env.Type, env.Timestamp, err)
	}
	inner, _ := webhook.RenderEvent(m)
	if !bytes.Equal(env.Data, inner) {
		t.Errorf("data = %s, want the versioner payload %s", env.Data, inner)
	}

	dr, err := webhook.RenderDR(webhook.DR{EventType: webhook.EventDRCreated, OccurredAt: notifytest.When, ID: "d1", Name: "n",
		URL: "https://x", Status: "draft"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := webhook.WrapStandard(webhook.EventDRCreated, notifytest.When, dr); err != nil {
		t.Errorf("governance payloads wrap too: %v", err)
	}
	if _, err := webhook.WrapStandard("x.y", notifytest.When, []byte("{")); err == nil {
		t.Error("invalid data accepted")
	}
}
