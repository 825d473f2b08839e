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

	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/client"
	"github.com/shiplog/shiplog/internal/cidetect"
)

type trackCmd struct {
	Deployment trackDeploymentCmd `cmd:"" help:"Record a deployment event (status started triggers the preflight rules)."`
	Build      trackBuildCmd      `cmd:"" help:"Record a build event."`
}

// eventFlags are the fields deployments and builds share. What is not given
// is taken, as the Versioner CLI takes it, from VERSIONER_<FIELD>, then the
// configuration file, then the CI environment (GitHub Actions, GitLab CI,
// Jenkins, CircleCI, Bitbucket, Azure DevOps, Travis, Rundeck).
type eventFlags struct {
	Product       string `name:"product" help:"Product name (else VERSIONER_PRODUCT, the configuration file's product; in CI: the repository's name)."`
	Version       string `name:"version" help:"Version (else VERSIONER_VERSION, the configuration file's version; in CI: the commit's first 8 characters; Jenkins, Azure: the build number; Rundeck: the execution id)."`
	SourceSystem  string `name:"source-system" help:"CI/CD system (default: the one detected: github, gitlab, jenkins, …)."`
	BuildNumber   string `name:"build-number" help:"CI build number (default: detected)."`
	InvokeID      string `name:"invoke-id" help:"CI run id; events with the same id update the same record (default: detected)."`
	ScmSHA        string `name:"scm-sha" help:"Commit SHA (default: detected)."`
	ScmBranch     string `name:"scm-branch" help:"Branch (builds: default detected; deployments: only this flag, as the Versioner CLI sends none)."`
	ScmRepository string `name:"scm-repository" help:"Repository, owner/name (default: detected)."`
	BuildURL      string `name:"build-url" help:"Link to the build (builds: default the CI run's page; deployments: only this flag)."`
	ExtraMetadata string `name:"extra-metadata" placeholder:"JSON" help:"A JSON object stored with the event; its keys win over the detected vi_* ones (limit 100 KiB)."`
}

// resolved fills the shared fields: flag, VERSIONER_* variable,
// configuration file, then what CI says. Branch and build URL are a build's;
// a deployment takes them from its flags only (build says which).
func (f *eventFlags) resolved(s *settings, ci cidetect.Info, build bool) eventFlags {
	e := eventFlags{
		Product:       cmp.Or(s.str(f.Product, "product"), ci.Product),
		Version:       cmp.Or(s.str(f.Version, "version"), ci.Version),
		SourceSystem:  cmp.Or(s.str(f.SourceSystem, "source_system"), ci.System, "unknown"), // "unknown" outside CI, as the Versioner CLI sends
		BuildNumber:   cmp.Or(s.str(f.BuildNumber, "build_number"), ci.BuildNumber),
		InvokeID:      cmp.Or(s.str(f.InvokeID, "invoke_id"), ci.InvokeID),
		ScmSHA:        cmp.Or(s.str(f.ScmSHA, "scm_sha"), ci.SHA),
		ScmRepository: cmp.Or(s.str(f.ScmRepository, "scm_repository"), ci.Repository),
		ScmBranch:     f.ScmBranch,
		BuildURL:      f.BuildURL,
		ExtraMetadata: f.ExtraMetadata,
	}
	if build {
		e.ScmBranch = cmp.Or(s.str(f.ScmBranch, "scm_branch"), ci.Branch)
		e.BuildURL = cmp.Or(s.str(f.BuildURL, "build_url"), ci.BuildURL)
	}
	return e
}

// where says where a missing required field could have come from.
func where(ci cidetect.Info) string {
	if ci.System != "" {
		return ci.System + " did not provide one"
	}
	return "outside CI there is nothing to take it from"
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
	Environment     string `name:"environment" help:"Environment name (required; else VERSIONER_ENVIRONMENT, the configuration file's environment)."`
	DeployURL       string `name:"deploy-url" help:"Link to the deployment run (default: the CI run's page)."`
	DeployedBy      string `name:"deployed-by" help:"Who deployed (default: the CI user)."`
	DeployedByEmail string `name:"deployed-by-email" help:"Their email (default: detected where the CI tells)."`
	DeployedByName  string `name:"deployed-by-name" help:"Their display name (default: detected where the CI tells)."`
}

