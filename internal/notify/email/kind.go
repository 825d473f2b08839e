package email

import (
	"context"
	"encoding/json"
	"errors"
	"net/mail"
	"strings"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/notify"
)

// Kind is the email channel kind: messages sent through the SMTP relay to
// addresses, distribution lists, or the org's people by role.
type Kind struct{}

// ErrNoSMTP is the attempt log's explanation when email has no relay.
const ErrNoSMTP = "SMTP is not configured: start shiplog with --smtp-url smtp://user:pass@host:port and --mail-from"

const maxRecipients = 50

func (Kind) Spec() notify.Spec {
	return notify.Spec{
		Name:   shiplog.ChannelEmail,
		Label:  "Email",
		Events: func(*shiplog.Channel) []shiplog.EventType { return notify.CICDEvents },
		Fields: []notify.Field{{Key: "recipients", Label: "Recipients", Type: notify.FieldList, Required: true,
			Help: "Addresses or distribution lists, separated by commas or new lines. The word owners stands for the organisation's owners and admins, members for every active person (by their emails, as people join and leave)."}},
		Help: "Add a channel with the addresses or distribution lists to write to.",
	}
}

func (Kind) Validate(c *shiplog.Channel) (string, error) {
	bad := func(format string, args ...any) error { return shiplog.Errorf(shiplog.EINVALID, format, args...) }
	if c.URL != "" || c.Secret != "" {
		return "", bad("Email channels take 'recipients', not 'url' or 'secret'")
	}
	recipients := c.Settings("recipients")
	if len(recipients) == 0 {
		return "", bad("Field 'recipients' must list at least one email address, distribution list, or the word 'owners' or 'members'")
	}
	if len(recipients) > maxRecipients {
		return "", bad("Field 'recipients' may list at most %d addresses", maxRecipients)
	}
	out := make([]string, 0, len(recipients))
	for _, r := range recipients {
		r = strings.TrimSpace(r)
		if strings.EqualFold(r, notify.Owners) || strings.EqualFold(r, notify.Members) {
			out = append(out, strings.ToLower(r))
			continue
		}
		a, err := mail.ParseAddress(r)
		if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") {
			return "", bad("Field 'recipients' has an invalid address '%s'", r)
		}
		out = append(out, a.Address)
	}
	c.Set("recipients", out)
	return "", nil
}

func (Kind) Render(m notify.Message, _ *shiplog.Channel) (json.RawMessage, error) {
	msg, err := Render(m)
	if err != nil {
		return nil, err
	}
	return json.Marshal(msg)
}

func (Kind) Variant(*shiplog.Channel) string { return "" }

// Unready says why no email can be sent, "" when a relay is configured.
func (Kind) Unready(env notify.Env) string {
	if env.Mail == nil {
		return ErrNoSMTP
	}
	return ""
}

// Recipients resolves the words "owners" and "members" to people's
// addresses, each address once.
func (Kind) Recipients(c *shiplog.Channel, p notify.People) []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range c.Settings("recipients") {
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

func (Kind) Send(ctx context.Context, env notify.Env, t notify.Target) notify.Outcome {
	if env.Mail == nil {
		return notify.Outcome{Err: ErrNoSMTP}
	}
	// A payload may name its own recipients (the DR approval emails).
	var m struct {
		Message
		To []string `json:"to"`
	}
	if err := json.Unmarshal(t.Payload, &m); err != nil {
		return notify.Outcome{Err: "stored email is unreadable: " + err.Error()}
	}
	recipients := t.Recipients
	if len(m.To) > 0 {
		recipients = m.To
	}
	if len(recipients) == 0 {
		return notify.Outcome{Err: "no recipients: the channel lists only 'owners' and the organisation has no owner email addresses (shiplog org owners --org NAME --email …)"}
	}
	if err := env.Mail.Send(ctx, m.Message, recipients); err != nil {
		var se *SendError
		o := notify.Outcome{Retryable: IsTemporary(err), Err: err.Error()}
		if errors.As(err, &se) {
			o.StatusCode = se.Code
		}
		return o
	}
	return notify.Outcome{OK: true, StatusCode: 250}
}
