package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type notifyConfig struct {
	duration time.Duration
	rate     int // events/s of the latency measurement
	conns    int // bare sender workers and sustained-load clients
	fanout   int // channels of the fan-out measurement
	repeats  int // fan-out events
	// noisyBacklog is org B's queue in the noisy-neighbour measurement.
	noisyBacklog int
	postgres     string
	shiplog      string
	markdown     bool
	cpuprof      string
	only         map[string]bool // measurements to run; all when nil
}

// measurements are what -only can pick, in the order they run.
var measurements = []string{"latency", "sustained", "fanout", "noisy"}

// runs reports whether the measurement is to run.
func (c notifyConfig) runs(m string) bool { return c.only == nil || c.only[m] }

func parseNotifyFlags(args []string, stderr io.Writer) (notifyConfig, error) {
	var c notifyConfig
	pgDefault := os.Getenv("SHIPLOG_BENCH_POSTGRES_URL")
	if pgDefault == "" {
		pgDefault = pgDefaultURL
	}
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "length of the bare sender, the fixed-rate load and the sustained load")
	fs.IntVar(&c.rate, "rate", 1000, "events/s of the fixed-rate (latency) load")
	fs.IntVar(&c.conns, "conns", 64, "concurrent workers of the bare sender and clients of the sustained load")
	fs.IntVar(&c.fanout, "fanout", 1000, "webhook channels of the fan-out measurement")
	fs.IntVar(&c.repeats, "repeats", 3, "fan-out events; the median is reported")
	fs.IntVar(&c.noisyBacklog, "noisy-backlog", 20000, "org B's deliveries queued for a receiver that never answers, in the noisy-neighbour measurement")
	fs.StringVar(&c.postgres, "postgres", pgDefault,
		"PostgreSQL URL (default $SHIPLOG_BENCH_POSTGRES_URL, else the local server); '' skips PostgreSQL")
	fs.StringVar(&c.shiplog, "shiplog", "", "shiplog binary to run (default: build ./cmd/shiplog into a temp dir)")
	fs.BoolVar(&c.markdown, "markdown", false, "print the report as markdown")
	fs.StringVar(&c.cpuprof, "cpuprofile", "",
		"write each shiplog server's CPU profile to DIR/<store>.pprof (runs bench/shiplogprof, i.e. cmd/shiplog plus runtime/pprof)")
	only := fs.String("only", "", "run only these measurements, comma-separated: "+strings.Join(measurements, ", ")+" (to profile one)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench notify [flags]\n\n"+
			"Measures webhook delivery against a receiver in this process: a bare sender (the ceiling), then\n"+
			"shiplog on SQLite and on PostgreSQL: latency at a fixed event rate, sustained deliveries/s and a\n"+
			"fan-out to many channels.\n"+
			"Exit status: 0 targets met, 1 a target missed or requests failed, 2 the run failed.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if *only != "" {
		c.only = map[string]bool{}
		for m := range strings.SplitSeq(*only, ",") {
			if !slices.Contains(measurements, strings.TrimSpace(m)) {
				return c, fmt.Errorf("-only %q: pick from %s", m, strings.Join(measurements, ", "))
			}
			c.only[strings.TrimSpace(m)] = true
		}
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.duration < time.Second || c.duration > 10*time.Minute:
		return c, fmt.Errorf("-duration %s: use 1s to 10m", c.duration)
	case c.rate < 1 || c.rate > 20000:
		return c, fmt.Errorf("-rate %d: use 1 to 20000", c.rate)
	case c.conns < 1 || c.conns > 1024:
		return c, fmt.Errorf("-conns %d: use 1 to 1024", c.conns)
	case c.fanout < 1 || c.fanout > 10000:
		return c, fmt.Errorf("-fanout %d: use 1 to 10000", c.fanout)
	case c.repeats < 1 || c.repeats > 20:
		return c, fmt.Errorf("-repeats %d: use 1 to 20", c.repeats)
	case c.noisyBacklog < 1 || c.noisyBacklog > 200000:
		return c, fmt.Errorf("-noisy-backlog %d: use 1 to 200000", c.noisyBacklog)
	case c.cpuprof != "" && c.shiplog != "":
		return c, fmt.Errorf("-cpuprofile builds its own shiplog binary; drop -shiplog")
	}
	return c, nil
}