// request builds a deployment event from flags, variables, the configuration
// file and the CI environment. The status is sent as given: the server says
// which words it accepts.
func (f *deploymentFlags) request(s *settings, ci cidetect.Info, status string, more ...metadata) (*apiv1.DeploymentEventRequest, error) {
	e := f.resolved(s, ci, false)
	env := s.str(f.Environment, "environment")
	switch {
	case strings.TrimSpace(e.Product) == "":
		return nil, fmt.Errorf("--product is required (%s)", where(ci))
	case strings.TrimSpace(env) == "":
		return nil, errors.New("--environment is required")
	case strings.TrimSpace(e.Version) == "":
		return nil, fmt.Errorf("--version is required (%s)", where(ci))
	}
	meta, err := e.meta(ci, more...)
	if err != nil {
		return nil, err
	}
	return &apiv1.DeploymentEventRequest{
		ProductName: e.Product, Version: e.Version, EnvironmentName: env, Status: status,
		DeployedBy:      cmp.Or(s.str(f.DeployedBy, "deployed_by"), ci.User),
		DeployedByEmail: cmp.Or(s.str(f.DeployedByEmail, "deployed_by_email"), ci.UserEmail),
		DeployedByName:  cmp.Or(s.str(f.DeployedByName, "deployed_by_name"), ci.UserName),
		ScmBranch:       e.ScmBranch, ScmSHA: e.ScmSHA, ScmRepository: e.ScmRepository,
		BuildURL: e.BuildURL, DeployURL: cmp.Or(s.str(f.DeployURL, "deploy_url"), ci.BuildURL), BuildNumber: e.BuildNumber,
		SourceSystem: e.SourceSystem, InvokeID: e.InvokeID, ExtraMetadata: meta,
	}, nil
}

