package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/shiplog/shiplog/internal/notify"
)

// keptHeaders are the response headers worth keeping in the attempt log.
var keptHeaders = []string{"Content-Type", "Retry-After", "Date", "Server", "Location", "X-Request-Id",
	"X-Slack-Req-Id", "Content-Length"}

// Classify decides what a non-2xx answer means: retry it later, disable
// the channel (the destination is gone), and the attempt log's reason.
type Classify func(status int, body []byte) (retry, disable bool, reason string)

// Post sends body to url and turns the answer into an Outcome, the one
// HTTP path every HTTP kind sends through; classify (nil: ClassifyHTTP)
// decides what a non-2xx answer means.
func Post(ctx context.Context, client *http.Client, url string, hdr http.Header, body []byte, now time.Time, classify Classify) notify.Outcome {
	if classify == nil {
		classify = ClassifyHTTP
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return notify.Outcome{Err: "invalid request: " + err.Error()}
	}
	req.Header = hdr
	res, err := client.Do(req)
	if err != nil {
		if IsBlocked(err) {
			return notify.Outcome{Err: "refused: the address is private, loopback or link-local (start shiplog with --allow-private-targets to allow it)"}
		}
		return notify.Outcome{Retryable: true, Err: describeNetErr(ctx, err)}
	}
	b, _ := ReadLimited(res, 4096)
	o := notify.Outcome{StatusCode: res.StatusCode, Body: string(b), Headers: map[string]string{}}
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
		if d, ok := RetryAfter(res.Header, now); ok {
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

// ClassifyHTTP is the seed's rule for webhooks: 5xx, 408 and 429 retry; a
// 3xx (redirects are not followed) and any other 4xx are terminal; 410
// also disables the channel.
func ClassifyHTTP(status int, _ []byte) (retry, disable bool, reason string) {
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
