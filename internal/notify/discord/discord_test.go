package discord_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/discord"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
)

var kind notify.Kind = discord.Kind{}

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
		if _, err := discord.Render(m); !errors.Is(err, notify.ErrUnsupportedEvent) {
			t.Errorf("%s: err = %v, want ErrUnsupportedEvent", typ, err)
		}
	}
}

// jsLen counts as Discord's JavaScript-side limits do: UTF-16 code units.
func jsLen(s string) int { return len(utf16.Encode([]rune(s))) }

var webhookPath = regexp.MustCompile(`^/api/webhooks/[0-9]+/[A-Za-z0-9_-]+$`)

// receiver plays Discord's execute-webhook endpoint: it refuses (400
// Invalid Form Body, as Discord does) any message over a documented limit
// and answers 204 to the others.
func receiver(t *testing.T, got *[]discord.Message) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		invalid := func(why string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"message":"Invalid Form Body","code":50035,"why":%q}`, why)
		}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" || !webhookPath.MatchString(r.URL.Path) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Unknown Webhook","code":10015}`)
			return
		}
		var m discord.Message
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			invalid(err.Error())
			return
		}
		if m.Content == "" && len(m.Embeds) == 0 {
			invalid("empty message")
			return
		}
		if jsLen(m.Content) > 2000 || len(m.Embeds) > 10 {
			invalid("content or embeds")
			return
		}
		total := 0
		for _, e := range m.Embeds {
			if jsLen(e.Title) > 256 || jsLen(e.Description) > 4096 || len(e.Fields) > 25 {
				invalid("title, description or fields")
				return
			}
			total += jsLen(e.Title) + jsLen(e.Description)
			for _, f := range e.Fields {
				if f.Name == "" || f.Value == "" || jsLen(f.Name) > 256 || jsLen(f.Value) > 1024 {
					invalid("field")
					return
				}
				total += jsLen(f.Name) + jsLen(f.Value)
			}
			if e.Footer != nil {
				if jsLen(e.Footer.Text) > 2048 {
					invalid("footer")
					return
				}
				total += jsLen(e.Footer.Text)
			}
			if e.Author != nil {
				total += jsLen(e.Author.Name)
			}
			if e.Timestamp != "" {
				if _, err := time.Parse(time.RFC3339, e.Timestamp); err != nil {
					invalid("timestamp")
					return
				}
			}
			if e.Color < 0 || e.Color > 0xFFFFFF {
				invalid("color")
				return
			}
		}
		if total > 6000 {
			invalid(fmt.Sprintf("embeds total %d characters", total))
			return
		}
		*got = append(*got, m)
		w.WriteHeader(http.StatusNoContent)
	}))
}

const hookPath = "/api/webhooks/1234567890/tok_EN-abc"

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

