package rule

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Window is a blocked period of absolute time, [Start, End). A zero End
// means no end was found (only for schedules Validate rejects).
type Window struct {
	Start, End time.Time
}

// maxChain bounds how many touching or overlapping windows Active merges. A
// valid schedule's longest chain is about two months (monthly, every day
// but the 31st, 24-hour windows).
const maxChain = 400

var weekdays = map[string]time.Weekday{
	"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday, "wednesday": time.Wednesday,
	"thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday,
}

// compiled is a parsed, validated schedule.
type compiled struct {
	loc        *time.Location
	recurrence string
	// once: the local date-times as UTC-based civil readings
	onceStart, onceEnd time.Time
	// recurring: minutes after local midnight
	startMin, endMin int
	days             [7]bool
	monthDays        [32]bool
}

// Validate checks the schedule alone; field names are prefixed "schedule.".
func (s *Schedule) Validate() error {
	if _, err := s.compile(); err != nil {
		return err
	}
	return nil
}

func (s *Schedule) validate() *FieldError {
	_, err := s.compile()
	return err
}

func (s *Schedule) compile() (*compiled, *FieldError) {
	c := &compiled{recurrence: s.Recurrence}
	switch s.Recurrence {
	case RecurrenceOnce, RecurrenceDaily, RecurrenceWeekly, RecurrenceMonthly:
	case "":
		return nil, fieldErr("schedule.recurrence", "is required (once, daily, weekly or monthly)")
	default:
		return nil, fieldErr("schedule.recurrence", "must be one of once, daily, weekly, monthly, got %q", s.Recurrence)
	}
	loc, err := loadZone(s.TimeZone)
	if err != nil {
		return nil, err
	}
	c.loc = loc
	if s.Recurrence == RecurrenceOnce {
		if c.onceStart, err = parseOnce("schedule.start", s.Start); err != nil {
			return nil, err
		}
		if c.onceEnd, err = parseOnce("schedule.end", s.End); err != nil {
			return nil, err
		}
		if !c.onceEnd.After(c.onceStart) {
			return nil, fieldErr("schedule.end", "must be after schedule.start (%s), got %s", s.Start, s.End)
		}
	} else {
		if c.startMin, err = parseClock("schedule.start", s.Start); err != nil {
			return nil, err
		}
		if c.endMin, err = parseClock("schedule.end", s.End); err != nil {
			return nil, err
		}
	}
	if err := c.parseDays(s); err != nil {
		return nil, err
	}
	if err := c.parseMonthDays(s); err != nil {
		return nil, err
	}
	if len(s.Reason) > MaxReasonLength {
		return nil, fieldErr("schedule.reason", "must be at most %d characters", MaxReasonLength)
	}
	if c.neverEnds() {
		return nil, fieldErr("schedule.end", "equals schedule.start on every day, so the window would never end; "+
			"use an end time before the start time to cross midnight, or disable the rule")
	}
	return c, nil
}

func loadZone(name string) (*time.Location, *FieldError) {
	if name == "" {
		name = "UTC"
	}
	if name == "Local" {
		return nil, fieldErr("schedule.time_zone", "must be an IANA time zone such as Europe/Berlin, not Local")
	}
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fieldErr("schedule.time_zone", "%q is not an IANA time zone (e.g. UTC, America/New_York, Europe/Berlin)", name)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zones caches loaded zones by name: time.LoadLocation reads and parses a
// file on every call, a Location is immutable, and only names that loaded
// are kept (a few hundred at most).
var zones sync.Map

func parseOnce(field, s string) (time.Time, *FieldError) {
	t, err := time.Parse(OnceLayout, s)
	if err != nil || t.Format(OnceLayout) != s {
		return time.Time{}, fieldErr(field, "must be a local date and time like 2026-12-24T18:00, got %q", s)
	}
	return t, nil
}

// parseClock accepts exactly "HH:MM", 00:00 to 23:59.
func parseClock(field, s string) (int, *FieldError) {
	bad := fieldErr(field, "must be a local time like 18:00 (00:00 to 23:59), got %q", s)
	if len(s) != 5 || s[2] != ':' {
		return 0, bad
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, bad
		}
	}
	h := int(s[0]-'0')*10 + int(s[1]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, bad
	}
	return h*60 + m, nil
}

func (c *compiled) parseDays(s *Schedule) *FieldError {
	if s.Recurrence != RecurrenceWeekly {
		if len(s.Days) > 0 {
			return fieldErr("schedule.days", "is only for recurrence weekly")
		}
		return nil
	}
	if len(s.Days) == 0 {
		return fieldErr("schedule.days", "needs at least one weekday for recurrence weekly")
	}
	for _, d := range s.Days {
		wd, ok := weekdays[strings.ToLower(d)]
		if !ok {
			return fieldErr("schedule.days", "%q is not a weekday (monday … sunday)", d)
		}
		if c.days[wd] {
			return fieldErr("schedule.days", "lists %q twice", d)
		}
		c.days[wd] = true
	}
	return nil
}

