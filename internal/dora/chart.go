package dora

import (
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// The charts are small, dependency-free SVG documents the console embeds
// inline. Every piece of text is escaped (product and environment names are
// the tenant's own strings), and each chart is an image with an accessible
// name (role="img", aria-label, <title>) that states the numbers it shows,
// so a screen reader gets the chart's content, not just its caption.
//
// Colours come twice: as presentation attributes (a chart opened on its
// own is readable) and as ch-* classes, which a page's stylesheet wins with,
// so the console's charts follow its light or dark scheme. Each chart is
// drawn for a width in CSS pixels: the console draws one per breakpoint and
// shows the one that fits, so text stays at its size on a phone and the
// chart fills a wide screen.

const (
	fontAttrs = `class="ch-text" font-family="system-ui, -apple-system, sans-serif" font-size="12" fill="#1b1f24"`
	colorOK   = "#2e7d32"
	colorBad  = "#c62828"
	colorAxis = "#6e7781"
	// MinWidth is the narrowest chart drawn; narrower asks get this.
	MinWidth = 320
)

// Widths are the chart widths the console draws, one per breakpoint: a
// phone, a tablet or narrow window, a desktop.
var Widths = []int{360, 720, 1200}

// esc escapes text for an XML text node or a quoted attribute value;
// characters XML cannot carry at all become U+FFFD.
func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s)) // a strings.Builder never fails
	return b.String()
}

// svgOpen starts a chart: the root element with its accessible name, and a
// <title> (tooltip, and the name where aria-label is not read).
func svgOpen(b *strings.Builder, width, height int, title, label string) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s" data-width="%d">`,
		width, height, width, height, esc(label), width)
	fmt.Fprintf(b, `<title>%s</title>`, esc(label))
	fmt.Fprintf(b, `<text x="8" y="16" %s font-weight="bold">%s</text>`, fontAttrs, esc(title))
}

