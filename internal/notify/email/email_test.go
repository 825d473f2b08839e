package email_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
)

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range notifytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			msg, err := email.Render(tc.Msg)
			if err != nil {
				t.Fatal(err)
			}
			got := "Subject: " + msg.Subject + "\n\n=== text/plain ===\n" + msg.Text + "\n=== text/html ===\n" + msg.HTML
			notifytest.Golden(t, tc.Name+".txt", []byte(got))
		})
	}
}

func TestRenderSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg  notify.Message
		want string
	}{
		{notifytest.Deployment("deployment.completed"), "✅ my-service 1.2.3 deployed to production"},
		{notifytest.Deployment("deployment.failed"), "❌ my-service 1.2.3 failed to deploy to production"},
		{notifytest.Deployment("deployment.started"), "🚀 my-service 1.2.3 deploying to production"},
		{notifytest.Deployment("deployment.aborted"), "🛑 my-service 1.2.3 deployment to production aborted"},
		{notifytest.Deployment("deployment.preflight_failed"), "🚫 my-service 1.2.3 blocked by preflight checks for production"},
		{notifytest.Build("build.completed"), "✅ my-service 1.2.3 built"},
		{notifytest.Build("build.failed"), "❌ my-service 1.2.3 failed to build"},
		{notifytest.Build("build.started"), "🔨 my-service 1.2.3 building"},
	}
	for _, tt := range tests {
		t.Run(string(tt.msg.Event.Type), func(t *testing.T) {
			t.Parallel()
			msg, err := email.Render(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if msg.Subject != tt.want {
				t.Errorf("Subject = %q, want %q", msg.Subject, tt.want)
			}
		})
	}
}

func TestRenderContent(t *testing.T) {
	t.Parallel()
	msg, err := email.Render(notifytest.Deployment("deployment.completed"))
	if err != nil {
		t.Fatal(err)
	}
	// The seed: product name, environment, status, deployer, timestamp, link.
	for _, want := range []string{
		"my-service", "production", "completed", "Jane Doe", "2026-05-24 14:06:05 UTC",
		"https://shiplog.example.com/deployments/" + notifytest.DeploymentID,
	} {
		if !strings.Contains(msg.Text, want) {
			t.Errorf("text lacks %q", want)
		}
		if !strings.Contains(msg.HTML, want) {
			t.Errorf("html lacks %q", want)
		}
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment("deployment.failed")
	m.Event.ProductName = "<b>evil</b>"
	m.ErrorMessage = "<script>alert(1)</script>"
	m.RunURL = "javascript:alert(1)"
	m.ActorName = "x\r\nBcc: victim@example.com"
	msg, err := email.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<b>evil", "<script>", "javascript:"} {
		if strings.Contains(msg.HTML, bad) {
			t.Errorf("html contains %q", bad)
		}
	}
	if !strings.Contains(msg.HTML, "&lt;b&gt;evil&lt;/b&gt;") {
		t.Error("html lacks the escaped product name")
	}
	if strings.ContainsAny(msg.Subject, "\r\n") {
		t.Errorf("subject has a line break: %q", msg.Subject)
	}
	if strings.Contains(msg.Text, "\nBcc:") {
		t.Error("text body lets a name start a new line")
	}
}

func TestRenderUnsupported(t *testing.T) {
	t.Parallel()
	if _, err := email.Render(notifytest.Deployment(shiplog.EventVersionApproved)); !errors.Is(err, notify.ErrUnsupportedEvent) {
		t.Fatalf("err = %v, want ErrUnsupportedEvent", err)
	}
}
