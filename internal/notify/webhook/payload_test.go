package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
	"github.com/shiplog/shiplog/internal/notify/webhook"
)

func TestRenderEventGolden(t *testing.T) {
	t.Parallel()
	for _, tc := range notifytest.Cases() {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.RenderEvent(tc.Msg)
			if err != nil {
				t.Fatal(err)
			}
			// The golden file holds the exact bytes that get signed.
			notifytest.Golden(t, "event/"+tc.Name+".json", got)
		})
	}
}

func TestRenderEventFieldOrder(t *testing.T) {
	t.Parallel()
	got, err := webhook.RenderEvent(notifytest.Deployment("deployment.completed"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"id", "deployed_at", "event_type", "environment", "is_successful", "deployer",
		"product_name", "version", "repo_name", "commit_sha", "preflight_status", "source_url"}
	last := -1
	for _, k := range keys {
		i := strings.Index(string(got), `"`+k+`":`)
		if i <= last {
			t.Fatalf("key %q out of order or missing in %s", k, got)
		}
		last = i
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, got); err != nil || !bytes.Equal(compact.Bytes(), got) {
		t.Errorf("body is not compact JSON: %s", got)
	}
}

func TestRenderEventIsSuccessful(t *testing.T) {
	t.Parallel()
	// The seed's is_successful table, row for row.
	tests := []struct {
		eventType shiplog.EventType
		want      string
	}{
		{"deployment.completed", "true"},
		{"deployment.failed", "false"},
		{"deployment.preflight_failed", "false"},
		{"deployment.pending", "null"},
		{"deployment.started", "null"},
		{"deployment.aborted", "null"},
		{"build.pending", "null"},
		{"build.started", "null"},
		{"build.completed", "null"},
		{"build.failed", "null"},
		{"build.aborted", "null"},
	}
	for _, tt := range tests {
		t.Run(string(tt.eventType), func(t *testing.T) {
			t.Parallel()
			m := notifytest.Deployment(tt.eventType)
			if strings.HasPrefix(string(tt.eventType), "build.") {
				m = notifytest.Build(tt.eventType)
			}
			fields := decode(t, m)
			if got := string(fields["is_successful"]); got != tt.want {
				t.Errorf("is_successful = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRenderEventShape(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  notify.Message
		want map[string]string // raw JSON values
	}{
		{
			name: "deployment",
			msg:  notifytest.Deployment("deployment.completed"),
			want: map[string]string{
				"id":          `"` + notifytest.DeploymentID + `"`,
				"deployed_at": `"2026-05-24T14:06:05.890103+00:00"`,
				"environment": `"production"`,
				"deployer":    `"Jane Doe"`,
				"source_url":  `"https://shiplog.example.com/deployments/` + notifytest.DeploymentID + `"`,
			},
		},
		{
			// The seed marks environment a non-nullable string; a build targets none.
			name: "build: id is the build, deployer is built_by, environment empty, never null",
			msg:  notifytest.Build("build.completed"),
			want: map[string]string{
				"id":          `"` + notifytest.BuildID + `"`,
				"environment": `""`,
				"deployer":    `"github-actions"`,
				"source_url":  `"https://shiplog.example.com/builds/` + notifytest.BuildID + `"`,
			},
		},
		{
			name: "nullable fields are null when empty",
			msg: notify.Message{Event: shiplog.Event{
				Type: "deployment.started", SubjectID: "d1", EnvironmentName: "dev",
				OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
			}},
			want: map[string]string{
				"deployed_at": `"2026-01-02T02:04:05.000000+00:00"`,
				"deployer":    "null", "product_name": "null", "version": "null", "repo_name": "null",
				"commit_sha": "null", "preflight_status": "null", "source_url": "null",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fields := decode(t, tt.msg)
			if len(fields) != 12 {
				t.Errorf("payload has %d fields, want 12", len(fields))
			}
			for k, want := range tt.want {
				if got := string(fields[k]); got != want {
					t.Errorf("%s = %s, want %s", k, got, want)
				}
			}
		})
	}
}

func TestRenderEventErrors(t *testing.T) {
	t.Parallel()
	noEnv := notifytest.Deployment("deployment.completed")
	noEnv.Event.EnvironmentName = ""
	noSubject := notifytest.Build("build.completed")
	noSubject.Event.SubjectID = ""
	noTime := notifytest.Build("build.completed")
	noTime.Event.OccurredAt = time.Time{}
	mismatch := notifytest.Build("deployment.completed")
	governance := notify.Message{Event: shiplog.Event{Type: shiplog.EventVersionApproved, SubjectID: "v1", OccurredAt: notifytest.When}}

	tests := []struct {
		name        string
		msg         notify.Message
		unsupported bool
	}{
		{"deployment without environment", noEnv, false},
		{"no subject id", noSubject, false},
		{"no time", noTime, false},
		{"kind and type disagree", mismatch, false},
		{"governance event", governance, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := webhook.RenderEvent(tt.msg)
			if err == nil {
				t.Fatal("want error")
			}
			if got := errors.Is(err, notify.ErrUnsupportedEvent); got != tt.unsupported {
				t.Errorf("errors.Is(ErrUnsupportedEvent) = %v, want %v (err %v)", got, tt.unsupported, err)
			}
		})
	}
}

func TestRenderDRGolden(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 25, 9, 22, 11, 4321000, time.UTC)
	base := webhook.DR{
		OccurredAt:       at,
		ID:               "7f3a1b2c-4d5e-6f7a-8b9c-0d1e2f3a4b5c",
		Name:             "Q4 2025 Release",
		URL:              "https://shiplog.example.com/deployment-requests/7f3a1b2c-4d5e-6f7a-8b9c-0d1e2f3a4b5c",
		Status:           "in_progress",
		EnvironmentNames: []string{"production"},
		Actor:            "Phil Austin",
	}
	activated := base
	activated.EventType = webhook.EventDRActivated
	approved := base
	approved.EventType = webhook.EventDRApproved
	approved.Actor = "Jane Smith"
	approved.ApprovalType = "qa"
	approved.ApproverRole = "qa_engineer"
	approved.SlotStatus = "approved"
	approved.Comments = "All regression tests passed."
	created := base
	created.EventType = webhook.EventDRCreated
	created.Status = "draft"
	created.EnvironmentNames = nil
	created.Actor = ""

	for name, in := range map[string]webhook.DR{"dr_activated": activated, "dr_approved": approved, "dr_created_minimal": created} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.RenderDR(in)
			if err != nil {
				t.Fatal(err)
			}
			notifytest.Golden(t, "governance/"+name+".json", got)
		})
	}
}

