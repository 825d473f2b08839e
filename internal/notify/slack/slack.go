// Package slack renders deployment and build events as Slack incoming-webhook
// messages (Block Kit plus a plain fallback line) and classifies Slack's
// answers so the delivery worker knows whether to retry or disable a channel.
package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/shiplog/shiplog/internal/notify"
)

// Lengths are far below Slack's limits (3 000 per section, 2 000 per field):
// the message should read at a glance on a phone, not carry a log.
const (
	maxFallback = 150
	maxField    = 100
	maxDetail   = 300
)

type message struct {
	Text   string  `json:"text"`
	Blocks []block `json:"blocks"`
}

type block struct {
	Type     string   `json:"type"`
	Text     *object  `json:"text,omitempty"`
	Fields   []object `json:"fields,omitempty"`
	Elements []object `json:"elements,omitempty"`
}

type object struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func mrkdwn(s string) object { return object{Type: "mrkdwn", Text: s} }

// Render returns the JSON body to POST to a Slack incoming webhook. It fails
// with notify.ErrUnsupportedEvent for anything but deployment and build events.
func Render(m notify.Message) ([]byte, error) {
	headline, err := notify.Headline(m)
	if err != nil {
		return nil, err
	}
	icon := notify.Icon(m.Event.Type)

	fallback := icon + " " + headline
	if who := m.Who(); who != "" {
		fallback += " by " + who
	}

	msg := message{
		// The fallback is what phones show in the notification banner.
		Text: escape(truncate(fallback, maxFallback)),
		Blocks: []block{
			{Type: "section", Text: &object{Type: "mrkdwn", Text: icon + " *" + escape(truncate(headline, maxFallback)) + "*"}},
			{Type: "section", Fields: fields(m)},
		},
	}
	if d := strings.TrimSpace(m.ErrorMessage); d != "" {
		// One quoted line: newlines in a CI error would break out of the quote.
		d = strings.Join(strings.Fields(d), " ")
		msg.Blocks = append(msg.Blocks, block{Type: "section", Text: &object{Type: "mrkdwn", Text: "> " + escape(truncate(d, maxDetail))}})
	}
	if links := links(m); len(links) > 0 {
		msg.Blocks = append(msg.Blocks, block{Type: "context", Elements: []object{mrkdwn(strings.Join(links, "  ·  "))}})
	}

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("slack: encode message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func fields(m notify.Message) []object {
	e := m.Event
	var fs []object
	for _, f := range notify.Facts(m, m.Who()) {
		fs = append(fs, mrkdwn("*"+f.Label+"*\n"+escape(truncate(f.Value, maxField))))
	}
	if !e.OccurredAt.IsZero() {
		// Slack shows the date in each reader's own time zone; the text after
		// "|" is what clients that cannot do that display instead.
		at := e.OccurredAt.UTC()
		fs = append(fs, mrkdwn(fmt.Sprintf("*When*\n<!date^%d^{date_short_pretty} {time}|%s>",
			at.Unix(), at.Format("2006-01-02 15:04 UTC"))))
	}
	return fs
}

func links(m notify.Message) []string {
	var ls []string
	if u := m.URL(); u != "" {
		ls = append(ls, link(u, "View in shiplog"))
	}
	if u := m.SafeRunURL(); u != "" {
		ls = append(ls, link(u, "CI run"))
	}
	return ls
}

// link formats <url|label>. A "|" in the URL would end the URL part early, so
// it is percent-encoded; &, < and > are escaped as everywhere else.
func link(u, label string) string {
	return "<" + escape(strings.ReplaceAll(u, "|", "%7C")) + "|" + escape(label) + ">"
}

// escape neutralises Slack's control characters in user-supplied text, so a
// product called "<!channel>" cannot ping a channel or forge a link.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n runes, marking the cut. It runs before escape
// so an entity is never cut in half.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// ClassifyResponse interprets Slack's answer to a webhook POST. retry means
// the same message may succeed later; disableChannel means the webhook URL is
// gone for good (revoked, app removed, channel archived) and the channel
// should be switched off and its owner told. reason is a short code for the
// attempt log, "" on success. For 429 the caller should wait for the
// Retry-After header (see outbound.RetryAfter).
func ClassifyResponse(status int, body []byte) (retry bool, disableChannel bool, reason string) {
	if status >= 200 && status < 300 {
		return false, false, ""
	}
	code := errorCode(body)
	reason = fmt.Sprintf("HTTP %d", status)
	if code != "" {
		reason = fmt.Sprintf("%s (HTTP %d)", code, status)
	}
	switch {
	case code == "no_service" || code == "channel_is_archived" || status == http.StatusGone:
		return false, true, reason
	case status == http.StatusTooManyRequests || status == http.StatusRequestTimeout || status >= 500:
		return true, false, reason
	default:
		// 3xx, invalid_payload, action_prohibited, invalid_token, …: sending
		// the same request again gets the same answer.
		return false, false, reason
	}
}

// errorCode extracts Slack's error code: incoming webhooks answer with a bare
// word ("no_service"), rate limiting with JSON ({"ok":false,"error":"rate_limited"}).
func errorCode(body []byte) string {
	body = bytes.TrimSpace(body)
	var j struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &j) == nil {
		return sanitizeCode(j.Error)
	}
	return sanitizeCode(string(body))
}

// sanitizeCode keeps only a plausible error code; anything else (an HTML
// error page from a proxy, say) is not worth quoting.
func sanitizeCode(s string) string {
	if s == "" || len(s) > 64 {
		return ""
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	return s
}
