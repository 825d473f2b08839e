// Command shiplogprof is cmd/shiplog with a CPU profile, for
// 'go run ./bench ingest -cpuprofile DIR': when BENCH_CPUPROFILE names a
// file, the whole run is profiled into it and the profile is written when
// the command returns (for serve: after SIGTERM's clean shutdown).
// It lives under bench/ so that the server itself carries no profiling code.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/shiplog/shiplog/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var prof *os.File
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "shiplogprof: cpu profile:", err)
			os.Exit(2)
		}
		prof = f
	}
	code := cli.Main(ctx)
	stop()
	if prof != nil {
		pprof.StopCPUProfile()
		if err := prof.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "shiplogprof: cpu profile:", err)
		}
	}
	os.Exit(code)
}
