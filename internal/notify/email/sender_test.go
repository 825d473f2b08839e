package email_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/shiplog/shiplog/internal/notify/email"
	"github.com/shiplog/shiplog/internal/notify/internal/notifytest"
)

func newSender(t *testing.T, rawURL string, pool *x509.CertPool) *email.Sender {
	t.Helper()
	cfg := email.Config{URL: rawURL, From: "shiplog <shiplog@example.com>", Timeout: 5 * time.Second}
	if pool != nil {
		cfg.TLSConfig = &tls.Config{RootCAs: pool}
	}
	s, err := email.NewSender(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func rendered(t *testing.T) email.Message {
	t.Helper()
	msg, err := email.Render(notifytest.Deployment("deployment.completed"))
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

func TestSenderDelivers(t *testing.T) {
	t.Parallel()
	cert, pool := selfSigned(t)
	tests := []struct {
		name    string
		scheme  string
		mode    tlsMode
		pool    *x509.CertPool
		wantTLS bool
	}{
		{"smtp without STARTTLS", "smtp", plain, nil, false},
		{"smtp upgrades with STARTTLS when offered", "smtp", startTLS, pool, true},
		{"smtps implicit TLS", "smtps", implicitTLS, pool, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &relay{user: "mailer", password: "p@ss:word"}
			addr := r.start(t, tt.mode, cert)
			// The password needs percent-encoding in the URL; the relay must
			// receive it decoded.
			s := newSender(t, tt.scheme+"://mailer:p%40ss%3Aword@"+addr, tt.pool)
			want := rendered(t)
			to := []string{"team@example.com", "oncall@example.com"}
			if err := s.Send(t.Context(), want, to); err != nil {
				t.Fatal(err)
			}

			msgs := r.messages()
			if len(msgs) != 1 {
				t.Fatalf("relay got %d messages, want 1", len(msgs))
			}
			got := msgs[0]
			if got.User != "mailer" || got.Password != "p@ss:word" {
				t.Errorf("AUTH PLAIN as %q/%q", got.User, got.Password)
			}
			if got.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if got.From != "shiplog@example.com" {
				t.Errorf("MAIL FROM = %q", got.From)
			}
			if strings.Join(got.To, ",") != strings.Join(to, ",") {
				t.Errorf("RCPT TO = %v, want %v", got.To, to)
			}
			checkMessage(t, got.Data, want, to)
		})
	}
}

// checkMessage parses the message as a mail client would.
func checkMessage(t *testing.T, data []byte, want email.Message, to []string) {
	t.Helper()
	m, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	rawSubject := m.Header.Get("Subject")
	if !strings.HasPrefix(rawSubject, "=?") {
		t.Errorf("Subject %q is not RFC 2047 encoded", rawSubject)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(rawSubject)
	if err != nil {
		t.Fatal(err)
	}
	if subject != want.Subject {
		t.Errorf("Subject = %q, want %q", subject, want.Subject)
	}
	for _, addr := range to {
		if !strings.Contains(m.Header.Get("To"), addr) {
			t.Errorf("To header %q lacks %s", m.Header.Get("To"), addr)
		}
	}
	if from, err := m.Header.AddressList("From"); err != nil || from[0].Address != "shiplog@example.com" || from[0].Name != "shiplog" {
		t.Errorf("From = %v, %v", from, err)
	}
	if got := m.Header.Get("Auto-Submitted"); got != "auto-generated" {
		t.Errorf("Auto-Submitted = %q", got)
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q (%v), want multipart/alternative", m.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = strings.ReplaceAll(string(b), "\r\n", "\n")
	}
	if parts["text/plain"] != want.Text {
		t.Errorf("text/plain part differs:\n%s\nwant\n%s", parts["text/plain"], want.Text)
	}
	if parts["text/html"] != want.HTML {
		t.Errorf("text/html part differs:\n%s\nwant\n%s", parts["text/html"], want.HTML)
	}
}

func TestSenderFailures(t *testing.T) {
	t.Parallel()
	cert, _ := selfSigned(t)
	closedAddr := func(t *testing.T) string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	tests := []struct {
		name      string
		url       func(t *testing.T) string
		temporary bool
		code      int
	}{
		{
			name: "451 on RCPT is temporary",
			url: func(t *testing.T) string {
				r := &relay{rcptErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}}
				return "smtp://" + r.start(t, plain, cert)
			},
			temporary: true, code: 451,
		},
		{
			name: "550 on RCPT is permanent",
			url: func(t *testing.T) string {
				r := &relay{rcptErr: &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}}
				return "smtp://" + r.start(t, plain, cert)
			},
			temporary: false, code: 550,
		},
		{
			name: "wrong password is permanent",
			url: func(t *testing.T) string {
				r := &relay{user: "mailer", password: "right"}
				return "smtp://mailer:wrong@" + r.start(t, plain, cert)
			},
			temporary: false, code: 535,
		},
		{
			name: "untrusted STARTTLS certificate is permanent, never a downgrade",
			url: func(t *testing.T) string {
				r := &relay{}
				return "smtp://" + r.start(t, startTLS, cert)
			},
			temporary: false,
		},
		{
			name:      "relay down is temporary",
			url:       func(t *testing.T) string { return "smtp://" + closedAddr(t) },
			temporary: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSender(t, tt.url(t), nil)
			err := s.Send(t.Context(), rendered(t), []string{"team@example.com"})
			var se *email.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *email.SendError", err)
			}
			if se.Temporary != tt.temporary || email.IsTemporary(err) != tt.temporary {
				t.Errorf("Temporary = %v, want %v (%v)", se.Temporary, tt.temporary, err)
			}
			if se.Code != tt.code {
				t.Errorf("Code = %d, want %d (%v)", se.Code, tt.code, err)
			}
			if strings.Contains(err.Error(), "right") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}

func TestSenderHonoursContext(t *testing.T) {
	t.Parallel()
	// A relay that accepts the connection and then never says a word.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	ctx, cancel := context.WithCancel(t.Context())
	held := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		held <- c
		cancel() // Send is now waiting for a greeting that never comes
	}()

	s := newSender(t, "smtp://"+l.Addr().String(), nil) // 5 s step timeout
	start := time.Now()
	err = s.Send(ctx, rendered(t), []string{"team@example.com"})
	(<-held).Close()
	if !errors.Is(err, context.Canceled) || !email.IsTemporary(err) {
		t.Fatalf("err = %v, want temporary context.Canceled", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Send took %v after cancellation; it should abort at once", d)
	}
}

func TestNewSender(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, from string
		ok        bool
	}{
		{"smtp://user:secret@mail.example.com:25", "shiplog@example.com", true},
		{"smtp://mail.example.com", "shiplog <shiplog@example.com>", true},
		{"smtps://user:secret@mail.example.com", "shiplog@example.com", true},
		{"http://user:secret@mail.example.com", "shiplog@example.com", false},
		{"smtp://user:secret@:25", "shiplog@example.com", false},
		{"smtp://user:secret@mail.example.com:0", "shiplog@example.com", false},
		{"smtp://user:secret@mail.example.com", "not an address", false},
		{"smtp://user:secret@mail.example.com", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s from %q", tt.url, tt.from), func(t *testing.T) {
			t.Parallel()
			_, err := email.NewSender(email.Config{URL: tt.url, From: tt.from})
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the password: %v", err)
			}
		})
	}
}
