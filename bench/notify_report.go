package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets of the notify benchmark. Latencies run from sending the event's
// POST to the arrival of its delivery, at the fixed rate.
const (
	latencyMaxP50     = 5 * time.Millisecond  // SQLite
	latencyMaxP99     = 25 * time.Millisecond // SQLite
	pgLatencyMaxP99   = 50 * time.Millisecond // PostgreSQL
	sustainedMinPerS  = 3000.0                // deliveries/s, both stores
	fanoutMaxDuration = 2 * time.Second
)

type notifyReport struct {
	cfg                 notifyConfig
	date                time.Time
	facts               []fact
	loadStart, loadEnd  string
	pgNote              string
	pgVersion, pgSchema string
	shiplog             string
	bare                *bareResult
	stores              []*storeResult
}

// storeResult is everything measured on one shiplog server.
type storeResult struct {
	name             string
	latency          *latencyResult
	sustained        *sustainedResult
	fanout           *fanoutResult
	noisy            *noisyResult
	warnings, errors int // lines the server logged at WARN and ERROR
	logTail          string
}

func (r *notifyReport) header() []fact {
	f := []fact{{"date", r.date.Format(time.RFC3339)}}
	f = append(f, r.facts...)
	f = append(f, fact{"load average at start", r.loadStart}, fact{"load average at end", r.loadEnd})
	pg := "PostgreSQL " + r.pgVersion + " (schema " + r.pgSchema + ", dropped at the end)"
	if r.pgNote != "" {
		pg = "PostgreSQL " + r.pgNote
	}
	f = append(f, fact{"shiplog", r.shiplog}, fact{"postgres", pg})
	f = append(f, fact{"receiver", "net/http server in the benchmark process on 127.0.0.1, answers 200 at once, " +
		"checks X-Versioner-Signature, counts each Webhook-Id once"})
	b := r.bare
	f = append(f, fact{"bare sender", fmt.Sprintf("%.0f deliveries/s (p50 %s, p99 %s, %d errors): %d workers of this process POST signed "+
		"~400-byte bodies on keep-alive connections for %s after 1 s of warm-up; benchmark process CPU %.2f cores, machine busy %.0f%%",
		b.perSec, ms(b.p50), ms(b.p99), b.errors, r.cfg.conns, r.cfg.duration, b.cpu.self.Seconds()/b.window.Seconds(), 100*b.cpu.machine)})
	return f
}

func cores(u cpuUse, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f cores", u.server.Seconds()/d.Seconds())
}

