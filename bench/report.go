package main

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Targets, as ratios of the bare handler's req/s in the same run.
const (
	sqliteMinRatio   = 0.30
	sqliteMaxP99     = 50 * time.Millisecond
	postgresMinRatio = 0.20
	// replicaMinRatio is the replica configuration's req/s over one
	// server's on the same database, in the same round.
	replicaMinRatio = 1.5
)

type report struct {
	cfg                 ingestConfig
	date                time.Time
	facts               []fact
	loadStart, loadEnd  string
	pgNote              string // why PostgreSQL was skipped
	pgVersion, pgSchema string
	shiplog             string   // which binary served
	names               []string // targets, in run order
	rounds              map[string][]*roundResult
	serverLogs          map[string][2]int // warnings, errors logged
	serverTail          map[string]string
}

type fact struct{ name, value string }

func newReport(cfg ingestConfig) *report {
	return &report{cfg: cfg, facts: machineFacts(), rounds: map[string][]*roundResult{},
		serverLogs: map[string][2]int{}, serverTail: map[string]string{}}
}

func (r *report) add(name string, res *roundResult) {
	if _, ok := r.rounds[name]; !ok {
		r.names = append(r.names, name)
	}
	r.rounds[name] = append(r.rounds[name], res)
}

// summary is a target's figures: the median of its rounds for each measure.
type summary struct {
	name     string
	rps      float64
	p50, p99 time.Duration
	perRound []float64
	ok       int
	errors   int
	kinds    map[string]int
	sample   string

	serverCores float64       // CPU the server process used, in cores
	cpuPerReq   time.Duration // server process CPU per successful request
	selfCores   float64       // CPU the load generator used, in cores
	machine     float64       // fraction of the machine busy
}

func (r *report) summary(name string) *summary {
	rs := r.rounds[name]
	if len(rs) == 0 {
		return nil
	}
	s := &summary{name: name, kinds: map[string]int{}}
	var p50s, p99s, perReq []time.Duration
	var cores, self, machine []float64
	for _, x := range rs {
		s.perRound = append(s.perRound, x.rps)
		p50s = append(p50s, x.p50)
		p99s = append(p99s, x.p99)
		cores = append(cores, x.cpu.server.Seconds()/x.window.Seconds())
		self = append(self, x.cpu.self.Seconds()/x.window.Seconds())
		machine = append(machine, x.cpu.machine)
		if x.ok > 0 {
			perReq = append(perReq, x.cpu.server/time.Duration(x.ok))
		}
		s.ok += x.ok
		s.errors += x.errors
		for k, n := range x.kinds {
			s.kinds[k] += n
		}
		if s.sample == "" {
			s.sample = x.sample
		}
	}
	s.rps = median(s.perRound)
	s.p50, s.p99 = median(p50s), median(p99s)
	s.serverCores, s.selfCores, s.machine = median(cores), median(self), median(machine)
	if len(perReq) > 0 {
		s.cpuPerReq = median(perReq)
	}
	return s
}

