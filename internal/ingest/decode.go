// Package ingest turns CI events into stored deployments, builds and event
// log entries: decoding and validation (pure), status mapping, auto-creation,
// version immutability and the outbox hook, all in one store write.
package ingest

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/input"
)

// MaxMetadataBytes bounds extra_metadata, as the public CLI does.
const MaxMetadataBytes = 100 << 10

type fieldKind int

const (
	kString fieldKind = iota
	kTime
	kBool
	kObject
)

type field struct {
	name     string
	kind     fieldKind
	required bool
	max      int // bytes, for strings
}

// Field tables, in the order errors are reported. Limits are generous
// enough for real CI values (URLs, long branch names) and keep rows small.
var deploymentFields = []field{
	{"product_name", kString, true, 255},
	{"version", kString, true, 255},
	{"environment_name", kString, true, 255},
	{"status", kString, true, 64},
	{"deployed_by", kString, false, 255},
	{"deployed_by_email", kString, false, 320},
	{"deployed_by_name", kString, false, 255},
	{"scm_branch", kString, false, 255},
	{"scm_sha", kString, false, 255},
	{"scm_repository", kString, false, 1024},
	{"build_url", kString, false, 2048},
	{"deploy_url", kString, false, 2048},
	{"build_number", kString, false, 255},
	{"source_system", kString, false, 255},
	{"invoke_id", kString, false, 255},
	{"completed_at", kTime, false, 64},
	{"skip_preflight_checks", kBool, false, 0},
	{"extra_metadata", kObject, false, MaxMetadataBytes},
}

var buildFields = []field{
	{"product_name", kString, true, 255},
	{"version", kString, true, 255},
	{"status", kString, true, 64},
	{"built_by", kString, false, 255},
	{"built_by_email", kString, false, 320},
	{"built_by_name", kString, false, 255},
	{"scm_branch", kString, false, 255},
	{"scm_sha", kString, false, 255},
	{"scm_repository", kString, false, 1024},
	{"build_url", kString, false, 2048},
	{"build_number", kString, false, 255},
	{"source_system", kString, false, 255},
	{"invoke_id", kString, false, 255},
	{"started_at", kTime, false, 64},
	{"completed_at", kTime, false, 64},
	{"error_message", kString, false, 4096},
	{"error_code", kString, false, 255},
	{"extra_metadata", kObject, false, MaxMetadataBytes},
}

// fields is a validated request: strings trimmed, empty optional strings
// treated as absent, times parsed.
type fields struct {
	str   map[string]string
	times map[string]time.Time
	bools map[string]bool
	meta  json.RawMessage
	raw   json.RawMessage // the body, compacted, as kept in the event log
}

func (f *fields) ptr(name string) *string {
	if v, ok := f.str[name]; ok {
		return &v
	}
	return nil
}

func (f *fields) timePtr(name string) *time.Time {
	if v, ok := f.times[name]; ok {
		return &v
	}
	return nil
}

func invalid(format string, args ...any) error {
	return shiplog.Errorf(shiplog.EINVALID, format, args...)
}

func decode(body []byte, table []field) (*fields, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return nil, invalid("Request body is empty; send a JSON object")
	}
	if !json.Valid(body) {
		return nil, invalid("Invalid JSON in request body")
	}
	if body[0] != '{' {
		return nil, invalid("Request body must be a JSON object")
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, invalid("Invalid JSON in request body")
	}
	f := &fields{str: map[string]string{}, times: map[string]time.Time{}, bools: map[string]bool{}}
	for _, fd := range table {
		raw, ok := m[fd.name]
		if ok && string(raw) == "null" {
			ok = false
		}
		if !ok {
			if fd.required {
				return nil, invalid("Field '%s' is required", fd.name)
			}
			continue
		}
		if err := f.set(fd, raw); err != nil {
			return nil, err
		}
	}
	var c bytes.Buffer
	if err := json.Compact(&c, body); err != nil {
		return nil, invalid("Invalid JSON in request body")
	}
	f.raw = c.Bytes()
	return f, nil
}

func (f *fields) set(fd field, raw json.RawMessage) error {
	switch fd.kind {
	case kString, kTime:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid("Field '%s' must be a string", fd.name)
		}
		s = strings.TrimSpace(s)
		if s == "" {
			if fd.required {
				return invalid("Field '%s' must not be empty", fd.name)
			}
			return nil
		}
		if len(s) > fd.max {
			return invalid("Field '%s' is too long (%d bytes; the limit is %d)", fd.name, len(s), fd.max)
		}
		if strings.ContainsRune(s, 0) {
			return invalid("Field '%s' must not contain NUL characters", fd.name)
		}
		if fd.kind == kString {
			f.str[fd.name] = s
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return invalid("Field '%s' must be an RFC 3339 timestamp such as 2025-11-06T15:30:00Z", fd.name)
		}
		f.times[fd.name] = t.UTC()
	case kBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return invalid("Field '%s' must be true or false", fd.name)
		}
		f.bools[fd.name] = b
	case kObject:
		if raw[0] != '{' {
			return invalid("Field '%s' must be a JSON object", fd.name)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, raw); err != nil {
			return invalid("Field '%s' must be a JSON object", fd.name)
		}
		if c.Len() > fd.max {
			return invalid("Field '%s' is too large (%d bytes; the limit is %d KiB)", fd.name, c.Len(), fd.max>>10)
		}
		f.meta = c.Bytes()
	}
	return nil
}