// rows is the figures table of one store.
func (r *notifyReport) rows(s *storeResult) [][]string {
	rows := [][]string{{"measurement", "result", "× bare", "details"}}
	if l := s.latency; l != nil {
		d := fmt.Sprintf("%d events sent, %d accepted, %d failed, %d undelivered %s after the load; POST p50 %s p99 %s; "+
			"server CPU %s; machine busy %.0f%%; %d connections to the receiver opened",
			l.sent, l.accepted, l.errors, l.undelivered, latencyGrace, ms(l.ingestP50), ms(l.ingestP99),
			cores(l.cpu, l.span), 100*l.cpu.machine, l.conns)
		var per []string
		for _, x := range l.perSecond {
			per = append(per, fmt.Sprintf("%.1f", float64(x)/float64(time.Millisecond)))
		}
		d += "; send → received p50 by second of the load, ms: " + strings.Join(per, " / ")
		if l.behind > 0 {
			d += fmt.Sprintf("; %d events sent late (%d requests already open)", l.behind, maxInFlight)
		}
		rows = append(rows, []string{fmt.Sprintf("latency at %d events/s, send → received", l.rate), l.fromSend.String(), "-", d})
		d = "the same events, from the 2xx answer: delivery alone, without ingest"
		if l.early > 0 {
			d += fmt.Sprintf("; %d deliveries arrived before their event's answer (counted as 0)", l.early)
		}
		rows = append(rows, []string{fmt.Sprintf("latency at %d events/s, answer → received", l.rate), l.fromAnswer.String(), "-", d})
	}
	if x := s.sustained; x != nil {
		drained := fmt.Sprintf("drained %s after the load", x.drain.Round(time.Millisecond))
		if !x.drained {
			drained = fmt.Sprintf("NOT drained %s after the load", drainLimit)
		}
		perDelivery := "-"
		if x.received > 0 {
			perDelivery = fmt.Sprintf("%.0f µs", float64(x.cpu.server/time.Duration(x.received))/float64(time.Microsecond))
		}
		var per []string
		for _, n := range x.perPath {
			per = append(per, fmt.Sprint(n))
		}
		d := fmt.Sprintf("%d events accepted (%.0f/s, POST p50 %s p99 %s, %d failed); %d of %d deliveries received, %d when the load stopped (%s per channel); "+
			"%s; server CPU %s, %s per delivery; machine busy %.0f%%; %d connections to the receiver opened",
			x.accepted, float64(x.accepted)/x.load.window.Seconds(), ms(x.load.p50), ms(x.load.p99), x.load.errors,
			x.received, x.expected, x.atLoadEnd, strings.Join(per, " / "), drained, cores(x.cpu, x.span), perDelivery, 100*x.cpu.machine, x.conns)
		rows = append(rows, []string{fmt.Sprintf("sustained, %d clients, %d channels", r.cfg.conns, sustainedChannels),
			fmt.Sprintf("%.0f deliveries/s", x.perSec), r.ratio(x.perSec), d})
	}
	if f := s.fanout; f != nil && len(f.runs) > 0 {
		var all, post, first, conns []string
		for _, x := range f.runs {
			all = append(all, fmt.Sprintf("%.2f s", x.all.Seconds()))
			post = append(post, ms(x.post))
			first = append(first, ms(x.first))
			conns = append(conns, fmt.Sprint(x.conns))
		}
		d := fmt.Sprintf("runs %s; POST %s; first delivery %s; connections opened %s",
			strings.Join(all, " / "), strings.Join(post, " / "), strings.Join(first, " / "), strings.Join(conns, " / "))
		rate := float64(f.channels) / f.median.Seconds()
		rows = append(rows, []string{fmt.Sprintf("fan-out, 1 event to %d channels (median of %d)", f.channels, len(f.runs)),
			fmt.Sprintf("%.2f s (%.0f deliveries/s)", f.median.Seconds(), rate), r.ratio(rate), d})
	}
	if n := s.noisy; n != nil {
		q, x := n.quiet, n.noisy
		rows = append(rows, []string{fmt.Sprintf("noisy neighbour: org A alone at %d events/s, send → received", q.rate),
			q.fromSend.String(), "-",
			fmt.Sprintf("answer → received %s; %d accepted, %d undelivered; server CPU %s; the baseline of the next row, measured just before it",
				q.fromAnswer, q.accepted, q.undelivered, cores(q.cpu, q.span))})
		rows = append(rows, []string{fmt.Sprintf("noisy neighbour: org A at %d events/s while org B has %d deliveries queued for a receiver that never answers",
			x.rate, n.backlog),
			x.fromSend.String(), "-",
			fmt.Sprintf("send → received p99 %.2f× alone; answer → received %s; server CPU %s, %.2f× alone; %d accepted, %d undelivered; "+
				"org B's %d events queued in %s (%d failed); its receiver got %d requests in all, %d during this run",
				n.p99Ratio(), x.fromAnswer, cores(x.cpu, x.span), n.cpuRatio(), x.accepted, x.undelivered, n.backlog,
				n.fill.Round(time.Millisecond), n.fillErrors, n.hungTotal, n.hungDuring)})
	}
	return rows
}

func (r *notifyReport) ratio(perSec float64) string {
	if r.bare == nil || r.bare.perSec == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", perSec/r.bare.perSec)
}

// notifyVerdict is one target check of one store.
type notifyVerdict struct {
	label, value, goal, status, why string
}

