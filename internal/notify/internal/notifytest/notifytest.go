// Package notifytest holds the fixtures and golden-file helper the channel
// packages' tests share, so every channel is tested against the same events.
package notifytest

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// Golden compares got with testdata/<name>, rewriting the file under -update.
func Golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run go test -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// When is the fixed time of every fixture event.
var When = time.Date(2026, 5, 24, 14, 6, 5, 890103000, time.UTC)

const (
	DeploymentID = "ac37da84-0891-48ae-9011-6500665804ee"
	BuildID      = "0196f1c2-7a3b-7c4d-8e5f-a0b1c2d3e4f5"
	BaseURL      = "https://shiplog.example.com/"
)

// Case is one named fixture.
type Case struct {
	Name string
	Msg  notify.Message
}

// Deployment returns a fully populated deployment message of the given type.
func Deployment(t shiplog.EventType) notify.Message {
	status := shiplog.Status(t[len("deployment."):])
	if t == shiplog.EventDeploymentPreflightFailed {
		status = shiplog.StatusPending
	}
	return notify.Message{
		Event: shiplog.Event{
			ID:              "0196f1c2-0000-7000-8000-000000000001",
			Type:            t,
			Kind:            shiplog.KindDeployment,
			SubjectID:       DeploymentID,
			ProductName:     "my-service",
			Version:         "1.2.3",
			EnvironmentName: "production",
			EnvironmentType: shiplog.EnvProduction,
			Status:          status,
			Actor:           "jane",
			ScmSHA:          "a3f9c2d1e4b5f60718293a4b5c6d7e8f90a1b2c3",
			ScmRepository:   "acme/my-service",
			PreflightStatus: "passed",
			OccurredAt:      When,
		},
		BaseURL:    BaseURL,
		ActorName:  "Jane Doe",
		ActorEmail: "jane@example.com",
		RunURL:     "https://ci.example.com/acme/my-service/runs/42",
	}
}

// Build returns a fully populated build message of the given type.
func Build(t shiplog.EventType) notify.Message {
	return notify.Message{
		Event: shiplog.Event{
			ID:            "0196f1c2-0000-7000-8000-000000000002",
			Type:          t,
			Kind:          shiplog.KindBuild,
			SubjectID:     BuildID,
			ProductName:   "my-service",
			Version:       "1.2.3",
			Status:        shiplog.Status(t[len("build."):]),
			Actor:         "github-actions",
			ScmSHA:        "a3f9c2d1e4b5f60718293a4b5c6d7e8f90a1b2c3",
			ScmRepository: "acme/my-service",
			OccurredAt:    When,
		},
		BaseURL: BaseURL,
		RunURL:  "https://ci.example.com/acme/my-service/runs/41",
	}
}

// Cases covers every deployment and build event type, plus the edge cases a
// renderer must survive: hostile user text and a minimal event.
func Cases() []Case {
	var cs []Case
	for _, s := range []string{"pending", "started", "completed", "failed", "aborted", "preflight_failed"} {
		m := Deployment(shiplog.EventType("deployment." + s))
		if s == "failed" {
			m.ErrorMessage = "Lambda timeout after 30s"
		}
		if s == "preflight_failed" {
			m.Event.PreflightStatus = "failed"
		}
		cs = append(cs, Case{"deployment_" + s, m})
	}
	for _, s := range []string{"pending", "started", "completed", "failed", "aborted"} {
		m := Build(shiplog.EventType("build." + s))
		if s == "failed" {
			m.ErrorMessage = "Compilation failed"
		}
		cs = append(cs, Case{"build_" + s, m})
	}

	hostile := Deployment("deployment.failed")
	hostile.Event.ProductName = "<b>evil</b> & co"
	hostile.Event.Version = "1.0.0<script>alert(1)</script>"
	hostile.Event.EnvironmentName = "prod <!channel>"
	hostile.ActorName = "Mallory <@U123|admin> & \"friends\""
	hostile.ActorEmail = ""
	hostile.RunURL = "javascript:alert(1)"
	hostile.ErrorMessage = "<https://evil.example|click me> & more"
	cs = append(cs, Case{"deployment_hostile_text", hostile})

	minimal := notify.Message{Event: shiplog.Event{
		ID:              "0196f1c2-0000-7000-8000-000000000003",
		Type:            "deployment.started",
		SubjectID:       DeploymentID,
		ProductName:     "api",
		EnvironmentName: "staging",
		Status:          shiplog.StatusStarted,
		OccurredAt:      When,
	}}
	cs = append(cs, Case{"deployment_minimal", minimal})
	return cs
}
