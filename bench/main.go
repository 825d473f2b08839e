// Command bench measures shiplog on this machine.
//
//	go run ./bench ingest [-duration 10s] [-rounds 3] [-conns 64] [-replicas 1] [-postgres URL] [-shiplog PATH] [-markdown]
//	go run ./bench notify [-duration 10s] [-rate 1000] [-fanout 1000] [-postgres URL] [-shiplog PATH] [-markdown]
//
// ingest drives POST /deployment-events/ against three servers in one run —
// a bare net/http handler that only decodes the body (the ceiling), shiplog
// on SQLite and shiplog on PostgreSQL (with -replicas N, also N shiplog
// servers on that database) — and reports each against the ceiling. The
// load is CI traffic a correct server accepts in full (see traffic.go).
//
// notify measures webhook deliveries to a receiver inside the benchmark: a
// bare sender posting signed bodies to it (the ceiling), then, on shiplog on
// SQLite and on PostgreSQL, delivery latency at a fixed event rate,
// sustained deliveries/s and a fan-out to many channels.
// See docs/performance.md.
//
// Every server is a child process bound to 127.0.0.1:0. Children are stopped
// when the run ends, also on error or interrupt; a child whose parent dies
// without cleaning up is killed by the kernel (Pdeathsig) and the bare server
// also exits when its stdin closes.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `usage: bench <command> [flags]

commands:
  ingest   measure event ingestion: bare handler vs shiplog on SQLite and PostgreSQL
           (run 'bench ingest -h' for flags)
  notify   measure webhook delivery: bare sender vs shiplog on SQLite and PostgreSQL
           (run 'bench notify -h' for flags)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 all targets met, 1 a target missed or requests failed,
// 2 the benchmark could not run.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "ingest":
		return ingestMain(args[1:], stdout, stderr)
	case "notify":
		return notifyMain(args[1:], stdout, stderr)
	case bareServerCmd: // hidden: the ceiling server, started by ingest
		return bareServerMain(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "bench: unknown command %q\n\n%s", args[0], usage)
	return 2
}
