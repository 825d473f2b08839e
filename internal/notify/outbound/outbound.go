// Package outbound builds the HTTP client every notification request goes
// through (webhooks and Slack), so the SSRF guard, the redirect policy and the
// per-attempt timeout are decided in one place.
//
// The guard runs in the dialer's Control hook, on the address actually being
// dialled after DNS resolution, so a hostname that resolves (or re-resolves,
// DNS rebinding) to a private address is refused as surely as a literal IP.
package outbound

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"code.dny.dev/ssrf"

	"github.com/shiplog/shiplog"
)

// DefaultTimeout bounds one delivery attempt, connect to last body byte.
const DefaultTimeout = 10 * time.Second

// AllowPrivateFlag is the server flag that lifts the guard; errors name it so
// an operator who hits the guard knows the way out.
const AllowPrivateFlag = "--allow-private-targets"

// Options configure NewClient. The zero value is the production setting.
type Options struct {
	// AllowPrivate disables the SSRF guard, for tests and for deployments
	// whose receivers live on the internal network.
	AllowPrivate bool
	// Timeout per attempt; DefaultTimeout when zero.
	Timeout time.Duration
}

// guardian refuses loopback, RFC 1918, CGNAT, link-local (which includes the
// 169.254.169.254 metadata endpoint) and every other special-purpose IPv4
// range, and any IPv6 address outside global unicast (so ::1, fc00::/7 ULA,
// fe80::/10 link-local and IPv4-mapped addresses). Any port is allowed:
// webhook receivers commonly listen on custom ones.
var guardian = ssrf.New(ssrf.WithAnyPort())

// NewClient returns a client for outbound notification requests. It never
// follows redirects: a 3xx comes back as the response and callers count it as
// a failed attempt, as Standard Webhooks and Svix do; following it would let a
// public URL bounce the request to an address the guard never saw named.
func NewClient(opts Options) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !opts.AllowPrivate {
		dialer.Control = guardian.Safe
	}
	transport := &http.Transport{
		// No proxy from the environment: through a proxy the guard would only
		// ever see the proxy's address.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64, // one per delivery worker, so busy receivers reuse connections
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport: transport,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// IsBlocked reports whether err (from a request made with NewClient) is the
// SSRF guard refusing the destination. Retrying such a delivery cannot help.
func IsBlocked(err error) bool {
	return errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedNetwork) ||
		errors.Is(err, ssrf.ErrProhibitedPort)
}

// ValidateURL checks a notification target when a channel is created, so that
// obvious mistakes are refused with a clear message then, not at every
// delivery. Only literal IPs and localhost are judged here; names are resolved
// and checked at dial time, since what they resolve to can change.
func ValidateURL(raw string, allowPrivate bool) error {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return shiplog.Errorf(shiplog.EINVALID, "invalid URL %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return shiplog.Errorf(shiplog.EINVALID, "URL must start with http:// or https://, got %q", raw)
	}
	host := u.Hostname()
	if host == "" {
		return shiplog.Errorf(shiplog.EINVALID, "URL %q has no host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return shiplog.Errorf(shiplog.EINVALID, "URL %q has an invalid port", raw)
		}
	}
	if allowPrivate {
		return nil
	}
	if h := strings.ToLower(strings.TrimSuffix(host, ".")); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return shiplog.Errorf(shiplog.EINVALID,
			"URL %q points at this machine; start the server with %s to allow it", raw, AllowPrivateFlag)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := guardian.SafeAddr(ip.WithZone("")); err != nil {
			return shiplog.Errorf(shiplog.EINVALID,
				"URL %q points at a private, loopback or link-local address; start the server with %s to allow it",
				raw, AllowPrivateFlag)
		}
	}
	return nil
}

// ReadLimited reads at most limit bytes of the body for the attempt log,
// drains a bounded remainder so the connection can be reused, and closes the
// body.
func ReadLimited(resp *http.Response, limit int64) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return b, fmt.Errorf("read response body: %w", err)
	}
	// Draining past a small cap would let a receiver stream at us forever.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return b, nil
}

// RetryAfter parses a Retry-After header (delay seconds or an HTTP date), as
// sent with 429 and 503 responses. ok is false when the header is absent or
// unparseable; a date in the past yields 0.
func RetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		const maxSecs = int64(7 * 24 * time.Hour / time.Second) // keeps the multiplication from overflowing
		return time.Duration(min(secs, maxSecs)) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

// VendorURL parses the URL of a vendor's webhook (Teams, Discord): its
// host lower-cased without a trailing dot, and whether that host is this
// machine or a private address. Kinds accept those beside the vendor's
// hosts (a relay on the internal network, a test receiver) and leave
// reaching them to the server's SSRF policy (--allow-private-targets).
func VendorURL(raw string) (u *url.URL, host string, private bool, err error) {
	u, err = url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", false, errors.New("not an http(s) URL")
	}
	host = strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return u, host, true, nil
	}
	ip, perr := netip.ParseAddr(host)
	return u, host, perr == nil && (ip.IsLoopback() || ip.IsPrivate()), nil
}
