package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// github writes GitHub Actions workflow commands (annotations), the job
// summary and step outputs. Outside GitHub Actions every method does nothing.
type github struct {
	on      bool
	w       io.Writer // workflow commands: the runner reads stdout and stderr alike
	summary string    // $GITHUB_STEP_SUMMARY
	output  string    // $GITHUB_OUTPUT
}

func newGitHub(getenv func(string) string, w io.Writer) *github {
	return &github{on: getenv("GITHUB_ACTIONS") == "true", w: w,
		summary: getenv("GITHUB_STEP_SUMMARY"), output: getenv("GITHUB_OUTPUT")}
}

// annotate writes ::error or ::warning with a title.
func (g *github) annotate(level, title, message string) {
	if !g.on {
		return
	}
	fmt.Fprintf(g.w, "::%s title=%s::%s\n", level, escapeProperty(title), escapeData(message))
}

// escapeData escapes a workflow command's message as the runner expects.
func escapeData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// escapeProperty escapes a workflow command property (title=…).
func escapeProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}

// appendFile adds text to one of the runner's files; a failure is a warning,
// never the command's failure.
func (g *github) appendFile(path, text string, stderr io.Writer) {
	if !g.on || path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err == nil {
		_, err = io.WriteString(f, text)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "shiplog: warning: could not write %s: %v\n", path, err)
	}
}

// setOutputs writes step outputs (name=value lines; values here are ids).
func (g *github) setOutputs(kv [][2]string, stderr io.Writer) {
	var b strings.Builder
	for _, p := range kv {
		if p[1] != "" && !strings.ContainsAny(p[1], "\r\n") {
			fmt.Fprintf(&b, "%s=%s\n", p[0], p[1])
		}
	}
	if b.Len() > 0 {
		g.appendFile(g.output, b.String(), stderr)
	}
}

// addSummary appends Markdown to the job summary.
func (g *github) addSummary(markdown string, stderr io.Writer) {
	g.appendFile(g.summary, markdown, stderr)
}

// mdTable renders two-column rows, skipping empty values.
func mdTable(rows [][2]string) string {
	var b strings.Builder
	b.WriteString("| | |\n|---|---|\n")
	for _, r := range rows {
		if r[1] != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", r[0], mdCell(r[1]))
		}
	}
	return b.String()
}

// mdCell keeps a value inside its table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}
