package dora

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parseSVG checks that doc is one well-formed XML document whose root is an
// accessible <svg> image, and returns the root's aria-label, the first
// <title> and every piece of character data.
func parseSVG(t testing.TB, doc string) (label, title string, text []string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	dec.Strict = true
	depth, roots := 0, 0
	var inTitle bool
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, doc)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if el.Name.Local != "svg" || el.Name.Space != "http://www.w3.org/2000/svg" {
					t.Fatalf("root is %v, want svg in the SVG namespace", el.Name)
				}
				attrs := map[string]string{}
				for _, a := range el.Attr {
					attrs[a.Name.Local] = a.Value
				}
				if attrs["role"] != "img" || attrs["aria-label"] == "" {
					t.Errorf("root lacks role=img or aria-label: %v", el.Attr)
				}
				label = attrs["aria-label"]
			}
			inTitle = el.Name.Local == "title" && title == ""
			depth++
		case xml.EndElement:
			depth--
			inTitle = false
		case xml.CharData:
			if inTitle {
				title = string(el)
			}
			text = append(text, string(el))
		}
	}
	if roots != 1 || depth != 0 {
		t.Fatalf("%d root elements, depth %d at the end", roots, depth)
	}
	if title == "" {
		t.Error("no <title>")
	}
	return label, title, text
}

func someDays(counts ...[2]int) []Day {
	out := make([]Day, len(counts))
	for i, c := range counts {
		out[i] = Day{Date: time.Date(2026, 5, 1+i, 0, 0, 0, 0, time.UTC), Deployments: c[0], Failures: c[1]}
	}
	return out
}

func TestDailyChart(t *testing.T) {
	t.Parallel()
	const hostile = "api <script>alert('x')</script> & \"prod\"\x00\x1b\uFFFE"
	tests := []struct {
		name, title string
		days        []Day
		label       string // a fragment of the accessible name
		shows       string // a fragment of the visible text
		bars        int
	}{
		{"empty series", "api / production", nil, "api / production: no days in the window", "No days in this window", 0},
		{"no deployments", "api / production", someDays([2]int{}, [2]int{}), "0 completed and 0 failed deployments over 2 days",
			"No deployments finished in this window", 0},
		{"one day", "api", someDays([2]int{3, 1}), "3 completed and 1 failed deployments over 1 days, 2026-05-01 to 2026-05-01; busiest day 4",
			"May 1", 2},
		{"a month", "api", append(someDays([2]int{1, 0}, [2]int{0, 0}, [2]int{0, 2}), someDays(make([][2]int, 28)...)...),
			"1 completed and 2 failed deployments over 31 days", "2", 2},
		{"hostile title", hostile, someDays([2]int{1, 0}), "api <script>alert('x')</script> & \"prod\"\uFFFD\uFFFD\uFFFD", "May 1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc := DailyChart(tt.title, tt.days, 640)
			label, title, text := parseSVG(t, doc)
			if !strings.Contains(label, tt.label) || title != label {
				t.Errorf("aria-label %q, title %q; want both to contain %q", label, title, tt.label)
			}
			if !strings.Contains(strings.Join(text, "|"), tt.shows) {
				t.Errorf("visible text %q lacks %q", text, tt.shows)
			}
			if n := strings.Count(doc, "<rect") - 2; n != tt.bars { // the legend has two
				t.Errorf("%d bars, want %d", n, tt.bars)
			}
			if strings.Contains(doc, "<script") || strings.ContainsRune(doc, 0) {
				t.Errorf("unescaped text in the chart:\n%s", doc)
			}
		})
	}
}

func TestDurationChart(t *testing.T) {
	t.Parallel()
	h, m := durPtr(2*time.Hour+5*time.Minute), durPtr(26*time.Hour)
	rows := []DurationRow{
		{Label: "Lead time <b>", Summary: Durations{Samples: 12, Median: h, P90: m, Band: BandHigh}},
		{Label: "Time to restore", Summary: Durations{Band: BandNone}},
		{Label: "Zero", Summary: Durations{Samples: 1, Median: durPtr(0), P90: durPtr(0), Band: BandElite}},
	}
	doc := DurationChart("api & web", rows, 640)
	label, _, text := parseSVG(t, doc)
	want := "api & web: Lead time <b>: median 2h 5m, p90 1d 2h, 12 samples, high; Time to restore: no data; Zero: median 0s, p90 0s, 1 samples, elite"
	if label != want {
		t.Errorf("aria-label\n%q\nwant\n%q", label, want)
	}
	if !strings.Contains(strings.Join(text, "|"), "Lead time <b>|median 2h 5m") {
		t.Errorf("visible text %q", text)
	}
	if label, _, _ := parseSVG(t, DurationChart("none", nil, 640)); label != "none: no metrics" {
		t.Errorf("empty duration chart is labelled %q", label)
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 999 * time.Millisecond: "0s", 45 * time.Second: "45s", 12*time.Minute + 5*time.Second: "12m 5s",
		3*time.Hour + 5*time.Minute + 59*time.Second: "3h 5m", 52 * time.Hour: "2d 4h", 400 * 24 * time.Hour: "400d 0h",
		-90 * time.Second: "-1m 30s", time.Duration(-1 << 63): "-106751d 23h",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%d) = %q, want %q", d, got, want)
		}
	}
}

// FuzzDailyChart: whatever the names and counts, the chart is well-formed.
func FuzzDailyChart(f *testing.F) {
	f.Add("api / production", 3, 1, 5)
	f.Add("<&'\"\x00\xff>", 0, 0, 0)
	f.Fuzz(func(t *testing.T, title string, ok, bad, n int) {
		n = max(0, min(n, 400))
		days := make([]Day, n)
		for i := range days {
			days[i] = Day{Date: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC), Deployments: max(0, ok%1000) * (i % 3),
				Failures: max(0, bad%1000) * (i % 2)}
		}
		parseSVG(t, DailyChart(title, days, 360))
		parseSVG(t, DurationChart(title, []DurationRow{{Label: title, Summary: Durations{Samples: 1, Median: durPtr(time.Duration(ok)),
			P90: durPtr(time.Duration(max(ok, bad))), Band: BandLow}}}, 360))
	})
}

// Charts are drawn for the width asked (never under MinWidth), and every
// coloured mark carries a ch-* class for the page's scheme to colour.
func TestChartWidthAndClasses(t *testing.T) {
	t.Parallel()
	h := durPtr(time.Hour)
	rows := []DurationRow{{Label: "Lead time", Summary: Durations{Samples: 2, Median: h, P90: h, Band: BandHigh}}}
	for _, w := range append([]int{100}, Widths...) {
		want := max(w, MinWidth)
		for _, doc := range []string{DailyChart("x", someDays([2]int{2, 1}), w), DurationChart("x", rows, w)} {
			if !strings.Contains(doc, fmt.Sprintf(`width="%d"`, want)) || !strings.Contains(doc, fmt.Sprintf(`viewBox="0 0 %d `, want)) {
				t.Errorf("width %d: chart not drawn %d wide:\n%s", w, want, doc)
			}
			for _, el := range regexp.MustCompile(`<(rect|line|text)[^>]*>`).FindAllString(doc, -1) {
				if !strings.Contains(el, `class="ch-`) {
					t.Errorf("width %d: %s has no ch-* class", w, el)
				}
			}
		}
	}
	// Narrow: the bar sits under the words (x=8), not beside them.
	if doc := DurationChart("x", rows, 360); !strings.Contains(doc, `<rect x="8" y="66"`) {
		t.Errorf("narrow duration chart does not put its bar under the words:\n%s", doc)
	}
}
