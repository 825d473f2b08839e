package shiplog_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
)

func TestParseStatus(t *testing.T) {
	t.Parallel()
	D, B := shiplog.KindDeployment, shiplog.KindBuild
	tests := []struct {
		kind shiplog.Kind
		in   string
		want shiplog.Status // "" means refused
	}{
		// Every word of the seeds' tables, for both kinds.
		{D, "pending", "pending"}, {D, "queued", "pending"}, {D, "scheduled", "pending"},
		{D, "started", "started"}, {D, "in_progress", "started"}, {D, "init", "started"}, {D, "deploying", "started"},
		{D, "success", "completed"}, {D, "completed", "completed"}, {D, "complete", "completed"},
		{D, "finished", "completed"}, {D, "deployed", "completed"},
		{D, "failed", "failed"}, {D, "fail", "failed"}, {D, "failure", "failed"}, {D, "error", "failed"},
		{D, "aborted", "aborted"}, {D, "abort", "aborted"}, {D, "cancelled", "aborted"}, {D, "cancel", "aborted"}, {D, "skipped", "aborted"},
		{B, "pending", "pending"}, {B, "queued", "pending"}, {B, "scheduled", "pending"},
		{B, "started", "started"}, {B, "in_progress", "started"}, {B, "init", "started"}, {B, "building", "started"},
		{B, "success", "completed"}, {B, "completed", "completed"}, {B, "complete", "completed"},
		{B, "finished", "completed"}, {B, "built", "completed"},
		{B, "failed", "failed"}, {B, "fail", "failed"}, {B, "failure", "failed"}, {B, "error", "failed"},
		{B, "aborted", "aborted"}, {B, "abort", "aborted"}, {B, "cancelled", "aborted"}, {B, "cancel", "aborted"}, {B, "skipped", "aborted"},
		// Case-insensitive and trimmed.
		{D, "  SUCCESS ", "completed"}, {B, "In_Progress", "started"}, {D, "\tFailed\n", "failed"},
		// Kind-specific words stay with their kind.
		{D, "built", ""}, {D, "building", ""}, {B, "deployed", ""}, {B, "deploying", ""},
		// Unknown words.
		{D, "", ""}, {D, "succeeded", ""}, {B, "canceled", ""}, {D, "in progress", ""},
	}
	for _, tt := range tests {
		got, ok := shiplog.ParseStatus(tt.kind, tt.in)
		if tt.want == "" {
			if ok {
				t.Errorf("ParseStatus(%s, %q) = %q, want refusal", tt.kind, tt.in, got)
			}
			continue
		}
		if !ok || got != tt.want {
			t.Errorf("ParseStatus(%s, %q) = %q, %v; want %q", tt.kind, tt.in, got, ok, tt.want)
		}
		if et := shiplog.TypeOf(tt.kind, got); string(et) != string(tt.kind)+"."+string(tt.want) {
			t.Errorf("TypeOf = %q", et)
		}
	}
}

func TestStatusWordsListsEveryAcceptedWord(t *testing.T) {
	t.Parallel()
	for _, k := range []shiplog.Kind{shiplog.KindDeployment, shiplog.KindBuild} {
		words := shiplog.StatusWords(k)
		if len(words) != 21 {
			t.Errorf("%s: %d words, want 21: %v", k, len(words), words)
		}
		for _, w := range words {
			if _, ok := shiplog.ParseStatus(k, w); !ok {
				t.Errorf("%s: listed word %q is refused", k, w)
			}
		}
	}
	if got := strings.Join(shiplog.StatusWords(shiplog.KindBuild), ","); !strings.Contains(got, "building") || strings.Contains(got, "deployed") {
		t.Errorf("build words = %s", got)
	}
}

func TestInferEnvType(t *testing.T) {
	t.Parallel()
	tests := map[string]shiplog.EnvType{
		"production": "production", "prod": "production", "live": "production", "PROD": "production",
		"prod-eu-west-1": "production", "eu-prod": "production",
		"staging": "staging", "uat": "staging", "preprod": "staging", "Staging-2": "staging",
		"test": "test", "qa": "test", "integration": "test", "qa_east": "test",
		"dev": "development", "local": "development", "sandbox": "development", "development": "development",
		"preview": "preview", "pr-123": "preview", "PR-9": "preview", "preview-feature-x": "preview",
		"": "development", "blue": "development", "products": "development", "protest": "development", "contest": "development",
		// Issue 14: spellings that counted as development and slipped past a PRODUCTION filter.
		"prd": "production", "PRD-US": "production", "production2": "production", "prod1": "production", "us-east-prod": "production",
		"stg": "staging", "stage": "staging", "stg3": "staging", "uat-2": "staging", "pre-prod": "staging", "pre_production": "staging",
		"tst": "test", "qa2": "test", "review-app-12": "preview", "pr123": "preview", "mr-45": "preview",
	}
	for name, want := range tests {
		if got := shiplog.InferEnvType(name); got != want {
			t.Errorf("InferEnvType(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestValidSlug(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"acme": true, "a": true, "acme-corp-2": true, strings.Repeat("a", 63): true,
		"": false, "Acme": false, "acme_corp": false, "acme corp": false, strings.Repeat("a", 64): false, "ac/me": false,
	} {
		if got := shiplog.ValidSlug(s); got != want {
			t.Errorf("ValidSlug(%q) = %v", s, got)
		}
	}
}

func TestNewIDIsOrderedAndValid(t *testing.T) {
	t.Parallel()
	prev := ""
	for range 1000 {
		id := shiplog.NewID()
		if !shiplog.ValidID(id) {
			t.Fatalf("invalid id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids not increasing: %q after %q", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "x", "01a20901-e94b-7376-be2a-b3e2648469c", "{01a20901-e94b-7376-be2a-b3e2648469c2}"} {
		if shiplog.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

// FuzzInferEnvType: any name gets one of the five types.
func FuzzInferEnvType(f *testing.F) {
	for _, s := range []string{"prd", "pre-prod", "production2", "pr-12", "", "\xff", "pre"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if got := shiplog.InferEnvType(name); !slices.Contains(shiplog.EnvTypes, got) {
			t.Fatalf("InferEnvType(%q) = %q", name, got)
		}
	})
}
