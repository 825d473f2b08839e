package teams_test

import (
	"bytes"
	"context"
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
	"github.com/shiplog/shiplog/internal/notify/teams"
)

var kind notify.Kind = teams.Kind{}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range notifytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			got, err := kind.Render(tc.Msg, &shiplog.Channel{})
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, got, "", "  "); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, got)
			}
			pretty.WriteByte('\n')
			notifytest.Golden(t, tc.Name+".json", pretty.Bytes())
		})
	}
}

func TestRenderUnsupported(t *testing.T) {
	t.Parallel()
	for _, typ := range []shiplog.EventType{shiplog.EventVersionApproved, "dr.created"} {
		m := notifytest.Deployment("deployment.started")
		m.Event.Type = typ
		if _, err := teams.Render(m); !errors.Is(err, notify.ErrUnsupportedEvent) {
			t.Errorf("%s: err = %v, want ErrUnsupportedEvent", typ, err)
		}
	}
}

// card is what a Teams Workflows webhook reads of the message.
type card struct {
	Type        string `json:"type"`
	Attachments []struct {
		ContentType string `json:"contentType"`
		Content     struct {
			Schema  string `json:"$schema"`
			Type    string `json:"type"`
			Version string `json:"version"`
			Body    []struct {
				Type  string `json:"type"`
				Text  string `json:"text"`
				Facts []struct {
					Title string `json:"title"`
					Value string `json:"value"`
				} `json:"facts"`
			} `json:"body"`
			Actions []struct {
				Type  string `json:"type"`
				Title string `json:"title"`
				URL   string `json:"url"`
			} `json:"actions"`
		} `json:"content"`
	} `json:"attachments"`
}

// workflow plays a Teams Workflows webhook: it accepts a JSON message
// with Adaptive Card attachments within Teams' size limit, checks the
// card's essentials against the Adaptive Card schema, and answers 202.
func workflow(t *testing.T, got *[]card) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		fail := func(msg string) { http.Error(w, msg, http.StatusBadRequest) }
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			fail("want a JSON POST")
			return
		}
		if len(raw) > teams.MaxMessageBytes {
			http.Error(w, "message too large", http.StatusRequestEntityTooLarge)
			return
		}
		var c card
		if err := json.Unmarshal(raw, &c); err != nil {
			fail(err.Error())
			return
		}
		if c.Type != "message" || len(c.Attachments) == 0 {
			fail("want a message with attachments")
			return
		}
		for _, a := range c.Attachments {
			ct := a.Content
			if a.ContentType != "application/vnd.microsoft.card.adaptive" || ct.Type != "AdaptiveCard" ||
				!slices.Contains([]string{"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}, ct.Version) ||
				!strings.HasPrefix(ct.Schema, "http://adaptivecards.io/schemas/adaptive-card.json") || len(ct.Body) == 0 {
				fail("not an Adaptive Card Teams renders")
				return
			}
			for _, el := range ct.Body {
				switch el.Type {
				case "TextBlock":
					if el.Text == "" {
						fail("TextBlock without text")
						return
					}
				case "FactSet":
					for _, f := range el.Facts {
						if f.Title == "" || f.Value == "" {
							fail("fact without title or value")
							return
						}
					}
				default:
					fail("unexpected element " + el.Type)
					return
				}
			}
			for _, a := range ct.Actions {
				if a.Type != "Action.OpenUrl" || a.Title == "" || !strings.HasPrefix(a.URL, "https://") {
					fail("bad action")
					return
				}
			}
		}
		*got = append(*got, c)
		w.WriteHeader(http.StatusAccepted)
	}))
}

