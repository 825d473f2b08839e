// Package teams is the Microsoft Teams channel kind: deployment and build
// events posted as an Adaptive Card to a Teams Workflows webhook (the "When
// a Teams webhook request is received" trigger that replaced the retired
// Office 365 connectors), worded as Slack words them.
package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
)

// Name is the kind's name in the API.
const Name shiplog.ChannelKind = "teams"

// MaxMessageBytes is Teams' limit on a message, card included (about 28
// KB); a card this package renders stays far below it, and Render refuses
// to return a larger one rather than have Teams drop it.
const MaxMessageBytes = 28 * 1024

// Lengths match Slack's: a card that reads at a glance, not a log.
const (
	maxHeadline = 150
	maxField    = 100
	maxDetail   = 300
)

// Kind implements notify.Kind for Microsoft Teams.
type Kind struct{}

// Spec describes the kind.
func (Kind) Spec() notify.Spec {
	return notify.Spec{
		Name:   Name,
		Label:  "Microsoft Teams",
		Events: func(*shiplog.Channel) []shiplog.EventType { return notify.CICDEvents },
		Fields: []notify.Field{{
			Key: "url", Label: "Workflow URL", Type: notify.FieldURL, Required: true,
			Help: "In Teams: Workflows → \"Post to a channel when a webhook request is received\"; copy the URL it shows.",
		}},
		URLIsSecret: true,
		Help:        "Posts an Adaptive Card to a Teams channel through a Workflows webhook.",
	}
}

// Hosts that serve Teams webhooks: Power Automate / Logic Apps workflow
// triggers, the newer Power Platform endpoints, and the retired Office 365
// connector webhooks (some tenants still have working ones).
var hostSuffixes = []string{".logic.azure.com", ".powerplatform.com", ".webhook.office.com"}

// Validate checks the workflow URL. Besides Microsoft's hosts it accepts
// localhost and private or loopback IP addresses (a relay on the internal
// network, a test receiver): the server's SSRF policy
// (--allow-private-targets) then decides whether they may be reached.
func (Kind) Validate(c *shiplog.Channel) (string, error) {
	bad := func(format string, args ...any) error { return shiplog.Errorf(shiplog.EINVALID, format, args...) }
	c.URL = strings.TrimSpace(c.URL)
	if c.URL == "" {
		return "", bad("Field 'url' is required for Microsoft Teams channels: the URL of a Teams Workflows webhook (\"Post to a channel when a webhook request is received\")")
	}
	if c.Secret != "" || len(c.Config) > 0 {
		return "", bad("Microsoft Teams channels take 'url' only")
	}
	u, host, private, err := outbound.VendorURL(c.URL)
	if err != nil {
		return "", bad("Field 'url' must be an https:// Teams Workflows URL")
	}
	if private {
		return "", nil
	}
	known := false
	for _, s := range hostSuffixes {
		known = known || strings.HasSuffix(host, s)
	}
	if !known {
		return "", bad("Field 'url' must be a Teams Workflows URL (a host ending in logic.azure.com or powerplatform.com, or an Office 365 webhook.office.com URL), got host %q", host)
	}
	if u.Scheme != "https" {
		return "", bad("Field 'url' must use https://")
	}
	return "", nil
}

// Variant: the card depends on the event only.
func (Kind) Variant(*shiplog.Channel) string { return "" }

