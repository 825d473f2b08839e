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

// A field is one body field of a run event of type E, kept on a record of
// type R: how it is validated, where decode puts it (str for a required
// string, opt for an optional one, at for a time, flag for a boolean; the
// object is ExtraMetadata) and, for an optional string the record keeps,
// run: the record's field that a given value replaces. A field with no run
// is the skeleton's or the kind's own business (invoke_id names the run).
type field[E, R any] struct {
	name     string
	kind     fieldKind
	required bool
	max      int // bytes, for strings and the object
	str      func(*E) *string
	opt      func(*E) **string
	at       func(*E) **time.Time
	flag     func(*E) *bool
	meta     func(*E) *json.RawMessage
	run      func(*R) **string
}

type (
	dev = DeploymentEvent
	dep = shiplog.Deployment
	bev = BuildEvent
	bld = shiplog.Build
)

// Field tables, in the order errors are reported. Limits are generous
// enough for real CI values (URLs, long branch names) and keep rows small.
// A status is read as a word here and mapped once every field is valid.
var deploymentFields = []field[dev, dep]{
	{name: "product_name", kind: kString, required: true, max: 255, str: func(e *dev) *string { return &e.ProductName }},
	{name: "version", kind: kString, required: true, max: 255, str: func(e *dev) *string { return &e.Version }},
	{name: "environment_name", kind: kString, required: true, max: 255, str: func(e *dev) *string { return &e.EnvironmentName }},
	{name: "status", kind: kString, required: true, max: 64, str: func(e *dev) *string { return (*string)(&e.Status) }},
	{name: "deployed_by", kind: kString, max: 255, opt: func(e *dev) **string { return &e.DeployedBy },
		run: func(d *dep) **string { return &d.DeployedBy }},
	{name: "deployed_by_email", kind: kString, max: 320, opt: func(e *dev) **string { return &e.DeployedByEmail },
		run: func(d *dep) **string { return &d.DeployedByEmail }},
	{name: "deployed_by_name", kind: kString, max: 255, opt: func(e *dev) **string { return &e.DeployedByName },
		run: func(d *dep) **string { return &d.DeployedByName }},
	{name: "scm_branch", kind: kString, max: 255, opt: func(e *dev) **string { return &e.ScmBranch },
		run: func(d *dep) **string { return &d.ScmBranch }},
	{name: "scm_sha", kind: kString, max: 255, opt: func(e *dev) **string { return &e.ScmSHA },
		run: func(d *dep) **string { return &d.ScmSHA }},
	{name: "scm_repository", kind: kString, max: 1024, opt: func(e *dev) **string { return &e.ScmRepository },
		run: func(d *dep) **string { return &d.ScmRepository }},
	{name: "build_url", kind: kString, max: 2048, opt: func(e *dev) **string { return &e.BuildURL },
		run: func(d *dep) **string { return &d.BuildURL }},
	{name: "deploy_url", kind: kString, max: 2048, opt: func(e *dev) **string { return &e.DeployURL },
		run: func(d *dep) **string { return &d.DeployURL }},
	{name: "build_number", kind: kString, max: 255, opt: func(e *dev) **string { return &e.BuildNumber },
		run: func(d *dep) **string { return &d.BuildNumber }},
	{name: "source_system", kind: kString, max: 255, opt: func(e *dev) **string { return &e.SourceSystem },
		run: func(d *dep) **string { return &d.SourceSystem }},
	{name: "invoke_id", kind: kString, max: 255, opt: func(e *dev) **string { return &e.InvokeID }},
	{name: "completed_at", kind: kTime, max: 64, at: func(e *dev) **time.Time { return &e.CompletedAt }},
	{name: "skip_preflight_checks", kind: kBool, flag: func(e *dev) *bool { return &e.SkipPreflightChecks }},
	{name: "extra_metadata", kind: kObject, max: MaxMetadataBytes, meta: func(e *dev) *json.RawMessage { return &e.ExtraMetadata }},
}

