package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"time"

	"github.com/alecthomas/kong"

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/cidetect"
)

// runCmd wraps a deployment command: it records started (so the preflight
// rules can refuse before anything runs), runs the command with the
// terminal's streams and relays signals to it, then records completed,
// failed or aborted and exits with the command's own code.
type runCmd struct {
	deploymentFlags
	Command []string `arg:"" passthrough:"" name:"command" help:"The deployment command and its arguments, after --."`
	apiFlags
}

// abortTimeout bounds the aborted event after an interrupt: whoever sent
// the signal is waiting.
const abortTimeout = 30 * time.Second

func (c *runCmd) Run(env *Env, kctx *kong.Context) error {
	return c.run(env, kctx, os.Getenv, os.Stdin)
}

func (c *runCmd) run(env *Env, kctx *kong.Context, getenv func(string) string, stdin io.Reader) error {
	p := newPrinter(env, &c.apiFlags, getenv, env.Stderr)
	st := loadSettings(env.Globals, getenv)
	st.announce(p)
	fail := st.failOnAPIError(kctx, c.FailOnAPIError)
	ci := cidetect.Detect(getenv)
	r := report{Event: "deployment"}
	usage := func(err error) error {
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message = outcomeUsage, exitFailure, err.Error()
		return p.finish(r)
	}
	if len(c.Command) > 0 && c.Command[0] == "--" {
		c.Command = c.Command[1:]
	}
	if len(c.Command) == 0 {
		return usage(errors.New("no command to run: shiplog run --product P --version V --environment E -- COMMAND [ARGS...]"))
	}
	start, err := c.request(st, ci, "started")
	if err != nil {
		return usage(err)
	}
	if _, err := exec.LookPath(c.Command[0]); err != nil { // before anything is recorded
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message, r.Command = outcomeUsage, 127, err.Error(), &commandResult{ExitCode: 127, Error: err.Error()}
		return p.finish(r)
	}
	cl, err := st.connect(kctx, &c.apiFlags, env.Stderr)
	if err != nil {
		return usage(err)
	}
	s := subjectOf(start)

	// From here on a signal is ours to handle: it must not kill shiplog
	// before the final event is sent.
	sigs := make(chan os.Signal, 8)
	notifySignals(sigs)
	defer signal.Stop(sigs)

	verbose(p, st.g.Verbose, ci, start)
	res, err := cl.DeploymentEvent(env.Ctx, start)
	sig := interrupted(sigs)
	if sig == nil && errors.Is(err, context.Canceled) {
		// The signal that cancelled env.Ctx is on its way to sigs too.
		select {
		case sig = <-sigs:
		case <-time.After(time.Second):
		}
	}
	if sig != nil { // before the command ran
		cr := commandResult{ExitCode: signalCode(sig), Signal: signalName(sig)}
		if err != nil {
			p.say("shiplog: interrupted by %s before %s ran", cr.Signal, c.Command[0])
			r.Outcome, r.ExitCode, r.Message, r.Command = outcomeInterrupted, cr.ExitCode, "interrupted", &cr
			return p.finish(r)
		}
		return c.finish(env, p, st, fail, cl, ci, s, r, cr, sigs)
	}
	if err != nil {
		outcome, code := classify(err, fail)
		r = p.failure(r, s, err, outcome, code)
		if r.ExitCode != exitOK { // refused, or an error that must fail: do not deploy
			p.say("shiplog: %s was not run", c.Command[0])
			r.Command = &commandResult{}
			return p.finish(r)
		}
	} else {
		r.Warnings = p.warnings(client.RulesEvaluated(res.ExtraMetadata))
		p.say("shiplog: deployment started: %s (deployment id %s)", s, res.ID)
	}
	return c.finish(env, p, st, fail, cl, ci, s, r, c.execute(env, stdin, sigs), sigs)
}

// interrupted returns the first aborting signal already received, if any.
func interrupted(sigs <-chan os.Signal) os.Signal {
	for {
		select {
		case sig := <-sigs:
			if aborts(sig) {
				return sig
			}
		default:
			return nil
		}
	}
}

// execute runs the command, relaying signals until it exits.
func (c *runCmd) execute(env *Env, stdin io.Reader, sigs <-chan os.Signal) commandResult {
	cmd := exec.Command(c.Command[0], c.Command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, env.Stdout, env.Stderr
	interactive := isTerminal(stdin)
	prepare(cmd, interactive)
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		code := 126 // found but not runnable, as shells say
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		fmt.Fprintf(env.Stderr, "shiplog: %v\n", err)
		return commandResult{ExitCode: code, Error: err.Error()}
	}
	waited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(waited) }()
	var got os.Signal
	for {
		select {
		case sig := <-sigs:
			if got == nil && aborts(sig) {
				got = sig
			}
			relay(cmd, sig, interactive)
		case <-waited:
			cr := commandResult{Ran: true, DurationSeconds: seconds(time.Since(t0))}
			cr.ExitCode, cr.Signal = exitStatus(cmd.ProcessState)
			if got != nil {
				cr.Signal, cr.Interrupted = signalName(got), true
			}
			return cr
		}
	}
}

