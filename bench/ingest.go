package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

type ingestConfig struct {
	duration time.Duration
	warmup   time.Duration
	rounds   int
	conns    int
	replicas int    // shiplog servers on one PostgreSQL schema in the replica configuration; 1: none
	postgres string // "" skips PostgreSQL
	shiplog  string // "" builds ./cmd/shiplog
	markdown bool
	cpuprof  string // directory for the servers' CPU profiles; "" for none
}

func parseIngestFlags(args []string, stderr io.Writer) (ingestConfig, error) {
	var c ingestConfig
	pgDefault := os.Getenv("SHIPLOG_BENCH_POSTGRES_URL")
	if pgDefault == "" {
		pgDefault = pgDefaultURL
	}
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "measured time per configuration per round")
	fs.DurationVar(&c.warmup, "warmup", time.Second, "unmeasured load before each measurement")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; each runs every configuration once, interleaved")
	fs.IntVar(&c.conns, "conns", 64, "concurrent keep-alive connections (requests in flight)")
	fs.IntVar(&c.replicas, "replicas", 1,
		"also measure N shiplog servers on the one PostgreSQL schema, the connections shared among them (configuration postgres×N)")
	fs.StringVar(&c.postgres, "postgres", pgDefault,
		"PostgreSQL URL (default $SHIPLOG_BENCH_POSTGRES_URL, else the local server); '' skips PostgreSQL")
	fs.StringVar(&c.shiplog, "shiplog", "", "shiplog binary to run (default: build ./cmd/shiplog into a temp dir)")
	fs.BoolVar(&c.markdown, "markdown", false, "print the report as markdown")
	fs.StringVar(&c.cpuprof, "cpuprofile", "",
		"write each shiplog server's CPU profile to DIR/<config>.pprof (runs bench/shiplogprof, i.e. cmd/shiplog plus runtime/pprof)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: go run ./bench ingest [flags]\n\n"+
			"Drives POST /deployment-events/ against a bare net/http handler (the ceiling), shiplog on\n"+
			"SQLite and shiplog on PostgreSQL (with -replicas N also N servers on that database),\n"+
			"interleaved, and reports the median of the rounds.\n"+
			"Exit status: 0 targets met, 1 a target missed or requests failed, 2 the run failed.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.duration < time.Second || c.duration > 10*time.Minute:
		return c, fmt.Errorf("-duration %s: use 1s to 10m", c.duration)
	case c.warmup < 0 || c.warmup > time.Minute:
		return c, fmt.Errorf("-warmup %s: use 0 to 1m", c.warmup)
	case c.rounds < 1 || c.rounds > 20:
		return c, fmt.Errorf("-rounds %d: use 1 to 20", c.rounds)
	case c.conns < 1 || c.conns > 1024:
		return c, fmt.Errorf("-conns %d: use 1 to 1024", c.conns)
	case c.replicas < 1 || c.replicas > 4:
		return c, fmt.Errorf("-replicas %d: use 1 to 4", c.replicas)
	case c.replicas > 1 && c.postgres == "":
		return c, fmt.Errorf("-replicas %d needs PostgreSQL; drop -postgres ''", c.replicas)
	case c.cpuprof != "" && c.shiplog != "":
		return c, fmt.Errorf("-cpuprofile builds its own shiplog binary; drop -shiplog")
	}
	return c, nil
}

// budget bounds the whole run: every measurement may overrun by the client
// timeout, plus time to build and start the servers.
func (c ingestConfig) budget() time.Duration {
	return time.Duration(c.configs()*c.rounds)*(c.warmup+c.duration+40*time.Second) + 5*time.Minute
}

// configs is how many configurations a round runs at most.
func (c ingestConfig) configs() int {
	if c.replicas > 1 {
		return 4
	}
	return 3
}

// replicaName names the replica configuration.
func (c ingestConfig) replicaName() string { return fmt.Sprintf("postgres×%d", c.replicas) }

