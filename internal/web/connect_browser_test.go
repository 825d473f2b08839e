package web_test

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserConnectPipeline: a new org's Home says how to connect; the
// owner makes a key there, runs the curl command the page shows (for real,
// with the key and this server's address filled in), and the event shows
// on Home, whose checklist ticks the first event off. A viewer sees the
// snippets but no key button.
func TestBrowserConnectPipeline(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("browser test of the curl snippet skipped: no curl")
	}
	s := start(t)
	s.user("ann@acme.test", "correct horse battery", "owner")
	s.user("vic@acme.test", "correct horse battery", "viewer")
	ctx := browser(t)
	s.signIn(t, ctx, "ann@acme.test", "correct horse battery")

	if got := text(t, ctx, ".connect-empty code.url"); got != s.url {
		t.Errorf("Home gives the address %q, want %q", got, s.url)
	}
	if got := text(t, ctx, `#first-steps [data-step="event"]`); !strings.Contains(got, "to do") {
		t.Errorf("first event step before any: %q", got)
	}
	shot(t, ctx, "home-empty")
	step(t, ctx, "make a key from Home",
		chromedp.Click(chromedp.CSS(`.connect-empty button.primary`)),
		chromedp.WaitVisible(chromedp.CSS("#new-key")),
	)
	key := strings.TrimSpace(text(t, ctx, "#new-key"))
	if !strings.HasPrefix(key, "sk_acme_k") {
		t.Fatalf("the key shown is %q", key)
	}
	curl := text(t, ctx, "#sn-curl")
	if !strings.Contains(curl, key) || !strings.Contains(curl, s.url+"/deployment-events/") {
		t.Errorf("the curl snippet lacks the key or the address:\n%s", curl)
	}
	for _, id := range []string{"track", "run", "github", "gitlab", "jenkins"} {
		if got := text(t, ctx, "#sn-"+id); !strings.Contains(got, s.url) {
			t.Errorf("the %s snippet lacks the address:\n%s", id, got)
		}
	}
	if got := text(t, ctx, "#sn-track"); !strings.Contains(got, "export SHIPLOG_API_KEY="+key) {
		t.Errorf("the track snippet lacks the key:\n%s", got)
	}
	step(t, ctx, "copy the curl snippet",
		chromedp.Click(chromedp.CSS(`button[data-copy-from="sn-curl"]`)),
	)
	eventually(t, ctx, "the copy button answers", `document.querySelector('button[data-copy-from="sn-curl"]').parentNode.querySelector(".copy-status").textContent !== ""`)
	shot(t, ctx, "connect")

	out, err := exec.Command(sh, "-c", curl+" --silent --show-error --fail").CombinedOutput()
	if err != nil {
		t.Fatalf("the curl snippet failed: %v\n%s", err, out)
	}
	step(t, ctx, "back to Home",
		chromedp.Navigate(s.url+"/ui/"),
		chromedp.WaitVisible(chromedp.CSS("table.matrix")),
	)
	if got := text(t, ctx, "table.matrix tbody"); !strings.Contains(got, "my-service") || !strings.Contains(got, "1.0.0") {
		t.Errorf("the matrix after the curl: %q", got)
	}
	if got := text(t, ctx, `#first-steps [data-step="event"]`); !strings.Contains(got, "done") {
		t.Errorf("first event step after one: %q", got)
	}
	if n := countOf(t, ctx, ".connect-empty"); n != 0 {
		t.Errorf("Home still shows how to connect after the first event")
	}

	// A viewer may not make keys: the page says whom to ask.
	ctx2 := browser(t)
	s.signIn(t, ctx2, "vic@acme.test", "correct horse battery")
	step(t, ctx2, "open Connect a pipeline",
		chromedp.Navigate(s.url+"/ui/connect"),
		chromedp.WaitVisible(chromedp.CSS("#sn-curl")),
	)
	if n := countOf(t, ctx2, `form[action="/ui/connect/key"]`); n != 0 {
		t.Errorf("a viewer sees %d key forms", n)
	}
	if got := text(t, ctx2, "#sn-curl"); !strings.Contains(got, "$SHIPLOG_API_KEY") {
		t.Errorf("without a key the curl snippet should read $SHIPLOG_API_KEY:\n%s", got)
	}
}

func countOf(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}
