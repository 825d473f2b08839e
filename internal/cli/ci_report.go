package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/shiplog/shiplog/client"
)

// report is the outcome of a CI command: printed for people, or written as
// one JSON object with --output json.
type report struct {
	Outcome    string              `json:"outcome"`
	ExitCode   int                 `json:"exit_code"`
	Event      string              `json:"event"` // deployment, build or preflight
	StatusCode int                 `json:"status_code,omitempty"`
	Message    string              `json:"message,omitempty"`
	Block      *client.Block       `json:"block,omitempty"`
	Warnings   []client.RuleResult `json:"warnings,omitempty"`
	Response   any                 `json:"response,omitempty"`
	Command    *commandResult      `json:"command,omitempty"` // run only
}

// commandResult is what run's command did.
type commandResult struct {
	Ran             bool    `json:"ran"`
	ExitCode        int     `json:"exit_code"`
	Signal          string  `json:"signal,omitempty"`      // the signal shiplog received, or that killed the command
	Interrupted     bool    `json:"interrupted,omitempty"` // shiplog received SIGINT, SIGTERM or SIGHUP while it ran
	Error           string  `json:"error,omitempty"`       // why it could not start
	DurationSeconds float64 `json:"duration_seconds"`
	Status          string  `json:"status,omitempty"` // the final event's status
}

// subject names what an event is about, for messages: "api 1.2.3 → production".
type subject struct{ product, version, environment string }

func (s subject) String() string {
	if s.environment == "" {
		return s.product + " " + s.version
	}
	return s.product + " " + s.version + " → " + s.environment
}

// printer writes a CI command's messages. People read stdout for results and
// stderr for the rest; JSON goes to jsonOut (stdout, or stderr for run whose
// stdout is the command's).
type printer struct {
	stdout, stderr io.Writer
	jsonOut        io.Writer // nil: human output
	gh             *github
}

func newPrinter(env *Env, f *apiFlags, getenv func(string) string, jsonOut io.Writer) *printer {
	p := &printer{stdout: env.Stdout, stderr: env.Stderr, gh: newGitHub(getenv, env.Stderr)}
	if f.Output == "json" {
		p.jsonOut = jsonOut
	}
	return p
}

func (p *printer) human() bool { return p.jsonOut == nil }

// say prints a line for people on stderr (nothing in JSON mode).
func (p *printer) say(format string, args ...any) {
	if p.human() {
		fmt.Fprintf(p.stderr, format+"\n", args...)
	}
}

// finish writes the JSON report if asked and returns the exit status.
func (p *printer) finish(r report) error {
	if !p.human() {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.jsonOut, "%s\n", b)
	}
	return exitWith(r.ExitCode)
}

// failure reports a failed request, classified as outcome and code: a
// block, an error, or (with --fail-on-api-error=false) a warning. It fills r
// and returns it.
func (p *printer) failure(r report, s subject, err error, outcome string, code int) report {
	r.Outcome, r.ExitCode = outcome, code
	r.Message = err.Error()
	var ae *client.APIError
	if errors.As(err, &ae) {
		r.StatusCode, r.Message = ae.StatusCode, ae.Message
		r.Block = ae.Block
	}
	what, lost := r.Event+" event", "not recorded"
	if r.Event == "preflight" {
		what, lost = "preflight check", "skipped"
		if r.Outcome == outcomeNotRecorded {
			r.Outcome = outcomeNoVerdict
		}
	}
	switch r.Outcome {
	case outcomeBlocked:
		p.blocked(r.Event, s, r.StatusCode, r.Block)
	case outcomeNotRecorded, outcomeNoVerdict:
		p.say("shiplog: warning: %s for %s %s (--fail-on-api-error=false): %v", what, s, lost, err)
		p.gh.annotate("warning", "shiplog: "+what+" "+lost, err.Error())
	default:
		p.say("shiplog: %s for %s failed: %v", what, s, err)
		if hint := hintFor(ae); hint != "" {
			p.say("  %s", hint)
		}
		p.gh.annotate("error", "shiplog: "+what+" failed", err.Error())
	}
	return r
}