func (r *notifyReport) verdicts() []notifyVerdict {
	var out []notifyVerdict
	for _, s := range r.stores {
		check := func(label, value, goal string, why ...string) {
			v := notifyVerdict{label: s.name + " " + label, value: value, goal: goal, status: "PASS"}
			why = slices.DeleteFunc(why, func(w string) bool { return w == "" })
			if len(why) > 0 {
				v.status, v.why = "FAIL", strings.Join(why, "; ")
			}
			out = append(out, v)
		}
		if l := s.latency; l != nil {
			faults := phaseFaults(l.errors, l.bad)
			at := fmt.Sprintf(" at %d events/s", l.rate)
			switch s.name {
			case "sqlite":
				check("latency p50 from the send", ms(l.fromSend.p50), "≤ "+ms(latencyMaxP50)+at, over(l.fromSend.p50, latencyMaxP50), faults)
				check("latency p99 from the send", ms(l.fromSend.p99), "≤ "+ms(latencyMaxP99)+at, over(l.fromSend.p99, latencyMaxP99), faults)
			case "postgres":
				check("latency p99 from the send", ms(l.fromSend.p99), "≤ "+ms(pgLatencyMaxP99)+at, over(l.fromSend.p99, pgLatencyMaxP99), faults)
			}
			var why string
			if l.undelivered > 0 {
				why = fmt.Sprintf("%d of %d accepted events undelivered", l.undelivered, l.accepted)
			}
			check("latency: all delivered", fmt.Sprintf("%d undelivered", l.undelivered),
				fmt.Sprintf("0 undelivered %s after the load", latencyGrace), why, faults)
		}
		if x := s.sustained; x != nil {
			var why, drained string
			if x.perSec < sustainedMinPerS {
				why = fmt.Sprintf("%.0f < %.0f", x.perSec, sustainedMinPerS)
			}
			if !x.drained {
				drained = fmt.Sprintf("%d of %d deliveries after %s", x.received, x.expected, drainLimit)
			}
			check("sustained", fmt.Sprintf("%.0f deliveries/s", x.perSec), fmt.Sprintf("≥ %.0f deliveries/s", sustainedMinPerS),
				why, drained, phaseFaults(x.load.errors, x.bad))
		}
		if f := s.fanout; f != nil {
			value, why := "-", "no fan-out event was accepted"
			if len(f.runs) > 0 {
				value, why = fmt.Sprintf("%.2f s", f.median.Seconds()), ""
				if f.median > fanoutMaxDuration {
					why = fmt.Sprintf("%.2f s > %.0f s", f.median.Seconds(), fanoutMaxDuration.Seconds())
				}
			}
			check(fmt.Sprintf("fan-out to %d", f.channels), value, fmt.Sprintf("≤ %.0f s", fanoutMaxDuration.Seconds()),
				why, phaseFaults(f.errors, f.bad))
		}
		if n := s.noisy; n != nil {
			faults := phaseFaults(n.noisy.errors+n.quiet.errors, n.noisy.bad+n.quiet.bad)
			var why string
			if r := n.p99Ratio(); r > noisyMaxP99Ratio {
				why = fmt.Sprintf("%.2f× > %.0f×", r, noisyMaxP99Ratio)
			}
			check("noisy neighbour: org A p99 vs alone", fmt.Sprintf("%.2f× (%s vs %s)", n.p99Ratio(), ms(n.noisy.fromSend.p99), ms(n.quiet.fromSend.p99)),
				fmt.Sprintf("≤ %.0f×", noisyMaxP99Ratio), why, faults)
			if s.name == "sqlite" {
				check("noisy neighbour: org A p99 from the send", ms(n.noisy.fromSend.p99), "≤ "+ms(latencyMaxP99), over(n.noisy.fromSend.p99, latencyMaxP99))
			}
			why = ""
			if r := n.cpuRatio(); r > noisyMaxCPURatio {
				why = fmt.Sprintf("%.2f× > %.1f×", r, noisyMaxCPURatio)
			}
			check("noisy neighbour: server CPU vs alone", fmt.Sprintf("%.2f×", n.cpuRatio()), fmt.Sprintf("≤ %.1f×", noisyMaxCPURatio), why)
			why = ""
			if n.noisy.undelivered > 0 {
				why = fmt.Sprintf("%d of %d accepted events undelivered", n.noisy.undelivered, n.noisy.accepted)
			}
			check("noisy neighbour: org A all delivered", fmt.Sprintf("%d undelivered", n.noisy.undelivered),
				fmt.Sprintf("0 undelivered %s after the load", latencyGrace), why)
		}
		if s.errors > 0 {
			check("server log", fmt.Sprintf("%d ERROR lines", s.errors), "no ERROR lines", "the server logged errors")
		}
	}
	return out
}

func over(d, limit time.Duration) string {
	if d > limit {
		return fmt.Sprintf("%s > %s", ms(d), ms(limit))
	}
	return ""
}

func phaseFaults(failed, bad int) string {
	var why []string
	if failed > 0 {
		why = append(why, fmt.Sprintf("%d failed requests", failed))
	}
	if bad > 0 {
		why = append(why, fmt.Sprintf("%d malformed deliveries", bad))
	}
	return strings.Join(why, "; ")
}

func (r *notifyReport) exitCode() int {
	for _, v := range r.verdicts() {
		if v.status == "FAIL" {
			return 1
		}
	}
	if r.bare.errors > 0 {
		return 1
	}
	return 0
}

