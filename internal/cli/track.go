package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/cidetect"
)

type trackCmd struct {
	Deployment trackDeploymentCmd `cmd:"" help:"Record a deployment event (status started triggers the preflight rules)."`
	Build      trackBuildCmd      `cmd:"" help:"Record a build event."`
}

// eventFlags are the fields deployments and builds share. What is not given
// is taken from the CI environment (GitHub Actions, GitLab CI, Jenkins,
// CircleCI, Bitbucket, Azure DevOps, Travis, Rundeck).
type eventFlags struct {
	Product       string `name:"product" help:"Product name. Default in CI: the repository's name."`
	Version       string `name:"version" help:"Version. Default in CI: the commit's first 8 characters (Jenkins, Azure: the build number; Rundeck: the execution id)."`
	SourceSystem  string `name:"source-system" help:"CI/CD system (default: the one detected: github, gitlab, jenkins, …)."`
	BuildNumber   string `name:"build-number" help:"CI build number (default: detected)."`
	InvokeID      string `name:"invoke-id" help:"CI run id; events with the same id update the same record (default: detected)."`
	ScmSHA        string `name:"scm-sha" help:"Commit SHA (default: detected)."`
	ScmBranch     string `name:"scm-branch" help:"Branch (default: detected)."`
	ScmRepository string `name:"scm-repository" help:"Repository, owner/name (default: detected)."`
	BuildURL      string `name:"build-url" help:"Link to the build."`
	ExtraMetadata string `name:"extra-metadata" placeholder:"JSON" help:"A JSON object stored with the event; its keys win over the detected vi_* ones (limit 100 KiB)."`
}

// resolved fills the shared fields: flags first, then what CI says.
func (f *eventFlags) resolved(ci cidetect.Info) eventFlags {
	return eventFlags{
		Product:       cmp.Or(f.Product, ci.Product),
		Version:       cmp.Or(f.Version, ci.Version),
		SourceSystem:  cmp.Or(f.SourceSystem, ci.System),
		BuildNumber:   cmp.Or(f.BuildNumber, ci.BuildNumber),
		InvokeID:      cmp.Or(f.InvokeID, ci.InvokeID),
		ScmSHA:        cmp.Or(f.ScmSHA, ci.SHA),
		ScmBranch:     cmp.Or(f.ScmBranch, ci.Branch),
		ScmRepository: cmp.Or(f.ScmRepository, ci.Repository),
		BuildURL:      f.BuildURL,
		ExtraMetadata: f.ExtraMetadata,
	}
}

// check reports the first missing required field, saying where it could come from.
func (f *eventFlags) check(ci cidetect.Info) error {
	where := "outside CI there is nothing to take it from"
	if ci.System != "" {
		where = ci.System + " did not provide one"
	}
	switch {
	case strings.TrimSpace(f.Product) == "":
		return fmt.Errorf("--product is required (%s)", where)
	case strings.TrimSpace(f.Version) == "":
		return fmt.Errorf("--version is required (%s)", where)
	}
	return nil
}

// metadata merges the detected vi_* keys under the user's --extra-metadata.
func (f *eventFlags) meta(ci cidetect.Info, more ...metadata) (json.RawMessage, error) {
	user, err := parseMetadata(f.ExtraMetadata)
	if err != nil {
		return nil, err
	}
	detected := metadata{}.strings(ci.Metadata)
	if !user.hasCommitTime() {
		if t, ok := gitCommitTime(context.Background(), "", f.ScmSHA); ok {
			detected.set(commitTimeKey, t)
		}
	}
	return mergeMetadata(append([]metadata{detected, user}, more...)...)
}

// deploymentFlags are track deployment's and run's.
type deploymentFlags struct {
	eventFlags
	Environment     string `name:"environment" help:"Environment name (required)."`
	DeployURL       string `name:"deploy-url" help:"Link to the deployment run (default: the CI run's page)."`
	DeployedBy      string `name:"deployed-by" help:"Who deployed (default: the CI user)."`
	DeployedByEmail string `name:"deployed-by-email" help:"Their email (default: detected where the CI tells)."`
	DeployedByName  string `name:"deployed-by-name" help:"Their display name (default: detected where the CI tells)."`
}

