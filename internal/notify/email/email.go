// Package email renders deployment and build events as multipart emails and
// sends them through an SMTP relay.
package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/shiplog/shiplog/internal/notify"
)

// Message is a rendered email, ready for Sender.Send.
type Message = notify.Mail

//go:embed templates
var templateFS embed.FS

var (
	textTmpl = texttemplate.Must(texttemplate.ParseFS(templateFS, "templates/message.txt.tmpl"))
	// html/template escapes every value by context, and replaces a non-http(s)
	// href with "#ZgotmplZ", so CI-supplied text cannot inject markup.
	htmlTmpl = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/message.html.tmpl"))
)

type row struct{ Label, Value string }

type view struct {
	Icon      string
	Headline  string
	Rows      []row
	Error     string
	URL       string
	RunURL    string
	EventType string
}

// Render returns the email for a deployment or build event. It fails with
// notify.ErrUnsupportedEvent for other event types.
func Render(m notify.Message) (Message, error) {
	headline, err := notify.Headline(m)
	if err != nil {
		return Message{}, err
	}
	e := m.Event
	v := view{
		Icon:      notify.Icon(e.Type),
		Headline:  oneLine(headline),
		Error:     strings.TrimSpace(m.ErrorMessage),
		URL:       m.URL(),
		RunURL:    m.SafeRunURL(),
		EventType: string(e.Type),
	}
	add := func(label, value string) {
		if value = oneLine(value); value != "" {
			v.Rows = append(v.Rows, row{label, value})
		}
	}
	for _, f := range notify.Facts(m, person(m.Who(), m.ActorEmail)) {
		add(f.Label, f.Value)
	}
	if !e.OccurredAt.IsZero() {
		add("When", e.OccurredAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	}
	add("Commit", shortSHA(e.ScmSHA))

	var text, html bytes.Buffer
	if err := textTmpl.Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("email: render text: %w", err)
	}
	if err := htmlTmpl.Execute(&html, v); err != nil {
		return Message{}, fmt.Errorf("email: render html: %w", err)
	}
	return Message{
		Subject: v.Icon + " " + v.Headline,
		Text:    text.String(),
		HTML:    html.String(),
	}, nil
}

// oneLine collapses whitespace, newlines included: CI-supplied names end up in
// the Subject header and in aligned text rows.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func person(name, addr string) string {
	switch {
	case name != "" && addr != "" && name != addr:
		return name + " <" + addr + ">"
	case name != "":
		return name
	default:
		return addr
	}
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}
