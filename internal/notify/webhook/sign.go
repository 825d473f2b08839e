package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Scheme is how a webhook channel signs its deliveries.
type Scheme string

const (
	// SchemeVersioner signs like Versioner: X-Versioner-Signature carries
	// "sha256=<hex HMAC of the body>" keyed with the secret's raw bytes.
	SchemeVersioner Scheme = "versioner"
	// SchemeStandard follows Standard Webhooks v1: webhook-id,
	// webhook-timestamp and webhook-signature ("v1,<base64>") over
	// "<id>.<timestamp>.<body>", keyed with a "whsec_" base64 secret.
	SchemeStandard Scheme = "standard-webhooks"
)

// UserAgent identifies shiplog's deliveries to receivers.
const UserAgent = "shiplog-webhooks/1"

// StandardTolerance is how far a Standard Webhooks timestamp may be from the
// verifier's clock, the value the spec's reference library uses.
const StandardTolerance = 5 * time.Minute

const standardSecretPrefix = "whsec_"

// ErrVerification is wrapped by every verification failure.
var ErrVerification = errors.New("webhook: signature verification failed")

// SignVersioner returns "sha256=<hex>", the X-Versioner-Signature value. It
// matches the seed's receiver snippet:
// hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest().
func SignVersioner(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifyVersioner reports whether header is the signature of body, comparing
// in constant time.
func VerifyVersioner(secret string, body []byte, header string) bool {
	return hmac.Equal([]byte(SignVersioner(secret, body)), []byte(strings.TrimSpace(header)))
}

// decodeStandardSecret accepts the secret with or without its "whsec_" prefix,
// as the spec's reference library does.
func decodeStandardSecret(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, standardSecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("webhook: standard-webhooks secret is not base64: %w", err)
	}
	if len(key) == 0 {
		return nil, errors.New("webhook: standard-webhooks secret is empty")
	}
	return key, nil
}

// SignStandard returns the Standard Webhooks signature token "v1,<base64>" of
// "<msgID>.<timestamp>.<body>".
func SignStandard(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return "", err
	}
	if msgID == "" || strings.Contains(msgID, ".") {
		// The id is the first dot-separated part of the signed content.
		return "", fmt.Errorf("webhook: message id %q must be non-empty and contain no '.'", msgID)
	}
	return "v1," + base64.StdEncoding.EncodeToString(standardMAC(key, msgID, timestamp, body)), nil
}

func standardMAC(key []byte, msgID string, timestamp int64, body []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID + "." + strconv.FormatInt(timestamp, 10) + "."))
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyStandard checks a Standard Webhooks delivery as a receiver would: the
// timestamp must be within StandardTolerance of now, and any "v1," token of
// the space-separated webhook-signature list may match (several tokens are
// sent while a secret is being rotated).
func VerifyStandard(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := decodeStandardSecret(secret)
	if err != nil {
		return err
	}
	msgID, tsRaw, sigs := h.Get("Webhook-Id"), h.Get("Webhook-Timestamp"), h.Get("Webhook-Signature")
	if msgID == "" || tsRaw == "" || sigs == "" {
		return fmt.Errorf("%w: missing webhook-id, webhook-timestamp or webhook-signature", ErrVerification)
	}
	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp %q", ErrVerification, tsRaw)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > StandardTolerance || d < -StandardTolerance {
		return fmt.Errorf("%w: timestamp %d is %s away from now", ErrVerification, ts, d.Round(time.Second))
	}
	want := standardMAC(key, msgID, ts, body)
	for tok := range strings.FieldsSeq(sigs) {
		version, sig, ok := strings.Cut(tok, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching v1 signature", ErrVerification)
}

// NewStandardSecret returns a fresh "whsec_" secret of 32 random bytes, inside
// the spec's 24–64 byte range.
func NewStandardSecret() string {
	key := make([]byte, 32)
	rand.Read(key) // never fails since Go 1.24; it crashes the program instead
	return standardSecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// ValidateSecret checks a secret when a channel is created or updated, so a
// malformed one is refused then rather than failing every delivery later.
// An empty secret is allowed for the versioner scheme (unsigned deliveries).
func ValidateSecret(scheme Scheme, secret string) error {
	switch scheme {
	case SchemeVersioner:
		return nil
	case SchemeStandard:
		if !strings.HasPrefix(secret, standardSecretPrefix) {
			return errors.New(`a standard-webhooks secret must start with "whsec_"`)
		}
		key, err := decodeStandardSecret(secret)
		if err != nil {
			return err
		}
		if len(key) < 24 || len(key) > 64 {
			return fmt.Errorf("a standard-webhooks secret must decode to 24–64 bytes, got %d", len(key))
		}
		return nil
	default:
		return fmt.Errorf("unknown signature scheme %q (want %q or %q)", scheme, SchemeVersioner, SchemeStandard)
	}
}

// Headers returns the headers of one delivery attempt. deliveryID must be the
// same on every retry of a delivery: receivers deduplicate on webhook-id.
// now is the time of this attempt; Standard Webhooks signs it, so a retry is
// signed afresh.
func Headers(eventType, deliveryID string, scheme Scheme, secret string, body []byte, now time.Time) (http.Header, error) {
	if deliveryID == "" {
		return nil, errors.New("webhook: delivery id is required")
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set("X-Versioner-Event", eventType)
	h.Set("Webhook-Id", deliveryID)
	switch scheme {
	case SchemeVersioner:
		if secret != "" {
			h.Set("X-Versioner-Signature", SignVersioner(secret, body))
		}
	case SchemeStandard:
		if secret == "" {
			return nil, errors.New("webhook: standard-webhooks deliveries need a secret")
		}
		ts := now.Unix()
		sig, err := SignStandard(secret, deliveryID, ts, body)
		if err != nil {
			return nil, err
		}
		h.Set("Webhook-Timestamp", strconv.FormatInt(ts, 10))
		h.Set("Webhook-Signature", sig)
	default:
		return nil, fmt.Errorf("webhook: unknown signature scheme %q", scheme)
	}
	return h, nil
}
