package web_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/auth"
	"github.com/shiplog/shiplog/internal/store"
)

// hookReceiver is a loopback webhook endpoint that records every request
// and answers with a status and body the test sets. hold makes it wait
// until released, to keep a delivery in flight.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []receivedHook
	status int
	answer string
	hold   chan struct{}
}

type receivedHook struct {
	header http.Header
	body   []byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{status: http.StatusOK, answer: `{"received":true}`}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, receivedHook{header: r.Header.Clone(), body: body})
		status, answer, hold := h.status, h.answer, h.hold
		h.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
			}
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) answerWith(status int, body string) {
	h.mu.Lock()
	h.status, h.answer = status, body
	h.mu.Unlock()
}

func (h *hookReceiver) hooks() []receivedHook {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]receivedHook(nil), h.got...)
}

// signedBy checks the X-Versioner-Signature of a hook as a receiver would.
func (k receivedHook) signedBy(secret string) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(k.body)
	return hmac.Equal([]byte("sha256="+hex.EncodeToString(mac.Sum(nil))), []byte(k.header.Get("X-Versioner-Signature")))
}

// pollUntil polls cond until it holds or the deadline passes.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling with a deadline, not synchronisation by sleep
	}
}

// settingsSession is a signed-in console session over plain HTTP.
type settingsSession struct {
	t    *testing.T
	s    *server
	c    *http.Client
	csrf string
}

func (s *server) consoleSession(t *testing.T, email string, roles ...string) *settingsSession {
	t.Helper()
	s.user(email, "correct horse battery", roles...)
	c := client(t)
	return &settingsSession{t: t, s: s, c: c, csrf: s.signInHTTP(t, c, email, "correct horse battery")}
}

func (ss *settingsSession) get(path string) (*http.Response, string) {
	ss.t.Helper()
	return get(ss.t, ss.c, ss.s.url+path)
}

// post submits a form with the session's CSRF token.
func (ss *settingsSession) post(path string, form url.Values) (*http.Response, string) {
	ss.t.Helper()
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	f.Set("csrf_token", ss.csrf)
	return postForm(ss.t, ss.c, ss.s.url+path, f)
}

// htmx sends what htmx sends: the CSRF header, HX-Request, a form body.
func (ss *settingsSession) htmx(method, path string, form url.Values) (*http.Response, string) {
	ss.t.Helper()
	req, _ := http.NewRequestWithContext(ss.t.Context(), method, ss.s.url+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", ss.csrf)
	res, err := ss.c.Do(req)
	if err != nil {
		ss.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// secondOrg makes a second org with a signed-in owner, to check isolation.
func (s *server) secondOrg(t *testing.T, name, email string) *settingsSession {
	t.Helper()
	hash, err := auth.HashPassword("correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	err = s.app.Store.Write(t.Context(), func(ctx context.Context, tx store.Tx) error {
		o, err := tx.OrgCreate(ctx, name, time.Now())
		if err != nil {
			return err
		}
		return tx.UserCreate(ctx, &shiplog.User{ID: shiplog.NewID(), OrgID: o.ID, Email: email, Name: "other",
			Roles: []string{"owner"}, CreatedAt: time.Now()}, hash)
	})
	if err != nil {
		t.Fatal(err)
	}
	c := client(t)
	res, body := postForm(t, c, s.url+"/ui/sign-in", url.Values{"org": {name}, "email": {email}, "password": {"correct horse battery"}, "next": {"/ui/"}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in to %s: %d %s", name, res.StatusCode, body)
	}
	_, page := get(t, c, s.url+"/ui/")
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token")
	}
	return &settingsSession{t: t, s: s, c: c, csrf: m[1]}
}

// wantPage checks a response's status and that its body says each of want.
func wantPage(t *testing.T, what string, res *http.Response, body string, status int, want ...string) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("%s: status %d, want %d; body:\n%s", what, res.StatusCode, status, mainOf(body))
		return
	}
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s: the page does not say %q; body:\n%s", what, w, mainOf(body))
		}
	}
}

// mainOf is the page's main, where the test's interest lies.
func mainOf(body string) string {
	if i := strings.Index(body, `<main`); i >= 0 {
		body = body[i:]
	}
	if len(body) > 4000 {
		body = body[:4000] + "…"
	}
	return body
}