var buildFields = []field[bev, bld]{
	{name: "product_name", kind: kString, required: true, max: 255, str: func(e *bev) *string { return &e.ProductName }},
	{name: "version", kind: kString, required: true, max: 255, str: func(e *bev) *string { return &e.Version }},
	{name: "status", kind: kString, required: true, max: 64, str: func(e *bev) *string { return (*string)(&e.Status) }},
	{name: "built_by", kind: kString, max: 255, opt: func(e *bev) **string { return &e.BuiltBy },
		run: func(b *bld) **string { return &b.BuiltBy }},
	{name: "built_by_email", kind: kString, max: 320, opt: func(e *bev) **string { return &e.BuiltByEmail },
		run: func(b *bld) **string { return &b.BuiltByEmail }},
	{name: "built_by_name", kind: kString, max: 255, opt: func(e *bev) **string { return &e.BuiltByName },
		run: func(b *bld) **string { return &b.BuiltByName }},
	{name: "scm_branch", kind: kString, max: 255, opt: func(e *bev) **string { return &e.ScmBranch },
		run: func(b *bld) **string { return &b.ScmBranch }},
	{name: "scm_sha", kind: kString, max: 255, opt: func(e *bev) **string { return &e.ScmSHA },
		run: func(b *bld) **string { return &b.ScmSHA }},
	{name: "scm_repository", kind: kString, max: 1024, opt: func(e *bev) **string { return &e.ScmRepository },
		run: func(b *bld) **string { return &b.ScmRepository }},
	{name: "build_url", kind: kString, max: 2048, opt: func(e *bev) **string { return &e.BuildURL },
		run: func(b *bld) **string { return &b.BuildURL }},
	{name: "build_number", kind: kString, max: 255, opt: func(e *bev) **string { return &e.BuildNumber },
		run: func(b *bld) **string { return &b.BuildNumber }},
	{name: "source_system", kind: kString, max: 255, opt: func(e *bev) **string { return &e.SourceSystem },
		run: func(b *bld) **string { return &b.SourceSystem }},
	{name: "invoke_id", kind: kString, max: 255, opt: func(e *bev) **string { return &e.InvokeID }},
	{name: "started_at", kind: kTime, max: 64, at: func(e *bev) **time.Time { return &e.StartedAt }},
	{name: "completed_at", kind: kTime, max: 64, at: func(e *bev) **time.Time { return &e.CompletedAt }},
	{name: "error_message", kind: kString, max: 4096, opt: func(e *bev) **string { return &e.ErrorMessage },
		run: func(b *bld) **string { return &b.ErrorMessage }},
	{name: "error_code", kind: kString, max: 255, opt: func(e *bev) **string { return &e.ErrorCode },
		run: func(b *bld) **string { return &b.ErrorCode }},
	{name: "extra_metadata", kind: kObject, max: MaxMetadataBytes, meta: func(e *bev) *json.RawMessage { return &e.ExtraMetadata }},
}

// given copies onto the record r the strings the event ev gives: a field
// the event leaves out keeps the record's value.
func given[E, R any](table []field[E, R], ev *E, r *R) {
	for i := range table {
		if f := &table[i]; f.run != nil {
			override(f.run(r), *f.opt(ev))
		}
	}
}

func invalid(format string, args ...any) error {
	return shiplog.Errorf(shiplog.EINVALID, format, args...)
}

// decode validates body against table into ev (strings trimmed, empty
// optional strings left absent, times parsed) and returns the body
// compacted, as the event log keeps it.
func decode[E, R any](body []byte, table []field[E, R], ev *E) (json.RawMessage, error) {
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
	for i := range table {
		fd := &table[i]
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
		if err := set(fd, ev, raw); err != nil {
			return nil, err
		}
	}
	var c bytes.Buffer
	if err := json.Compact(&c, body); err != nil {
		return nil, invalid("Invalid JSON in request body")
	}
	return c.Bytes(), nil
}

