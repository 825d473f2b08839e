// Package discord is the Discord channel kind: deployment and build events
// posted as an embed through a channel's webhook (Server Settings →
// Integrations → Webhooks), worded as Slack words them.
package discord

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/outbound"
)

// Name is the kind's name in the API.
const Name shiplog.ChannelKind = "discord"

// Discord's documented limits on a message's embeds, in characters.
const (
	MaxTitle       = 256
	MaxDescription = 4096
	MaxFields      = 25
	MaxFieldName   = 256
	MaxFieldValue  = 1024
	MaxFooter      = 2048
	MaxAuthorName  = 256
	MaxEmbedsTotal = 6000 // title, description, field names and values, footer and author of all embeds
	MaxEmbeds      = 10
	MaxContent     = 2000
)

// Shorter than Discord allows, as Slack's are: an embed that reads at a
// glance, not a log.
const (
	maxHeadline = 150
	maxField    = 100
	maxDetail   = 300
)

// Kind implements notify.Kind for Discord.
type Kind struct{}

// Spec describes the kind.
func (Kind) Spec() notify.Spec {
	return notify.Spec{
		Name:   Name,
		Label:  "Discord",
		Events: func(*shiplog.Channel) []shiplog.EventType { return notify.CICDEvents },
		Fields: []notify.Field{{
			Key: "url", Label: "Webhook URL", Type: notify.FieldURL, Required: true,
			Help: "In Discord: Server Settings → Integrations → Webhooks → New Webhook → Copy Webhook URL.",
		}},
		URLIsSecret: true,
		Help:        "Posts an embed to a Discord channel through its webhook.",
	}
}

var (
	discordHosts = []string{"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"}
	webhookPath  = regexp.MustCompile(`^/api(/v[0-9]+)?/webhooks/[0-9]+/[A-Za-z0-9_.-]+/?$`)
)

// Validate checks the webhook URL: https://discord.com/api/webhooks/<id>/<token>
// (discordapp.com and the ptb/canary hosts too). localhost and private or
// loopback IP addresses (a relay on the internal network, a test receiver)
// are accepted with the same path: the server's SSRF policy
// (--allow-private-targets) then decides whether they may be reached.
func (Kind) Validate(c *shiplog.Channel) (string, error) {
	bad := func(format string, args ...any) error { return shiplog.Errorf(shiplog.EINVALID, format, args...) }
	c.URL = strings.TrimSpace(c.URL)
	if c.URL == "" {
		return "", bad("Field 'url' is required for Discord channels: the channel's webhook URL (https://discord.com/api/webhooks/…)")
	}
	if c.Secret != "" || len(c.Config) > 0 {
		return "", bad("Discord channels take 'url' only")
	}
	u, host, isLocal, err := outbound.VendorURL(c.URL)
	if err != nil {
		return "", bad("Field 'url' must be a Discord webhook URL, https://discord.com/api/webhooks/<id>/<token>")
	}
	known := false
	for _, h := range discordHosts {
		known = known || host == h
	}
	if !known && !isLocal {
		return "", bad("Field 'url' must be a Discord webhook URL on discord.com, got host %q", host)
	}
	if known && (u.Scheme != "https" || u.Port() != "") {
		return "", bad("Field 'url' must be https://discord.com/api/webhooks/<id>/<token>")
	}
	if !webhookPath.MatchString(u.EscapedPath()) {
		return "", bad("Field 'url' must be a Discord webhook URL, https://discord.com/api/webhooks/<id>/<token>; the path %q is not one", u.Path)
	}
	return "", nil
}

// Variant: the embed depends on the event only.
func (Kind) Variant(*shiplog.Channel) string { return "" }

