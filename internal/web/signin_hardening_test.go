package web_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/shiplog/shiplog/internal/testutil/pgtest"
)

// TestSignInThrottle24ConcurrentAttempts is the defect "24 concurrent
// attempts checked 23 wrong passwords (limit 5) and the right one got in":
// 23 wrong passwords and the right one, all at once, on each store and on
// two servers sharing one database. At most 5 wrong passwords are checked;
// the rest are told to wait (429), and unless the right one was among the
// first checked, it waits too.
func TestSignInThrottle24ConcurrentAttempts(t *testing.T) {
	t.Parallel()
	sqlitePath := func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "shiplog.db") }
	for name, setup := range map[string]func(t *testing.T) []*server{
		"sqlite":   func(t *testing.T) []*server { return []*server{startDB(t, sqlitePath(t))} },
		"postgres": func(t *testing.T) []*server { return []*server{startDB(t, pgtest.URL(t))} },
		"two servers on one postgres": func(t *testing.T) []*server {
			u := pgtest.URL(t)
			a := startDB(t, u)
			return []*server{a, startPeer(t, u, a)}
		},
		"two servers on one sqlite file": func(t *testing.T) []*server {
			u := sqlitePath(t)
			a := startDB(t, u)
			return []*server{a, startPeer(t, u, a)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			servers := setup(t)
			servers[0].user("ann@acme.test", "correct horse battery", "owner")
			const attempts = 24
			codes := make([]int, attempts)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range attempts {
				wg.Go(func() {
					password := fmt.Sprintf("wrong guess %d", i)
					if i == attempts/2 {
						password = "correct horse battery"
					}
					<-start
					s := servers[i%len(servers)]
					res, err := client(t).PostForm(s.url+"/ui/sign-in", url.Values{"org": {"acme"},
						"email": {"Ann@Acme.test "}, "password": {password}})
					if err != nil {
						t.Error(err)
						return
					}
					res.Body.Close()
					codes[i] = res.StatusCode
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, c := range codes {
				count[c]++
			}
			t.Logf("answers: %v", count)
			if count[http.StatusUnauthorized] > 5 {
				t.Errorf("%d wrong passwords checked, limit 5 (answers %v)", count[http.StatusUnauthorized], count)
			}
			if count[http.StatusUnauthorized]+count[http.StatusSeeOther]+count[http.StatusTooManyRequests] != attempts {
				t.Errorf("answers %v: want only 401, 303 and 429", count)
			}
			right := codes[attempts/2]
			if right == http.StatusSeeOther {
				return // checked among the first five: a person who knows it may sign in
			}
			if right != http.StatusTooManyRequests {
				t.Fatalf("the right password answered %d", right)
			}
			// The burst left the account throttled on every replica.
			for _, s := range servers {
				res, _ := postForm(t, client(t), s.url+"/ui/sign-in", url.Values{"org": {"acme"},
					"email": {"ann@acme.test"}, "password": {"correct horse battery"}})
				if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" {
					t.Errorf("right password after the burst: %d, want 429 with Retry-After", res.StatusCode)
				}
			}
		})
	}
}

// TestSignInThrottleSharedByReplicas: failures on one server count on the
// other (the count is in the database, not in each process).
func TestSignInThrottleSharedByReplicas(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	a := startDB(t, u)
	b := startPeer(t, u, a)
	a.user("ann@acme.test", "correct horse battery", "owner")
	wrong := url.Values{"org": {"acme"}, "email": {"ann@acme.test"}, "password": {"guess"}}
	for i := range 5 {
		s := []*server{a, b}[i%2]
		if res, _ := postForm(t, client(t), s.url+"/ui/sign-in", wrong); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d answered %d, want 401", i+1, res.StatusCode)
		}
	}
	for _, s := range []*server{a, b} {
		res, _ := postForm(t, client(t), s.url+"/ui/sign-in", url.Values{"org": {"acme"}, "email": {"ann@acme.test"},
			"password": {"correct horse battery"}})
		if res.StatusCode != http.StatusTooManyRequests {
			t.Errorf("after 5 failures spread over two servers: %d, want 429", res.StatusCode)
		}
	}
}