func seconds(d time.Duration) float64 { return math.Round(d.Seconds()*1000) / 1000 }

// finish records how the run ended and returns the command's exit code.
func (c *runCmd) finish(env *Env, p *printer, st *settings, fail bool, cl *client.Client, ci cidetect.Info, s subject, r report, cr commandResult, sigs <-chan os.Signal) error {
	cr.Status = "completed"
	switch {
	case cr.Interrupted || (!cr.Ran && cr.Signal != ""):
		cr.Status = "aborted"
	case cr.ExitCode != 0:
		cr.Status = "failed"
	}
	facts := metadata{}.set("vi_run_exit_code", cr.ExitCode).set("vi_run_duration_seconds", cr.DurationSeconds)
	if cr.Signal != "" {
		facts.set("vi_run_signal", cr.Signal)
	}
	if cr.Error != "" {
		facts.set("vi_run_error", cr.Error)
	}
	end, err := c.request(st, ci, cr.Status, facts)
	if err != nil { // only the size limit can fail here; the command has run
		p.say("shiplog: warning: %v; sending the %s event without the run's metadata", err, cr.Status)
		end, _ = c.request(st, ci, cr.Status)
	}
	now := time.Now().UTC()
	end.CompletedAt = &now
	// An interrupt has cancelled env.Ctx already; the end must still be
	// told. Another signal now gives up on it.
	ctx, cancel := context.WithCancel(context.WithoutCancel(env.Ctx))
	defer cancel()
	if cr.Status == "aborted" {
		ctx, cancel = context.WithTimeout(ctx, abortTimeout)
		defer cancel()
	}
	go func() {
		for {
			select {
			case sig := <-sigs:
				if aborts(sig) {
					cancel()
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	r.Command = &cr
	code := cr.ExitCode
	res, err := cl.DeploymentEvent(ctx, end)
	if err != nil {
		r.Response = nil
		outcome, ecode := classify(err, fail)
		r = p.failure(r, s, err, outcome, ecode)
		// The command's own failure wins; a success is only overturned
		// when the end could not be recorded and that must fail.
		if code == exitOK {
			code = r.ExitCode
		}
	} else {
		r.Outcome, r.Response, r.StatusCode, r.Message, r.Block = outcomeRecorded, res, 0, "", nil
		if len(r.Warnings) == 0 { // the record keeps started's evaluation: say it once
			r.Warnings = p.warnings(client.RulesEvaluated(res.ExtraMetadata))
		}
		p.say("shiplog: deployment %s: %s (%s)", res.Status, s, describe(cr))
		c.summarize(env, p, res, end, cr, r.Warnings)
	}
	r.ExitCode = code
	return p.finish(r)
}

// describe says how the command ended: "exit 0 after 12.3s".
func describe(cr commandResult) string {
	switch {
	case cr.Interrupted:
		return fmt.Sprintf("interrupted by %s, exit %d after %.1fs", cr.Signal, cr.ExitCode, cr.DurationSeconds)
	case !cr.Ran && cr.Signal != "":
		return fmt.Sprintf("interrupted by %s before the command ran", cr.Signal)
	case !cr.Ran:
		return fmt.Sprintf("the command could not start, exit %d", cr.ExitCode)
	case cr.Signal != "":
		return fmt.Sprintf("killed by %s, exit %d after %.1fs", cr.Signal, cr.ExitCode, cr.DurationSeconds)
	}
	return fmt.Sprintf("exit %d after %.1fs", cr.ExitCode, cr.DurationSeconds)
}

func (c *runCmd) summarize(env *Env, p *printer, res *apiv1.DeploymentEventResponse, req *apiv1.DeploymentEventRequest, cr commandResult, ws []client.RuleResult) {
	p.gh.setOutputs([][2]string{{"deployment_id", res.ID}, {"version_id", res.VersionID}, {"product_id", res.ProductID},
		{"environment_id", res.EnvironmentID}}, env.Stderr)
	p.gh.addSummary(fmt.Sprintf("### 🚀 shiplog: deployment %s\n\n%s%s\n", res.Status, mdTable([][2]string{
		{"Product", res.ProductName}, {"Version", res.Version}, {"Environment", res.EnvironmentName},
		{"Status", string(res.Status)}, {"SHA", req.ScmSHA}, {"Command", describe(cr)}, {"Deployment", res.ID}}),
		warningsMarkdown(ws)), env.Stderr)
	if cr.Status == "failed" {
		p.gh.annotate("error", "Deployment failed", fmt.Sprintf("%s: %s", c.Command[0], describe(cr)))
	}
}