func (c *compiled) parseMonthDays(s *Schedule) *FieldError {
	if s.Recurrence != RecurrenceMonthly {
		if len(s.MonthDays) > 0 {
			return fieldErr("schedule.month_days", "is only for recurrence monthly")
		}
		return nil
	}
	if len(s.MonthDays) == 0 {
		return fieldErr("schedule.month_days", "needs at least one day of the month (1 to 31) for recurrence monthly")
	}
	for _, d := range s.MonthDays {
		if d < 1 || d > 31 {
			return fieldErr("schedule.month_days", "%d is not a day of the month (1 to 31)", d)
		}
		if c.monthDays[d] {
			return fieldErr("schedule.month_days", "lists %d twice", d)
		}
		c.monthDays[d] = true
	}
	return nil
}

// neverEnds reports a recurring schedule whose 24-hour windows (End ==
// Start) cover every day.
func (c *compiled) neverEnds() bool {
	if c.recurrence == RecurrenceOnce || c.startMin != c.endMin {
		return false
	}
	switch c.recurrence {
	case RecurrenceDaily:
		return true
	case RecurrenceWeekly:
		return !slices.Contains(c.days[:], false)
	default:
		return !slices.Contains(c.monthDays[1:], false)
	}
}

// Active reports the blocked period containing now, if any: the earliest
// window containing now, extended through every window that overlaps or
// touches it. An invalid schedule returns its *FieldError.
func (s *Schedule) Active(now time.Time) (Window, bool, error) {
	c, err := s.compile()
	if err != nil {
		return Window{}, false, err
	}
	w, ok := c.active(now)
	return w, ok, nil
}

func (c *compiled) active(now time.Time) (Window, bool) {
	w, ok := c.containing(now)
	if !ok {
		return Window{}, false
	}
	for range maxChain {
		next, ok := c.containing(w.End)
		if !ok {
			return w, true
		}
		w.End = next.End
	}
	return Window{Start: w.Start}, true
}

// containing returns the union bounds of the windows that contain t.
func (c *compiled) containing(t time.Time) (Window, bool) {
	var out Window
	found := false
	add := func(w Window) {
		if t.Before(w.Start) || !t.Before(w.End) {
			return
		}
		if !found || w.Start.Before(out.Start) {
			out.Start = w.Start
		}
		if !found || w.End.After(out.End) {
			out.End = w.End
		}
		found = true
	}
	if c.recurrence == RecurrenceOnce {
		if w, ok := c.window(c.onceStart, c.onceEnd); ok {
			add(w)
		}
		return out, found
	}
	y, m, d := t.In(c.loc).Date()
	base := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	// A window lasts about a day, so one starting two local days before t's
	// date may still be open after a fall-back; one starting the day after
	// can contain t only where a zone falls back across midnight.
	for off := -2; off <= 1; off++ {
		day := base.AddDate(0, 0, off)
		if !c.occursOn(day) {
			continue
		}
		start := day.Add(time.Duration(c.startMin) * time.Minute)
		endDay := day
		if c.endMin <= c.startMin {
			endDay = day.AddDate(0, 0, 1)
		}
		end := endDay.Add(time.Duration(c.endMin) * time.Minute)
		if w, ok := c.window(start, end); ok {
			add(w)
		}
	}
	return out, found
}

func (c *compiled) occursOn(day time.Time) bool {
	switch c.recurrence {
	case RecurrenceWeekly:
		return c.days[day.Weekday()]
	case RecurrenceMonthly:
		return c.monthDays[day.Day()] // the 31st exists only in 31-day months
	default:
		return true
	}
}

// window turns two civil readings into instants: from the first time the
// clock reads start to the last time it reads end. Empty (a window inside a
// skipped hour) reports false.
func (c *compiled) window(start, end time.Time) (Window, bool) {
	s, _ := instants(c.loc, start)
	_, e := instants(c.loc, end)
	if !e.After(s) {
		return Window{}, false
	}
	return Window{Start: s, End: e}, true
}

// instants returns the first and last instant at which loc's wall clock
// reads wall (a civil date-time carried in a UTC time.Time). A reading
// skipped by a forward change maps to the change itself (the first instant
// the clock reads later than it) for both.
func instants(loc *time.Location, wall time.Time) (first, last time.Time) {
	w := wall.Unix()
	// No zone is more than a day from UTC, so every instant reading wall
	// lies within span of it.
	const span = 30 * 3600
	var found []int64
	gap, haveGap := int64(0), false
	p := time.Unix(w-span, 0).In(loc)
	for range 1000 {
		_, off := p.Zone()
		start, end := p.ZoneBounds()
		cand := w - int64(off)
		if (start.IsZero() || cand >= start.Unix()) && (end.IsZero() || cand < end.Unix()) {
			found = append(found, cand)
		}
		if end.IsZero() || end.Unix() > w+span {
			break
		}
		next := end.In(loc)
		_, off2 := next.Zone()
		if e := end.Unix(); e+int64(off) <= w && w < e+int64(off2) {
			gap, haveGap = e, true
		}
		p = next
	}
	switch {
	case len(found) > 0:
		return time.Unix(slices.Min(found), 0).In(loc), time.Unix(slices.Max(found), 0).In(loc)
	case haveGap:
		t := time.Unix(gap, 0).In(loc)
		return t, t
	}
	// Unreachable for real zones; Go's own choice is a sane fallback.
	t := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), 0, 0, loc)
	return t, t
}