// request builds a deployment event from flags and the CI environment.
func (f *deploymentFlags) request(ci cidetect.Info, status string, more ...metadata) (*apiv1.DeploymentEventRequest, error) {
	e := f.resolved(ci)
	if err := e.check(ci); err != nil {
		return nil, err
	}
	if strings.TrimSpace(f.Environment) == "" {
		return nil, errors.New("--environment is required")
	}
	if _, ok := shiplog.ParseStatus(shiplog.KindDeployment, status); !ok {
		return nil, fmt.Errorf("unknown --status %q; accepted: %s", status, strings.Join(shiplog.StatusWords(shiplog.KindDeployment), ", "))
	}
	meta, err := e.meta(ci, more...)
	if err != nil {
		return nil, err
	}
	return &apiv1.DeploymentEventRequest{
		ProductName: e.Product, Version: e.Version, EnvironmentName: f.Environment, Status: status,
		DeployedBy: cmp.Or(f.DeployedBy, ci.User), DeployedByEmail: cmp.Or(f.DeployedByEmail, ci.UserEmail),
		DeployedByName: cmp.Or(f.DeployedByName, ci.UserName),
		ScmBranch:      e.ScmBranch, ScmSHA: e.ScmSHA, ScmRepository: e.ScmRepository,
		BuildURL: e.BuildURL, DeployURL: cmp.Or(f.DeployURL, ci.BuildURL), BuildNumber: e.BuildNumber,
		SourceSystem: e.SourceSystem, InvokeID: e.InvokeID, ExtraMetadata: meta,
	}, nil
}

func (f *deploymentFlags) subject(ci cidetect.Info) subject {
	e := f.resolved(ci)
	return subject{e.Product, e.Version, f.Environment}
}

// parseTime reads an RFC 3339 flag value; empty is nil.
func parseTime(flag, s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return nil, fmt.Errorf("--%s must be an RFC 3339 time like 2025-01-31T14:05:00Z: %q", flag, s)
	}
	return &t, nil
}

// verbose shows what was detected and what is sent (never the key).
func verbose(p *printer, on bool, ci cidetect.Info, req any) {
	if !on {
		return
	}
	if ci.System == "" {
		p.say("shiplog: no CI system detected")
	} else {
		p.say("shiplog: detected CI: %s", ci.System)
	}
	b, _ := json.MarshalIndent(req, "", "  ")
	p.say("shiplog: sending %s", b)
}

type trackDeploymentCmd struct {
	deploymentFlags
	Status              string `name:"status" default:"success" help:"pending, started (checks the preflight rules), success/completed, failed or aborted; aliases accepted."`
	CompletedAt         string `name:"completed-at" placeholder:"RFC3339" help:"When it finished (default: when the server receives it)."`
	SkipPreflightChecks bool   `name:"skip-preflight-checks" help:"Deprecated: ask the server to skip the preflight rules. Set the blocking rule to report_only instead."`
	apiFlags
}

func (c *trackDeploymentCmd) Run(env *Env, kctx *kong.Context) error {
	return c.run(env, kctx, os.Getenv)
}

func (c *trackDeploymentCmd) run(env *Env, kctx *kong.Context, getenv func(string) string) error {
	p := newPrinter(env, &c.apiFlags, getenv, env.Stdout)
	ci := cidetect.Detect(getenv)
	r := report{Event: "deployment"}
	usage := func(err error) error {
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message = outcomeUsage, exitFailure, err.Error()
		return p.finish(r)
	}
	req, err := c.request(ci, c.Status)
	if err != nil {
		return usage(err)
	}
	if req.CompletedAt, err = parseTime("completed-at", c.CompletedAt); err != nil {
		return usage(err)
	}
	if c.SkipPreflightChecks {
		p.say("shiplog: warning: --skip-preflight-checks is deprecated; set the blocking rule to report_only on the server instead")
		req.SkipPreflightChecks = true
	}
	cl, err := c.connect(kctx, env.Stderr)
	if err != nil {
		return usage(err)
	}
	verbose(p, c.Verbose, ci, req)
	s := c.subject(ci)
	res, err := cl.DeploymentEvent(env.Ctx, req)
	if err != nil {
		return p.finish(p.failure(r, s, err, c.FailOnAPIError))
	}
	r.Outcome, r.Response = outcomeRecorded, res
	r.Warnings = p.warnings(client.RulesEvaluated(res.ExtraMetadata))
	if p.human() {
		fmt.Fprintf(p.stdout, "✓ Deployment event recorded: %s (%s)\n  deployment id: %s\n", s, res.Status, res.ID)
	}
	p.gh.setOutputs([][2]string{{"deployment_id", res.ID}, {"version_id", res.VersionID}, {"product_id", res.ProductID},
		{"environment_id", res.EnvironmentID}}, env.Stderr)
	p.gh.addSummary(fmt.Sprintf("### 🚀 shiplog: deployment %s\n\n%s%s\n", res.Status, mdTable([][2]string{
		{"Product", res.ProductName}, {"Version", res.Version}, {"Environment", res.EnvironmentName},
		{"Status", string(res.Status)}, {"SHA", req.ScmSHA}, {"Deployment", res.ID}}), warningsMarkdown(r.Warnings)), env.Stderr)
	return p.finish(r)
}

