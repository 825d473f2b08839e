// Package notify holds what every notification channel shares: the Message a
// renderer takes and the wording (icon, headline, status label) that Slack and
// email must agree on.
//
// The channel packages (slack, email, webhook) import this package, so this
// package must never import them: register channels where the app is wired.
package notify

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/shiplog/shiplog"
)

// ErrUnsupportedEvent is returned by renderers for event types the channel
// does not carry (e.g. governance events sent to Slack). Retrying cannot help.
var ErrUnsupportedEvent = errors.New("event type not supported by this channel")

// Message is the input of every renderer: the stored event plus the few things
// the event row does not carry. Fields other than Event are optional.
type Message struct {
	Event shiplog.Event

	// BaseURL is the server's public URL (e.g. "https://shiplog.example.com");
	// without it messages carry no link back to shiplog.
	BaseURL string

	// ActorName is the display name of whoever deployed or built
	// (deployed_by_name / built_by_name); Event.Actor is the fallback.
	ActorName  string
	ActorEmail string

	// RunURL is the CI run's page (deploy_url or build_url) as sent by CI.
	RunURL string

	// ErrorMessage explains a failure when CI sent one.
	ErrorMessage string

	// OrgName is the organization's display name, for formats that carry
	// one (Qovery's organization.name); "" when unknown.
	OrgName string
}

// Kind is the event's kind, falling back to the event type's prefix for rows
// written before Kind was set.
func (m Message) Kind() shiplog.Kind {
	if m.Event.Kind != "" {
		return m.Event.Kind
	}
	prefix, _, _ := strings.Cut(string(m.Event.Type), ".")
	return shiplog.Kind(prefix)
}

// Who is the best human-readable name for the actor, "" when unknown.
func (m Message) Who() string {
	if s := strings.TrimSpace(m.ActorName); s != "" {
		return s
	}
	return strings.TrimSpace(m.Event.Actor)
}

// URL links to the deployment or build in the shiplog console, "" when
// BaseURL is not configured.
func (m Message) URL() string {
	base := strings.TrimRight(strings.TrimSpace(m.BaseURL), "/")
	if base == "" || m.Event.SubjectID == "" {
		return ""
	}
	section := "deployments"
	if m.Kind() == shiplog.KindBuild {
		section = "builds"
	}
	return base + "/" + section + "/" + url.PathEscape(m.Event.SubjectID)
}

// SafeRunURL returns RunURL only when it is an absolute http(s) URL: CI sends
// it, and a javascript: or mailto: link has no place in a notification.
func (m Message) SafeRunURL() string {
	u, err := url.Parse(strings.TrimSpace(m.RunURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

// wording is how one event type reads to a person.
type wording struct {
	icon   string
	label  string                           // the status as shown in a "Status" field
	phrase func(subject, env string) string // subject is "<product> <version>"
}

var wordings = map[shiplog.EventType]wording{
	"deployment.pending":   {"⏳", "pending", func(s, e string) string { return s + " queued for deployment to " + e }},
	"deployment.started":   {"🚀", "started", func(s, e string) string { return s + " deploying to " + e }},
	"deployment.completed": {"✅", "completed", func(s, e string) string { return s + " deployed to " + e }},
	"deployment.failed":    {"❌", "failed", func(s, e string) string { return s + " failed to deploy to " + e }},
	"deployment.aborted":   {"🛑", "aborted", func(s, e string) string { return s + " deployment to " + e + " aborted" }},
	// 🚫 rather than ❌: nothing was deployed, a rule stopped it before it started.
	shiplog.EventDeploymentPreflightFailed: {"🚫", "preflight failed", func(s, e string) string { return s + " blocked by preflight checks for " + e }},
	"build.pending":                        {"⏳", "pending", func(s, _ string) string { return s + " build queued" }},
	"build.started":                        {"🔨", "started", func(s, _ string) string { return s + " building" }},
	"build.completed":                      {"✅", "completed", func(s, _ string) string { return s + " built" }},
	"build.failed":                         {"❌", "failed", func(s, _ string) string { return s + " failed to build" }},
	"build.aborted":                        {"🛑", "aborted", func(s, _ string) string { return s + " build aborted" }},
}

func lookup(t shiplog.EventType) (wording, error) {
	w, ok := wordings[t]
	if !ok {
		return wording{}, fmt.Errorf("%w: %q", ErrUnsupportedEvent, t)
	}
	return w, nil
}

// Icon is the emoji shown for an event type, "" for types people are not
// notified about.
func Icon(t shiplog.EventType) string { return wordings[t].icon }

// StatusLabel is the event's status in words ("completed", "preflight failed").
func StatusLabel(t shiplog.EventType) string { return wordings[t].label }

// Headline is the one-line summary without icon, e.g.
// "my-service 1.2.3 deployed to production". It fails with
// ErrUnsupportedEvent for types that are not deployment or build events.
func Headline(m Message) (string, error) {
	w, err := lookup(m.Event.Type)
	if err != nil {
		return "", err
	}
	subject := strings.TrimSpace(m.Event.ProductName + " " + m.Event.Version)
	if subject == "" {
		subject = "unknown product"
	}
	env := m.Event.EnvironmentName
	if env == "" {
		env = "an unnamed environment"
	}
	return w.phrase(subject, env), nil
}

// Fact is one labelled detail of a message.
type Fact struct{ Label, Value string }

// Facts are the details every kind of message shows, in this order:
// product, version, environment (deployments only), status, and who
// deployed or built it, as the kind words the person (who). Values are
// trimmed and empty ones left out; escaping, truncating and the time are
// the kind's own.
func Facts(m Message, who string) []Fact {
	e := m.Event
	var fs []Fact
	add := func(label, value string) {
		if value = strings.TrimSpace(value); value != "" {
			fs = append(fs, Fact{label, value})
		}
	}
	add("Product", e.ProductName)
	add("Version", e.Version)
	whoLabel := "Deployed by"
	if m.Kind() == shiplog.KindBuild {
		whoLabel = "Built by"
	} else {
		add("Environment", e.EnvironmentName)
	}
	add("Status", StatusLabel(e.Type))
	add(whoLabel, who)
	return fs
}
