package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/clientconf"
)

// clientGlobals are the Versioner CLI's global flags. They are the root's,
// so they go before the command (`shiplog --debug track deployment …`) or
// after it, as with the Versioner CLI; commands that are not CI commands
// ignore them.
type clientGlobals struct {
	Config  string `group:"Versioner CLI compatibility" name:"config" placeholder:"FILE" help:"Configuration file (default: the first config.yaml (or .yml, .json, …) in ~/.versioner, else in the working directory), as the Versioner CLI reads it."`
	Debug   bool   `group:"Versioner CLI compatibility" name:"debug" help:"Print each HTTP request and answer on stderr (never the API key)."`
	UIURL   string `group:"Versioner CLI compatibility" name:"ui-url" placeholder:"URL" help:"Base of the 'View in' links of the GitHub job summary (default: the API URL; shiplog redirects /manage/… links to its console)."`
	APIURL  string `group:"Connection and output" name:"api-url" aliases:"url" placeholder:"URL" help:"shiplog server URL (else SHIPLOG_URL, VERSIONER_API_URL, the configuration file's api_url)."`
	APIKey  string `group:"Connection and output" name:"api-key" placeholder:"KEY" help:"API key sk_…; prefer SHIPLOG_API_KEY or VERSIONER_API_KEY (flags show in process lists)."`
	Verbose bool   `group:"Connection and output" name:"verbose" short:"v" help:"Show the configuration file used, what was detected from the CI environment and what is sent."`
}

// apiFlags are the per-command settings of the CI commands.
type apiFlags struct {
	FailOnAPIError bool `group:"Connection and output" name:"fail-on-api-error" default:"true" help:"Fail when the server answers an error other than a refusal; =false warns and exits 0 instead (else SHIPLOG_FAIL_ON_API_ERROR, VERSIONER_FAIL_ON_API_ERROR, the configuration file). A refusal, 5xx and an unreachable server still fail."`
	// FailOnUnreachable is shiplog's: the Versioner CLI fails on an
	// unreachable server whatever --fail-on-api-error says, the Versioner
	// GitHub Action does not; =false (with --fail-on-api-error=false) gives
	// the Action's behaviour.
	FailOnUnreachable bool   `group:"Connection and output" name:"fail-on-unreachable" env:"SHIPLOG_FAIL_ON_UNREACHABLE" default:"true" help:"track only (shiplog's own): =false, with --fail-on-api-error=false, also makes an unreachable server or a 5xx after the retries a warning and exit 0, as the Versioner GitHub Action does (the Versioner CLI fails on them)."`
	Output            string `group:"Connection and output" name:"output" short:"o" env:"SHIPLOG_OUTPUT" enum:"human,json" default:"human" help:"human or json (one object on stdout; for run, on stderr)."`
	// RetryWaits are the waits between attempts (the spec's 1 s, 2 s, 4 s);
	// tests shorten them.
	RetryWaits []time.Duration `name:"retry-waits" env:"SHIPLOG_RETRY_WAITS" default:"1s,2s,4s" hidden:""`
}

// settings resolve each setting as the Versioner CLI does (a flag, then its
// VERSIONER_* variable, then the configuration file, then what CI detection
// found), with shiplog's own SHIPLOG_* variables between the flag and the
// VERSIONER_* one. An empty variable counts as unset.
type settings struct {
	g      *clientGlobals
	getenv func(string) string
	file   *clientconf.File
}

func loadSettings(g *clientGlobals, getenv func(string) string) *settings {
	if g == nil {
		g = &clientGlobals{}
	}
	cwd, _ := os.Getwd()
	return &settings{g: g, getenv: getenv, file: clientconf.Find(g.Config, getenv("HOME"), cwd)}
}

// str is flag, then shiplog's variables, then VERSIONER_<KEY>, then the file.
func (s *settings) str(flag, key string, shiplogEnv ...string) string {
	if flag != "" {
		return flag
	}
	for _, name := range shiplogEnv {
		if v := s.getenv(name); v != "" {
			return v
		}
	}
	if v := s.getenv("VERSIONER_" + strings.ToUpper(key)); v != "" {
		return v
	}
	if s.file != nil && s.file.Err == nil {
		return s.file.Get(key)
	}
	return ""
}

