package rule_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog/internal/rule"
)

// FuzzSchedule feeds arbitrary schedules and instants to Validate, Active and
// Evaluate: no panics; Validate and Active agree on validity; an active
// period contains now and ends at a moment that is not blocked; every
// instant whose wall-clock reading lies inside a window is blocked; and
// Evaluate refuses with 423 and retry_after = the period's end.
//
//	go test -fuzz FuzzSchedule ./internal/rule/
func FuzzSchedule(f *testing.F) {
	seeds := []struct {
		s   rule.Schedule
		now time.Time
	}{
		{daily(newYork, "01:30", "02:30"), time.Date(2025, 3, 9, 6, 45, 0, 0, time.UTC)},
		{daily(newYork, "01:00", "01:30"), time.Date(2025, 11, 2, 5, 45, 0, 0, time.UTC)},
		{daily(berlin, "22:00", "06:00"), time.Date(2025, 3, 30, 3, 59, 0, 0, time.UTC)},
		{daily(berlin, "02:15", "02:45"), time.Date(2025, 3, 30, 1, 20, 0, 0, time.UTC)},
		{daily(apia, "10:00", "11:00"), time.Date(2011, 12, 30, 10, 0, 0, 0, time.UTC)},
		{daily("Australia/Lord_Howe", "01:45", "02:15"), time.Date(2025, 4, 5, 15, 0, 0, 0, time.UTC)},
		{weekly(losAng, "18:00", "23:00", "saturday"), time.Date(2025, 1, 5, 2, 30, 0, 0, time.UTC)},
		{weekly("UTC", "00:00", "00:00", "saturday", "sunday"), time.Date(2025, 1, 4, 10, 0, 0, 0, time.UTC)},
		{monthly("UTC", "22:00", "02:00", 31), time.Date(2025, 4, 1, 1, 0, 0, 0, time.UTC)},
		{monthly(auckland, "00:00", "00:00", 29, 30, 31), time.Date(2024, 2, 28, 12, 0, 0, 0, time.UTC)},
		{once(newYork, "2025-11-02T01:00", "2025-11-02T01:30"), time.Date(2025, 11, 2, 6, 10, 0, 0, time.UTC)},
		{once("", "9999-12-31T22:00", "9999-12-31T23:59"), time.Date(9999, 12, 31, 22, 30, 0, 0, time.UTC)},
		{rule.Schedule{Recurrence: "hourly", TimeZone: "../etc/passwd", Start: "25:61", End: "x"}, time.Unix(0, 0)},
	}
	for _, s := range seeds {
		f.Add(s.s.Recurrence, s.s.TimeZone, uint8(0), s.s.Start, s.s.End, strings.Join(s.s.Days, ","), monthBytes(s.s.MonthDays), s.now.Unix())
	}
	const minUnix, maxUnix = -62135596800, 253402300799 // years 1 to 9999
	f.Fuzz(func(t *testing.T, recurrence, zone string, zoneIdx uint8, start, end, days string, monthDays []byte, unix int64) {
		if zone == "" {
			// Random strings are rarely zones: pick a real one by index.
			zone = sweepZones[int(zoneIdx)%len(sweepZones)]
		}
		if unix < minUnix || unix > maxUnix {
			unix = minUnix + (unix%(maxUnix-minUnix)+(maxUnix-minUnix))%(maxUnix-minUnix)
		}
		now := time.Unix(unix, 0)
		s := rule.Schedule{Recurrence: recurrence, TimeZone: zone, Start: start, End: end, Reason: "fuzz"}
		if days != "" {
			s.Days = strings.Split(days, ",")
		}
		for _, b := range monthDays {
			s.MonthDays = append(s.MonthDays, int(int8(b)))
		}
		verr := s.Validate()
		w, active, aerr := s.Active(now)
		if (verr == nil) != (aerr == nil) {
			t.Fatalf("Validate = %v but Active error = %v", verr, aerr)
		}
		r := rule.Rule{Name: "fuzz", Type: rule.TypeSchedule, Status: rule.StatusEnabled, Schedule: &s}
		v := rule.Evaluate([]rule.Rule{r}, attempt, rule.History{}, now)
		if verr != nil {
			if v.Blocked == nil || v.Blocked.Code != rule.CodeInvalidRule {
				t.Fatalf("invalid schedule (%v) not refused as INVALID_RULE: %+v", verr, v.Blocked)
			}
			return
		}
		if active {
			if now.Before(w.Start) || w.End.IsZero() || !now.Before(w.End) {
				t.Fatalf("Active(%v) = [%v, %v), not containing now", now, w.Start, w.End)
			}
			if _, again, _ := s.Active(w.End); again {
				t.Fatalf("still blocked at the period's end %v", w.End)
			}
			if v.Blocked == nil || v.Blocked.HTTPStatus != 423 || v.Blocked.RetryAfter == nil || !v.Blocked.RetryAfter.Equal(w.End) {
				t.Fatalf("Evaluate = %+v, want 423 until %v", v.Blocked, w.End)
			}
		} else {
			if v.Blocked != nil {
				t.Fatalf("Evaluate blocked outside a window: %+v", v.Blocked)
			}
			if wallInside(t, s, now) {
				t.Fatalf("%v reads %v in %s, inside the window, but is not blocked",
					now.UTC(), now.In(loadLoc(t, s.TimeZone)), s.TimeZone)
			}
		}
	})
}

func monthBytes(days []int) []byte {
	var b []byte
	for _, d := range days {
		b = append(b, byte(d))
	}
	return b
}

func loadLoc(t *testing.T, zone string) *time.Location {
	if zone == "" {
		zone = "UTC"
	}
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatalf("valid schedule with unloadable zone %q", zone)
	}
	return loc
}

// wallInside is the oracle: does the wall clock at now read a time inside a
// window of a valid schedule?
func wallInside(t *testing.T, s rule.Schedule, now time.Time) bool {
	local := now.In(loadLoc(t, s.TimeZone))
	if s.Recurrence == rule.RecurrenceOnce {
		reading := local.Format(rule.OnceLayout)
		return s.Start <= reading && reading < s.End // fixed-width layout: string order is time order
	}
	reading := local.Format(rule.ClockLayout)
	y, m, d := local.Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	occurs := func(day time.Time) bool {
		switch s.Recurrence {
		case rule.RecurrenceWeekly:
			return slices.ContainsFunc(s.Days, func(n string) bool { return strings.EqualFold(n, day.Weekday().String()) })
		case rule.RecurrenceMonthly:
			return slices.Contains(s.MonthDays, day.Day())
		}
		return true
	}
	if s.Start < s.End {
		return occurs(today) && s.Start <= reading && reading < s.End
	}
	// Crossing midnight (or 24 hours): today's window from Start, yesterday's until End.
	return occurs(today) && reading >= s.Start || occurs(today.AddDate(0, 0, -1)) && reading < s.End
}