// The message: a Workflows webhook takes a "message" activity with Adaptive
// Card attachments and posts each card.
type message struct {
	Type        string       `json:"type"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	ContentType string  `json:"contentType"`
	ContentURL  *string `json:"contentUrl"`
	Content     card    `json:"content"`
}

type card struct {
	Schema  string         `json:"$schema"`
	Type    string         `json:"type"`
	Version string         `json:"version"`
	MSTeams map[string]any `json:"msteams"`
	Body    []element      `json:"body"`
	Actions []action       `json:"actions,omitempty"`
}

type element struct {
	Type   string `json:"type"`
	Text   string `json:"text,omitempty"`
	Weight string `json:"weight,omitempty"`
	Size   string `json:"size,omitempty"`
	Color  string `json:"color,omitempty"`
	Wrap   bool   `json:"wrap,omitempty"`
	Facts  []fact `json:"facts,omitempty"`
}

type fact struct {
	Title string `json:"title"`
	Value string `json:"value"`
}

type action struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
}

// CardContentType is the attachment type of an Adaptive Card.
const CardContentType = "application/vnd.microsoft.card.adaptive"

// Render returns the message to POST for a deployment or build event.
func (Kind) Render(m notify.Message, _ *shiplog.Channel) (json.RawMessage, error) {
	return Render(m)
}

// Render returns the message to POST; it fails with
// notify.ErrUnsupportedEvent for anything but deployment and build events.
func Render(m notify.Message) ([]byte, error) {
	headline, err := notify.Headline(m)
	if err != nil {
		return nil, err
	}
	title := notify.Icon(m.Event.Type) + " " + escape(truncate(headline, maxHeadline))
	body := []element{
		{Type: "TextBlock", Text: title, Weight: "Bolder", Size: "Medium", Wrap: true},
		{Type: "FactSet", Facts: facts(m)},
	}
	if d := strings.TrimSpace(m.ErrorMessage); d != "" {
		d = strings.Join(strings.Fields(d), " ")
		body = append(body, element{Type: "TextBlock", Text: escape(truncate(d, maxDetail)), Color: "Attention", Wrap: true})
	}
	var actions []action
	if u := m.URL(); u != "" {
		actions = append(actions, action{Type: "Action.OpenUrl", Title: "View in shiplog", URL: u})
	}
	if u := m.SafeRunURL(); u != "" {
		actions = append(actions, action{Type: "Action.OpenUrl", Title: "CI run", URL: u})
	}
	msg := message{Type: "message", Attachments: []attachment{{
		ContentType: CardContentType,
		Content: card{
			Schema: "http://adaptivecards.io/schemas/adaptive-card.json", Type: "AdaptiveCard", Version: "1.4",
			MSTeams: map[string]any{"width": "Full"}, Body: body, Actions: actions,
		},
	}}}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("teams: encode card: %w", err)
	}
	out := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if len(out) > MaxMessageBytes {
		return nil, fmt.Errorf("teams: card is %d bytes, over Teams' %d", len(out), MaxMessageBytes)
	}
	return out, nil
}

func facts(m notify.Message) []fact {
	var fs []fact
	for _, f := range notify.Facts(m, m.Who()) {
		fs = append(fs, fact{Title: f.Label, Value: escape(truncate(f.Value, maxField))})
	}
	if at := m.Event.OccurredAt; !at.IsZero() {
		fs = append(fs, fact{Title: "When", Value: at.UTC().Format("2006-01-02 15:04 UTC")})
	}
	return fs
}

// escape neutralises the Markdown subset Adaptive Cards render in
// TextBlock and FactSet text (emphasis, links, code, and a list or heading
// at the start of a line), with CommonMark's backslash escapes, so a
// product called "[click](https://evil)" shows as typed instead of as a
// link. Text is one line by the time it gets here.
func escape(s string) string {
	var b strings.Builder
	if n := len(s) - len(strings.TrimLeft(s, "0123456789")); n > 0 && strings.HasPrefix(s[n:], ". ") {
		// "1. x" would start a numbered list.
		b.WriteString(s[:n] + `\.`)
		s = s[n+1:]
	} else if s != "" && strings.ContainsRune("-+#>", rune(s[0])) {
		b.WriteByte('\\')
	}
	for _, r := range s {
		if strings.ContainsRune("\\*_[]~`", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// Send posts the card and classifies the answer: a Workflows trigger
// answers 202 Accepted. 429 and 5xx (and 408) are worth retrying, after
// Retry-After when Teams sends one; 404 and 410 mean the workflow was
// deleted and disable the channel; any other 4xx gets the same answer
// again and is final.
func (Kind) Send(ctx context.Context, env notify.Env, t notify.Target) notify.Outcome {
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("User-Agent", "shiplog-teams/1")
	return outbound.Post(ctx, env.HTTP, t.Channel.URL, hdr, t.Payload, env.Clock.Now(), func(status int, _ []byte) (bool, bool, string) {
		_, retry, disable, reason := Classify(status)
		return retry, disable, reason
	})
}

// Classify interprets the HTTP status of a Workflows webhook's answer.
func Classify(status int) (ok, retry, disable bool, reason string) {
	if status >= 200 && status < 300 {
		return true, false, false, ""
	}
	reason = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return false, true, false, reason
	case status == http.StatusNotFound || status == http.StatusGone:
		return false, false, true, reason + ": the workflow no longer exists; create a new one and update the channel's URL"
	case status >= 300 && status < 400:
		return false, false, false, reason + " (redirects are not followed: use the final URL)"
	}
	return false, false, false, reason
}