func set[E, R any](fd *field[E, R], ev *E, raw json.RawMessage) error {
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
		switch {
		case fd.str != nil:
			*fd.str(ev) = s
			return nil
		case fd.opt != nil:
			*fd.opt(ev) = &s
			return nil
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return invalid("Field '%s' must be an RFC 3339 timestamp such as 2025-11-06T15:30:00Z", fd.name)
		}
		t = t.UTC()
		*fd.at(ev) = &t
	case kBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return invalid("Field '%s' must be true or false", fd.name)
		}
		*fd.flag(ev) = b
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
		*fd.meta(ev) = c.Bytes()
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

// RunEvent is what an event of either kind of run carries; the skeleton
// that records it (record) reads nothing else of the event.
type RunEvent struct {
	ProductName, Version string
	Status               shiplog.Status
	ScmBranch, ScmSHA    *string
	ScmRepository        *string
	BuildURL             *string
	BuildNumber          *string
	SourceSystem         *string
	InvokeID             *string
	// StartedAt, when an event gives it (builds do), is when the run
	// started; otherwise it started when its started event came.
	StartedAt, CompletedAt *time.Time
	ExtraMetadata          json.RawMessage
	Raw                    json.RawMessage // the body, compacted, as kept in the event log
}

// Event is a validated run event, a *DeploymentEvent or a *BuildEvent.
type Event interface {
	// SkipsPreflight says whether the event asks to skip the preflight
	// checks, which the caller must be allowed to.
	SkipsPreflight() bool
	common() *RunEvent
	// environment is the environment the event names, "" for none.
	environment() string
	// run starts recording the event.
	run() run
}

func (e *RunEvent) common() *RunEvent { return e }

// Decode validates the body of an event of kind k.
func Decode(k shiplog.Kind, body []byte) (Event, error) {
	if k == shiplog.KindDeployment {
		return DecodeDeployment(body)
	}
	return DecodeBuild(body)
}

func decodeRun[E, R any](k shiplog.Kind, body []byte, table []field[E, R], ev *E, head *RunEvent) error {
	raw, err := decode(body, table, ev)
	if err != nil {
		return err
	}
	if head.Status, err = parseStatus(k, string(head.Status)); err != nil {
		return err
	}
	head.Raw = raw
	return nil
}

// DeploymentEvent is a validated POST /deployment-events/ body.
type DeploymentEvent struct {
	RunEvent
	EnvironmentName                             string
	DeployedBy, DeployedByEmail, DeployedByName *string
	DeployURL                                   *string
	SkipPreflightChecks                         bool
}

// DecodeDeployment validates a deployment event body.
func DecodeDeployment(body []byte) (*DeploymentEvent, error) {
	ev := &DeploymentEvent{}
	if err := decodeRun(shiplog.KindDeployment, body, deploymentFields, ev, &ev.RunEvent); err != nil {
		return nil, err
	}
	return ev, nil
}

// SkipsPreflight: see Event. The flag means something on started only:
// pending is not judged.
func (ev *DeploymentEvent) SkipsPreflight() bool {
	return ev.SkipPreflightChecks && ev.Status == shiplog.StatusStarted
}

// BuildEvent is a validated POST /build-events/ body.
type BuildEvent struct {
	RunEvent
	BuiltBy, BuiltByEmail, BuiltByName *string
	ErrorMessage, ErrorCode            *string
}

// DecodeBuild validates a build event body.
func DecodeBuild(body []byte) (*BuildEvent, error) {
	ev := &BuildEvent{}
	if err := decodeRun(shiplog.KindBuild, body, buildFields, ev, &ev.RunEvent); err != nil {
		return nil, err
	}
	return ev, nil
}

// SkipsPreflight: builds are not judged.
func (*BuildEvent) SkipsPreflight() bool { return false }

// DeploymentLimits and BuildLimits are the event bodies' limits for the
// input contract, from the same tables decode applies (extra_metadata's
// strings and arrays are bounded by the object's own limit).
func DeploymentLimits() *input.Limits { return limitsOf(deploymentFields) }

// BuildLimits: see DeploymentLimits.
func BuildLimits() *input.Limits { return limitsOf(buildFields) }

func limitsOf[E, R any](table []field[E, R]) *input.Limits {
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
