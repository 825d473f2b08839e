package rule_test

import (
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/rule"
)

// at parses an RFC 3339 instant.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad test time %q: %v", s, err)
	}
	return v
}

func daily(zone, start, end string) rule.Schedule {
	return rule.Schedule{Recurrence: rule.RecurrenceDaily, TimeZone: zone, Start: start, End: end}
}

func weekly(zone, start, end string, days ...string) rule.Schedule {
	return rule.Schedule{Recurrence: rule.RecurrenceWeekly, TimeZone: zone, Start: start, End: end, Days: days}
}

func monthly(zone, start, end string, days ...int) rule.Schedule {
	return rule.Schedule{Recurrence: rule.RecurrenceMonthly, TimeZone: zone, Start: start, End: end, MonthDays: days}
}

func once(zone, start, end string) rule.Schedule {
	return rule.Schedule{Recurrence: rule.RecurrenceOnce, TimeZone: zone, Start: start, End: end}
}

const (
	newYork  = "America/New_York"    // 2025: spring forward Mar 9 02:00 EST (07:00Z), fall back Nov 2 02:00 EDT (06:00Z)
	berlin   = "Europe/Berlin"       // 2025: spring forward Mar 30 02:00 CET (01:00Z), fall back Oct 26 03:00 CEST (01:00Z)
	losAng   = "America/Los_Angeles" // January: UTC-8
	tokyo    = "Asia/Tokyo"          // UTC+9, no DST
	auckland = "Pacific/Auckland"    // January: UTC+13
	apia     = "Pacific/Apia"        // skipped 2011-12-30 entirely (10:00Z: Dec 29 24:00 -10 → Dec 31 00:00 +14)
)