func hintFor(ae *client.APIError) string {
	switch {
	case ae == nil:
		return ""
	case ae.StatusCode == http.StatusUnauthorized:
		return "check SHIPLOG_API_KEY: the server does not accept this key (revoked, another server's, or mistyped)"
	case ae.StatusCode == http.StatusConflict:
		return "a version's commit SHA cannot change once recorded: build a new version instead"
	}
	return ""
}

// blockTitle is the heading of a refusal, by HTTP status (as the Versioner CLI prints them).
func blockTitle(status int) string {
	switch status {
	case http.StatusConflict:
		return "⚠️  Deployment Conflict"
	case http.StatusLocked:
		return "🔒 Deployment Blocked by Schedule"
	}
	return "❌ Deployment Precondition Failed"
}

// blockRows are the facts of a refusal.
func blockRows(status int, b *client.Block) [][2]string {
	reason := b.Message
	if r := b.Reason(); r != "" && !strings.Contains(reason, r) {
		reason += " (" + r + ")"
	}
	code := b.Code
	if status != 0 {
		code = strings.TrimSpace(fmt.Sprintf("%s (HTTP %d)", b.Code, status))
	}
	return [][2]string{{"Rule", b.RuleName()}, {"Reason", reason}, {"Code", code}, {"Retry after", b.RetryAfter}}
}

// blocked prints a preflight refusal, annotates it and adds it to the job summary.
func (p *printer) blocked(event string, s subject, status int, b *client.Block) {
	if b == nil {
		b = &client.Block{Message: "blocked"}
	}
	rows := blockRows(status, b)
	var details bytes.Buffer
	if len(b.Details) > 0 {
		_ = json.Indent(&details, b.Details, "", "  ")
	}
	if p.human() {
		fmt.Fprintf(p.stderr, "%s: %s\n", blockTitle(status), s)
		for _, r := range rows {
			if r[1] != "" {
				fmt.Fprintf(p.stderr, "  %-12s %s\n", r[0]+":", r[1])
			}
		}
		if details.Len() > 0 {
			fmt.Fprintf(p.stderr, "  Details:     %s\n", strings.ReplaceAll(details.String(), "\n", "\n               "))
		}
		if event == "preflight" {
			fmt.Fprintln(p.stderr, "The deployment would be refused now.")
		} else {
			fmt.Fprintln(p.stderr, "The deployment was refused; do not deploy. Fix the cause (or wait until the retry time) and run again.")
		}
	}
	title := "Deployment blocked"
	if name := b.RuleName(); name != "" {
		title += " by rule " + name
	}
	msg := b.Message
	if b.RetryAfter != "" {
		msg += " (retry after " + b.RetryAfter + ")"
	}
	p.gh.annotate("error", title, msg)
	md := fmt.Sprintf("### %s: %s\n\n%s", blockTitle(status), mdCell(s.String()), mdTable(rows))
	if details.Len() > 0 {
		md += "\n<details><summary>Details</summary>\n\n```json\n" + details.String() + "\n```\n</details>\n"
	}
	p.gh.addSummary(md+"\n", p.stderr)
}

// warnings prints the report-only rule violations of an allowed deployment.
func (p *printer) warnings(rules []client.RuleResult) []client.RuleResult {
	ws := client.Warnings(rules)
	for _, w := range ws {
		p.say("shiplog: warning: report-only rule %q failed: %s", w.RuleName, w.ErrorMessage)
		p.gh.annotate("warning", "Report-only rule violation: "+w.RuleName, w.ErrorMessage)
	}
	return ws
}

// warningsMarkdown lists warnings for the job summary.
func warningsMarkdown(ws []client.RuleResult) string {
	if len(ws) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n**⚠️ Report-only rule violations**\n\n")
	for _, w := range ws {
		fmt.Fprintf(&b, "- **%s**: %s\n", mdCell(w.RuleName), mdCell(w.ErrorMessage))
	}
	return b.String()
}
