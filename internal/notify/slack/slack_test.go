package slack_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
	"github.com/shiplog/shiplog/internal/notify/slack"
)

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range notifytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			got, err := slack.Render(tc.Msg)
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

type rendered struct {
	Text   string `json:"text"`
	Blocks []struct {
		Type     string `json:"type"`
		Text     *struct{ Text string }
		Fields   []struct{ Text string }
		Elements []struct{ Text string }
	} `json:"blocks"`
}

func render(t *testing.T, m notify.Message) (rendered, string) {
	t.Helper()
	body, err := slack.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	var r rendered
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	return r, string(body)
}

func TestRenderFallbackText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  notify.Message
		want string
	}{
		{notifytest.Deployment("deployment.completed"), "✅ my-service 1.2.3 deployed to production by Jane Doe"},
		{notifytest.Deployment("deployment.failed"), "❌ my-service 1.2.3 failed to deploy to production by Jane Doe"},
		{notifytest.Deployment("deployment.pending"), "⏳ my-service 1.2.3 queued for deployment to production by Jane Doe"},
		{notifytest.Deployment("deployment.preflight_failed"), "🚫 my-service 1.2.3 blocked by preflight checks for production by Jane Doe"},
		{notifytest.Build("build.started"), "🔨 my-service 1.2.3 building by github-actions"},
		{notifytest.Build("build.aborted"), "🛑 my-service 1.2.3 build aborted by github-actions"},
	}
	for _, tt := range tests {
		t.Run(string(tt.msg.Event.Type), func(t *testing.T) {
			t.Parallel()
			r, _ := render(t, tt.msg)
			if r.Text != tt.want {
				t.Errorf("text = %q, want %q", r.Text, tt.want)
			}
		})
	}
}

func TestRenderEscapesUserText(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment("deployment.failed")
	m.Event.ProductName = "<!channel>"
	m.Event.EnvironmentName = "a&b"
	m.ActorName = "<@U123|admin>"
	m.ErrorMessage = "<https://evil.example|click>"
	_, body := render(t, m)
	for _, bad := range []string{"<!channel>", "<@U123", "<https://evil", "a&b"} {
		if strings.Contains(body, bad) {
			t.Errorf("unescaped %q in %s", bad, body)
		}
	}
	for _, good := range []string{"&lt;!channel&gt;", "a&amp;b", "&lt;@U123|admin&gt;"} {
		if !strings.Contains(body, good) {
			t.Errorf("missing %q in %s", good, body)
		}
	}
	// Our own markup survives.
	if !strings.Contains(body, "<https://shiplog.example.com/deployments/"+notifytest.DeploymentID+"|View in shiplog>") {
		t.Errorf("shiplog link missing in %s", body)
	}
}

func TestRenderFieldsAndLinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		msg        notify.Message
		fields     []string // field labels in order
		contextHas []string
		noContext  bool
	}{
		{
			name:       "deployment",
			msg:        notifytest.Deployment("deployment.completed"),
			fields:     []string{"Product", "Version", "Environment", "Status", "Deployed by", "When"},
			contextHas: []string{"View in shiplog", "CI run"},
		},
		{
			name:       "build has no environment",
			msg:        notifytest.Build("build.completed"),
			fields:     []string{"Product", "Version", "Status", "Built by", "When"},
			contextHas: []string{"/builds/" + notifytest.BuildID},
		},
		{
			name: "unknown values are left out, not shown empty",
			msg: notify.Message{Event: shiplog.Event{
				Type: "deployment.started", SubjectID: "d1", ProductName: "api", EnvironmentName: "dev",
			}},
			fields:    []string{"Product", "Environment", "Status"},
			noContext: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r, _ := render(t, tt.msg)
			var labels []string
			for _, f := range r.Blocks[1].Fields {
				label, _, _ := strings.Cut(f.Text, "\n")
				labels = append(labels, strings.Trim(label, "*"))
			}
			if strings.Join(labels, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields = %v, want %v", labels, tt.fields)
			}
			last := r.Blocks[len(r.Blocks)-1]
			if tt.noContext {
				if last.Type == "context" {
					t.Errorf("unexpected context block %+v", last)
				}
				return
			}
			if last.Type != "context" {
				t.Fatalf("last block is %q, want context", last.Type)
			}
			for _, s := range tt.contextHas {
				if !strings.Contains(last.Elements[0].Text, s) {
					t.Errorf("context %q lacks %q", last.Elements[0].Text, s)
				}
			}
		})
	}
}

func TestRenderTruncates(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment("deployment.failed")
	m.Event.ProductName = strings.Repeat("p", 500)
	m.ErrorMessage = strings.Repeat("line\n", 1000)
	r, body := render(t, m)
	if n := len([]rune(r.Text)); n > 150 {
		t.Errorf("fallback text has %d runes", n)
	}
	if len(body) > 3000 {
		t.Errorf("message is %d bytes; should stay phone-sized", len(body))
	}
	if !strings.HasSuffix(r.Text, "…") {
		t.Errorf("truncation not marked: %q", r.Text)
	}
}

func TestRenderUnsupported(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment(shiplog.EventVersionApproved)
	if _, err := slack.Render(m); !errors.Is(err, notify.ErrUnsupportedEvent) {
		t.Fatalf("err = %v, want ErrUnsupportedEvent", err)
	}
}

func TestClassifyResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  int
		body    string
		retry   bool
		disable bool
		reason  string
	}{
		{200, "ok", false, false, ""},
		{404, "no_service", false, true, "no_service (HTTP 404)"},
		{410, "channel_is_archived", false, true, "channel_is_archived (HTTP 410)"},
		{410, "", false, true, "HTTP 410"},
		{403, "action_prohibited", false, false, "action_prohibited (HTTP 403)"},
		{403, "invalid_token", false, false, "invalid_token (HTTP 403)"},
		{400, "invalid_payload", false, false, "invalid_payload (HTTP 400)"},
		{404, "channel_not_found", false, false, "channel_not_found (HTTP 404)"},
		{429, `{"retry_after":1,"ok":false,"error":"rate_limited"}`, true, false, "rate_limited (HTTP 429)"},
		{500, "rollup_error", true, false, "rollup_error (HTTP 500)"},
		{502, "<html><body>Bad Gateway</body></html>", true, false, "HTTP 502"},
		{408, "", true, false, "HTTP 408"},
		{302, "", false, false, "HTTP 302"},
	}
	for _, tt := range tests {
		t.Run(tt.reason, func(t *testing.T) {
			t.Parallel()
			retry, disable, reason := slack.ClassifyResponse(tt.status, []byte(tt.body))
			if retry != tt.retry || disable != tt.disable || reason != tt.reason {
				t.Errorf("ClassifyResponse(%d, %q) = %v, %v, %q; want %v, %v, %q",
					tt.status, tt.body, retry, disable, reason, tt.retry, tt.disable, tt.reason)
			}
		})
	}
}
