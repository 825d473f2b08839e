package dora

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
)

func TestParseWindow(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 24, 14, 30, 0, 123456789, time.UTC)
	nowMicro := now.Truncate(time.Microsecond)
	date := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	tests := []struct {
		name, from, to string
		want           Window
		err            string // a fragment of the message; "" for success
	}{
		{"defaults: the 30 days up to now", "", "", Window{nowMicro.Add(-30 * day), nowMicro}, ""},
		{"dates: from the start of from to the end of to", "2026-05-01", "2026-05-31",
			Window{date(2026, 5, 1), date(2026, 6, 1)}, ""},
		{"one day", "2026-05-01", "2026-05-01", Window{date(2026, 5, 1), date(2026, 5, 2)}, ""},
		{"timestamps with offsets, in UTC", "2026-05-01T10:00:00+02:00", "2026-05-02T00:00:00.5Z",
			Window{time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), time.Date(2026, 5, 2, 0, 0, 0, 5e8, time.UTC)}, ""},
		{"an unencoded + in a query string arrives as a space", "2026-05-01T10:00:00 02:00", "2026-05-02",
			Window{time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC), date(2026, 5, 3)}, ""},
		{"only to: the 30 days before it", "", "2026-05-31", Window{date(2026, 5, 2), date(2026, 6, 1)}, ""},
		{"only from: up to now", "2026-05-01", "", Window{date(2026, 5, 1), nowMicro}, ""},
		{"a whole year (leap)", "2024-01-01", "2024-12-31", Window{date(2024, 1, 1), date(2025, 1, 1)}, ""},
		{"nanoseconds are cut to the store's microseconds", "2026-05-01T00:00:00.123456789Z", "2026-05-02",
			Window{time.Date(2026, 5, 1, 0, 0, 0, 123456000, time.UTC), date(2026, 5, 3)}, ""},
		{"spaces around are ignored", " 2026-05-01 ", " 2026-05-02 ", Window{date(2026, 5, 1), date(2026, 5, 3)}, ""},

		{"from not a time", "yesterday", "", Window{}, "Query parameter 'from' must be an RFC 3339 timestamp"},
		{"to not a time", "", "2026-13-01", Window{}, "Query parameter 'to' must be an RFC 3339 timestamp"},
		{"a timestamp without a zone", "2026-05-01T10:00:00", "", Window{}, "'from' must be an RFC 3339"},
		{"to before from", "2026-05-02", "2026-05-01", Window{}, "'to' (2026-05-02T00:00:00Z) must be after 'from' (2026-05-02T00:00:00Z)"},
		{"to equal to from", "2026-05-01T00:00:00Z", "2026-05-01T00:00:00Z", Window{}, "must be after 'from'"},
		{"longer than 366 days", "2024-01-01", "2025-01-01", Window{}, "367.0 days long; the limit is 366 days"},
		{"before 1970", "1969-12-31", "1970-01-02", Window{}, "'from' must be between 1970-01-01 and 9999-12-30"},
		{"after 9999", "9999-12-01", "9999-12-31", Window{}, "'to' must be between"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseWindow(tt.from, tt.to, now)
			if tt.err != "" {
				if shiplog.ErrorCode(err) != shiplog.EINVALID || !strings.Contains(shiplog.ErrorMessage(err), tt.err) {
					t.Errorf("error %v, want invalid: …%s…", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error: %v", err)
			}
			if !got.From.Equal(tt.want.From) || !got.To.Equal(tt.want.To) {
				t.Errorf("window [%s, %s), want [%s, %s)", got.From, got.To, tt.want.From, tt.want.To)
			}
			if got.From.Location() != time.UTC || got.To.Location() != time.UTC {
				t.Errorf("window not in UTC: %v", got)
			}
		})
	}
}

func TestDayStarts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		w    Window
		want int
	}{
		{Window{at(0), at(24)}, 1},
		{Window{at(0), at(24.001)}, 2},
		{Window{at(23), at(25)}, 2},
		{Window{at(10), at(10.5)}, 1},
		{Window{at(0), at(24 * 366)}, 366},
		{Window{at(1), at(24*366 + 1)}, 367},
		{Window{at(5), at(5)}, 0},
	}
	for _, tt := range tests {
		if got := tt.w.DayStarts(); len(got) != tt.want {
			t.Errorf("[%s, %s): %d days, want %d", tt.w.From, tt.w.To, len(got), tt.want)
		}
	}
}

// FuzzParseWindow: any input either fails with a 400 or gives a window the
// rest of the code can use: ordered, at most 366 days, serialisable.
func FuzzParseWindow(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"2026-05-01", "2026-05-31"}, {"2026-05-01T10:00:00+02:00", "2026-05-02T00:00:00.5Z"},
		{"0000-01-01", "9999-12-31"}, {"2026-05-01T10:00:00 02:00", ""}, {"1970-01-01T00:00:00Z", "1970-01-01T00:00:00.000001Z"}} {
		f.Add(s[0], s[1])
	}
	now := time.Date(2026, 5, 24, 14, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, from, to string) {
		w, err := ParseWindow(from, to, now)
		if err != nil {
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		if !w.To.After(w.From) || w.To.Sub(w.From) > MaxWindow {
			t.Fatalf("bad window [%s, %s)", w.From, w.To)
		}
		if _, err := json.Marshal(w); err != nil {
			t.Fatalf("window does not marshal: %v", err)
		}
		if n := len(w.DayStarts()); n < 1 || n > 367 {
			t.Fatalf("%d days", n)
		}
	})
}