func parseStatus(k shiplog.Kind, word string) (shiplog.Status, error) {
	s, ok := shiplog.ParseStatus(k, word)
	if !ok {
		return "", invalid("Invalid status '%s' for a %s event; accepted values: %s",
			word, k, strings.Join(shiplog.StatusWords(k), ", "))
	}
	return s, nil
}

// DeploymentEvent is a validated POST /deployment-events/ body.
type DeploymentEvent struct {
	ProductName, Version, EnvironmentName string
	Status                                shiplog.Status
	DeployedBy, DeployedByEmail, DeployedByName,
	ScmBranch, ScmSHA, ScmRepository, BuildURL, DeployURL, BuildNumber,
	SourceSystem, InvokeID *string
	CompletedAt         *time.Time
	SkipPreflightChecks bool
	ExtraMetadata       json.RawMessage
	Raw                 json.RawMessage
}

// DecodeDeployment validates a deployment event body.
func DecodeDeployment(body []byte) (*DeploymentEvent, error) {
	f, err := decode(body, deploymentFields)
	if err != nil {
		return nil, err
	}
	st, err := parseStatus(shiplog.KindDeployment, f.str["status"])
	if err != nil {
		return nil, err
	}
	return &DeploymentEvent{
		ProductName: f.str["product_name"], Version: f.str["version"], EnvironmentName: f.str["environment_name"],
		Status: st, DeployedBy: f.ptr("deployed_by"), DeployedByEmail: f.ptr("deployed_by_email"),
		DeployedByName: f.ptr("deployed_by_name"), ScmBranch: f.ptr("scm_branch"), ScmSHA: f.ptr("scm_sha"),
		ScmRepository: f.ptr("scm_repository"), BuildURL: f.ptr("build_url"), DeployURL: f.ptr("deploy_url"),
		BuildNumber: f.ptr("build_number"), SourceSystem: f.ptr("source_system"), InvokeID: f.ptr("invoke_id"),
		CompletedAt: f.timePtr("completed_at"), SkipPreflightChecks: f.bools["skip_preflight_checks"],
		ExtraMetadata: f.meta, Raw: f.raw,
	}, nil
}

// BuildEvent is a validated POST /build-events/ body.
type BuildEvent struct {
	ProductName, Version string
	Status               shiplog.Status
	BuiltBy, BuiltByEmail, BuiltByName, ScmBranch, ScmSHA, ScmRepository,
	BuildURL, BuildNumber, SourceSystem, InvokeID, ErrorMessage, ErrorCode *string
	StartedAt, CompletedAt *time.Time
	ExtraMetadata          json.RawMessage
	Raw                    json.RawMessage
}

// DecodeBuild validates a build event body.
func DecodeBuild(body []byte) (*BuildEvent, error) {
	f, err := decode(body, buildFields)
	if err != nil {
		return nil, err
	}
	st, err := parseStatus(shiplog.KindBuild, f.str["status"])
	if err != nil {
		return nil, err
	}
	return &BuildEvent{
		ProductName: f.str["product_name"], Version: f.str["version"], Status: st,
		BuiltBy: f.ptr("built_by"), BuiltByEmail: f.ptr("built_by_email"), BuiltByName: f.ptr("built_by_name"),
		ScmBranch: f.ptr("scm_branch"), ScmSHA: f.ptr("scm_sha"), ScmRepository: f.ptr("scm_repository"),
		BuildURL: f.ptr("build_url"), BuildNumber: f.ptr("build_number"), SourceSystem: f.ptr("source_system"),
		InvokeID: f.ptr("invoke_id"), ErrorMessage: f.ptr("error_message"), ErrorCode: f.ptr("error_code"),
		StartedAt: f.timePtr("started_at"), CompletedAt: f.timePtr("completed_at"),
		ExtraMetadata: f.meta, Raw: f.raw,
	}, nil
}

// DeploymentLimits and BuildLimits are the event bodies' limits for the
// input contract, from the same tables decode applies (extra_metadata's
// strings and arrays are bounded by the object's own limit).
func DeploymentLimits() *input.Limits { return limitsOf(deploymentFields) }

// BuildLimits: see DeploymentLimits.
func BuildLimits() *input.Limits { return limitsOf(buildFields) }

func limitsOf(table []field) *input.Limits {
	l := &input.Limits{Strings: map[string]int{}, Items: map[string]int{}}
	for _, f := range table {
		switch f.kind {
		case kString, kTime:
			l.Strings[f.name] = f.max
		case kObject:
			l.Strings[f.name] = f.max
			l.Items[f.name] = f.max
		}
	}
	return l
}