func median[T float64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// verdict is one target check.
type verdict struct {
	label  string // sqlite/bare
	ratio  float64
	goal   string
	status string // PASS, FAIL, SKIPPED
	why    string
}

func (r *report) verdicts() []verdict {
	bare := r.summary("bare")
	check := func(name string, minRatio float64, maxP99 time.Duration) verdict {
		v := verdict{label: name + "/bare", goal: fmt.Sprintf("≥ %.2f × bare", minRatio)}
		if maxP99 > 0 {
			v.goal += ", p99 ≤ " + ms(maxP99)
		}
		s := r.summary(name)
		if s == nil || bare == nil || bare.rps == 0 {
			v.status, v.why = "SKIPPED", r.pgNote
			return v
		}
		v.ratio = s.rps / bare.rps
		var why []string
		if v.ratio < minRatio {
			why = append(why, fmt.Sprintf("ratio %.2f < %.2f", v.ratio, minRatio))
		}
		if maxP99 > 0 && s.p99 > maxP99 {
			why = append(why, fmt.Sprintf("p99 %s > %s", ms(s.p99), ms(maxP99)))
		}
		if s.errors > 0 {
			why = append(why, fmt.Sprintf("%d failed requests", s.errors))
		}
		if bare.errors > 0 {
			why = append(why, "the bare baseline had failed requests")
		}
		v.status, v.why = "PASS", ""
		if len(why) > 0 {
			v.status, v.why = "FAIL", strings.Join(why, "; ")
		}
		return v
	}
	out := []verdict{check("sqlite", sqliteMinRatio, sqliteMaxP99), check("postgres", postgresMinRatio, 0)}
	if r.cfg.replicas > 1 {
		out = append(out, r.replicaVerdict())
	}
	return out
}

// replicaVerdict checks the replica configuration against one server: the
// median over the rounds of the ratio of their req/s in each round, so that
// both sides of a ratio saw the same machine.
func (r *report) replicaVerdict() verdict {
	name := r.cfg.replicaName()
	v := verdict{label: name + "/postgres", goal: fmt.Sprintf("≥ %.2f × one replica in the same round", replicaMinRatio)}
	one, many := r.rounds["postgres"], r.rounds[name]
	if len(one) == 0 || len(many) == 0 {
		v.status, v.why = "SKIPPED", r.pgNote
		return v
	}
	var ratios []float64
	var per []string
	for i := range min(len(one), len(many)) {
		if one[i].rps > 0 {
			ratios = append(ratios, many[i].rps/one[i].rps)
			per = append(per, fmt.Sprintf("%.2f", many[i].rps/one[i].rps))
		}
	}
	var why []string
	if len(ratios) == 0 {
		why = append(why, "one replica answered nothing in the window")
	} else {
		v.ratio = median(ratios)
		if v.ratio < replicaMinRatio {
			why = append(why, fmt.Sprintf("ratio %.2f < %.2f", v.ratio, replicaMinRatio))
		}
	}
	for _, n := range []string{"postgres", name} {
		if e := r.summary(n).errors; e > 0 {
			why = append(why, fmt.Sprintf("%d failed requests on %s", e, n))
		}
	}
	v.status = "PASS"
	if len(why) > 0 {
		v.status = "FAIL"
	}
	v.why = strings.Join(append(why, "per round "+strings.Join(per, " / ")), "; ")
	return v
}

func (r *report) exitCode() int {
	for _, v := range r.verdicts() {
		if v.status == "FAIL" {
			return 1
		}
	}
	return 0
}

// errorLines says loudly which targets had failed requests; nil if none.
func (r *report) errorLines() []string {
	var out []string
	for _, n := range r.names {
		s := r.summary(n)
		if s.errors == 0 {
			continue
		}
		var kinds []string
		for _, k := range slices.Sorted(maps.Keys(s.kinds)) {
			kinds = append(kinds, fmt.Sprintf("%s×%d", k, s.kinds[k]))
		}
		out = append(out, fmt.Sprintf("%s: %d failed requests (%s); first: %s", n, s.errors, strings.Join(kinds, ", "), s.sample))
	}
	for _, n := range slices.Sorted(maps.Keys(r.serverLogs)) {
		if lg := r.serverLogs[n]; lg[1] > 0 {
			out = append(out, fmt.Sprintf("%s: the server logged %d errors; last lines:\n%s", n, lg[1], r.serverTail[n]))
		}
	}
	return out
}

func (r *report) header() []fact {
	f := []fact{{"date", r.date.Format(time.RFC3339)}}
	f = append(f, r.facts...)
	f = append(f, fact{"load average at start", r.loadStart}, fact{"load average at end", r.loadEnd})
	pg := "PostgreSQL " + r.pgVersion + " (schema " + r.pgSchema + ", dropped at the end)"
	if r.pgNote != "" {
		pg = "PostgreSQL " + r.pgNote
	}
	f = append(f, fact{"shiplog", r.shiplog}, fact{"postgres", pg})
	f = append(f, fact{"load", fmt.Sprintf("%d keep-alive connections over loopback, one request in flight on each; %d rounds × %s (after %s warm-up) "+
		"per configuration, interleaved; figures are medians of the rounds",
		r.cfg.conns, r.cfg.rounds, r.cfg.duration, r.cfg.warmup)})
	f = append(f, fact{"events", fmt.Sprintf("CI runs of %d products, each product's runs one after another (started and completed "+
		"of a run sent at once, the next run when both are answered), so no run is ever refused as concurrent", max(r.cfg.conns, len(products)))})
	if r.cfg.replicas > 1 {
		f = append(f, fact{"replicas", fmt.Sprintf("%s is %d shiplog servers on the postgres schema (the first is the postgres server), "+
			"with the same secret key; the connections and the products are split among them, a product always on the same server",
			r.cfg.replicaName(), r.cfg.replicas)})
	}
	return f
}

func (r *report) rows() [][]string {
	rows := [][]string{{"config", "req/s", "p50", "p99", "ok requests", "errors",
		"server CPU", "CPU/req", "load-gen CPU", "machine busy", "req/s per round"}}
	for _, n := range r.names {
		s := r.summary(n)
		var per []string
		for _, x := range s.perRound {
			per = append(per, fmt.Sprintf("%.0f", x))
		}
		p50, p99, perReq := "-", "-", "-"
		if s.ok > 0 {
			p50, p99 = ms(s.p50), ms(s.p99)
			perReq = fmt.Sprintf("%.0f µs", float64(s.cpuPerReq)/float64(time.Microsecond))
		}
		rows = append(rows, []string{n, fmt.Sprintf("%.0f", s.rps), p50, p99, fmt.Sprint(s.ok), fmt.Sprint(s.errors),
			fmt.Sprintf("%.2f cores", s.serverCores), perReq, fmt.Sprintf("%.2f cores", s.selfCores),
			fmt.Sprintf("%.0f%%", 100*s.machine), strings.Join(per, " / ")})
	}
	return rows
}

const cpuNote = "server CPU is the server processes alone (all replicas of postgres×N; the PostgreSQL backends are not in it, machine busy is), " +
	"CPU/req is that divided by the requests answered, and all columns but ok requests (the sum) are medians of the rounds."

func (r *report) writeText(w io.Writer) {
	errs := r.errorLines()
	fmt.Fprintln(w, "shiplog ingest benchmark: POST /deployment-events/")
	if len(errs) > 0 {
		fmt.Fprintln(w, "\n!!!!!!!! REQUESTS FAILED: THESE FIGURES ARE NOT VALID !!!!!!!!")
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, f := range r.header() {
		fmt.Fprintf(tw, "%s:\t%s\n", f.name, f.value)
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, row := range r.rows() {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w, "\n"+cpuNote)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, v := range r.verdicts() {
		ratio := "-"
		if v.status != "SKIPPED" {
			ratio = fmt.Sprintf("%.3f", v.ratio)
		}
		fmt.Fprintf(tw, "%s\t%s\ttarget %s\t%s\t%s\n", v.label, ratio, v.goal, v.status, v.why)
	}
	tw.Flush()
	if len(errs) > 0 {
		fmt.Fprintln(w, "\n!!!!!!!! REQUESTS FAILED !!!!!!!!")
		for _, e := range errs {
			fmt.Fprintln(w, "  "+e)
		}
	}
}

func (r *report) writeMarkdown(w io.Writer) {
	errs := r.errorLines()
	if len(errs) > 0 {
		fmt.Fprintln(w, "> **REQUESTS FAILED: these figures are not valid.**")
		for _, e := range errs {
			fmt.Fprintf(w, "> - `%s`\n", strings.ReplaceAll(e, "\n", " "))
		}
		fmt.Fprintln(w)
	}
	for _, f := range r.header() {
		fmt.Fprintf(w, "- **%s**: %s\n", f.name, f.value)
	}
	fmt.Fprintln(w)
	rows := r.rows()
	fmt.Fprintln(w, "| "+strings.Join(rows[0], " | ")+" |")
	fmt.Fprintln(w, "|---"+strings.Repeat("|--:", len(rows[0])-1)+"|")
	for _, row := range rows[1:] {
		fmt.Fprintln(w, "| "+strings.Join(row, " | ")+" |")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, cpuNote)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| ratio | value | target | result |")
	fmt.Fprintln(w, "|---|--:|---|---|")
	for _, v := range r.verdicts() {
		ratio := "-"
		if v.status != "SKIPPED" {
			ratio = fmt.Sprintf("%.3f", v.ratio)
		}
		res := "**" + v.status + "**"
		if v.why != "" {
			res += " (" + v.why + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", v.label, ratio, v.goal, res)
	}
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// machineFacts describes where the figures come from.
func machineFacts() []fact {
	f := []fact{
		{"cpus", fmt.Sprintf("%d (nproc), GOMAXPROCS %d", runtime.NumCPU(), runtime.GOMAXPROCS(0))},
		{"cpu", procField("/proc/cpuinfo", "model name")},
		{"memory", procField("/proc/meminfo", "MemTotal")},
		{"kernel", firstLine("/proc/sys/kernel/osrelease")},
		{"go", runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH},
	}
	return f
}

func loadavg() string {
	fields := strings.Fields(firstLine("/proc/loadavg"))
	if len(fields) < 3 {
		return "unknown"
	}
	return strings.Join(fields[:3], " ")
}

func firstLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line)
}

// procField returns the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