func ingestMain(args []string, stdout, stderr io.Writer) int {
	cfg, err := parseIngestFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "bench ingest:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, cfg.budget())
	defer cancel()

	var cl cleanups
	defer cl.run() // also when a panic unwinds this goroutine
	progress := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	rep, err := runIngest(ctx, cfg, &cl, progress)
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (the run's budget of %s ran out)", err, cfg.budget())
		}
		fmt.Fprintln(stderr, "bench ingest:", err)
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

var shiplogAddrRE = regexp.MustCompile(`msg="shiplog listening" addr=(\S+)`)
var bareAddrRE = regexp.MustCompile(`bare-server listening addr=(\S+)`)

func runIngest(ctx context.Context, cfg ingestConfig, cl *cleanups, progress func(string, ...any)) (*report, error) {
	rep := newReport(cfg)
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
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}

	var targets []*target
	progress("starting the bare server")
	proc, addr, err := startChild(ctx, cl, "bare-server", self, []string{bareServerCmd}, nil, bareAddrRE, true, 30*time.Second)
	if err != nil {
		return nil, err
	}
	targets = append(targets, &target{name: "bare", url: "http://" + addr + "/deployment-events/", key: "sk_unused", proc: proc})

	progress("starting shiplog on SQLite")
	t, err := startShiplog(ctx, cl, "sqlite", bin, "sqlite://"+filepath.Join(tmp, "shiplog.db"), cfg.cpuprof)
	if err != nil {
		return nil, err
	}
	targets = append(targets, t)

	if s, note := openPostgres(ctx, cl, cfg.postgres, progress); s == nil {
		rep.pgNote = note
	} else {
		rep.pgVersion, rep.pgSchema = s.version, s.name
		progress("starting shiplog on PostgreSQL %s (schema %s)", s.version, s.name)
		t, err := startShiplog(ctx, cl, "postgres", bin, s.url, cfg.cpuprof)
		if err != nil {
			return nil, err
		}
		targets = append(targets, t)
		if cfg.replicas > 1 {
			// The postgres server is the first replica: the org, its key
			// and its pipelines are the same, and so is the secret key.
			group := &target{name: cfg.replicaName(), fleet: t.fleet, replicas: []*target{t}}
			for i := 2; i <= cfg.replicas; i++ {
				progress("starting shiplog replica %d on the same schema", i)
				r, err := serveShiplog(ctx, cl, fmt.Sprint("postgres-", i), bin, s.url, cfg.cpuprof, t.secret)
				if err != nil {
					return nil, err
				}
				r.key, r.admin, r.fleet = t.key, t.admin, t.fleet
				group.replicas = append(group.replicas, r)
			}
			targets = append(targets, group)
		}
	}

	for _, t := range targets {
		if err := firstRuns(ctx, t); err != nil {
			return nil, err
		}
	}

	rep.loadStart = loadavg()
	rep.date = time.Now()
	for round := 1; round <= cfg.rounds; round++ {
		for _, t := range targets {
			progress("round %d/%d %-8s  %s warm-up + %s at %d connections", round, cfg.rounds, t.name, cfg.warmup, cfg.duration, cfg.conns)
			r, err := measure(ctx, t, cfg.conns, cfg.warmup, cfg.duration)
			if err != nil {
				return nil, err
			}
			for _, srv := range t.servers() {
				if err := srv.proc.exited(); err != nil {
					return nil, err
				}
			}
			rep.add(t.name, r)
			progress("round %d/%d %-8s  %8.0f req/s  p50 %s  p99 %s  errors %d",
				round, cfg.rounds, t.name, r.rps, ms(r.p50), ms(r.p99), r.errors)
		}
	}
	rep.loadEnd = loadavg()
	for _, t := range targets {
		for _, srv := range t.servers()[min(1, len(t.replicas)):] { // the first replica reports as itself
			w, e := srv.proc.out.counts()
			rep.serverLogs[srv.name] = [2]int{w, e}
			if e > 0 {
				rep.serverTail[srv.name] = srv.proc.out.tail(5)
			}
		}
	}
	return rep, nil
}

// buildShiplog returns the shiplog binary to run and says where it comes
// from: given, else ./cmd/shiplog (bench/shiplogprof when profiling into
// cpuprof) built into dir.
func buildShiplog(ctx context.Context, given, cpuprof, dir string, progress func(string, ...any)) (bin, desc string, err error) {
	if given != "" {
		return given, given, nil
	}
	pkg := "github.com/shiplog/shiplog/cmd/shiplog"
	if cpuprof != "" {
		pkg = "github.com/shiplog/shiplog/bench/shiplogprof"
		if err := os.MkdirAll(cpuprof, 0o755); err != nil {
			return "", "", err
		}
	}
	bin = filepath.Join(dir, "shiplog")
	progress("building %s", pkg)
	if _, err := runCmd(ctx, 5*time.Minute, "", "go", "build", "-o", bin, pkg); err != nil {
		return "", "", fmt.Errorf("build shiplog (run from inside the module): %w", err)
	}
	return bin, "built from " + pkg + " at " + gitRevision(ctx), nil
}