func send(t *testing.T, url string, m notify.Message) notify.Outcome {
	t.Helper()
	body, err := kind.Render(m, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Its own transport: httptest.Server.Close closes the default
	// transport's idle connections, under other parallel tests' requests.
	return kind.Send(context.Background(), notify.Env{HTTP: &http.Client{Transport: &http.Transport{}}, Clock: shiplog.SystemClock{}},
		notify.Target{DeliveryID: "d1", EventType: m.Event.Type, Channel: &shiplog.Channel{URL: url}, Payload: body})
}

func TestWorkflowReceiver(t *testing.T) {
	t.Parallel()
	var got []card
	srv := workflow(t, &got)
	defer srv.Close()

	huge := strings.Repeat("x", 1<<20)
	big := notifytest.Deployment("deployment.failed")
	big.Event.ProductName, big.Event.Version, big.Event.EnvironmentName = huge, huge, huge
	big.ActorName, big.ErrorMessage = huge, huge
	for _, m := range []notify.Message{notifytest.Deployment("deployment.completed"), notifytest.Build("build.started"), big} {
		o := send(t, srv.URL, m)
		if !o.OK || o.StatusCode != http.StatusAccepted {
			t.Fatalf("%s: outcome %+v", m.Event.Type, o)
		}
	}
	c := got[0].Attachments[0].Content
	if c.Body[0].Text != "✅ my-service 1.2.3 deployed to production" {
		t.Errorf("headline = %q (Slack's wording)", c.Body[0].Text)
	}
	if len(c.Actions) != 2 || c.Actions[0].URL != "https://shiplog.example.com/deployments/"+notifytest.DeploymentID {
		t.Errorf("actions = %+v", c.Actions)
	}
	var titles []string
	for _, f := range c.Body[1].Facts {
		titles = append(titles, f.Title)
	}
	if strings.Join(titles, ",") != "Product,Version,Environment,Status,Deployed by,When" {
		t.Errorf("facts = %v", titles)
	}
}

func TestRenderEscapesMarkdown(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment("deployment.failed")
	m.Event.ProductName = "[click](https://evil.example)"
	m.ActorName = "**boss**"
	m.Event.Version = "1. x"
	body, err := teams.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, bad := range []string{"[click](", "**boss**", `"1. x"`} {
		if strings.Contains(s, bad) {
			t.Errorf("unescaped %q in %s", bad, s)
		}
	}
	plain, _ := teams.Render(notifytest.Deployment("deployment.failed"))
	if !strings.Contains(string(plain), `"value":"1.2.3"`) || !strings.Contains(string(plain), `"value":"my-service"`) {
		t.Errorf("ordinary names and versions must stay unescaped: %s", plain)
	}
}

func TestSendClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status             int
		header             string
		retry, disable, ok bool
		wait               time.Duration
	}{
		{status: 202, ok: true},
		{status: 200, ok: true},
		{status: 429, header: "7", retry: true, wait: 7 * time.Second},
		{status: 503, retry: true},
		{status: 408, retry: true},
		{status: 404, disable: true},
		{status: 410, disable: true},
		{status: 400},
		{status: 401},
		{status: 302},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.header != "" {
				w.Header().Set("Retry-After", tt.header)
			}
			w.WriteHeader(tt.status)
		}))
		o := send(t, srv.URL, notifytest.Deployment("deployment.started"))
		srv.Close()
		if o.OK != tt.ok || o.Retryable != tt.retry || o.Disable != tt.disable || o.RetryAfter != tt.wait || o.StatusCode != tt.status {
			t.Errorf("%d: outcome %+v", tt.status, o)
		}
		if !o.OK && o.Err == "" {
			t.Errorf("%d: no reason", tt.status)
		}
	}
}

func TestSendNetworkErrorRetries(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	if o := send(t, url, notifytest.Deployment("deployment.started")); o.OK || !o.Retryable {
		t.Errorf("outcome %+v", o)
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := []string{
		"https://prod-12.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=x",
		"https://default1234.56.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/abc/triggers/manual/paths/invoke?api-version=1",
		"https://acme.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456",
		"http://127.0.0.1:8080/teams",
		"http://localhost/teams",
		"http://10.1.2.3/relay",
	}
	for _, u := range ok {
		if _, err := kind.Validate(&shiplog.Channel{URL: " " + u + " "}); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	bad := map[string]string{
		"":                                "required",
		"https://example.com/hook":        "Teams Workflows URL",
		"https://logic.azure.com.evil.io": "Teams Workflows URL",
		"http://prod-1.westus.logic.azure.com/workflows/x": "https",
		"ftp://prod-1.westus.logic.azure.com/x":            "https",
		"https://8.8.8.8/x":                                "Teams Workflows URL",
	}
	for u, want := range bad {
		_, err := kind.Validate(&shiplog.Channel{URL: u})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", u, err, want)
		}
	}
	if _, err := kind.Validate(&shiplog.Channel{URL: ok[0], Secret: "s"}); err == nil {
		t.Error("secret accepted")
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s := kind.Spec()
	if s.Name != "teams" || !s.URLIsSecret || len(s.Fields) != 1 || s.Fields[0].Key != "url" {
		t.Errorf("spec = %+v", s)
	}
	if got := s.Events(nil); !slices.Equal(got, notify.CICDEvents) {
		t.Errorf("events = %v", got)
	}
	if kind.Variant(nil) != "" {
		t.Error("variant")
	}
}
