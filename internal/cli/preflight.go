package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/alecthomas/kong"

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/cidetect"
)

type preflightCmd struct {
	Product     string `name:"product" help:"Product name. Default in CI: the repository's name."`
	Version     string `name:"version" help:"Version. Default in CI: as for track deployment."`
	Environment string `name:"environment" help:"Environment name (required; else VERSIONER_ENVIRONMENT, the configuration file's environment)."`
	apiFlags
}

func (c *preflightCmd) Run(env *Env, kctx *kong.Context) error {
	return c.run(env, kctx, os.Getenv)
}

func (c *preflightCmd) run(env *Env, kctx *kong.Context, getenv func(string) string) error {
	p := newPrinter(env, &c.apiFlags, getenv, env.Stdout)
	st := loadSettings(env.Globals, getenv)
	st.announce(p)
	ci := cidetect.Detect(getenv)
	ev := eventFlags{Product: c.Product, Version: c.Version}
	ev = ev.resolved(st, ci, false)
	environment := st.str(c.Environment, "environment")
	r := report{Event: "preflight"}
	usage := func(err error) error {
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message = outcomeUsage, exitFailure, err.Error()
		return p.finish(r)
	}
	switch {
	case ev.Product == "":
		return usage(fmt.Errorf("--product is required (%s)", where(ci)))
	case environment == "":
		return usage(errors.New("--environment is required"))
	case ev.Version == "":
		return usage(fmt.Errorf("--version is required (%s)", where(ci)))
	}
	cl, err := st.connect(kctx, &c.apiFlags, env.Stderr)
	if err != nil {
		return usage(err)
	}
	req := &apiv1.PreflightInput{ProductName: ev.Product, Version: ev.Version, EnvironmentName: environment}
	verbose(p, st.g.Verbose, ci, req)
	s := subject{ev.Product, ev.Version, environment}
	v, err := cl.Preflight(env.Ctx, req)
	if err != nil {
		outcome, code := classify(err, st.failOnAPIError(kctx, c.FailOnAPIError))
		return p.finish(p.failure(r, s, err, outcome, code))
	}
	r.StatusCode, r.Response = v.StatusCode, v.Body
	if !v.Allowed {
		r.Outcome, r.ExitCode, r.Block = outcomeBlocked, exitBlocked, v.Block
		if v.Block != nil {
			r.Message = v.Block.Message
		}
		p.blocked(r.Event, s, v.StatusCode, v.Block)
		return p.finish(r)
	}
	r.Outcome = outcomeAllowed
	r.Warnings = p.warnings(v.Rules)
	if p.human() {
		fmt.Fprintf(p.stdout, "✓ Deployment allowed now: %s\n", s)
		for _, rr := range v.Rules {
			fmt.Fprintf(p.stdout, "  %-7s %s%s\n", rr.EvaluationResult, rr.RuleName, modeNote(rr))
		}
	}
	return p.finish(r)
}

func modeNote(r client.RuleResult) string {
	if r.Status == "report_only" {
		return " (report only)"
	}
	return ""
}
