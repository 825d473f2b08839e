package dora

import (
	"strings"
	"time"

	"github.com/shiplog/shiplog"
)

// Window is the half-open interval [From, To) of finish times a report
// covers, in UTC.
type Window struct {
	From, To time.Time
}

// Contains reports whether t is in [From, To).
func (w Window) Contains(t time.Time) bool { return !t.Before(w.From) && t.Before(w.To) }

// Days is the window's length in days (fractional), the denominator of
// deployment frequency.
func (w Window) Days() float64 { return w.To.Sub(w.From).Hours() / 24 }

// DayStarts returns midnight UTC of every calendar day the window touches,
// oldest first: the buckets of the per-day series.
func (w Window) DayStarts() []time.Time {
	if !w.To.After(w.From) {
		return nil
	}
	var out []time.Time
	for d := w.From.UTC().Truncate(day); d.Before(w.To); d = d.Add(day) {
		out = append(out, d)
	}
	return out
}

// dayIndex is the series bucket of t, which must be in the window. UTC days
// are always 24 hours, and Truncate counts from a UTC midnight.
func (w Window) dayIndex(t time.Time) int {
	return int(t.UTC().Truncate(day).Sub(w.From.UTC().Truncate(day)) / day)
}

// Window limits.
const (
	DefaultWindow = 30 * day
	MaxWindow     = 366 * day
)

// The window's bounds must be representable everywhere they go (JSON wants
// years 0–9999; the store keeps microseconds since 1970 either way).
var (
	minBound = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxBound = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// ParseWindow reads the from and to query parameters: each an RFC 3339
// timestamp or a date (YYYY-MM-DD, UTC). A date as from is the start of that
// day; as to, its end, so the day is included. An empty to is now; an empty
// from is 30 days before to. to must be after from, and the window at most
// 366 days long. Errors are EINVALID and name the parameter.
func ParseWindow(from, to string, now time.Time) (Window, error) {
	var w Window
	var err error
	if w.To, err = parseBound("to", to, true); err != nil {
		return Window{}, err
	}
	if to == "" {
		w.To = now.UTC().Truncate(time.Microsecond)
	}
	if w.From, err = parseBound("from", from, false); err != nil {
		return Window{}, err
	}
	if from == "" {
		w.From = w.To.Add(-DefaultWindow)
	}
	for _, b := range []struct {
		name string
		t    time.Time
	}{{"from", w.From}, {"to", w.To}} {
		if b.t.Before(minBound) || b.t.After(maxBound) {
			return Window{}, shiplog.Errorf(shiplog.EINVALID, "Query parameter '%s' must be between 1970-01-01 and 9999-12-30", b.name)
		}
	}
	if !w.To.After(w.From) {
		return Window{}, shiplog.Errorf(shiplog.EINVALID, "Query parameter 'to' (%s) must be after 'from' (%s)",
			w.To.Format(time.RFC3339Nano), w.From.Format(time.RFC3339Nano))
	}
	if w.To.Sub(w.From) > MaxWindow {
		return Window{}, shiplog.Errorf(shiplog.EINVALID, "The window from 'from' to 'to' is %.1f days long; the limit is %d days",
			w.Days(), int(MaxWindow/day))
	}
	return w, nil
}

const dateLayout = "2006-01-02"

func parseBound(name, s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if len(s) == len(dateLayout) {
		if t, err := time.Parse(dateLayout, s); err == nil {
			if end {
				t = t.Add(day)
			}
			return t, nil
		}
	}
	// A '+' in a query string decodes as a space: "…T10:00:00+02:00" sent
	// unencoded arrives as "…T10:00:00 02:00".
	t, err := time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	if err != nil {
		return time.Time{}, shiplog.Errorf(shiplog.EINVALID,
			"Query parameter '%s' must be an RFC 3339 timestamp (2026-05-01T00:00:00Z) or a date (2026-05-01)", name)
	}
	// The store keeps microseconds.
	return t.UTC().Truncate(time.Microsecond), nil
}