// Message is Discord's execute-webhook body, as far as shiplog fills it.
type Message struct {
	Content         string          `json:"content,omitempty"`
	Embeds          []Embed         `json:"embeds"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

// allowedMentions with an empty parse list: nothing in a message pings
// anyone, whatever a product or person is called.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

// Embed is one embed.
type Embed struct {
	Title       string  `json:"title,omitempty"`
	Description string  `json:"description,omitempty"`
	URL         string  `json:"url,omitempty"`
	Timestamp   string  `json:"timestamp,omitempty"`
	Color       int     `json:"color"`
	Fields      []Field `json:"fields,omitempty"`
	Footer      *Footer `json:"footer,omitempty"`
	Author      *Author `json:"author,omitempty"`
}

// Field is one embed field.
type Field struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

// Footer is an embed's footer.
type Footer struct {
	Text string `json:"text"`
}

// Author is an embed's author line.
type Author struct {
	Name string `json:"name"`
}

// colors by outcome: Discord's green, red, yellow and grey.
var colors = map[shiplog.Status]int{
	shiplog.StatusCompleted: 0x57F287,
	shiplog.StatusFailed:    0xED4245,
	shiplog.StatusStarted:   0xFEE75C,
	shiplog.StatusPending:   0xFEE75C,
	shiplog.StatusAborted:   0x99AAB5,
}

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
	e := m.Event
	_, status, _ := strings.Cut(string(e.Type), ".")
	em := Embed{
		Title:  notify.Icon(e.Type) + " " + escape(truncate(headline, maxHeadline)),
		URL:    m.URL(),
		Color:  colors[shiplog.Status(status)],
		Fields: fields(m),
		Footer: &Footer{Text: "shiplog"},
	}
	if !e.OccurredAt.IsZero() {
		em.Timestamp = e.OccurredAt.UTC().Format(time.RFC3339)
	}
	var desc []string
	if d := strings.TrimSpace(m.ErrorMessage); d != "" {
		desc = append(desc, "> "+escape(truncate(strings.Join(strings.Fields(d), " "), maxDetail)))
	}
	var links []string
	if u := m.URL(); u != "" {
		links = append(links, "[View in shiplog]("+linkTarget(u)+")")
	}
	if u := m.SafeRunURL(); u != "" {
		links = append(links, "[CI run]("+linkTarget(u)+")")
	}
	if len(links) > 0 {
		desc = append(desc, strings.Join(links, " · "))
	}
	em.Description = strings.Join(desc, "\n")
	msg := Message{Embeds: []Embed{em}, AllowedMentions: allowedMentions{Parse: []string{}}}
	Fit(&msg)

	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(msg); err != nil {
		return nil, fmt.Errorf("discord: encode message: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func fields(m notify.Message) []Field {
	e := m.Event
	var fs []Field
	for _, f := range notify.Facts(m, m.Who()) {
		fs = append(fs, Field{Name: f.Label, Value: escape(truncate(f.Value, maxField)), Inline: true})
	}
	if !e.OccurredAt.IsZero() {
		// Discord shows <t:…:f> in each reader's own time zone.
		fs = append(fs, Field{Name: "When", Value: fmt.Sprintf("<t:%d:f>", e.OccurredAt.Unix()), Inline: true})
	}
	return fs
}

// linkTarget keeps a URL from ending the Markdown link early.
func linkTarget(u string) string {
	return strings.NewReplacer(")", "%29", "(", "%28", " ", "%20").Replace(u)
}

// escape neutralises Discord's Markdown (emphasis, strikethrough, spoilers,
// code, masked links, and a quote, list or heading at the start of a line)
// and mention syntax (<@id>) in user text, with backslashes, which Discord
// renders as the character itself. Text is one line by the time it gets
// here; allowed_mentions keeps "@everyone" from pinging anyway.
func escape(s string) string {
	var b strings.Builder
	for i, r := range s {
		if strings.ContainsRune("\\*_~`|[]()<>", r) || i == 0 && strings.ContainsRune("->#", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Len counts characters as Discord does for its limits. Discord's clients
// count UTF-16 code units; counting them is the stricter of the two
// possible readings (an emoji is one code point but two units), so a
// message that fits by this count fits by either.
func Len(s string) int { return len(utf16.Encode([]rune(s))) }

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// cut shortens s to at most n UTF-16 units, marking the cut.
func cut(s string, n int) string {
	if Len(s) <= n {
		return s
	}
	units := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if units+w > n-1 {
			return s[:i] + "…"
		}
		units += w
	}
	return s
}

// Total is the character count Discord's 6000 limit applies to.
func Total(msg Message) int {
	n := 0
	for _, e := range msg.Embeds {
		n += Len(e.Title) + Len(e.Description)
		for _, f := range e.Fields {
			n += Len(f.Name) + Len(f.Value)
		}
		if e.Footer != nil {
			n += Len(e.Footer.Text)
		}
		if e.Author != nil {
			n += Len(e.Author.Name)
		}
	}
	return n
}