func TestRenderDRErrors(t *testing.T) {
	t.Parallel()
	ok := webhook.DR{EventType: webhook.EventDRCancelled, OccurredAt: notifytest.When, ID: "d", Name: "n", URL: "u", Status: "cancelled"}
	if _, err := webhook.RenderDR(ok); err != nil {
		t.Fatalf("valid DR: %v", err)
	}
	wrongType := ok
	wrongType.EventType = "deployment.completed"
	if _, err := webhook.RenderDR(wrongType); !errors.Is(err, notify.ErrUnsupportedEvent) {
		t.Errorf("wrong type: err = %v", err)
	}
	missing := ok
	missing.Name, missing.OccurredAt = "", time.Time{}
	_, err := webhook.RenderDR(missing)
	if err == nil || !strings.Contains(err.Error(), "dr_name, occurred_at") {
		t.Errorf("missing fields: err = %v", err)
	}
}

func TestRenderVersionApprovedGolden(t *testing.T) {
	t.Parallel()
	full := webhook.VersionApproval{
		OccurredAt:      time.Date(2026, 5, 25, 8, 55, 44, 112233000, time.UTC),
		VersionID:       "a1b2c3d4-e5f6-7890-abcd-ef1234567890",
		ProductName:     "api-service",
		Version:         "2.4.1",
		ApprovalType:    "qa",
		ApproverRole:    "qa_engineer",
		EnvironmentName: "staging",
		Comments:        "Load tests passed, ready for production.",
		Actor:           "Jane Smith",
	}
	minimal := full
	minimal.EnvironmentName, minimal.Comments, minimal.Actor = "", "", ""
	for name, in := range map[string]webhook.VersionApproval{"version_approved": full, "version_approved_minimal": minimal} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := webhook.RenderVersionApproved(in)
			if err != nil {
				t.Fatal(err)
			}
			notifytest.Golden(t, "governance/"+name+".json", got)
		})
	}
	bad := full
	bad.ApproverRole = ""
	if _, err := webhook.RenderVersionApproved(bad); err == nil {
		t.Error("missing approver_role: want error")
	}
}

func decode(t *testing.T, m notify.Message) map[string]json.RawMessage {
	t.Helper()
	body, err := webhook.RenderEvent(m)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	return fields
}