func TestWebhookReceiver(t *testing.T) {
	t.Parallel()
	var got []discord.Message
	srv := receiver(t, &got)
	defer srv.Close()

	// A 1 MB string in every text the event carries; 😀 counts twice in UTF-16.
	huge := strings.Repeat("😀x", 1<<19)
	big := notifytest.Deployment("deployment.failed")
	big.Event.ProductName, big.Event.Version, big.Event.EnvironmentName = huge, huge, huge
	big.ActorName, big.ErrorMessage = huge, huge
	for _, m := range []notify.Message{notifytest.Deployment("deployment.completed"), notifytest.Build("build.aborted"), big} {
		if o := send(t, srv.URL+hookPath, m); !o.OK || o.StatusCode != http.StatusNoContent {
			t.Fatalf("%s: outcome %+v", m.Event.Type, o)
		}
	}
	e := got[0].Embeds[0]
	if e.Title != "✅ my-service 1.2.3 deployed to production" {
		t.Errorf("title = %q (Slack's wording)", e.Title)
	}
	if e.URL != "https://shiplog.example.com/deployments/"+notifytest.DeploymentID || !strings.Contains(e.Description, "[CI run](https://ci.example.com/") {
		t.Errorf("links: url %q description %q", e.URL, e.Description)
	}
	var names []string
	for _, f := range e.Fields {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "Product,Version,Environment,Status,Deployed by,When" {
		t.Errorf("fields = %v", names)
	}
	if got[1].Embeds[0].Fields[3].Name != "Built by" {
		t.Errorf("build fields = %+v", got[1].Embeds[0].Fields)
	}
}

// TestFit checks the limits on a message shiplog's renderer would never
// make: Fit must bring any message within every documented limit.
func TestFit(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é😀", 5000)
	var fields []discord.Field
	for range 30 {
		fields = append(fields, discord.Field{Name: long, Value: long})
	}
	m := discord.Message{Content: long, Embeds: slices.Repeat([]discord.Embed{{
		Title: long, Description: long, Fields: fields, Footer: &discord.Footer{Text: long}, Author: &discord.Author{Name: long},
	}}, 12)}
	discord.Fit(&m)
	if len(m.Embeds) != discord.MaxEmbeds || discord.Len(m.Content) > discord.MaxContent {
		t.Errorf("embeds %d, content %d", len(m.Embeds), discord.Len(m.Content))
	}
	if total := discord.Total(m); total > discord.MaxEmbedsTotal {
		t.Errorf("total = %d", total)
	}
	for _, e := range m.Embeds {
		if len(e.Fields) > discord.MaxFields || discord.Len(e.Title) > discord.MaxTitle || discord.Len(e.Footer.Text) > discord.MaxFooter {
			t.Fatalf("embed over a limit")
		}
		for _, f := range e.Fields {
			if discord.Len(f.Name) > discord.MaxFieldName || discord.Len(f.Value) > discord.MaxFieldValue {
				t.Fatalf("field over a limit")
			}
		}
	}
}

func TestRenderEscapesMarkdownAndMentions(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment("deployment.failed")
	m.Event.ProductName = "[click](https://evil.example)"
	m.ActorName = "<@123> **boss**"
	body, err := discord.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	s := string(body)
	for _, bad := range []string{"[click](", "<@123>", "**boss**"} {
		if strings.Contains(s, bad) {
			t.Errorf("unescaped %q in %s", bad, s)
		}
	}
	if !strings.Contains(s, `"allowed_mentions":{"parse":[]}`) {
		t.Errorf("mentions not disabled: %s", s)
	}
}

func TestSendClassifies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status             int
		header, body       string
		ok, retry, disable bool
		wait               time.Duration
	}{
		{status: 204, ok: true},
		{status: 200, ok: true, body: `{"id":"1"}`},
		{status: 429, header: "2", body: `{"message":"You are being rate limited.","retry_after":1.5,"global":false}`, retry: true, wait: 1500 * time.Millisecond},
		{status: 429, header: "3", retry: true, wait: 3 * time.Second},
		{status: 500, retry: true},
		{status: 502, retry: true},
		{status: 404, body: `{"message":"Unknown Webhook","code":10015}`, disable: true},
		{status: 401, body: `{"message":"Invalid Webhook Token","code":50027}`, disable: true},
		{status: 400, body: `{"message":"Invalid Form Body","code":50035}`},
		{status: 403, body: `{"message":"Missing Permissions","code":50013}`},
	}
	for _, tt := range tests {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.header != "" {
				w.Header().Set("Retry-After", tt.header)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tt.status)
			fmt.Fprint(w, tt.body)
		}))
		o := send(t, srv.URL+hookPath, notifytest.Deployment("deployment.started"))
		srv.Close()
		if o.OK != tt.ok || o.Retryable != tt.retry || o.Disable != tt.disable || o.RetryAfter != tt.wait || o.StatusCode != tt.status {
			t.Errorf("%d %s: outcome %+v", tt.status, tt.body, o)
		}
		if !o.OK && o.Err == "" {
			t.Errorf("%d: no reason", tt.status)
		}
	}
}

func FuzzClassify(f *testing.F) {
	f.Add(429, `{"retry_after":1e308}`)
	f.Add(404, `{"code":10015}`)
	f.Add(429, `{"retry_after":-1}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		ok, retry, disable, wait, reason := discord.Classify(status, http.Header{}, []byte(body), time.Unix(0, 0))
		if wait < 0 || wait > 24*time.Hour {
			t.Fatalf("wait %v", wait)
		}
		if ok && (retry || disable || reason != "") || !ok && reason == "" || retry && disable {
			t.Fatalf("%d %q: ok %v retry %v disable %v reason %q", status, body, ok, retry, disable, reason)
		}
	})
}

func TestValidate(t *testing.T) {
	t.Parallel()
	ok := []string{
		"https://discord.com/api/webhooks/123456789012345678/AbC-dEf_123",
		"https://discordapp.com/api/webhooks/1/t",
		"https://canary.discord.com/api/v10/webhooks/1/t/",
		"https://discord.com/api/webhooks/1/t?thread_id=42",
		"http://127.0.0.1:9999" + hookPath,
		"http://localhost" + hookPath,
	}
	for _, u := range ok {
		if _, err := kind.Validate(&shiplog.Channel{URL: u}); err != nil {
			t.Errorf("%s refused: %v", u, err)
		}
	}
	bad := map[string]string{
		"":                                     "required",
		"https://example.com/api/webhooks/1/t": "on discord.com",
		"https://discord.com.evil.io/api/webhooks/1/t": "on discord.com",
		"http://discord.com/api/webhooks/1/t":          "https://discord.com/api/webhooks",
		"https://discord.com/channels/1/2":             "is not one",
		"https://discord.com/api/webhooks/abc/t":       "is not one",
		"http://127.0.0.1:9999/hook":                   "is not one",
		"https://1.1.1.1/api/webhooks/1/t":             "on discord.com",
	}
	for u, want := range bad {
		_, err := kind.Validate(&shiplog.Channel{URL: u})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", u, err, want)
		}
	}
	if _, err := kind.Validate(&shiplog.Channel{URL: ok[0], Config: map[string]any{"recipients": []string{"a@b.c"}}}); err == nil {
		t.Error("recipients accepted")
	}
}

func TestSpec(t *testing.T) {
	t.Parallel()
	s := kind.Spec()
	if s.Name != "discord" || !s.URLIsSecret || len(s.Fields) != 1 || s.Fields[0].Key != "url" {
		t.Errorf("spec = %+v", s)
	}
	if got := s.Events(nil); !slices.Equal(got, notify.CICDEvents) {
		t.Errorf("events = %v", got)
	}
}
