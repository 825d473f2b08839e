// Package client is the Go client of the shiplog API (and of any server that
// speaks the Versioner event API). The shiplog CLI is built on it, and the
// end-to-end tests drive the server with it.
//
//	c, err := client.New("https://shiplog.example.com", os.Getenv("SHIPLOG_API_KEY"))
//	res, err := c.DeploymentEvent(ctx, &apiv1.DeploymentEventRequest{
//		ProductName: "api", Version: "1.2.3", EnvironmentName: "production", Status: "success"})
//
// Every request has a 30 s timeout. Event requests carry an Idempotency-Key
// and are retried on network errors, 5xx and 429 (after 1 s, 2 s and 4 s), so
// a retried event is recorded once. Errors are *APIError (the server
// answered) or *NetworkError (it did not).
package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// DefaultTimeout bounds each HTTP attempt.
const DefaultTimeout = 30 * time.Second

// maxResponseBytes bounds how much of a response is read.
const maxResponseBytes = 16 << 20

// Client is safe for concurrent use.
type Client struct {
	base      string // without a trailing slash
	apiKey    string
	http      *http.Client
	userAgent string
	backoff   []time.Duration
	sleep     func(context.Context, time.Duration) error
	newKey    func() string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (default: one with a 30 s timeout).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithUserAgent sets the User-Agent header (default "shiplog-go").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithBackoff sets the waits between attempts: len(waits)+1 attempts in all.
// No waits: no retries. Default 1 s, 2 s, 4 s.
func WithBackoff(waits ...time.Duration) Option {
	return func(c *Client) { c.backoff = append([]time.Duration(nil), waits...) }
}

// WithSleep replaces the function that waits between attempts; tests pass
// one that returns at once. It must return ctx.Err() if ctx ends first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// WithIdempotencyKeys replaces the generator of Idempotency-Key values (one
// per event, reused by its retries). Default: 128 random bits, hex.
func WithIdempotencyKeys(next func() string) Option { return func(c *Client) { c.newKey = next } }

// New returns a client for the server at baseURL (http or https; a path
// prefix is kept) authenticating with apiKey.
func New(baseURL, apiKey string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("API URL %q must be an http:// or https:// URL", baseURL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("API URL %q must not have a query or fragment", baseURL)
	}
	if strings.TrimSpace(apiKey) == "" {
		return nil, errors.New("no API key")
	}
	c := &Client{
		base:      strings.TrimRight(u.String(), "/"),
		apiKey:    strings.TrimSpace(apiKey),
		http:      &http.Client{Timeout: DefaultTimeout},
		userAgent: "shiplog-go",
		backoff:   []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second},
		sleep:     sleepCtx,
		newKey:    randomKey,
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the server URL the client was made with, without a trailing slash.
func (c *Client) BaseURL() string { return c.base }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func randomKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "shiplog-" + hex.EncodeToString(b[:])
}

// DeploymentEvent records a deployment event (POST /deployment-events/).
// A preflight block is an *APIError whose Blocked() is true.
func (c *Client) DeploymentEvent(ctx context.Context, req *apiv1.DeploymentEventRequest) (*apiv1.DeploymentEventResponse, error) {
	var out apiv1.DeploymentEventResponse
	if err := c.do(ctx, http.MethodPost, "/deployment-events/", req, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// BuildEvent records a build event (POST /build-events/).
func (c *Client) BuildEvent(ctx context.Context, req *apiv1.BuildEventRequest) (*apiv1.BuildEventResponse, error) {
	var out apiv1.BuildEventResponse
	if err := c.do(ctx, http.MethodPost, "/build-events/", req, true, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Deployment is GET /deployments/{id}: the record and its event timeline.
func (c *Client) Deployment(ctx context.Context, id string) (*apiv1.DeploymentDetail, error) {
	var out apiv1.DeploymentDetail
	if err := c.do(ctx, http.MethodGet, "/deployments/"+url.PathEscape(id), nil, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Build is GET /builds/{id}.
func (c *Client) Build(ctx context.Context, id string) (*apiv1.BuildDetail, error) {
	var out apiv1.BuildDetail
	if err := c.do(ctx, http.MethodGet, "/builds/"+url.PathEscape(id), nil, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Query filters a listing; empty fields do not filter.
type Query struct {
	ProductName     string
	EnvironmentName string // deployments only
	Version         string
	Status          string
	Limit           int
	Cursor          string
}

func (q Query) encode() string {
	v := url.Values{}
	for k, s := range map[string]string{"product_name": q.ProductName, "environment_name": q.EnvironmentName,
		"version": q.Version, "status": q.Status, "cursor": q.Cursor} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", fmt.Sprint(q.Limit))
	}
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

// Deployments is one page of GET /deployments/, newest first.
func (c *Client) Deployments(ctx context.Context, q Query) (*apiv1.List[*shiplog.Deployment], error) {
	var out apiv1.List[*shiplog.Deployment]
	if err := c.do(ctx, http.MethodGet, "/deployments/"+q.encode(), nil, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Builds is one page of GET /builds/, newest first.
func (c *Client) Builds(ctx context.Context, q Query) (*apiv1.List[*shiplog.Build], error) {
	q.EnvironmentName = ""
	var out apiv1.List[*shiplog.Build]
	if err := c.do(ctx, http.MethodGet, "/builds/"+q.encode(), nil, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// retryable reports whether an HTTP status is worth another attempt.
func retryable(status int) bool {
	return status == http.StatusTooManyRequests || status >= 500
}

// do sends one request, retrying as the package comment says, and decodes a
// 2xx body into out. Events (idempotent=true) carry one Idempotency-Key for
// all their attempts.
func (c *Client) do(ctx context.Context, method, path string, in any, idempotent bool, out any) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
	}
	var key string
	if idempotent {
		key = c.newKey()
	}
	for attempt := 1; ; attempt++ {
		status, respBody, err := c.once(ctx, method, path, body, key)
		last := attempt > len(c.backoff)
		switch {
		case err != nil && ctx.Err() != nil:
			return &NetworkError{Method: method, URL: c.base + path, Attempts: attempt, Err: ctx.Err()}
		case err != nil && last:
			return &NetworkError{Method: method, URL: c.base + path, Attempts: attempt, Err: err}
		case err == nil && status >= 200 && status < 300:
			if out == nil || len(bytes.TrimSpace(respBody)) == 0 {
				return nil
			}
			if err := json.Unmarshal(respBody, out); err != nil {
				return &APIError{StatusCode: status, Message: fmt.Sprintf("unreadable response: %v", err), Body: respBody, Attempts: attempt}
			}
			return nil
		case err == nil && (!retryable(status) || last):
			return newAPIError(status, respBody, attempt)
		}
		if serr := c.sleep(ctx, c.backoff[attempt-1]); serr != nil {
			if err == nil {
				return newAPIError(status, respBody, attempt)
			}
			return &NetworkError{Method: method, URL: c.base + path, Attempts: attempt, Err: err}
		}
	}
}

// once is one HTTP attempt.
func (c *Client) once(ctx context.Context, method, path string, body []byte, key string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.apiKey)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, maxResponseBytes))
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return res.StatusCode, b, nil
}

// NetworkError is a request that got no HTTP answer, after its retries.
type NetworkError struct {
	Method   string
	URL      string
	Attempts int
	Err      error
}

func (e *NetworkError) Error() string {
	tries := ""
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	err := e.Err
	var ue *url.Error
	if errors.As(err, &ue) { // it repeats method and URL
		err = ue.Err
	}
	return fmt.Sprintf("%s %s: %v%s", e.Method, e.URL, err, tries)
}

func (e *NetworkError) Unwrap() error { return e.Err }

// Tokens lists personal access tokens (GET /tokens/): the caller's own, or
// for owners and admins the org's, or userID's when not empty.
func (c *Client) Tokens(ctx context.Context, userID string) (*apiv1.List[apiv1.PersonalToken], error) {
	path := "/tokens/"
	if userID != "" {
		path += "?user_id=" + url.QueryEscape(userID)
	}
	var out apiv1.List[apiv1.PersonalToken]
	if err := c.do(ctx, http.MethodGet, path, nil, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeToken revokes a personal access token (DELETE /tokens/{id}) by row
// id, token id or the token text.
func (c *Client) RevokeToken(ctx context.Context, ref string) (*apiv1.PersonalToken, error) {
	var out apiv1.PersonalToken
	if err := c.do(ctx, http.MethodDelete, "/tokens/"+url.PathEscape(ref), nil, false, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