// Bounds of the waits, whatever the server does.
const (
	latencyGrace   = 10 * time.Second // deliveries of the fixed-rate load may arrive this long after it
	drainLimit     = 60 * time.Second // the sustained load's queue must drain within this
	fanoutLimit    = 60 * time.Second // each fan-out event's deliveries must all arrive within this
	notifyPerStore = 3 * time.Minute  // setup, channel creation and pauses, generously
)

// budget bounds the whole run.
func (c notifyConfig) budget() time.Duration {
	perStore := 4*c.duration + 3*latencyGrace + drainLimit + time.Duration(c.repeats)*fanoutLimit + notifyPerStore +
		time.Duration(c.noisyBacklog)*time.Millisecond
	return time.Second + c.duration + 2*perStore + 5*time.Minute
}

func notifyMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseNotifyFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench notify:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.budget())
	defer cancel()

	var cl cleanups
	defer cl.run() // also when a panic unwinds this goroutine
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	rep, err := runNotify(ctx, cfg, &cl, progress)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (the run's budget of %s ran out)", err, cfg.budget())
		}
		fmt.Fprintln(stderr, "bench notify:", err)
		return 2
	}
	cl.run() // stops the servers, which writes their CPU profiles
	if cfg.cpuprof != "" {
		progress("CPU profiles in %s: go tool pprof -top %s", cfg.cpuprof, filepath.Join(cfg.cpuprof, "sqlite.pprof"))
	}
	if cfg.markdown {
		rep.writeMarkdown(stdout)
	} else {
		rep.writeText(stdout)
	}
	return rep.exitCode()
}

func runNotify(ctx context.Context, cfg notifyConfig, cl *cleanups, progress func(string, ...any)) (*notifyReport, error) {
	rep := &notifyReport{cfg: cfg, facts: machineFacts()}
	tmp, err := os.MkdirTemp("", "shiplog-bench-")
	if err != nil {
		return nil, err
	}
	cl.add(func() { os.RemoveAll(tmp) })
	bin, desc, err := buildShiplog(ctx, cfg.shiplog, cfg.cpuprof, tmp, progress)
	if err != nil {
		return nil, err
	}
	rep.shiplog = desc

	var b [16]byte
	_, _ = rand.Read(b[:])
	rcv, err := startReceiver(cl, hex.EncodeToString(b[:]))
	if err != nil {
		return nil, err
	}
	rep.loadStart = loadavg()
	rep.date = time.Now()

	progress("bare sender: %d workers for %s (after 1 s of warm-up) to the receiver at %s", cfg.conns, cfg.duration, rcv.addr)
	if rep.bare, err = bareSend(ctx, rcv, cfg.conns, time.Second, cfg.duration); err != nil {
		return nil, err
	}
	progress("bare sender: %.0f deliveries/s, p50 %s, p99 %s, errors %d",
		rep.bare.perSec, ms(rep.bare.p50), ms(rep.bare.p99), rep.bare.errors)

	dbs := []struct{ name, url string }{{"sqlite", "sqlite://" + filepath.Join(tmp, "notify.db")}}
	if s, note := openPostgres(ctx, cl, cfg.postgres, progress); s == nil {
		rep.pgNote = note
	} else {
		rep.pgVersion, rep.pgSchema = s.version, s.name
		dbs = append(dbs, struct{ name, url string }{"postgres", s.url})
	}
	for _, db := range dbs {
		progress("starting shiplog on %s", db.name)
		t, err := startShiplog(ctx, cl, db.name, bin, db.url, cfg.cpuprof, "--allow-private-targets")
		if err != nil {
			return nil, err
		}
		res, err := runStore(ctx, cfg, cl, t, rcv, bin, db.url, func(format string, args ...any) { progress(db.name+": "+format, args...) })
		if err != nil {
			return nil, fmt.Errorf("%s: %w", db.name, err)
		}
		if err := t.proc.exited(); err != nil {
			return nil, err
		}
		t.proc.terminate() // before the next store, so it has the machine to itself
		res.warnings, res.errors = t.proc.out.counts()
		if res.errors > 0 || res.warnings > 0 {
			res.logTail = t.proc.out.tail(5)
		}
		rep.stores = append(rep.stores, res)
	}
	rep.loadEnd = loadavg()
	return rep, nil
}

