package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/alecthomas/kong"

	"github.com/shiplog/shiplog/client"
)

// apiFlags are the connection settings every CI command takes. Flags win
// over SHIPLOG_* variables, which win over the VERSIONER_* ones pipelines
// written for the Versioner CLI already set.
type apiFlags struct {
	APIURL         string `group:"Connection and output" name:"api-url" aliases:"url" env:"SHIPLOG_URL,VERSIONER_API_URL" placeholder:"URL" help:"shiplog server URL."`
	APIKey         string `group:"Connection and output" name:"api-key" env:"SHIPLOG_API_KEY,VERSIONER_API_KEY" placeholder:"KEY" help:"API key sk_…; prefer the environment variable (flags show in process lists)."`
	FailOnAPIError bool   `group:"Connection and output" name:"fail-on-api-error" env:"SHIPLOG_FAIL_ON_API_ERROR,VERSIONER_FAIL_ON_API_ERROR" default:"true" help:"Fail when the server cannot be reached or answers an error; =false warns and exits 0 instead. A preflight block always fails."`
	Output         string `group:"Connection and output" name:"output" short:"o" env:"SHIPLOG_OUTPUT" enum:"human,json" default:"human" help:"human or json (one object on stdout; for run, on stderr)."`
	Verbose        bool   `group:"Connection and output" name:"verbose" short:"v" help:"Show what was detected from the CI environment and what is sent."`
	// RetryWaits are the waits between attempts (the spec's 1 s, 2 s, 4 s);
	// tests shorten them.
	RetryWaits []time.Duration `name:"retry-waits" env:"SHIPLOG_RETRY_WAITS" default:"1s,2s,4s" hidden:""`
}

// connect checks the settings and returns the client. A key given as a flag
// works, with a warning.
func (f *apiFlags) connect(kctx *kong.Context, stderr io.Writer) (*client.Client, error) {
	if flagGiven(kctx, "api-key") {
		fmt.Fprintln(stderr, "shiplog: warning: --api-key is visible to other users in process lists and may be logged by CI; set SHIPLOG_API_KEY instead")
	}
	if f.APIURL == "" {
		return nil, errors.New("no server URL: set SHIPLOG_URL (or VERSIONER_API_URL) or pass --api-url")
	}
	if f.APIKey == "" {
		return nil, errors.New("no API key: set SHIPLOG_API_KEY (or VERSIONER_API_KEY)")
	}
	return client.New(f.APIURL, f.APIKey, client.WithUserAgent("shiplog-cli/"+Version), client.WithBackoff(f.RetryWaits...))
}

// flagGiven reports whether the command line itself set the flag (not the
// environment or a default).
func flagGiven(kctx *kong.Context, name string) bool {
	if kctx == nil {
		return false
	}
	for _, p := range kctx.Path {
		if p.Flag != nil && p.Flag.Name == name {
			return true
		}
	}
	return false
}

// Outcomes, as --output json names them.
const (
	outcomeRecorded     = "recorded"
	outcomeAllowed      = "allowed"
	outcomeBlocked      = "blocked"
	outcomeAPIError     = "api_error"
	outcomeNetworkError = "network_error"
	outcomeNotRecorded  = "not_recorded" // an error --fail-on-api-error=false turned into a warning
	outcomeNoVerdict    = "no_verdict"   // the same, for preflight
	outcomeInterrupted  = "interrupted"
	outcomeUsage        = "usage_error"
)

// classify maps a client error to an outcome and exit code: a block is 5
// whatever the flag says; other server errors 4 and network errors 1, or a
// warning and 0 with --fail-on-api-error=false.
func classify(err error, failOnAPIError bool) (string, int) {
	var ae *client.APIError
	var ne *client.NetworkError
	switch {
	case errors.As(err, &ae) && ae.Blocked():
		return outcomeBlocked, exitBlocked
	case errors.Is(err, context.Canceled):
		return outcomeInterrupted, exitFailure
	case !failOnAPIError && (errors.As(err, &ae) || errors.As(err, &ne)):
		return outcomeNotRecorded, exitOK
	case errors.As(err, &ae):
		return outcomeAPIError, exitAPI
	case errors.As(err, &ne):
		return outcomeNetworkError, exitFailure
	}
	return outcomeUsage, exitFailure
}