// problems lists failed requests, malformed deliveries, redeliveries and
// server log lines, loudly; nil if none.
func (r *notifyReport) problems() []string {
	var out []string
	kinds := func(m map[string]int) string {
		var s []string
		for _, k := range slices.Sorted(maps.Keys(m)) {
			s = append(s, fmt.Sprintf("%s×%d", k, m[k]))
		}
		return strings.Join(s, ", ")
	}
	if b := r.bare; b.errors > 0 || b.bad > 0 {
		out = append(out, fmt.Sprintf("bare sender: %d failed requests (first: %s), %d malformed deliveries (%s)", b.errors, b.sample, b.bad, b.badSample))
	}
	for _, s := range r.stores {
		if l := s.latency; l != nil && (l.errors > 0 || l.bad > 0 || l.dups > 0 || l.extra > 0) {
			out = append(out, fmt.Sprintf("%s latency: %d failed requests (%s; first: %s); %d malformed deliveries (%s); %d redeliveries; %d extra deliveries",
				s.name, l.errors, kinds(l.kinds), l.sample, l.bad, l.badSample, l.dups, l.extra))
		}
		if x := s.sustained; x != nil && (x.load.errors > 0 || x.bad > 0 || x.dups > 0) {
			out = append(out, fmt.Sprintf("%s sustained: %d failed requests (%s; first: %s); %d malformed deliveries (%s); %d redeliveries",
				s.name, x.load.errors, kinds(x.load.kinds), x.load.sample, x.bad, x.badSample, x.dups))
		}
		if f := s.fanout; f != nil && (f.errors > 0 || f.bad > 0 || f.dups > 0) {
			out = append(out, fmt.Sprintf("%s fan-out: %d failed requests (first: %s); %d malformed deliveries (%s); %d redeliveries",
				s.name, f.errors, f.sample, f.bad, f.badSample, f.dups))
		}
		if s.errors > 0 || s.warnings > 0 {
			out = append(out, fmt.Sprintf("%s: the server logged %d errors and %d warnings; last lines:\n%s", s.name, s.errors, s.warnings, s.logTail))
		}
	}
	return out
}

const notifyNote = "latency runs from sending POST /deployment-events/ (send → received: what a client waits, ingest included) " +
	"and from its 2xx answer (answer → received: the delivery alone) to the arrival of the event's delivery; latency targets are from the send; " +
	"sustained deliveries/s is all deliveries received over the time from the start of the load to the last delivery; " +
	"fan-out runs from sending the event's POST to the arrival of its last delivery; × bare is deliveries/s over the bare sender's; " +
	"noisy neighbour is the latency load again, without and then with another org's backlog for a receiver that never answers."

func (r *notifyReport) writeText(w io.Writer) {
	probs := r.problems()
	fmt.Fprintln(w, "shiplog notify benchmark: webhook deliveries")
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range r.header() {
		fmt.Fprintf(tw, "%s:\t%s\n", f.name, f.value)
	}
	tw.Flush()
	for _, s := range r.stores {
		fmt.Fprintf(w, "\n%s\n", s.name)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, row := range r.rows(s) {
			fmt.Fprintln(tw, strings.Join(row[:3], "\t")+"\t")
		}
		tw.Flush()
		for _, row := range r.rows(s)[1:] {
			fmt.Fprintf(w, "  %s: %s\n", row[0], row[3])
		}
	}
	fmt.Fprintln(w, "\n"+notifyNote)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range r.verdicts() {
		fmt.Fprintf(tw, "%s\t%s\ttarget %s\t%s\t%s\n", v.label, v.value, v.goal, v.status, v.why)
	}
	tw.Flush()
	if len(probs) > 0 {
		fmt.Fprintln(w, "\n!!!!!!!! PROBLEMS !!!!!!!!")
		for _, p := range probs {
			fmt.Fprintln(w, "  "+p)
		}
	}
}

func (r *notifyReport) writeMarkdown(w io.Writer) {
	if probs := r.problems(); len(probs) > 0 {
		fmt.Fprintln(w, "> **Problems:**")
		for _, p := range probs {
			fmt.Fprintf(w, "> - `%s`\n", strings.ReplaceAll(p, "\n", " "))
		}
		fmt.Fprintln(w)
	}
	for _, f := range r.header() {
		fmt.Fprintf(w, "- **%s**: %s\n", f.name, f.value)
	}
	for _, s := range r.stores {
		fmt.Fprintf(w, "\n**%s**\n\n", s.name)
		rows := r.rows(s)
		fmt.Fprintln(w, "| "+strings.Join(rows[0], " | ")+" |")
		fmt.Fprintln(w, "|---|--:|--:|---|")
		for _, row := range rows[1:] {
			fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, notifyNote)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | value | goal | result |")
	fmt.Fprintln(w, "|---|--:|---|---|")
	for _, v := range r.verdicts() {
		res := "**" + v.status + "**"
		if v.why != "" {
			res += " (" + v.why + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", v.label, v.value, v.goal, res)
	}
}
