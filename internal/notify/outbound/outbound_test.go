package outbound

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
)

func TestGuardianRanges(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		allowed bool
	}{
		{"93.184.215.14:443", true},
		{"93.184.215.14:8443", true}, // custom ports are fine
		{"[2606:4700::1111]:9000", true},
		{"127.0.0.1:80", false},
		{"10.1.2.3:443", false},
		{"172.16.0.1:443", false},
		{"192.168.1.1:443", false},
		{"100.64.0.1:443", false},     // CGNAT
		{"169.254.169.254:80", false}, // cloud metadata
		{"0.0.0.0:80", false},
		{"[::1]:80", false},
		{"[fd00::1]:443", false},         // ULA
		{"[fe80::1]:443", false},         // link-local
		{"[::ffff:127.0.0.1]:80", false}, // IPv4-mapped loopback
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			network := "tcp4"
			if strings.HasPrefix(tt.addr, "[") {
				network = "tcp6"
			}
			err := guardian.Safe(network, tt.addr, nil)
			if (err == nil) != tt.allowed {
				t.Errorf("Safe(%s) = %v, want allowed=%v", tt.addr, err, tt.allowed)
			}
		})
	}
}

func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestClientRefusesLoopbackAtDialTime(t *testing.T) {
	t.Parallel()
	srv, hits := countingServer(t, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	// "localhost" only becomes 127.0.0.1 (or ::1) after DNS: the guard must
	// judge the resolved address, not the name.
	named := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	for _, target := range []string{srv.URL, named} {
		resp, err := NewClient(Options{}).Get(target)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("GET %s: want refusal", target)
		}
		if !IsBlocked(err) {
			t.Errorf("GET %s: err = %v, want IsBlocked", target, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("server saw %d requests, want 0", n)
	}

	resp, err := NewClient(Options{AllowPrivate: true}).Get(srv.URL)
	if err != nil {
		t.Fatalf("AllowPrivate: %v", err)
	}
	body, err := ReadLimited(resp, 4096)
	if err != nil || string(body) != "ok" {
		t.Errorf("AllowPrivate: body %q, err %v", body, err)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed.Store(true) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	resp, err := NewClient(Options{AllowPrivate: true}).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect {
		t.Errorf("status = %d, want 307 returned as is", resp.StatusCode)
	}
	if followed.Load() {
		t.Error("redirect was followed")
	}
}

func TestClientTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close: unblock the handler first

	c := NewClient(Options{AllowPrivate: true, Timeout: 50 * time.Millisecond})
	if c.Timeout != 50*time.Millisecond {
		t.Fatalf("Timeout = %v", c.Timeout)
	}
	_, err := c.Get(srv.URL)
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
	if d := NewClient(Options{}).Timeout; d != DefaultTimeout {
		t.Errorf("default Timeout = %v, want %v", d, DefaultTimeout)
	}
}

func TestReadLimited(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, strings.Repeat("a", 4096)+strings.Repeat("b", 10000))
	}))
	t.Cleanup(srv.Close)
	resp, err := NewClient(Options{AllowPrivate: true}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := ReadLimited(resp, 4096)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("a", 4096); string(body) != want {
		t.Errorf("got %d bytes (%q…), want the first 4096", len(body), body[len(body)-3:])
	}
}

func TestValidateURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw          string
		allowPrivate bool
		ok           bool
		namesFlag    bool
	}{
		{"https://hooks.slack.com/services/T0/B0/x", false, true, false},
		{"http://example.com:8080/hook", false, true, false},
		{"https://93.184.215.14/hook", false, true, false},
		{"HTTPS://Example.COM/x", false, true, false},
		{"ftp://example.com/x", false, false, false},
		{"example.com/hook", false, false, false},
		{"https:///nohost", false, false, false},
		{"http://example.com:99999/", false, false, false},
		{"://bad", false, false, false},
		{"http://localhost:8080/hook", false, false, true},
		{"http://api.localhost/hook", false, false, true},
		{"http://127.0.0.1/hook", false, false, true},
		{"http://10.0.0.5:9000/hook", false, false, true},
		{"http://192.168.1.10/hook", false, false, true},
		{"http://169.254.169.254/latest/meta-data/", false, false, true},
		{"http://100.64.1.1/", false, false, true},
		{"http://[::1]:8080/", false, false, true},
		{"http://[fd12:3456::1]/", false, false, true},
		{"http://[fe80::1%25eth0]/", false, false, true},
		{"http://[::ffff:10.0.0.1]/", false, false, true},
		{"http://localhost:8080/hook", true, true, false},
		{"http://10.0.0.5:9000/hook", true, true, false},
		{"ftp://10.0.0.5/", true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			t.Parallel()
			err := ValidateURL(tt.raw, tt.allowPrivate)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateURL(%q, %v) = %v, want ok=%v", tt.raw, tt.allowPrivate, err, tt.ok)
			}
			if err == nil {
				return
			}
			if code := shiplog.ErrorCode(err); code != shiplog.EINVALID {
				t.Errorf("code = %q, want invalid", code)
			}
			if got := strings.Contains(err.Error(), AllowPrivateFlag); got != tt.namesFlag {
				t.Errorf("message %q names %s: %v, want %v", err, AllowPrivateFlag, got, tt.namesFlag)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 5, 24, 14, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"", 0, false},
		{"1", time.Second, true},
		{"120", 2 * time.Minute, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"Sun, 24 May 2026 14:00:30 GMT", 30 * time.Second, true},
		{"Sun, 24 May 2026 13:00:00 GMT", 0, true},
		{"99999999999999", 7 * 24 * time.Hour, true},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			t.Parallel()
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := RetryAfter(h, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("RetryAfter(%q) = %v, %v; want %v, %v", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}