type trackBuildCmd struct {
	eventFlags
	Status       string `name:"status" default:"completed" help:"pending, started, completed, failed or aborted; aliases accepted."`
	BuiltBy      string `name:"built-by" help:"Who built (default: the CI user)."`
	BuiltByEmail string `name:"built-by-email" help:"Their email (default: detected where the CI tells)."`
	BuiltByName  string `name:"built-by-name" help:"Their display name (default: detected where the CI tells)."`
	StartedAt    string `name:"started-at" placeholder:"RFC3339" help:"When the build started."`
	CompletedAt  string `name:"completed-at" placeholder:"RFC3339" help:"When it finished."`
	ErrorMessage string `name:"error-message" help:"Why a failed build failed."`
	ErrorCode    string `name:"error-code" help:"A code for the failure."`
	apiFlags
}

func (c *trackBuildCmd) Run(env *Env, kctx *kong.Context) error {
	return c.run(env, kctx, os.Getenv)
}

func (c *trackBuildCmd) request(ci cidetect.Info) (*apiv1.BuildEventRequest, error) {
	e := c.resolved(ci)
	if err := e.check(ci); err != nil {
		return nil, err
	}
	if _, ok := shiplog.ParseStatus(shiplog.KindBuild, c.Status); !ok {
		return nil, fmt.Errorf("unknown --status %q; accepted: %s", c.Status, strings.Join(shiplog.StatusWords(shiplog.KindBuild), ", "))
	}
	started, err := parseTime("started-at", c.StartedAt)
	if err != nil {
		return nil, err
	}
	completed, err := parseTime("completed-at", c.CompletedAt)
	if err != nil {
		return nil, err
	}
	meta, err := e.meta(ci)
	if err != nil {
		return nil, err
	}
	return &apiv1.BuildEventRequest{
		ProductName: e.Product, Version: e.Version, Status: c.Status,
		BuiltBy: cmp.Or(c.BuiltBy, ci.User), BuiltByEmail: cmp.Or(c.BuiltByEmail, ci.UserEmail),
		BuiltByName: cmp.Or(c.BuiltByName, ci.UserName),
		ScmBranch:   e.ScmBranch, ScmSHA: e.ScmSHA, ScmRepository: e.ScmRepository,
		BuildURL: cmp.Or(e.BuildURL, ci.BuildURL), BuildNumber: e.BuildNumber, SourceSystem: e.SourceSystem,
		InvokeID: e.InvokeID, StartedAt: started, CompletedAt: completed, ErrorMessage: c.ErrorMessage,
		ErrorCode: c.ErrorCode, ExtraMetadata: meta,
	}, nil
}

func (c *trackBuildCmd) run(env *Env, kctx *kong.Context, getenv func(string) string) error {
	p := newPrinter(env, &c.apiFlags, getenv, env.Stdout)
	ci := cidetect.Detect(getenv)
	r := report{Event: "build"}
	usage := func(err error) error {
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message = outcomeUsage, exitFailure, err.Error()
		return p.finish(r)
	}
	req, err := c.request(ci)
	if err != nil {
		return usage(err)
	}
	cl, err := c.connect(kctx, env.Stderr)
	if err != nil {
		return usage(err)
	}
	verbose(p, c.Verbose, ci, req)
	s := subject{req.ProductName, req.Version, ""}
	res, err := cl.BuildEvent(env.Ctx, req)
	if err != nil {
		return p.finish(p.failure(r, s, err, c.FailOnAPIError))
	}
	r.Outcome, r.Response = outcomeRecorded, res
	r.Warnings = p.warnings(client.RulesEvaluated(res.ExtraMetadata))
	if p.human() {
		fmt.Fprintf(p.stdout, "✓ Build event recorded: %s (%s)\n  build id: %s\n", s, res.Status, res.ID)
	}
	p.gh.setOutputs([][2]string{{"build_id", res.ID}, {"version_id", res.VersionID}, {"product_id", res.ProductID}}, env.Stderr)
	p.gh.addSummary(fmt.Sprintf("### 🔨 shiplog: build %s\n\n%s%s\n", res.Status, mdTable([][2]string{
		{"Product", res.ProductName}, {"Version", res.Version}, {"Status", string(res.Status)}, {"SHA", req.ScmSHA},
		{"Build", res.ID}}), warningsMarkdown(r.Warnings)), env.Stderr)
	return p.finish(r)
}