// TestSignInRefusesBytesNoStoreTakes: an org or email that is not valid
// UTF-8 or holds a NUL is a wrong sign-in (401), not a database error.
func TestSignInRefusesBytesNoStoreTakes(t *testing.T) {
	t.Parallel()
	for name, dbURL := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "shiplog.db") },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startDB(t, dbURL(t))
			for _, f := range []url.Values{
				{"org": {"ac\x00me"}, "email": {"ann@acme.test"}, "password": {"x"}},
				{"org": {"acme"}, "email": {"ann\xff@acme.test"}, "password": {"x"}},
			} {
				if res, body := postForm(t, client(t), s.url+"/ui/sign-in", f); res.StatusCode != http.StatusUnauthorized {
					t.Errorf("sign-in with %q: %d %s", f, res.StatusCode, body)
				}
			}
		})
	}
}

// TestSignInLoginCSRF: a form another site posts to the sign-in page (login
// CSRF), or to any console form, is refused before anything happens; the
// console's own form, and clients that are not browsers, still work.
func TestSignInLoginCSRF(t *testing.T) {
	t.Parallel()
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	form := url.Values{"org": {"acme"}, "email": {"ann@acme.test"}, "password": {"correct horse battery"}}.Encode()
	post := func(path string, c *http.Client, header ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "POST", s.url+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b strings.Builder
		_, _ = fmt.Fprint(&b, res.Body)
		return res, b.String()
	}
	signedIn := func(res *http.Response) bool {
		for _, c := range res.Cookies() {
			if c.Name == "shiplog_session" && c.Value != "" {
				return true
			}
		}
		return false
	}
	for name, header := range map[string][]string{
		"Sec-Fetch-Site cross-site": {"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		"Sec-Fetch-Site same-site":  {"Sec-Fetch-Site", "same-site", "Origin", "http://other.localhost"},
		"Origin of another site":    {"Origin", "https://evil.example"},
		"Origin on another port":    {"Origin", "http://127.0.0.1:1"},
		"Origin null (sandboxed)":   {"Origin", "null"},
	} {
		res, _ := post("/ui/sign-in", client(t), header...)
		if res.StatusCode != http.StatusForbidden || signedIn(res) {
			t.Errorf("cross-origin sign-in (%s): %d, session cookie %v; want 403 and none", name, res.StatusCode, signedIn(res))
		}
	}
	for name, header := range map[string][]string{
		"Sec-Fetch-Site same-origin":    {"Sec-Fetch-Site", "same-origin", "Origin", s.url},
		"Origin of the console":         {"Origin", s.url},
		"no browser headers (a script)": nil,
	} {
		res, body := post("/ui/sign-in", client(t), header...)
		if res.StatusCode != http.StatusSeeOther || !signedIn(res) {
			t.Errorf("same-origin sign-in (%s): %d %s; want 303 with a session", name, res.StatusCode, body)
		}
	}
	// Every other unsafe console request too, even with the right token.
	c := client(t)
	csrf := s.signInHTTP(t, c, "ann@acme.test", "correct horse battery")
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.url+"/ui/sign-out",
		strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site sign-out with the session's token: %d, want 403", res.StatusCode)
	}
	if res, _ := get(t, c, s.url+"/ui/"); res.StatusCode != http.StatusOK {
		t.Errorf("signed out by a cross-site post: %d", res.StatusCode)
	}
}

// TestBrowserLoginCSRF: in a real browser, a page on another origin that
// auto-submits a sign-in form to the console is refused, and no session
// starts; the console's own form signs in.
func TestBrowserLoginCSRF(t *testing.T) {
	s := start(t)
	s.user("mallory@acme.test", "mallory's own password", "viewer")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form id=f method=post action="%s/ui/sign-in">
<input name=org value=acme><input name=email value="mallory@acme.test">
<input name=password value="mallory's own password"></form>
<script>document.getElementById('f').submit()</script>`, s.url)
	}))
	t.Cleanup(evil.Close)
	ctx := browser(t)
	step(t, ctx, "open the other site's page", chromedp.Navigate(evil.URL))
	eventually(t, ctx, "the refusal", `document.body && document.body.innerText.includes("sent from another site")`)
	// No session started: the console asks for a sign-in.
	step(t, ctx, "open the console", chromedp.Navigate(s.url+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS("#password")))
	s.signIn(t, ctx, "mallory@acme.test", "mallory's own password")
}