func TestScheduleActive(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		s          rule.Schedule
		now        string
		start, end string // the blocked period; both empty: not active
	}{
		// Plain daily windows, UTC (the default zone).
		{"daily inside", daily("", "12:00", "13:00"), "2025-06-01T12:30:00Z", "2025-06-01T12:00:00Z", "2025-06-01T13:00:00Z"},
		{"daily start is inclusive", daily("UTC", "12:00", "13:00"), "2025-06-01T12:00:00Z", "2025-06-01T12:00:00Z", "2025-06-01T13:00:00Z"},
		{"daily end is exclusive", daily("UTC", "12:00", "13:00"), "2025-06-01T13:00:00Z", "", ""},
		{"daily before", daily("UTC", "12:00", "13:00"), "2025-06-01T11:59:59Z", "", ""},

		// Crossing midnight.
		{"midnight: evening part", daily("UTC", "22:00", "02:00"), "2025-06-01T23:00:00Z", "2025-06-01T22:00:00Z", "2025-06-02T02:00:00Z"},
		{"midnight: morning part belongs to yesterday's window", daily("UTC", "22:00", "02:00"), "2025-06-02T01:00:00Z", "2025-06-01T22:00:00Z", "2025-06-02T02:00:00Z"},
		{"midnight: at the start", daily("UTC", "22:00", "02:00"), "2025-06-01T22:00:00Z", "2025-06-01T22:00:00Z", "2025-06-02T02:00:00Z"},
		{"midnight: at the end", daily("UTC", "22:00", "02:00"), "2025-06-02T02:00:00Z", "", ""},
		{"midnight: between", daily("UTC", "22:00", "02:00"), "2025-06-02T21:59:00Z", "", ""},

		// America/New_York, spring forward (2025-03-09: 02:00 EST → 03:00 EDT).
		{"NY spring: 01:30-02:30 starts at 01:30 EST", daily(newYork, "01:30", "02:30"), "2025-03-09T06:45:00Z", "2025-03-09T06:30:00Z", "2025-03-09T07:00:00Z"},
		{"NY spring: the skipped end 02:30 is the change (03:00 EDT)", daily(newYork, "01:30", "02:30"), "2025-03-09T07:00:00Z", "", ""},
		{"NY spring: day before is a plain hour", daily(newYork, "01:30", "02:30"), "2025-03-08T07:15:00Z", "2025-03-08T06:30:00Z", "2025-03-08T07:30:00Z"},
		{"NY spring: day after is in EDT", daily(newYork, "01:30", "02:30"), "2025-03-10T06:00:00Z", "2025-03-10T05:30:00Z", "2025-03-10T06:30:00Z"},
		{"NY spring: a window inside the skipped hour does not occur", daily(newYork, "02:15", "02:45"), "2025-03-09T07:20:00Z", "", ""},
		{"NY spring: ...but does the day before", daily(newYork, "02:15", "02:45"), "2025-03-08T07:20:00Z", "2025-03-08T07:15:00Z", "2025-03-08T07:45:00Z"},
		{"NY spring: overnight window ending in the skipped hour", daily(newYork, "22:00", "02:30"), "2025-03-09T06:59:00Z", "2025-03-09T03:00:00Z", "2025-03-09T07:00:00Z"},
		{"NY spring: overnight window across the change", daily(newYork, "22:00", "06:00"), "2025-03-09T09:59:00Z", "2025-03-09T03:00:00Z", "2025-03-09T10:00:00Z"},

		// America/New_York, fall back (2025-11-02: 02:00 EDT → 01:00 EST).
		{"NY fall: 01:30-02:30 runs from 01:30 EDT", daily(newYork, "01:30", "02:30"), "2025-11-02T05:30:00Z", "2025-11-02T05:30:00Z", "2025-11-02T07:30:00Z"},
		{"NY fall: unbroken through the repeated 01:00-01:30 EST", daily(newYork, "01:30", "02:30"), "2025-11-02T06:15:00Z", "2025-11-02T05:30:00Z", "2025-11-02T07:30:00Z"},
		{"NY fall: ends at 02:30 EST", daily(newYork, "01:30", "02:30"), "2025-11-02T07:30:00Z", "", ""},
		{"NY fall: window within the repeated hour spans both", daily(newYork, "01:00", "01:30"), "2025-11-02T05:45:00Z", "2025-11-02T05:00:00Z", "2025-11-02T06:30:00Z"},
		{"NY fall: once window over the change", once(newYork, "2025-11-02T01:00", "2025-11-02T01:30"), "2025-11-02T06:10:00Z", "2025-11-02T05:00:00Z", "2025-11-02T06:30:00Z"},
		{"NY fall: overnight window is an hour longer", daily(newYork, "22:00", "06:00"), "2025-11-02T10:59:00Z", "2025-11-02T02:00:00Z", "2025-11-02T11:00:00Z"},

		// Europe/Berlin, spring forward (2025-03-30: 02:00 CET → 03:00 CEST).
		{"Berlin spring: overnight 22:00-06:00 is 7 hours", daily(berlin, "22:00", "06:00"), "2025-03-30T03:59:00Z", "2025-03-29T21:00:00Z", "2025-03-30T04:00:00Z"},
		{"Berlin spring: overnight end", daily(berlin, "22:00", "06:00"), "2025-03-30T04:00:00Z", "", ""},
		{"Berlin spring: skipped window", daily(berlin, "02:15", "02:45"), "2025-03-30T01:20:00Z", "", ""},
		{"Berlin spring: skipped window the day before", daily(berlin, "02:15", "02:45"), "2025-03-29T01:20:00Z", "2025-03-29T01:15:00Z", "2025-03-29T01:45:00Z"},
		{"Berlin spring: start in the gap begins at the change", daily(berlin, "02:30", "04:00"), "2025-03-30T01:00:00Z", "2025-03-30T01:00:00Z", "2025-03-30T02:00:00Z"},

		// Europe/Berlin, fall back (2025-10-26: 03:00 CEST → 02:00 CET).
		{"Berlin fall: 02:00-03:00 in CEST part", daily(berlin, "02:00", "03:00"), "2025-10-26T00:30:00Z", "2025-10-26T00:00:00Z", "2025-10-26T02:00:00Z"},
		{"Berlin fall: 02:00-03:00 in CET part", daily(berlin, "02:00", "03:00"), "2025-10-26T01:30:00Z", "2025-10-26T00:00:00Z", "2025-10-26T02:00:00Z"},
		{"Berlin fall: weekly sunday", weekly(berlin, "02:00", "03:00", "sunday"), "2025-10-26T01:59:00Z", "2025-10-26T00:00:00Z", "2025-10-26T02:00:00Z"},

		// A whole skipped day (Pacific/Apia, 2011-12-30).
		{"Apia: the day after the skipped one", daily(apia, "10:00", "11:00"), "2011-12-30T20:30:00Z", "2011-12-30T20:00:00Z", "2011-12-30T21:00:00Z"},
		{"Apia: the skipped day has no window", daily(apia, "10:00", "11:00"), "2011-12-30T10:00:00Z", "", ""},

		// Weekdays are the zone's.
		{"weekly: Saturday evening in LA is Sunday in UTC", weekly(losAng, "18:00", "23:00", "saturday"), "2025-01-05T02:30:00Z", "2025-01-05T02:00:00Z", "2025-01-05T07:00:00Z"},
		{"weekly: Sunday evening in LA is not Saturday", weekly(losAng, "18:00", "23:00", "saturday"), "2025-01-06T02:30:00Z", "", ""},
		{"weekly: Friday night in Tokyo", weekly(tokyo, "22:00", "23:59", "friday"), "2025-01-10T13:30:00Z", "2025-01-10T13:00:00Z", "2025-01-10T14:59:00Z"},
		{"weekly: Friday in UTC is Saturday in Tokyo", weekly(tokyo, "22:00", "23:59", "Friday"), "2025-01-10T15:30:00Z", "", ""},
		{"weekly: crossing midnight into Saturday", weekly("UTC", "22:00", "02:00", "friday"), "2025-01-11T01:00:00Z", "2025-01-10T22:00:00Z", "2025-01-11T02:00:00Z"},
		{"weekly: Friday morning is Thursday's window (not listed)", weekly("UTC", "22:00", "02:00", "friday"), "2025-01-10T01:00:00Z", "", ""},
		{"weekly: 24h windows on touching days merge", weekly("UTC", "00:00", "00:00", "saturday", "sunday"), "2025-01-04T10:00:00Z", "2025-01-04T00:00:00Z", "2025-01-06T00:00:00Z"},
		{"weekly: merged from the second day", weekly("UTC", "00:00", "00:00", "saturday", "sunday"), "2025-01-05T23:59:59Z", "2025-01-05T00:00:00Z", "2025-01-06T00:00:00Z"},

		// Monthly, with the 31st missing from 30-day months.
		{"monthly 31st: March 31", monthly("UTC", "00:00", "00:00", 31), "2025-03-31T12:00:00Z", "2025-03-31T00:00:00Z", "2025-04-01T00:00:00Z"},
		{"monthly 31st: April 30 is not it", monthly("UTC", "00:00", "00:00", 31), "2025-04-30T12:00:00Z", "", ""},
		{"monthly 31st: nor May 1", monthly("UTC", "00:00", "00:00", 31), "2025-05-01T00:30:00Z", "", ""},
		{"monthly 31st: May 31", monthly("UTC", "00:00", "00:00", 31), "2025-05-31T23:59:00Z", "2025-05-31T00:00:00Z", "2025-06-01T00:00:00Z"},
		{"monthly 31st overnight: into April 1", monthly("UTC", "22:00", "02:00", 31), "2025-04-01T01:00:00Z", "2025-03-31T22:00:00Z", "2025-04-01T02:00:00Z"},
		{"monthly 31st overnight: no April 31", monthly("UTC", "22:00", "02:00", 31), "2025-05-01T01:00:00Z", "", ""},
		{"monthly 29th: not in February 2025", monthly("UTC", "09:00", "17:00", 29), "2025-02-28T12:00:00Z", "", ""},
		{"monthly 29th: February 2024", monthly("UTC", "09:00", "17:00", 29), "2024-02-29T12:00:00Z", "2024-02-29T09:00:00Z", "2024-02-29T17:00:00Z"},
		{"monthly: the zone's day (Auckland 15th is UTC 14th)", monthly(auckland, "09:00", "17:00", 15), "2025-01-14T21:00:00Z", "2025-01-14T20:00:00Z", "2025-01-15T04:00:00Z"},
		{"monthly: UTC 15th is Auckland 16th", monthly(auckland, "09:00", "17:00", 15), "2025-01-15T21:00:00Z", "", ""},
		{"monthly: every day but the 31st chains to the next month", monthly("UTC", "00:00", "00:00",
			1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30),
			"2025-04-10T00:00:00Z", "2025-04-10T00:00:00Z", "2025-05-31T00:00:00Z"},

		// Once.
		{"once: inside", once(berlin, "2025-12-24T18:00", "2025-12-27T08:00"), "2025-12-25T12:00:00Z", "2025-12-24T17:00:00Z", "2025-12-27T07:00:00Z"},
		{"once: before", once(berlin, "2025-12-24T18:00", "2025-12-27T08:00"), "2025-12-24T16:59:59Z", "", ""},
		{"once: at the end", once(berlin, "2025-12-24T18:00", "2025-12-27T08:00"), "2025-12-27T07:00:00Z", "", ""},
		{"once: a year later", once(berlin, "2025-12-24T18:00", "2025-12-27T08:00"), "2026-12-25T12:00:00Z", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, ok, err := tt.s.Active(at(t, tt.now))
			if err != nil {
				t.Fatalf("Active: %v", err)
			}
			if want := tt.start != ""; ok != want {
				t.Fatalf("Active(%s) = %v (%v), want active %v", tt.now, ok, w, want)
			}
			if !ok {
				return
			}
			if ws, we := at(t, tt.start), at(t, tt.end); !w.Start.Equal(ws) || !w.End.Equal(we) {
				t.Errorf("window = %s – %s, want %s – %s",
					w.Start.UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), tt.start, tt.end)
			}
		})
	}
}

