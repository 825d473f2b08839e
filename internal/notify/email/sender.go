package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"strconv"
	"time"

	mail "github.com/wneessen/go-mail"
)

// DefaultTimeout bounds each step of an SMTP conversation (connect, every
// command), not the whole send.
const DefaultTimeout = 30 * time.Second

// Config configures a Sender.
type Config struct {
	// URL names the relay: smtp://user:pass@host:port upgrades with STARTTLS
	// when the server offers it (default port 587); smtps://… speaks TLS from
	// the first byte (default port 465). Credentials are optional; they are
	// never sent over an unencrypted connection except to localhost.
	URL string
	// From is the sender, "shiplog@example.com" or "shiplog <shiplog@example.com>".
	From string
	// Timeout per SMTP step; DefaultTimeout when zero.
	Timeout time.Duration
	// TLSConfig overrides certificate checks (a private CA, say). ServerName
	// defaults to the relay's host.
	TLSConfig *tls.Config
}

// Sender sends rendered messages through one SMTP relay. It is safe for
// concurrent use: every Send opens its own connection.
type Sender struct {
	host        string
	port        int
	implicitTLS bool
	user, pass  string
	from        string
	timeout     time.Duration
	tlsConfig   *tls.Config
}

// NewSender validates cfg. Errors never include the relay password.
func NewSender(cfg Config) (*Sender, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, errors.New("email: SMTP URL is not a valid URL")
	}
	s := &Sender{host: u.Hostname(), from: cfg.From, timeout: cfg.Timeout}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return nil, fmt.Errorf("email: SMTP URL %s must use smtp:// or smtps://", u.Redacted())
	}
	if s.host == "" {
		return nil, fmt.Errorf("email: SMTP URL %s has no host", u.Redacted())
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("email: SMTP URL %s has an invalid port", u.Redacted())
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
	}
	if s.timeout <= 0 {
		s.timeout = DefaultTimeout
	}
	if cfg.TLSConfig != nil {
		s.tlsConfig = cfg.TLSConfig.Clone()
	} else {
		s.tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if s.tlsConfig.ServerName == "" {
		s.tlsConfig.ServerName = s.host
	}
	if err := mail.NewMsg().From(cfg.From); err != nil {
		return nil, fmt.Errorf("email: invalid From address %q: %w", cfg.From, err)
	}
	return s, nil
}

// SendError is what Send returns on failure. Temporary failures (4xx replies,
// network trouble, cancellation) may succeed on retry; permanent ones (5xx
// replies, a refused login, a bad certificate) will not.
type SendError struct {
	Temporary bool
	Code      int // SMTP reply code, 0 when the server never answered
	Err       error
}

func (e *SendError) Error() string {
	kind := "permanent"
	if e.Temporary {
		kind = "temporary"
	}
	return fmt.Sprintf("email: %s failure: %v", kind, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a SendError worth retrying.
func IsTemporary(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Temporary
}

// Send delivers msg to every address in to, as multipart/alternative (text
// and HTML). Cancelling ctx aborts the SMTP conversation at once.
func (s *Sender) Send(ctx context.Context, msg Message, to []string) error {
	if len(to) == 0 {
		return &SendError{Err: errors.New("no recipients")}
	}
	m := mail.NewMsg()
	if err := m.From(s.from); err != nil {
		return &SendError{Err: err}
	}
	if err := m.To(to...); err != nil {
		return &SendError{Err: err}
	}
	m.Subject(oneLine(msg.Subject))
	m.SetBodyString(mail.TypeTextPlain, msg.Text)
	m.AddAlternativeString(mail.TypeTextHTML, msg.HTML)
	// RFC 3834: keeps vacation responders from answering a robot.
	m.SetGenHeader("Auto-Submitted", "auto-generated")

	// go-mail only honours ctx while dialling; closing the connection when
	// ctx ends is what makes a stalled relay give up mid-conversation.
	var stops []func() bool
	defer func() {
		for _, stop := range stops {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: s.timeout}
		raw, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		stops = append(stops, context.AfterFunc(ctx, func() { raw.Close() }))
		if !s.implicitTLS {
			return raw, nil
		}
		// Returned as *tls.Conn so go-mail knows the session is encrypted and
		// allows PLAIN/LOGIN.
		conn := tls.Client(raw, s.tlsConfig)
		if err := conn.HandshakeContext(dctx); err != nil {
			raw.Close()
			return nil, err
		}
		return conn, nil
	}

	opts := []mail.Option{
		mail.WithPort(s.port),
		mail.WithTimeout(s.timeout),
		mail.WithTLSConfig(s.tlsConfig),
		mail.WithDialContextFunc(dial),
	}
	if s.implicitTLS {
		opts = append(opts, mail.WithSSL())
	} else {
		opts = append(opts, mail.WithTLSPolicy(mail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts, mail.WithUsername(s.user), mail.WithPassword(s.pass),
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthPlain, mail.SMTPAuthLogin))
	}
	client, err := mail.NewClient(s.host, opts...)
	if err != nil {
		return &SendError{Err: err}
	}
	return classify(ctx, client.DialAndSendWithContext(ctx, m))
}

// classify decides temporary versus permanent the way SMTP does: by the reply
// code's first digit. Without a reply, trouble on the wire is temporary and
// anything else (bad certificate, no usable auth mechanism) is configuration.
func classify(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	se := &SendError{Err: err}
	var sendErr *mail.SendError
	var reply *textproto.Error
	var netErr net.Error
	switch {
	case ctx.Err() != nil:
		se.Temporary = true
		se.Err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
	case errors.As(err, &sendErr):
		if code := sendErr.ErrorCode(); code != 0 {
			se.Code, se.Temporary = code, code/100 == 4
			break
		}
		// No reply code: the conversation broke off (mail.SendError hides the
		// cause), unless the message itself could not be built.
		switch sendErr.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		default:
			se.Temporary = true
		}
	case errors.As(err, &reply):
		se.Code = reply.Code
		se.Temporary = reply.Code/100 == 4
	case errors.As(err, &netErr), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		se.Temporary = true
	}
	return se
}
