package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

// Helpers of the releases pages' tests. Names carry "rel" so they stay
// apart from the other console areas' helpers in this package.

// relPAT makes a personal access token for u: deployment requests and
// approvals are a person's acts, which the org's API key cannot do.
func (s *server) relPAT(u *shiplog.User) string {
	s.t.Helper()
	var tok string
	err := s.app.Store.Write(s.t.Context(), func(ctx context.Context, tx store.Tx) error {
		var err error
		tok, err = auth.CreateToken(ctx, tx, u, "test", time.Now())
		return err
	})
	if err != nil {
		s.t.Fatalf("create token: %v", err)
	}
	return tok
}

// relAPIAs calls the REST API with a token and decodes a 2xx answer.
func (s *server) relAPIAs(token, method, path string, in, out any) (int, string) {
	s.t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequestWithContext(s.t.Context(), method, s.url+path, body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil && res.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return res.StatusCode, string(raw)
}

// relDR creates a deployment request as the user behind token and
// activates it when activate is set.
func (s *server) relDR(token string, body map[string]any, activate bool) *shiplog.DeploymentRequest {
	s.t.Helper()
	var dr shiplog.DeploymentRequest
	if st, raw := s.relAPIAs(token, "POST", "/deployment-requests/", body, &dr); st != 201 {
		s.t.Fatalf("create DR: %d %s", st, raw)
	}
	if activate {
		if st, raw := s.relAPIAs(token, "POST", "/deployment-requests/"+dr.ID+"/activate", nil, &dr); st != 200 {
			s.t.Fatalf("activate DR: %d %s", st, raw)
		}
	}
	return &dr
}

// relEvent posts a deployment or build event with any fields.
func (s *server) relEvent(path string, fields map[string]any) map[string]any {
	s.t.Helper()
	var out map[string]any
	s.api("POST", path, fields, &out)
	return out
}

// relClient is a signed-in console session over plain HTTP, for the
// refusals and edge cases that need no browser.
type relClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (s *server) relSignIn(email, password string) *relClient {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &relClient{t: s.t, base: s.url, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	res, err := c.c.PostForm(s.url+"/ui/sign-in", url.Values{"org": {s.org.Name}, "email": {email}, "password": {password}})
	if err != nil {
		s.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		s.t.Fatalf("sign in %s: %d", email, res.StatusCode)
	}
	_, body := c.get("/ui/")
	m := csrfInput.FindStringSubmatch(body)
	if m == nil {
		s.t.Fatalf("no CSRF token on the home page")
	}
	c.csrf = m[1]
	return c
}

func (c *relClient) do(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	res, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// get fetches a console page; redirects are not followed.
func (c *relClient) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequestWithContext(c.t.Context(), "GET", c.base+path, nil)
	res, body := c.do(req)
	return res.StatusCode, body
}

// post submits a form with the session's CSRF token; it returns the status,
// the redirect target (if any) and the body.
func (c *relClient) post(path string, form url.Values) (int, string, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf_token", c.csrf)
	req, _ := http.NewRequestWithContext(c.t.Context(), "POST", c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, body := c.do(req)
	return res.StatusCode, res.Header.Get("Location"), body
}

// relReceiver is a loopback webhook receiver.
type relReceiver struct {
	*httptest.Server
	got chan map[string]any
}

func relNewReceiver(t *testing.T) *relReceiver {
	rc := &relReceiver{got: make(chan map[string]any, 100)}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p map[string]any
		b, _ := io.ReadAll(r.Body)
		if json.Unmarshal(b, &p) == nil {
			rc.got <- p
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

// next waits for the next webhook whose event_type is want, skipping
// others; the deadline only guards against a hang.
func (rc *relReceiver) next(t *testing.T, want string) map[string]any {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case p := <-rc.got:
			if p["event_type"] == want {
				return p
			}
		case <-deadline:
			t.Fatalf("no %s webhook arrived", want)
			return nil
		}
	}
}

// relOtherOrg makes a second org with one deployment, for isolation tests,
// and returns that deployment's id.
func (s *server) relOtherOrg() string {
	s.t.Helper()
	var key string
	err := s.app.Store.Write(s.t.Context(), func(ctx context.Context, tx store.Tx) error {
		org, err := tx.OrgCreate(ctx, "globex", time.Now())
		if err != nil {
			return err
		}
		_, key, err = auth.CreateKey(ctx, tx, org, "ci", time.Now())
		return err
	})
	if err != nil {
		s.t.Fatal(err)
	}
	var out struct {
		ID string `json:"id"`
	}
	if st, raw := s.relAPIAs(key, "POST", "/deployment-events/", map[string]any{"product_name": "secret", "version": "9.9.9",
		"environment_name": "production", "status": "success"}, &out); st != 200 {
		s.t.Fatalf("other org deploy: %d %s", st, raw)
	}
	return out.ID
}
