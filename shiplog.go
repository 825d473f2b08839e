// Package shiplog holds the domain vocabulary shared by every other package:
// event kinds and statuses, environment types, and the error type that the
// HTTP layer maps to status codes in one place. It imports only the standard library
// (and a UUID generator).
package shiplog

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Kind is what an event is about.
type Kind string

const (
	KindDeployment Kind = "deployment"
	KindBuild      Kind = "build"
)

// Status is the canonical lifecycle state stored on deployments and builds.
type Status string

const (
	StatusPending   Status = "pending"
	StatusStarted   Status = "started"
	StatusCompleted Status = "completed"
	StatusFailed    Status = "failed"
	StatusAborted   Status = "aborted"
)

// Terminal reports whether no further lifecycle change is expected.
func (s Status) Terminal() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusAborted
}

// EventType is the canonical name an event is published under, e.g. "deployment.completed".
type EventType string

// Event types that are not derived from a status word.
const (
	EventDeploymentPreflightFailed EventType = "deployment.preflight_failed"
	EventVersionApproved           EventType = "version.approved"
)

// TypeOf returns the event type for a kind and canonical status.
func TypeOf(k Kind, s Status) EventType { return EventType(string(k) + "." + string(s)) }

// statusWords lists every status word either seed document accepts. The
// deployment-only and build-only words ("deploying", "deployed", "building",
// "built") are accepted for their own kind only, as the seeds list them.
var statusWords = map[string]Status{
	"pending": StatusPending, "queued": StatusPending, "scheduled": StatusPending,
	"started": StatusStarted, "in_progress": StatusStarted, "init": StatusStarted,
	"success": StatusCompleted, "completed": StatusCompleted, "complete": StatusCompleted, "finished": StatusCompleted,
	"failed": StatusFailed, "fail": StatusFailed, "failure": StatusFailed, "error": StatusFailed,
	"aborted": StatusAborted, "abort": StatusAborted, "cancelled": StatusAborted, "cancel": StatusAborted, "skipped": StatusAborted,
}

var kindWords = map[Kind]map[string]Status{
	KindDeployment: {"deploying": StatusStarted, "deployed": StatusCompleted},
	KindBuild:      {"building": StatusStarted, "built": StatusCompleted},
}

// ParseStatus maps a forgiving status word (case-insensitive, trimmed) to the
// canonical status for the given kind.
func ParseStatus(k Kind, word string) (Status, bool) {
	w := strings.ToLower(strings.TrimSpace(word))
	if s, ok := statusWords[w]; ok {
		return s, true
	}
	s, ok := kindWords[k][w]
	return s, ok
}

// StatusWords lists the accepted words for a kind, grouped in canonical order,
// for error messages and docs.
func StatusWords(k Kind) []string {
	order := []Status{StatusPending, StatusStarted, StatusCompleted, StatusFailed, StatusAborted}
	var out []string
	for _, s := range order {
		out = append(out, wordsFor(k, s)...)
	}
	return out
}

func wordsFor(k Kind, s Status) []string {
	// Fixed order so messages are stable.
	all := []string{"pending", "queued", "scheduled", "started", "in_progress", "init", "deploying", "building",
		"success", "completed", "complete", "finished", "deployed", "built",
		"failed", "fail", "failure", "error", "aborted", "abort", "cancelled", "cancel", "skipped"}
	var out []string
	for _, w := range all {
		if got, ok := ParseStatus(k, w); ok && got == s {
			out = append(out, w)
		}
	}
	return out
}

// EnvType classifies an environment; notification filters and the status
// matrix use it.
type EnvType string

const (
	EnvProduction  EnvType = "production"
	EnvStaging     EnvType = "staging"
	EnvTest        EnvType = "test"
	EnvDevelopment EnvType = "development"
	EnvPreview     EnvType = "preview"
)

// EnvTypes lists the types in promotion order (earliest first).
var EnvTypes = []EnvType{EnvPreview, EnvDevelopment, EnvTest, EnvStaging, EnvProduction}

// ParseEnvType accepts a type name case-insensitively.
func ParseEnvType(s string) (EnvType, bool) {
	t := EnvType(strings.ToLower(strings.TrimSpace(s)))
	for _, v := range EnvTypes {
		if v == t {
			return t, true
		}
	}
	return "", false
}

// envTokenTypes are the words that name a type, as teams spell them.
var envTokenTypes = map[string]EnvType{
	"production": EnvProduction, "prod": EnvProduction, "prd": EnvProduction, "live": EnvProduction, "prdn": EnvProduction,
	"staging": EnvStaging, "stage": EnvStaging, "stg": EnvStaging, "stag": EnvStaging, "uat": EnvStaging,
	"preprod": EnvStaging, "preproduction": EnvStaging, "pprod": EnvStaging,
	"test": EnvTest, "testing": EnvTest, "tst": EnvTest, "qa": EnvTest, "integration": EnvTest, "int": EnvTest, "sit": EnvTest,
	"dev": EnvDevelopment, "develop": EnvDevelopment, "development": EnvDevelopment, "local": EnvDevelopment, "sandbox": EnvDevelopment,
	"preview": EnvPreview, "review": EnvPreview, "pr": EnvPreview, "mr": EnvPreview, "ephemeral": EnvPreview,
}

// envPrefixes are words that name a type when a number or qualifier is
// glued to them ("production2", "prod1", "stg3", "pr123").
var envPrefixes = []string{"production", "preprod", "staging", "prod", "prd", "stg", "uat", "qa", "test", "dev", "pr", "mr"}

// InferEnvType guesses an environment's type from its name: the first word of
// the name (split on anything not a letter or digit) that names a type wins,
// so "prod-eu" and "eu-prod" are production, "preprod" staging and "pr-123"
// a preview. A word is also read without trailing digits ("production2",
// "stg3", "pr123"). Anything else is development; an admin can set the type
// (PATCH /environments/{id}, or Settings → Environments).
func InferEnvType(name string) EnvType {
	tokens := strings.FieldsFunc(strings.ToLower(name), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	})
	for i, t := range tokens {
		if t == "pre" && i+1 < len(tokens) && envTokenTypes[tokens[i+1]] == EnvProduction {
			return EnvStaging // "pre-prod", "pre_production"
		}
		if et, ok := envTokenTypes[t]; ok {
			return et
		}
		word := strings.TrimRight(t, "0123456789")
		if word == t || word == "" {
			continue
		}
		if et, ok := envTokenTypes[word]; ok && slices.Contains(envPrefixes, word) {
			return et
		}
	}
	return EnvDevelopment
}

var slugPattern = regexp.MustCompile(`^[a-z0-9-]{1,63}$`)

// ValidSlug reports whether s is a valid organisation name.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// NewID returns a new time-ordered identifier (UUIDv7), so ids sort by creation
// and can serve as pagination cursors.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }

// ValidID reports whether s has the shape of an id (canonical UUID text).
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	_, err := uuid.Parse(s)
	return err == nil
}

// Clock is the time source; services take one so tests can move time.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock.
type SystemClock struct{}

// Now is truncated to the microsecond, the precision both stores keep, so a
// value read back equals the value written.
func (SystemClock) Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
