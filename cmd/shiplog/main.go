// Command shiplog is the server, the administration commands and (later)
// the CI client, in one static binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/shiplog/shiplog/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx)
	stop()
	os.Exit(code)
}
