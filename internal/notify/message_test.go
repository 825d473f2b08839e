package notify_test

import (
	"errors"
	"testing"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
)

func TestHeadline(t *testing.T) {
	t.Parallel()
	tests := []struct {
		msg      notify.Message
		icon     string
		headline string
	}{
		{notifytest.Deployment("deployment.pending"), "⏳", "my-service 1.2.3 queued for deployment to production"},
		{notifytest.Deployment("deployment.started"), "🚀", "my-service 1.2.3 deploying to production"},
		{notifytest.Deployment("deployment.completed"), "✅", "my-service 1.2.3 deployed to production"},
		{notifytest.Deployment("deployment.failed"), "❌", "my-service 1.2.3 failed to deploy to production"},
		{notifytest.Deployment("deployment.aborted"), "🛑", "my-service 1.2.3 deployment to production aborted"},
		{notifytest.Deployment("deployment.preflight_failed"), "🚫", "my-service 1.2.3 blocked by preflight checks for production"},
		{notifytest.Build("build.pending"), "⏳", "my-service 1.2.3 build queued"},
		{notifytest.Build("build.started"), "🔨", "my-service 1.2.3 building"},
		{notifytest.Build("build.completed"), "✅", "my-service 1.2.3 built"},
		{notifytest.Build("build.failed"), "❌", "my-service 1.2.3 failed to build"},
		{notifytest.Build("build.aborted"), "🛑", "my-service 1.2.3 build aborted"},
	}
	for _, tt := range tests {
		t.Run(string(tt.msg.Event.Type), func(t *testing.T) {
			t.Parallel()
			got, err := notify.Headline(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.headline {
				t.Errorf("Headline = %q, want %q", got, tt.headline)
			}
			if icon := notify.Icon(tt.msg.Event.Type); icon != tt.icon {
				t.Errorf("Icon = %q, want %q", icon, tt.icon)
			}
		})
	}
}

func TestHeadlineUnsupported(t *testing.T) {
	t.Parallel()
	m := notifytest.Deployment(shiplog.EventVersionApproved)
	if _, err := notify.Headline(m); !errors.Is(err, notify.ErrUnsupportedEvent) {
		t.Fatalf("err = %v, want ErrUnsupportedEvent", err)
	}
}

func TestMessageURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  notify.Message
		want string
	}{
		{"deployment", notifytest.Deployment("deployment.completed"), "https://shiplog.example.com/deployments/" + notifytest.DeploymentID},
		{"build", notifytest.Build("build.completed"), "https://shiplog.example.com/builds/" + notifytest.BuildID},
		{"kind from type", notify.Message{BaseURL: "http://x", Event: shiplog.Event{Type: "build.started", SubjectID: "b1"}}, "http://x/builds/b1"},
		{"no base url", notify.Message{Event: shiplog.Event{Type: "build.started", SubjectID: "b1"}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.msg.URL(); got != tt.want {
				t.Errorf("URL = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestMessageWhoAndRunURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		msg     notify.Message
		who     string
		safeRun string
	}{
		{"display name wins", notify.Message{ActorName: "Jane", Event: shiplog.Event{Actor: "jane"}, RunURL: "https://ci/1"}, "Jane", "https://ci/1"},
		{"falls back to actor", notify.Message{Event: shiplog.Event{Actor: " jane "}, RunURL: "http://ci/1"}, "jane", "http://ci/1"},
		{"javascript url dropped", notify.Message{RunURL: "javascript:alert(1)"}, "", ""},
		{"relative url dropped", notify.Message{RunURL: "/runs/1"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.msg.Who(); got != tt.who {
				t.Errorf("Who = %q, want %q", got, tt.who)
			}
			if got := tt.msg.SafeRunURL(); got != tt.safeRun {
				t.Errorf("SafeRunURL = %q, want %q", got, tt.safeRun)
			}
		})
	}
}
