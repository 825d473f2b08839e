package web_test

import (
	"bufio"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// raw is a client that neither asks for compression by itself nor undoes it.
func raw(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// fetch answers a GET's response and its body, gunzipped when it was gzipped.
func fetch(t *testing.T, c *http.Client, u, acceptEncoding string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", u, nil)
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("%s: not gzip: %v", u, err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	return res, string(b)
}

// TestCompression: pages and assets are gzipped for browsers that accept
// it (and say Vary), the same bytes as plain; small answers, refusals of
// gzip and the live feed are not.
func TestCompression(t *testing.T) {
	t.Parallel()
	s := start(t)
	ss := s.consoleSession(t, "ann@acme.test", "owner")
	c := raw(t)
	c.Jar = ss.c.Jar // signed in
	for _, path := range []string{"/ui/static/htmx-2.0.11.min.js", "/ui/static/app.css", "/ui/", "/ui/connect"} {
		plainRes, plain := fetch(t, c, s.url+path, "")
		if ce := plainRes.Header.Get("Content-Encoding"); ce != "" || plainRes.StatusCode != http.StatusOK {
			t.Errorf("%s without Accept-Encoding: %d, Content-Encoding %q", path, plainRes.StatusCode, ce)
		}
		res, body := fetch(t, c, s.url+path, "br, gzip;q=0.8, deflate")
		if res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("%s: Content-Encoding %q, Vary %q; want gzip, Accept-Encoding", path, res.Header.Get("Content-Encoding"), res.Header.Get("Vary"))
		}
		if res.Header.Get("Content-Length") != "" && res.ContentLength > 0 && int(res.ContentLength) == len(body) && len(body) > 0 {
			t.Errorf("%s: Content-Length %d is the plain length", path, res.ContentLength)
		}
		if strings.HasPrefix(path, "/ui/static/") && body != plain {
			t.Errorf("%s: gunzipped body differs from the plain one", path)
		}
		if ct := res.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-gzip") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
	if res, body := fetch(t, raw(t), s.url+"/ui/sign-in", "gzip"); res.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(body, "Sign in") {
		t.Errorf("the sign-in page, signed out: %d, Content-Encoding %q", res.StatusCode, res.Header.Get("Content-Encoding"))
	}
	for _, c2 := range []struct{ path, ae, why string }{
		{"/ui/static/app.css", "gzip;q=0", "gzip refused"},
		{"/ui/static/app.css", "identity", "gzip not offered"},
		{"/ui/static/favicon.svg", "gzip", "under 1 KiB"},
	} {
		res, _ := fetch(t, c, s.url+c2.path, c2.ae)
		if ce := res.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("%s (%s): Content-Encoding %q", c2.path, c2.why, ce)
		}
	}

	// The live feed streams uncompressed: its first event arrives as text.
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+"/ui/live", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ce := res.Header.Get("Content-Encoding"); ce != "" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("live feed: Content-Encoding %q, Content-Type %q", ce, res.Header.Get("Content-Type"))
	}
	s.deploy("api", "1.0.0", "production", "success")
	br := bufio.NewReader(res.Body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("live feed: %v", err)
		}
		if strings.HasPrefix(line, "data:") {
			break
		}
	}
}

// TestFaviconAndNotFound: /favicon.ico is an icon, not the API's 404; a
// console page that does not exist says where to go instead.
func TestFaviconAndNotFound(t *testing.T) {
	t.Parallel()
	s := start(t)
	res, body := get(t, client(t), s.url+"/favicon.ico")
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "image/svg+xml" || !strings.Contains(body, "<svg") {
		t.Errorf("/favicon.ico: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	ss := s.consoleSession(t, "ann@acme.test", "viewer")
	_, home := ss.get("/ui/")
	if !strings.Contains(home, `rel="icon"`) {
		t.Error("pages name no icon")
	}
	for _, path := range []string{"/ui/no-such-page", "/ui/deployments/0190a0a0-0000-7000-8000-000000000000"} {
		res, body := ss.get(path)
		wantPage(t, path, res, body, http.StatusNotFound, "Nothing here", `href="/ui/"`, `action="/ui/deployments"`, `role="search"`)
	}
}
