package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/store"
)

// nested is a JSON document depth objects deep with a value at the bottom
// (5 bytes a level: 10 KB is 2,000 levels).
func nested(depth int) string {
	return strings.Repeat(`{"a":`, depth) + `"bottom"` + strings.Repeat("}", depth)
}

// setMetadata stores doc as a deployment's extra_metadata, as rows written
// before any input limit (or by a pipeline within them) may hold it.
func (s *server) setMetadata(id, doc string) {
	s.t.Helper()
	err := s.app.Store.Write(s.t.Context(), func(ctx context.Context, tx store.Tx) error {
		d, err := tx.DeploymentGet(ctx, s.org.ID, id)
		if err != nil {
			return err
		}
		d.ExtraMetadata = json.RawMessage(doc)
		return tx.DeploymentUpdate(ctx, d)
	})
	if err != nil {
		s.t.Fatal(err)
	}
}

// allocated is how many bytes the process allocated while f ran. The test
// using it is not parallel, so the figure is this request's (plus noise
// far below the bounds asserted).
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// Issue 13, "Pages that explode": 10 KB of nesting rendered a 100 MB
// deployment page, 40 KB one 399 MB with a 2.4 GB server peak. The page now
// indents only so deep, stops at a size cap, and links the raw document.
func TestDeepMetadataPageIsBounded(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", pw, "viewer")
	c := s.relSignIn("ann@acme.test", pw)
	for _, depth := range []int{2_000, 8_000} {
		run := s.relEvent("/deployment-events/", map[string]any{"product_name": "api", "version": fmt.Sprint(depth),
			"environment_name": "production", "status": "success"})
		id := run["id"].(string)
		doc := nested(depth)
		s.setMetadata(id, doc)

		var st int
		var body string
		alloc := allocated(func() { st, body = c.get("/ui/deployments/" + id) })
		if st != 200 {
			t.Fatalf("depth %d: %d %s", depth, st, body)
		}
		if len(body) > 512<<10 {
			t.Errorf("depth %d (%d KB of JSON): a %d KB page", depth, len(doc)>>10, len(body)>>10)
		}
		if alloc > 32<<20 {
			t.Errorf("depth %d: the page allocated %d MB", depth, alloc>>20)
		}
		raw := `/ui/deployments/` + id + `/raw`
		if !strings.Contains(body, `href="`+raw+`"`) {
			t.Errorf("depth %d: no raw JSON link on the page", depth)
		}
		// The raw document is the stored one, byte for byte, as JSON.
		req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+raw, nil)
		res, got := c.do(req)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || got != doc {
			t.Errorf("depth %d: raw: %d %s, %d bytes (want %d)", depth, res.StatusCode, res.Header.Get("Content-Type"), len(got), len(doc))
		}
	}
}

// A run whose events are as large as the API takes: the timeline shows
// each within one page budget and links the rest raw.
func TestLargeEventsPageIsBounded(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", pw, "viewer")
	c := s.relSignIn("ann@acme.test", pw)
	meta := map[string]any{}
	for i := range 1_600 {
		meta[fmt.Sprintf("key-%06d", i)] = strings.Repeat("v", 40)
	}
	var id string
	statuses := []string{"pending"}
	for range 18 {
		statuses = append(statuses, "started")
	}
	for _, status := range append(statuses, "success") {
		run := s.relEvent("/deployment-events/", map[string]any{"product_name": "api", "version": "1",
			"environment_name": "production", "status": status, "extra_metadata": meta})
		id = run["id"].(string)
	}
	var st int
	var body string
	alloc := allocated(func() { st, body = c.get("/ui/deployments/" + id) })
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	// 20 events of ~90 KB each, indented and escaped, would be over 3 MB of page.
	if len(body) > 1<<20 {
		t.Errorf("a %d KB page", len(body)>>10)
	}
	if alloc > 64<<20 {
		t.Errorf("the page allocated %d MB", alloc>>20)
	}
	if n := strings.Count(body, "/raw?event="); n != 20 {
		t.Errorf("%d raw links to events, want 20", n)
	}
	if !strings.Contains(body, "Shown in part") {
		t.Error("no note that a document is shown in part")
	}
	// The first event's raw document is the event as received.
	i := strings.Index(body, `/raw?event=`)
	link := body[strings.LastIndex(body[:i], `"`)+1 : i+strings.Index(body[i:], `"`)]
	req, _ := http.NewRequestWithContext(t.Context(), "GET", s.url+strings.ReplaceAll(link, "&amp;", "&"), nil)
	res, got := c.do(req)
	var ev map[string]any
	if res.StatusCode != 200 || json.Unmarshal([]byte(got), &ev) != nil || ev["status"] != "pending" || len(ev["extra_metadata"].(map[string]any)) != len(meta) {
		t.Errorf("raw event %s: %d, %d bytes", link, res.StatusCode, len(got))
	}
	if st, _ := c.get("/ui/deployments/" + id + "/raw?event=nope"); st != 404 {
		t.Errorf("raw of an event not in the run: %d", st)
	}
}

// Issue 13: 1,200 product × environment pairs made the home grid a 95 MB
// page (+272 MiB per view): every product against every environment. The
// matrix is paged by products and capped in environments.
func TestHomeMatrixIsPagedAndLinear(t *testing.T) {
	s := start(t)
	s.user("ann@acme.test", pw, "viewer")
	c := s.relSignIn("ann@acme.test", pw)
	// 120 products, each in its own environment: a diagonal that a full
	// grid would make 14,400 cells.
	for i := range 120 {
		s.deploy(fmt.Sprintf("p%03d", i), "1", fmt.Sprintf("env-%03d", i), "success")
	}
	st, body := c.get("/ui/")
	if st != 200 {
		t.Fatalf("%d %s", st, body)
	}
	if n := strings.Count(body, "<td>"); n > 50*40 {
		t.Errorf("%d cells on the first page", n)
	}
	if n := strings.Count(body, `<th scope="row">`); n != 50 {
		t.Errorf("%d products on the first page, want 50", n)
	}
	if !strings.Contains(body, "page 1 of 3") || !strings.Contains(body, `href="/ui/?page=2"`) {
		t.Error("no pager on the first page")
	}
	// The page's own environments only: 50 columns would be 50, capped at 40.
	if !strings.Contains(body, `id="matrix-hidden">10 more environments`) {
		t.Error("the capped environments are not mentioned")
	}
	st, body = c.get("/ui/?page=3")
	if st != 200 || strings.Count(body, `<th scope="row">`) != 20 || !strings.Contains(body, "p119") || strings.Contains(body, ">p000<") {
		t.Errorf("page 3: %d", st)
	}
	if st, body := c.get("/ui/fragments/matrix?page=2"); st != 200 || !strings.Contains(body, "p050") {
		t.Errorf("fragment page 2: %d", st)
	}
	// A filter narrows before paging.
	if st, body := c.get("/ui/?filter=1&product=p11"); st != 200 || strings.Count(body, `<th scope="row">`) != 10 || strings.Contains(body, "page 1 of") {
		t.Errorf("filtered: %d", st)
	}
}