// runStore makes the org's channels and runs the three measurements on one
// shiplog server, in order: latency, sustained, fan-out. Each measurement
// deletes the channels it made, so the next one starts clean.
func runStore(ctx context.Context, cfg notifyConfig, cl *cleanups, t *target, rcv *receiver, bin, dbURL string,
	progress func(string, ...any)) (*storeResult, error) {
	a := newAPI(t)
	defer a.client.CloseIdleConnections()
	res := &storeResult{name: t.name}
	// Every org starts with an email channel; without SMTP it would only add
	// failed attempts to the work being measured.
	chs, err := a.channels(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range chs {
		if c.Kind == "email" {
			if err := a.deleteChannel(ctx, c.ID); err != nil {
				return nil, err
			}
		}
	}
	hook := "http://" + rcv.addr + "/hook/"
	secret := string(rcv.secret)

	if cfg.runs("latency") {
		id, err := a.createChannel(ctx, "latency", hook+"latency", secret, "deployment.completed")
		if err != nil {
			return nil, err
		}
		progress("latency: %d events/s for %s to one webhook channel", cfg.rate, cfg.duration)
		if res.latency, err = measureLatency(ctx, t, rcv, cfg.rate, cfg.duration); err != nil {
			return nil, err
		}
		l := res.latency
		progress("latency: send → received %s; answer → received %s; %d of %d accepted events undelivered; %d failed requests",
			l.fromSend, l.fromAnswer, l.undelivered, l.accepted, l.errors)
		if err := a.deleteChannel(ctx, id); err != nil {
			return nil, err
		}
	}
	if cfg.runs("sustained") {
		if res.sustained, err = runSustained(ctx, cfg, t, rcv, a, hook, secret, progress); err != nil {
			return nil, err
		}
	}
	if cfg.runs("fanout") {
		progress("fan-out: creating %d webhook channels", cfg.fanout)
		start := time.Now()
		ids, err := a.createChannels(ctx, cfg.fanout, hook+"fanout/", secret)
		if err != nil {
			return nil, err
		}
		progress("fan-out: %d channels created in %s", cfg.fanout, time.Since(start).Round(time.Millisecond))
		if res.fanout, err = measureFanout(ctx, t, rcv, cfg.fanout, cfg.repeats, progress); err != nil {
			return nil, err
		}
		// Else the noisy neighbour's every event would go to them too.
		if err := a.deleteChannels(ctx, ids); err != nil {
			return nil, err
		}
	}
	// Last: org B's backlog stays in the database.
	if cfg.runs("noisy") {
		if res.noisy, err = runNoisy(ctx, cfg, cl, t, rcv, a, bin, dbURL, hook, secret, progress); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// runSustained makes the sustained load's channels, measures and deletes them.
func runSustained(ctx context.Context, cfg notifyConfig, t *target, rcv *receiver, a *api, hook, secret string,
	progress func(string, ...any)) (*sustainedResult, error) {
	var ids []string
	for i := range sustainedChannels {
		id, err := a.createChannel(ctx, fmt.Sprint("sustained-", i), fmt.Sprint(hook, "sustained/", i), secret,
			"deployment.started", "deployment.completed")
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	progress("sustained: %d clients for %s, %d webhook channels", cfg.conns, cfg.duration, sustainedChannels)
	s, err := measureSustained(ctx, t, rcv, cfg.conns, cfg.duration)
	if err != nil {
		return nil, err
	}
	progress("sustained: %.0f deliveries/s (%d of %d received; drained %s after the load)",
		s.perSec, s.received, s.expected, s.drain.Round(time.Millisecond))
	for _, id := range ids {
		if err := a.deleteChannel(ctx, id); err != nil {
			return nil, err
		}
	}
	return s, nil
}