// failOnAPIError: the flag if given, else the variables or the file (read as
// Go's ParseBool, anything else being false, as the Versioner CLI reads
// them), else true.
func (s *settings) failOnAPIError(kctx *kong.Context, flag bool) bool {
	if flagGiven(kctx, "fail-on-api-error") {
		return flag
	}
	v := s.str("", "fail_on_api_error", "SHIPLOG_FAIL_ON_API_ERROR")
	if v == "" {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

func (s *settings) apiURL() string { return s.str(s.g.APIURL, "api_url", "SHIPLOG_URL") }

// uiURL is the base of the job summary's links: shiplog serves the
// Versioner UI's /manage/… links itself, so the API URL by default.
func (s *settings) uiURL() string {
	return strings.TrimRight(cmp.Or(s.str(s.g.UIURL, "ui_url", "SHIPLOG_UI_URL"), s.apiURL()), "/")
}

// announce says which configuration file is used (-v), and why one is not.
func (s *settings) announce(p *printer) {
	if s.file == nil || !s.g.Verbose {
		return
	}
	if s.file.Err != nil {
		p.say("shiplog: ignoring configuration file %s: %v", s.file.Path, s.file.Err)
		return
	}
	p.say("Using config file: %s", s.file.Path)
}

// connect checks the settings and returns the client. A key given as a flag
// works, with a warning.
func (s *settings) connect(kctx *kong.Context, f *apiFlags, stderr io.Writer) (*client.Client, error) {
	if flagGiven(kctx, "api-key") {
		fmt.Fprintln(stderr, "shiplog: warning: --api-key is visible to other users in process lists and may be logged by CI; set SHIPLOG_API_KEY instead")
	}
	u := s.apiURL()
	if u == "" {
		return nil, errors.New("no server URL: set SHIPLOG_URL (or VERSIONER_API_URL, or api_url in the configuration file) or pass --api-url")
	}
	key := s.str(s.g.APIKey, "api_key", "SHIPLOG_API_KEY")
	if key == "" {
		return nil, errors.New("no API key: set SHIPLOG_API_KEY (or VERSIONER_API_KEY, or api_key in the configuration file)")
	}
	opts := []client.Option{client.WithUserAgent("shiplog-cli/" + Version), client.WithBackoff(f.RetryWaits...)}
	if s.g.Debug {
		opts = append(opts, client.WithHTTPClient(&http.Client{Timeout: client.DefaultTimeout,
			Transport: &debugTransport{w: stderr, next: http.DefaultTransport}}))
	}
	return client.New(u, key, opts...)
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

// classify maps a client error to an outcome and exit code for preflight and
// run (shiplog's own commands): a block is 5 whatever the flag says; other
// server errors 4 and network errors 1, or a warning and 0 with
// --fail-on-api-error=false.
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

// classifyTrack is the Versioner CLI's mapping for track deployment and
// track build, which scripts written for it test:
//
//	deployment: 409, 423 and 428 exit 5 (a refusal, or a version's SHA
//	conflict), whatever --fail-on-api-error says; another 4xx exits 4 (0 with
//	a warning under --fail-on-api-error=false); no answer, 5xx or 429 after
//	the retries, or an unreadable answer exit 1, whatever the flag says.
//	build: every failure exits 2, except a 4xx other than 409, 423 and 428
//	under --fail-on-api-error=false (0 with a warning).
//
// tolerateUnreachable (shiplog's --fail-on-unreachable=false) makes the
// transport failures warnings too when failOnAPIError is false.
func classifyTrack(build bool, err error, failOnAPIError, tolerateUnreachable bool) (string, int) {
	outcome, code := classifyVersioner(build, err, failOnAPIError)
	if outcome == outcomeNetworkError && !failOnAPIError && tolerateUnreachable {
		return outcomeNotRecorded, exitOK
	}
	return outcome, code
}

func classifyVersioner(build bool, err error, failOnAPIError bool) (string, int) {
	var ae *client.APIError
	if errors.Is(err, context.Canceled) {
		return outcomeInterrupted, exitFailure
	}
	transport, apiCode := exitFailure, exitAPI
	refusal := exitBlocked
	if build {
		transport, apiCode, refusal = exitBuild, exitBuild, exitBuild
	}
	if !errors.As(err, &ae) {
		var ne *client.NetworkError
		if errors.As(err, &ne) {
			return outcomeNetworkError, transport
		}
		return outcomeUsage, exitFailure
	}
	switch {
	case ae.StatusCode == http.StatusConflict || ae.StatusCode == http.StatusLocked || ae.StatusCode == http.StatusPreconditionRequired:
		if ae.Blocked() {
			return outcomeBlocked, refusal
		}
		return outcomeAPIError, refusal
	case ae.StatusCode < 400 || ae.StatusCode >= 500 || ae.StatusCode == http.StatusTooManyRequests:
		return outcomeNetworkError, transport
	case !failOnAPIError:
		return outcomeNotRecorded, exitOK
	}
	return outcomeAPIError, apiCode
}

// debugTransport prints each request and its answer for --debug. The
// Authorization header is never printed.
type debugTransport struct {
	w    io.Writer
	next http.RoundTripper
}

func (d *debugTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	fmt.Fprintf(d.w, "→ %s %s\n", req.Method, req.URL)
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
			rc.Close()
			fmt.Fprintf(d.w, "→ Request body: %s\n", b)
		}
	}
	res, err := d.next.RoundTrip(req)
	if err != nil {
		fmt.Fprintf(d.w, "← error: %v\n", err)
		return nil, err
	}
	fmt.Fprintf(d.w, "← Status: %d\n", res.StatusCode)
	return res, nil
}