// Fit enforces Discord's limits on msg by cutting: each part to its own
// limit, then, while the total is over 6000, the longest text first. Discord refuses a message over any limit
// with 400, which retrying cannot fix; a cut message still says what
// happened.
func Fit(msg *Message) {
	msg.Content = cut(msg.Content, MaxContent)
	if len(msg.Embeds) > MaxEmbeds {
		msg.Embeds = msg.Embeds[:MaxEmbeds]
	}
	for i := range msg.Embeds {
		e := &msg.Embeds[i]
		e.Title = cut(e.Title, MaxTitle)
		e.Description = cut(e.Description, MaxDescription)
		if len(e.Fields) > MaxFields {
			e.Fields = e.Fields[:MaxFields]
		}
		for j := range e.Fields {
			e.Fields[j].Name = cut(e.Fields[j].Name, MaxFieldName)
			e.Fields[j].Value = cut(e.Fields[j].Value, MaxFieldValue)
		}
		if e.Footer != nil {
			e.Footer.Text = cut(e.Footer.Text, MaxFooter)
		}
		if e.Author != nil {
			e.Author.Name = cut(e.Author.Name, MaxAuthorName)
		}
	}
	for over := Total(*msg) - MaxEmbedsTotal; over > 0; over = Total(*msg) - MaxEmbedsTotal {
		// The longest text gives way first.
		longest, n := (*string)(nil), 0
		for _, s := range texts(msg) {
			if l := Len(*s); l > n {
				longest, n = s, l
			}
		}
		if longest == nil || n <= 1 {
			return
		}
		*longest = cut(*longest, max(1, n-over))
	}
}

// texts are the parts of msg that count towards the 6000 total.
func texts(msg *Message) []*string {
	var out []*string
	for i := range msg.Embeds {
		e := &msg.Embeds[i]
		out = append(out, &e.Description, &e.Title)
		for j := range e.Fields {
			out = append(out, &e.Fields[j].Value, &e.Fields[j].Name)
		}
		if e.Footer != nil {
			out = append(out, &e.Footer.Text)
		}
		if e.Author != nil {
			out = append(out, &e.Author.Name)
		}
	}
	return out
}

// Send posts the message and classifies Discord's answer: 204 (or 200
// with ?wait=true) is delivered. 429 is retried after the retry_after
// Discord sends (seconds, in the JSON body and the Retry-After header);
// 5xx and 408 are retried; 404 (Unknown Webhook, code 10015: the webhook
// or its channel was deleted) and 401 (Invalid Webhook Token) disable the
// channel; any other 4xx is final.
func (Kind) Send(ctx context.Context, env notify.Env, t notify.Target) notify.Outcome {
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("User-Agent", "shiplog-discord/1 (https://github.com/shiplog/shiplog, 1)")
	now := env.Clock.Now()
	var wait time.Duration
	o := outbound.Post(ctx, env.HTTP, t.Channel.URL, hdr, t.Payload, now, func(status int, body []byte) (bool, bool, string) {
		_, retry, disable, w, reason := Classify(status, nil, body, now)
		wait = w
		return retry, disable, reason
	})
	if wait > 0 {
		// Discord's retry_after (in the body, to the millisecond) is
		// more precise than the whole seconds of Retry-After.
		o.RetryAfter = wait
	}
	return o
}

// discordError is the JSON body of Discord's error answers.
type discordError struct {
	Message    string   `json:"message"`
	Code       int      `json:"code"`
	RetryAfter *float64 `json:"retry_after"`
}

// Unknown Webhook and Invalid Webhook Token, Discord's JSON error codes.
const (
	codeUnknownWebhook      = 10015
	codeInvalidWebhookToken = 50027
)

// Classify interprets Discord's answer to an execute-webhook POST.
func Classify(status int, h http.Header, body []byte, now time.Time) (ok, retry, disable bool, wait time.Duration, reason string) {
	if status >= 200 && status < 300 {
		return true, false, false, 0, ""
	}
	var de discordError
	_ = json.Unmarshal(body, &de)
	reason = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	if de.Message != "" && len(de.Message) <= 200 {
		reason = fmt.Sprintf("%s (HTTP %d, code %d)", de.Message, status, de.Code)
	}
	switch {
	case status == http.StatusTooManyRequests:
		if de.RetryAfter != nil && *de.RetryAfter >= 0 && !math.IsInf(*de.RetryAfter, 0) {
			secs := math.Min(*de.RetryAfter, float64(24*time.Hour/time.Second))
			wait = time.Duration(math.Ceil(secs*1000)) * time.Millisecond
		} else if d, ok := outbound.RetryAfter(h, now); ok {
			wait = d
		}
		return false, true, false, wait, reason
	case status >= 500 || status == http.StatusRequestTimeout:
		return false, true, false, 0, reason
	case status == http.StatusNotFound || de.Code == codeUnknownWebhook,
		status == http.StatusUnauthorized || de.Code == codeInvalidWebhookToken:
		return false, false, true, 0, reason + ": the webhook was deleted or its token reset; create a new one and update the channel's URL"
	case status >= 300 && status < 400:
		return false, false, false, 0, reason + " (redirects are not followed: use the final URL)"
	}
	return false, false, false, 0, reason
}
