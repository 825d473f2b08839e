package stream

import (
	"slices"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

// Filter selects events by type. The zero Filter passes every event.
type Filter struct {
	exact    map[shiplog.EventType]bool
	prefixes []string
}

// Limits of a filter's text: far above any sensible list of the ~20 types.
const (
	maxFilterLen      = 2000
	maxFilterPatterns = 64
)

// knownTypes are the event types the log holds (a webhook may subscribe to
// every one of them).
var knownTypes = notify.AllEvents

// ParseFilter reads a comma-separated list of event types, each either a
// name ("deployment.completed") or a prefix ending in "*" ("deployment.*",
// "*"). Empty: every event. A name or prefix that matches no event type is
// refused, so a typo is an error rather than a silent, empty stream.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	if strings.TrimSpace(s) == "" {
		return f, nil
	}
	if len(s) > maxFilterLen {
		return f, invalid("The event type filter is too long (limit %d bytes)", maxFilterLen)
	}
	parts := strings.Split(s, ",")
	if len(parts) > maxFilterPatterns {
		return f, invalid("The event type filter lists too many types (limit %d)", maxFilterPatterns)
	}
	f.exact = map[shiplog.EventType]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.Contains(prefix, "*") || !slices.ContainsFunc(knownTypes, func(t shiplog.EventType) bool {
				return strings.HasPrefix(string(t), prefix)
			}) {
				return Filter{}, unknownType(p)
			}
			f.prefixes = append(f.prefixes, prefix)
			continue
		}
		if !slices.Contains(knownTypes, shiplog.EventType(p)) {
			return Filter{}, unknownType(p)
		}
		f.exact[shiplog.EventType(p)] = true
	}
	if len(f.exact) == 0 && len(f.prefixes) == 0 {
		return Filter{}, nil // only commas: no filter
	}
	return f, nil
}

func unknownType(p string) error {
	names := make([]string, len(knownTypes))
	for i, t := range knownTypes {
		names[i] = string(t)
	}
	return invalid("The event type filter names %q, which matches no event type; use types such as %s, or a prefix ending in * (deployment.*)",
		p, strings.Join(names, ", "))
}

// Match reports whether events of type t pass.
func (f Filter) Match(t shiplog.EventType) bool {
	if f.exact == nil {
		return true
	}
	if f.exact[t] {
		return true
	}
	for _, p := range f.prefixes {
		if strings.HasPrefix(string(t), p) {
			return true
		}
	}
	return false
}

func invalid(format string, args ...any) error {
	return shiplog.Errorf(shiplog.EINVALID, format, args...)
}
