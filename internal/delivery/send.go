package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/notify/outbound"
	"github.com/shiplog/shiplog/internal/notify/slack"
	"github.com/shiplog/shiplog/internal/notify/webhook"
)

// Sender delivers one payload to one channel. Adding a channel kind is a
// Sender plus a renderer (see fanout.go).
type Sender interface {
	Send(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, recipients []string) Outcome
}

// unready is implemented by senders that can know, before anything is
// rendered, that every attempt would fail (email without a relay).
type unready interface {
	Unready() string
}

// keptHeaders are the response headers worth keeping in the attempt log.
var keptHeaders = []string{"Content-Type", "Retry-After", "Date", "Server", "Location", "X-Request-Id",
	"X-Slack-Req-Id", "Content-Length"}

// post sends body and turns the response into an Outcome; classify decides
// what a non-2xx answer means.
func post(ctx context.Context, client *http.Client, url string, hdr http.Header, body []byte, now time.Time,
	classify func(status int, body []byte) (retry, disable bool, reason string)) Outcome {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return Outcome{Err: "invalid request: " + err.Error()}
	}
	req.Header = hdr
	res, err := client.Do(req)
	if err != nil {
		if outbound.IsBlocked(err) {
			return Outcome{Err: "refused: the address is private, loopback or link-local (start shiplog with --allow-private-targets to allow it)"}
		}
		return Outcome{Retryable: true, Err: describeNetErr(ctx, err)}
	}
	b, _ := outbound.ReadLimited(res, 4096)
	o := Outcome{StatusCode: res.StatusCode, Body: string(b), Headers: map[string]string{}}
	for _, h := range keptHeaders {
		if v := res.Header.Get(h); v != "" {
			o.Headers[h] = v
		}
	}
	if res.StatusCode >= 200 && res.StatusCode < 300 {
		o.OK = true
		return o
	}
	retry, disable, reason := classify(res.StatusCode, b)
	o.Retryable, o.Disable, o.Err = retry, disable, reason
	if retry {
		if d, ok := outbound.RetryAfter(res.Header, now); ok {
			o.RetryAfter = d
		}
	}
	return o
}

func describeNetErr(ctx context.Context, err error) string {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return "timed out waiting for the receiver"
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "Post ") {
		msg = msg[i+2:]
	}
	return "network error: " + msg
}

// classifyWebhook is the seed's rule: 5xx, 408 and 429 retry; a 3xx (we do
// not follow redirects) and any other 4xx are terminal; 410 also disables.
func classifyWebhook(status int, _ []byte) (retry, disable bool, reason string) {
	reason = fmt.Sprintf("HTTP %d %s", status, http.StatusText(status))
	switch {
	case status == http.StatusGone:
		return false, true, reason
	case status >= 500, status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true, false, reason
	case status >= 300 && status < 400:
		return false, false, reason + " (redirects are not followed: use the final URL)"
	}
	return false, false, reason
}

// Webhook sends signed JSON.
type Webhook struct {
	Client *http.Client
	Clock  shiplog.Clock
}

func (w *Webhook) Send(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, _ []string) Outcome {
	now := w.Clock.Now()
	hdr, err := webhook.Headers(string(d.EventType), d.ID, webhook.Scheme(c.SignatureScheme), c.Secret, d.Payload, now)
	if err != nil {
		return Outcome{Err: "cannot sign: " + err.Error()}
	}
	return post(ctx, w.Client, c.URL, hdr, d.Payload, now, classifyWebhook)
}

// Slack posts to an incoming webhook.
type Slack struct {
	Client *http.Client
	Clock  shiplog.Clock
}

func (s *Slack) Send(ctx context.Context, d *shiplog.Delivery, c *shiplog.Channel, _ []string) Outcome {
	hdr := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"shiplog-slack/1"}}
	return post(ctx, s.Client, c.URL, hdr, d.Payload, s.Clock.Now(), slack.ClassifyResponse)
}

// Email sends through the SMTP relay; Sender is nil when none is configured.
type Email struct {
	Sender *email.Sender
}

// ErrNoSMTP is the attempt log's explanation when email has no relay.
const ErrNoSMTP = "SMTP is not configured: start shiplog with --smtp-url smtp://user:pass@host:port and --mail-from"

// Unready says why no email can be sent, "" when a relay is configured.
func (e *Email) Unready() string {
	if e.Sender == nil {
		return ErrNoSMTP
	}
	return ""
}

func (e *Email) Send(ctx context.Context, d *shiplog.Delivery, _ *shiplog.Channel, recipients []string) Outcome {
	if e.Sender == nil {
		return Outcome{Err: ErrNoSMTP}
	}
	// A payload may name its own recipients (the DR approval emails).
	var m struct {
		email.Message
		To []string `json:"to"`
	}
	if err := json.Unmarshal(d.Payload, &m); err != nil {
		return Outcome{Err: "stored email is unreadable: " + err.Error()}
	}
	if len(m.To) > 0 {
		recipients = m.To
	}
	if len(recipients) == 0 {
		return Outcome{Err: "no recipients: the channel lists only 'owners' and the organisation has no owner email addresses (shiplog org owners --org NAME --email …)"}
	}
	if err := e.Sender.Send(ctx, m.Message, recipients); err != nil {
		var se *email.SendError
		o := Outcome{Retryable: email.IsTemporary(err), Err: err.Error()}
		if errors.As(err, &se) {
			o.StatusCode = se.Code
		}
		return o
	}
	return Outcome{OK: true, StatusCode: 250}
}

// People are the addresses the recipient words stand for in an org.
type People struct {
	Owners  []string // owners and admins, and the org's owner addresses
	Members []string // every active person
}

// peopleReader is what Audience reads.
type peopleReader interface {
	OrgOwnerEmails(ctx context.Context, orgID string) ([]string, error)
	UserList(ctx context.Context, orgID string) ([]*shiplog.User, error)
}

// Audience reads who the recipient words stand for in orgID now: active
// people only, so a deactivated or deleted person gets nothing.
func Audience(ctx context.Context, r peopleReader, orgID string) (People, error) {
	owners, err := r.OrgOwnerEmails(ctx, orgID)
	if err != nil {
		return People{}, err
	}
	users, err := r.UserList(ctx, orgID)
	if err != nil {
		return People{}, err
	}
	p := People{Owners: owners}
	for _, u := range users {
		if !u.Active() || u.Email == "" {
			continue
		}
		p.Members = append(p.Members, u.Email)
		if slices.ContainsFunc(u.Roles, func(r string) bool { return r == shiplog.RoleOwner || r == shiplog.RoleAdmin }) {
			p.Owners = append(p.Owners, u.Email)
		}
	}
	return p, nil
}

// Recipients resolves the words "owners" and "members" to people's
// addresses, each address once.
func Recipients(c *shiplog.Channel, p People) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Recipients {
		list := []string{r}
		switch r {
		case notify.Owners:
			list = p.Owners
		case notify.Members:
			list = p.Members
		}
		for _, a := range list {
			if k := strings.ToLower(a); !seen[k] {
				seen[k] = true
				out = append(out, a)
			}
		}
	}
	return out
}
