package web

import (
	"net"
	"net/http"

	"github.com/shiplog/shiplog/internal/throttle"
)

// Sign-in throttling: an account (org + email) gets limitPerAccount
// password checks, and a client address limitPerIP, per throttle.Window.
const (
	limitPerAccount = 5
	limitPerIP      = 20
)

// throttleKeys are what a sign-in is counted against: the account, and the
// address (whose failures a right password does not clear).
func throttleKeys(ip, org, email string) []throttle.Key {
	return []throttle.Key{throttle.NewKey(limitPerAccount, "account", org, email), throttle.NewKey(limitPerIP, "ip", ip).Sticky()}
}

// clientIP is the peer address. Forwarded headers are not trusted: any
// client could set them to dodge the limit.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