func subjectOf(req *apiv1.DeploymentEventRequest) subject {
	return subject{req.ProductName, req.Version, req.EnvironmentName}
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

// recordedLines are what the Versioner CLI prints on stdout for a recorded
// event (scripts read the "Event ID:" line), then shiplog's summary.
func recordedLines(p *printer, what, id string, s subject, status string, g *clientGlobals, ids [][2]string) {
	if !p.human() {
		return
	}
	fmt.Fprintf(p.stdout, "✓ %s event tracked successfully\n  Event ID: %s\n", what, id)
	if g.Verbose {
		for _, kv := range ids {
			fmt.Fprintf(p.stdout, "  %s: %s\n", kv[0], kv[1])
		}
	}
	fmt.Fprintf(p.stdout, "  Recorded: %s (%s)\n", s, status)
}

// notRecordedLine keeps the "Event ID:" line, empty, when
// --fail-on-api-error=false let an error through (as the Versioner CLI does).
func notRecordedLine(p *printer, r report) {
	if p.human() && r.Outcome == outcomeNotRecorded {
		fmt.Fprintln(p.stdout, "  Event ID: ")
	}
}

// viewLink is the job summary's link to the record, in the Versioner UI's
// form (shiplog redirects it to its console).
func viewLink(s *settings, kind, id string) string {
	base := s.uiURL()
	if base == "" || id == "" {
		return ""
	}
	return fmt.Sprintf("\n[View in shiplog →](%s/manage/%s?view=%s)\n", base, kind, id)
}

type trackDeploymentCmd struct {
	deploymentFlags
	Status              string `name:"status" default:"success" help:"pending, started (checks the preflight rules), success/completed, failed or aborted; aliases accepted (the server judges the word)."`
	CompletedAt         string `name:"completed-at" placeholder:"RFC3339" help:"When it finished (default: when the server receives it)."`
	SkipPreflightChecks bool   `name:"skip-preflight-checks" help:"Deprecated: ask the server to skip the preflight rules (honoured where the org's setting allows). Set the blocking rule to report_only instead."`
	apiFlags
	// Ignored are extra arguments, which the Versioner CLI ignores too.
	Ignored []string `arg:"" optional:"" hidden:""`
}

func (c *trackDeploymentCmd) Run(env *Env, kctx *kong.Context) error {
	return c.run(env, kctx, os.Getenv)
}

func (c *trackDeploymentCmd) run(env *Env, kctx *kong.Context, getenv func(string) string) error {
	p := newPrinter(env, &c.apiFlags, getenv, env.Stdout)
	st := loadSettings(env.Globals, getenv)
	st.announce(p)
	ci := cidetect.Detect(getenv)
	r := report{Event: "deployment"}
	usage := func(err error) error {
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message = outcomeUsage, exitFailure, err.Error()
		return p.finish(r)
	}
	req, err := c.request(st, ci, c.Status)
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
	cl, err := st.connect(kctx, &c.apiFlags, env.Stderr)
	if err != nil {
		return usage(err)
	}
	verbose(p, st.g.Verbose, ci, req)
	s := subjectOf(req)
	res, err := cl.DeploymentEvent(env.Ctx, req)
	if err != nil {
		outcome, code := classifyTrack(false, err, st.failOnAPIError(kctx, c.FailOnAPIError), !c.FailOnUnreachable)
		r = p.failure(r, s, err, outcome, code)
		notRecordedLine(p, r)
		return p.finish(r)
	}
	r.Outcome, r.Response = outcomeRecorded, res
	r.Warnings = p.warnings(client.RulesEvaluated(res.ExtraMetadata))
	recordedLines(p, "Deployment", res.ID, s, string(res.Status), st.g, [][2]string{{"Product ID", res.ProductID},
		{"Version ID", res.VersionID}, {"Environment ID", res.EnvironmentID}})
	p.gh.setOutputs([][2]string{{"deployment_id", res.ID}, {"version_id", res.VersionID}, {"product_id", res.ProductID},
		{"environment_id", res.EnvironmentID}}, env.Stderr)
	p.gh.addSummary(fmt.Sprintf("### 🚀 shiplog: deployment %s\n\n%s%s%s\n", res.Status, mdTable([][2]string{
		{"Product", res.ProductName}, {"Version", res.Version}, {"Environment", res.EnvironmentName},
		{"Status", string(res.Status)}, {"SHA", req.ScmSHA}, {"Deployment", res.ID}}), warningsMarkdown(r.Warnings),
		viewLink(st, "deployments", res.ID)), env.Stderr)
	return p.finish(r)
}

type trackBuildCmd struct {
	eventFlags
	Status       string `name:"status" default:"completed" help:"pending, started, completed, failed or aborted; aliases accepted (the server judges the word)."`
	BuiltBy      string `name:"built-by" help:"Who built (default: the CI user)."`
	BuiltByEmail string `name:"built-by-email" help:"Their email (default: detected where the CI tells)."`
	BuiltByName  string `name:"built-by-name" help:"Their display name (default: detected where the CI tells)."`
	StartedAt    string `name:"started-at" placeholder:"RFC3339" help:"When the build started."`
	CompletedAt  string `name:"completed-at" placeholder:"RFC3339" help:"When it finished."`
	ErrorMessage string `name:"error-message" help:"Why a failed build failed."`
	ErrorCode    string `name:"error-code" help:"A code for the failure."`
	apiFlags
	Ignored []string `arg:"" optional:"" hidden:""`
}

func (c *trackBuildCmd) Run(env *Env, kctx *kong.Context) error {
	return c.run(env, kctx, os.Getenv)
}

func (c *trackBuildCmd) request(s *settings, ci cidetect.Info) (*apiv1.BuildEventRequest, error) {
	e := c.resolved(s, ci, true)
	switch {
	case strings.TrimSpace(e.Product) == "":
		return nil, fmt.Errorf("--product is required (%s)", where(ci))
	case strings.TrimSpace(e.Version) == "":
		return nil, fmt.Errorf("--version is required (%s)", where(ci))
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
		BuiltBy:      cmp.Or(s.str(c.BuiltBy, "built_by"), ci.User),
		BuiltByEmail: cmp.Or(s.str(c.BuiltByEmail, "built_by_email"), ci.UserEmail),
		BuiltByName:  cmp.Or(s.str(c.BuiltByName, "built_by_name"), ci.UserName),
		ScmBranch:    e.ScmBranch, ScmSHA: e.ScmSHA, ScmRepository: e.ScmRepository,
		BuildURL: e.BuildURL, BuildNumber: e.BuildNumber, SourceSystem: e.SourceSystem,
		InvokeID: e.InvokeID, StartedAt: started, CompletedAt: completed, ErrorMessage: c.ErrorMessage,
		ErrorCode: c.ErrorCode, ExtraMetadata: meta,
	}, nil
}

func (c *trackBuildCmd) run(env *Env, kctx *kong.Context, getenv func(string) string) error {
	p := newPrinter(env, &c.apiFlags, getenv, env.Stdout)
	st := loadSettings(env.Globals, getenv)
	st.announce(p)
	ci := cidetect.Detect(getenv)
	r := report{Event: "build"}
	usage := func(err error) error {
		p.say("shiplog: %v", err)
		r.Outcome, r.ExitCode, r.Message = outcomeUsage, exitFailure, err.Error()
		return p.finish(r)
	}
	req, err := c.request(st, ci)
	if err != nil {
		return usage(err)
	}
	cl, err := st.connect(kctx, &c.apiFlags, env.Stderr)
	if err != nil {
		return usage(err)
	}
	verbose(p, st.g.Verbose, ci, req)
	s := subject{req.ProductName, req.Version, ""}
	res, err := cl.BuildEvent(env.Ctx, req)
	if err != nil {
		outcome, code := classifyTrack(true, err, st.failOnAPIError(kctx, c.FailOnAPIError), !c.FailOnUnreachable)
		r = p.failure(r, s, err, outcome, code)
		notRecordedLine(p, r)
		return p.finish(r)
	}
	r.Outcome, r.Response = outcomeRecorded, res
	r.Warnings = p.warnings(client.RulesEvaluated(res.ExtraMetadata))
	recordedLines(p, "Build", res.ID, s, string(res.Status), st.g, [][2]string{{"Product ID", res.ProductID}, {"Version ID", res.VersionID}})
	p.gh.setOutputs([][2]string{{"build_id", res.ID}, {"version_id", res.VersionID}, {"product_id", res.ProductID}}, env.Stderr)
	p.gh.addSummary(fmt.Sprintf("### 🔨 shiplog: build %s\n\n%s%s%s\n", res.Status, mdTable([][2]string{
		{"Product", res.ProductName}, {"Version", res.Version}, {"Status", string(res.Status)}, {"SHA", req.ScmSHA},
		{"Build", res.ID}}), warningsMarkdown(r.Warnings), viewLink(st, "versions", res.VersionID)), env.Stderr)
	return p.finish(r)
}
