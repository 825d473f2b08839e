package webhook

import (
	"strings"

	"github.com/shiplog/shiplog"
)

// eventName is one row of a foreign format's event names.
type eventName struct {
	typ  shiplog.EventType
	name string
}

// eventNames maps another system's event names (Qovery's, Clever Cloud's)
// to shiplog's event types and back.
type eventNames []eventName

func namesOf[T any](rows []T, row func(T) eventName) eventNames {
	out := make(eventNames, len(rows))
	for i, r := range rows {
		out[i] = row(r)
	}
	return out
}

func (n eventNames) types() []shiplog.EventType {
	out := make([]shiplog.EventType, len(n))
	for i, e := range n {
		out[i] = e.typ
	}
	return out
}

func (n eventNames) names() []string {
	out := make([]string, len(n))
	for i, e := range n {
		out[i] = e.name
	}
	return out
}

func (n eventNames) nameOf(t shiplog.EventType) (string, bool) {
	for _, e := range n {
		if e.typ == t {
			return e.name, true
		}
	}
	return "", false
}

// parse reads a name in any case, surrounding space ignored.
func (n eventNames) parse(s string) (shiplog.EventType, bool) {
	s = strings.TrimSpace(s)
	for _, e := range n {
		if strings.EqualFold(s, e.name) {
			return e.typ, true
		}
	}
	return "", false
}