// DailyChart draws a per-day series as bars: each day's completed
// deployments (green) with its failed ones stacked on top (red), a tooltip
// per day, the highest count on the y axis and the first and last dates
// under the x axis. An empty series, or one without any deployment, draws
// the frame and says so. width is in CSS pixels (at least MinWidth).
func DailyChart(title string, days []Day, width int) string {
	const height, left, right, top, bottom = 220, 40, 10, 44, 30
	chartWidth := max(width, MinWidth)
	plotW, plotH := float64(chartWidth-left-right), float64(height-top-bottom)
	completed, failed, peak := 0, 0, 0
	for _, d := range days {
		completed += d.Deployments
		failed += d.Failures
		peak = max(peak, d.Deployments+d.Failures)
	}
	label := fmt.Sprintf("%s: no days in the window", title)
	if len(days) > 0 {
		label = fmt.Sprintf("%s: %d completed and %d failed deployments over %d days, %s to %s; busiest day %d",
			title, completed, failed, len(days), days[0].Date.Format(dateLayout), days[len(days)-1].Date.Format(dateLayout), peak)
	}
	var b strings.Builder
	svgOpen(&b, chartWidth, height, title, label)
	// The legend sits under the title, so a long title never runs into it.
	for i, k := range []struct{ color, class, name string }{{colorOK, "ch-ok", "completed"}, {colorBad, "ch-bad", "failed"}} {
		x := 8 + i*100
		fmt.Fprintf(&b, `<rect x="%d" y="23" width="10" height="10" fill="%s" class="%s"/><text x="%d" y="32" %s>%s</text>`,
			x, k.color, k.class, x+14, fontAttrs, k.name)
	}
	baseY := float64(top) + plotH
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%.1f" stroke="%s" class="ch-axis"/>`, left, top, left, baseY, colorAxis)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" class="ch-axis"/>`, left, baseY, chartWidth-right, baseY, colorAxis)
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" %s>0</text>`, left-4, baseY+4, fontAttrs)
	if peak == 0 {
		msg := "No deployments finished in this window"
		if len(days) == 0 {
			msg = "No days in this window"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle" %s>%s</text></svg>`,
			float64(left)+plotW/2, float64(top)+plotH/2, fontAttrs, msg)
		return b.String()
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end" %s>%d</text>`, left-4, top+4, fontAttrs, peak)
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#eaeef2" class="ch-grid"/>`, left+1, top, chartWidth-right, top)
	slot := plotW / float64(len(days))
	gap := 0.0
	if slot >= 4 {
		gap = slot * 0.2
	}
	scale := plotH / float64(peak)
	for i, d := range days {
		if d.Deployments+d.Failures == 0 {
			continue
		}
		x := float64(left) + float64(i)*slot + gap/2
		hOK, hBad := float64(d.Deployments)*scale, float64(d.Failures)*scale
		fmt.Fprintf(&b, `<g><title>%s: %d completed, %d failed</title>`, d.Date.Format(dateLayout), d.Deployments, d.Failures)
		if hOK > 0 {
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s" class="ch-ok"/>`, x, baseY-hOK, slot-gap, hOK, colorOK)
		}
		if hBad > 0 {
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.2f" width="%.2f" height="%.2f" fill="%s" class="ch-bad"/>`, x, baseY-hOK-hBad, slot-gap, hBad, colorBad)
		}
		b.WriteString(`</g>`)
	}
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" %s>%s</text>`, left, baseY+16, fontAttrs, days[0].Date.Format("Jan 2"))
	if len(days) > 1 {
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" %s>%s</text>`, chartWidth-right, baseY+16, fontAttrs,
			days[len(days)-1].Date.Format("Jan 2, 2006"))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// DurationRow is one line of a DurationChart.
type DurationRow struct {
	Label   string
	Summary Durations
}

// DurationChart draws, per row, the median (dark) against the 90th
// percentile (light, full width) with the values and band in words. Each row
// has its own scale: lead times and restore times differ by orders of
// magnitude, and the text carries the numbers. Narrow charts put the bar
// under the words instead of beside them.
func DurationChart(title string, rows []DurationRow, width int) string {
	chartWidth := max(width, MinWidth)
	const top = 28
	rowH, barX, barDY := 40, 330, 8
	if chartWidth < 640 {
		rowH, barX, barDY = 60, 8, 38
	}
	barW := chartWidth - barX - 10
	height := top + rowH*max(len(rows), 1) + 4
	words := make([]string, len(rows))
	for i, r := range rows {
		words[i] = r.Label + ": " + describe(r.Summary)
	}
	label := title + ": no metrics"
	if len(rows) > 0 {
		label = title + ": " + strings.Join(words, "; ")
	}
	var b strings.Builder
	svgOpen(&b, chartWidth, height, title, label)
	for i, r := range rows {
		y := top + i*rowH
		fmt.Fprintf(&b, `<text x="8" y="%d" %s>%s</text>`, y+14, fontAttrs, esc(r.Label))
		fmt.Fprintf(&b, `<text x="8" y="%d" %s>%s</text>`, y+30, fontAttrs, esc(describe(r.Summary)))
		s := r.Summary
		if s.Median == nil || s.P90 == nil {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="12" fill="none" stroke="#d0d7de" class="ch-empty"/>`, barX, y+barDY, barW)
			continue
		}
		medW := float64(barW)
		if *s.P90 > 0 {
			medW = min(max(float64(barW)*float64(*s.Median)/float64(*s.P90), 0), float64(barW))
		}
		fmt.Fprintf(&b, `<g><title>p90 %s</title><rect x="%d" y="%d" width="%d" height="12" fill="#90caf9" class="ch-p90"/></g>`,
			FormatDuration(*s.P90), barX, y+barDY, barW)
		fmt.Fprintf(&b, `<g><title>median %s</title><rect x="%d" y="%d" width="%.2f" height="12" fill="#1565c0" class="ch-median"/></g>`,
			FormatDuration(*s.Median), barX, y+barDY, medW)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func describe(s Durations) string {
	if s.Median == nil || s.P90 == nil {
		return "no data"
	}
	return fmt.Sprintf("median %s, p90 %s, %d samples, %s", FormatDuration(*s.Median), FormatDuration(*s.P90), s.Samples, s.Band)
}

// FormatDuration writes d in its two largest units, rounded down: "45s",
// "12m 5s", "3h 5m", "2d 4h".
func FormatDuration(d time.Duration) string {
	sign, s := "", int64(d/time.Second) // whole seconds: never MinInt64, so -s is safe
	if s < 0 {
		sign, s = "-", -s
	}
	switch {
	case s < 60:
		return fmt.Sprintf("%s%ds", sign, s)
	case s < 3600:
		return fmt.Sprintf("%s%dm %ds", sign, s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%s%dh %dm", sign, s/3600, s%3600/60)
	}
	return fmt.Sprintf("%s%dd %dh", sign, s/86400, s%86400/3600)
}