// openPostgres makes a fresh schema at url, dropped by cl. Without one it
// returns nil and why PostgreSQL is skipped.
func openPostgres(ctx context.Context, cl *cleanups, url string, progress func(string, ...any)) (*pgSchema, string) {
	if url == "" {
		progress("PostgreSQL skipped: -postgres ''")
		return nil, "skipped: -postgres ''"
	}
	s, err := createSchema(ctx, url)
	if err != nil {
		note := fmt.Sprintf("skipped: PostgreSQL at %s is unreachable (%v)", redactURL(url), err)
		progress("PostgreSQL %s", note)
		return nil, note
	}
	cl.add(func() {
		if err := s.drop(); err != nil {
			progress("drop schema %s: %v", s.name, err)
		}
	})
	return s, ""
}

// startShiplog creates an organisation in dbURL and serves it, with extra
// arguments to serve and a new secret key.
func startShiplog(ctx context.Context, cl *cleanups, name, bin, dbURL, cpuprof string, extra ...string) (*target, error) {
	out, err := runCmd(ctx, 2*time.Minute, "", bin, "org", "create", "bench", "--db", dbURL)
	if err != nil {
		return nil, fmt.Errorf("%s: org create: %w", name, err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := strings.TrimSpace(lines[len(lines)-1])
	if !strings.HasPrefix(key, "sk_") {
		return nil, fmt.Errorf("%s: org create printed no API key on its last line: %q", name, out)
	}
	// Channels are changed by people, not with the org's key: an owner's token.
	if _, err := runCmd(ctx, time.Minute, "", bin, "user", "create", "--org", "bench", "--email", "bench@bench.test",
		"--name", "Bench", "--role", "owner", "--db", dbURL); err != nil {
		return nil, fmt.Errorf("%s: user create: %w", name, err)
	}
	out, err = runCmd(ctx, time.Minute, "", bin, "token", "create", "--org", "bench", "--email", "bench@bench.test", "--db", dbURL)
	if err != nil {
		return nil, fmt.Errorf("%s: token create: %w", name, err)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	admin := strings.TrimSpace(lines[len(lines)-1])
	// A throwaway key for channel secrets at rest, which PostgreSQL requires.
	var key32 [32]byte
	_, _ = rand.Read(key32[:])
	t, err := serveShiplog(ctx, cl, name, bin, dbURL, cpuprof, base64.StdEncoding.EncodeToString(key32[:]), extra...)
	if err != nil {
		return nil, err
	}
	t.key, t.admin, t.fleet = key, admin, &fleet{}
	return t, nil
}

// serveShiplog serves dbURL with secret as SHIPLOG_SECRET_KEY and extra
// arguments to serve; the caller fills in the org's credentials. With
// cpuprof it profiles into cpuprof/<name>.pprof (the binary must be
// bench/shiplogprof).
func serveShiplog(ctx context.Context, cl *cleanups, name, bin, dbURL, cpuprof, secret string, extra ...string) (*target, error) {
	// Log flags are explicit so that SHIPLOG_LOG_* in the environment cannot
	// change the line the address is read from.
	args := []string{"serve", "--addr", "127.0.0.1:0", "--db", dbURL, "--log-format", "text", "--log-level", "info"}
	args = append(args, extra...)
	// In the environment, so a binary that predates the setting ignores it.
	env := []string{"SHIPLOG_SECRET_KEY=" + secret}
	if cpuprof != "" {
		env = append(env, "BENCH_CPUPROFILE="+filepath.Join(cpuprof, name+".pprof"))
	}
	proc, addr, err := startChild(ctx, cl, "shiplog serve ("+name+")", bin, args, env, shiplogAddrRE, false, time.Minute)
	if err != nil {
		return nil, err
	}
	return &target{name: name, base: "http://" + addr, url: "http://" + addr + "/deployment-events/", secret: secret, proc: proc}, nil
}

// gitRevision names the source the servers were built from.
func gitRevision(ctx context.Context) string {
	rev, err := runCmd(ctx, 10*time.Second, "", "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		return "an unknown revision"
	}
	rev = strings.TrimSpace(rev)
	if st, err := runCmd(ctx, 10*time.Second, "", "git", "status", "--porcelain", "--untracked-files=no"); err == nil && strings.TrimSpace(st) != "" {
		rev += " with uncommitted changes"
	}
	return "commit " + rev
}