func TestScheduleInvalidIsAnError(t *testing.T) {
	t.Parallel()
	s := daily("Mars/Olympus", "01:00", "02:00")
	if _, _, err := s.Active(at(t, "2025-01-01T00:00:00Z")); err == nil {
		t.Fatal("Active with an unknown zone: no error")
	}
}

// sweepZones have DST changes of different sizes and directions, a
// 30-minute change (Lord Howe), a skipped day (Apia) and none (Kolkata).
var sweepZones = []string{"UTC", newYork, berlin, losAng, auckland, apia, tokyo,
	"Australia/Lord_Howe", "America/Santiago", "Pacific/Chatham", "Asia/Kolkata", "Europe/London", "America/Havana"}

// TestScheduleWallClockSweep walks every ten minutes across each zone's
// changes and checks the documented semantics against a wall-clock oracle:
// whenever the clock reads a time inside a window the attempt is blocked,
// an active period contains now, and its end is not blocked.
func TestScheduleWallClockSweep(t *testing.T) {
	t.Parallel()
	shapes := []rule.Schedule{
		daily("", "01:30", "02:30"), daily("", "00:00", "03:00"), daily("", "02:15", "02:45"),
		daily("", "22:00", "02:30"), daily("", "23:30", "23:45"), weekly("", "00:00", "00:00", "saturday", "sunday"),
		weekly("", "02:00", "01:00", "sunday"), monthly("", "00:30", "00:30", 1, 2, 31), monthly("", "01:59", "03:01", 3, 9, 30),
	}
	for _, zone := range sweepZones {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			loc := loadLoc(t, zone)
			for _, change := range changes(loc, 2024, 2025) {
				for _, shape := range shapes {
					s := shape
					s.TimeZone = zone
					for now := change.Add(-26 * time.Hour); now.Before(change.Add(26 * time.Hour)); now = now.Add(10 * time.Minute) {
						w, active, err := s.Active(now)
						if err != nil {
							t.Fatal(err)
						}
						switch {
						case active && (now.Before(w.Start) || !now.Before(w.End)):
							t.Fatalf("%+v at %v: period [%v, %v) does not contain now", s, now, w.Start, w.End)
						case active:
							if _, again, _ := s.Active(w.End); again {
								t.Fatalf("%+v: still blocked at the period's end %v", s, w.End)
							}
						case wallInside(t, s, now):
							t.Fatalf("%+v: %v reads %v, inside a window, but is not blocked", s, now.UTC(), now.In(loc))
						}
					}
				}
			}
		})
	}
}

// changes lists the instants (to the minute) at which loc's offset changes
// within the given years; zones without changes get one arbitrary instant.
func changes(loc *time.Location, from, to int) []time.Time {
	var out []time.Time
	t := time.Date(from, 1, 1, 0, 0, 0, 0, time.UTC)
	for t.Year() <= to {
		_, end := t.In(loc).ZoneBounds()
		if end.IsZero() || end.Year() > to {
			break
		}
		out = append(out, end)
		t = end
	}
	if len(out) == 0 {
		out = append(out, time.Date(from, 6, 1, 0, 0, 0, 0, time.UTC))
	}
	return out
}
