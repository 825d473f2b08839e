package httpapi_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/shiplog/shiplog/internal/httpapi"
)

var update = flag.Bool("update", false, "rewrite docs/openapi.json from the document the server builds")

// pendingRoutes are documented for routes being added on other branches at
// the same time as the document. EMPTY THIS LIST when those branches merge
// (the test fails once a listed route is registered, to say so).
var pendingRoutes = []string{}

// normalise folds a route's "/{$}" and trailing-slash twins into one key.
func normalise(method, path string) string {
	path = strings.TrimSuffix(path, "{$}")
	if len(path) > 1 {
		path = strings.TrimSuffix(path, "/")
	}
	return method + " " + path
}

// documented lists the document's operations as normalised keys.
func documented(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for path, item := range httpapi.OpenAPI().Paths {
		for method := range item {
			k := normalise(strings.ToUpper(method), path)
			if out[k] {
				t.Errorf("%s is documented twice (as /x and /x/)", k)
			}
			out[k] = true
		}
	}
	return out
}

// TestOpenAPIMatchesRoutes holds the document to the routes Handler
// registers: every route documented, every documented operation routed.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	t.Parallel()
	s := &httpapi.Server{}
	s.Handler()
	routed := map[string]bool{}
	for _, p := range s.Routes() {
		method, path, ok := strings.Cut(p, " ")
		if !ok {
			t.Errorf("route %q has no method: document it or give it one", p)
			continue
		}
		routed[normalise(method, path)] = true
	}
	if len(routed) < 40 {
		t.Fatalf("only %d routes recorded: %v", len(routed), s.Routes())
	}
	docs := documented(t)
	for r := range routed {
		if !docs[r] {
			t.Errorf("route %s is not in the OpenAPI document: add it to operations() in openapi_ops.go", r)
		}
		if slices.Contains(pendingRoutes, r) {
			t.Errorf("route %s is registered now: remove it from pendingRoutes", r)
		}
	}
	for d := range docs {
		if !routed[d] && !slices.Contains(pendingRoutes, d) {
			t.Errorf("the document describes %s, which no route serves", d)
		}
	}
	for _, p := range pendingRoutes {
		if !docs[p] {
			t.Errorf("pending route %s is not documented", p)
		}
	}
}

// TestOpenAPIDocument checks the served document: valid JSON with the
// required top-level fields, the error schema and bearer scheme, unique
// operation ids, path parameters declared, every $ref resolvable.
func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer((&httpapi.Server{BaseURL: "https://shiplog.example.com"}).Handler())
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + "/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json" || res.Header.Get("X-Request-Id") == "" {
		t.Fatalf("GET /openapi.json: %d %v", res.StatusCode, res.Header)
	}
	var raw bytes.Buffer
	raw.ReadFrom(res.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	for _, k := range []string{"openapi", "info", "paths", "components", "security", "servers"} {
		if doc[k] == nil {
			t.Errorf("missing top-level %q", k)
		}
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v", doc["openapi"])
	}
	info := doc["info"].(map[string]any)
	if info["title"] == nil || info["version"] == nil {
		t.Errorf("info: %v", info)
	}
	if got := doc["servers"].([]any)[0].(map[string]any)["url"]; got != "https://shiplog.example.com" {
		t.Errorf("servers url %v", got)
	}
	comps := doc["components"].(map[string]any)
	errSchema := comps["schemas"].(map[string]any)["Error"].(map[string]any)
	detail, _ := errSchema["properties"].(map[string]any)["detail"].(map[string]any)
	if req, _ := errSchema["required"].([]any); len(req) != 1 || req[0] != "detail" || detail["type"] != "string" {
		t.Errorf("Error schema: %v", errSchema)
	}
	bearer, _ := json.Marshal(comps["securitySchemes"].(map[string]any)["bearer"])
	if !strings.Contains(string(bearer), `"scheme":"bearer"`) || !strings.Contains(string(bearer), `"type":"http"`) {
		t.Errorf("bearer scheme: %s", bearer)
	}

	// Every $ref resolves within the document.
	var refs []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				if s, ok := e.(string); ok && k == "$ref" {
					refs = append(refs, s)
				}
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(doc)
	if len(refs) < 50 {
		t.Errorf("only %d $refs", len(refs))
	}
	for _, ref := range refs {
		var cur any = doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			m, _ := cur.(map[string]any)
			cur = m[part]
		}
		if cur == nil {
			t.Errorf("$ref %s resolves to nothing", ref)
		}
	}

	// Operations: unique ids, a success response, declared path parameters,
	// and (unless public) the 401.
	ids := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		for method, o := range item.(map[string]any) {
			op := o.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] != "" {
				t.Errorf("%s: operationId %q missing or also used by %s", where, id, ids[id])
			}
			ids[id] = where
			resps := op["responses"].(map[string]any)
			success := false
			for code := range resps {
				success = success || code[0] == '2'
			}
			if !success || resps["500"] == nil {
				t.Errorf("%s: responses %v", where, resps)
			}
			declared := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, p := range params {
				pm := p.(map[string]any)
				if pm["in"] == "path" {
					declared[pm["name"].(string)] = true
				}
			}
			for _, seg := range strings.Split(path, "/") {
				if name, ok := strings.CutPrefix(seg, "{"); ok && !declared[strings.TrimSuffix(name, "}")] {
					t.Errorf("%s: path parameter %s not declared", where, seg)
				}
			}
			public := op["security"] != nil && len(op["security"].([]any)) == 0
			if !public && path != "/metrics" && resps["401"] == nil {
				t.Errorf("%s: authenticated but no 401", where)
			}
		}
	}
}

// TestOpenAPIFile keeps docs/openapi.json, the copy people generate
// clients from without a running server, equal to what the server serves.
// After changing the API or its wire types: go test ./internal/httpapi -run TestOpenAPIFile -update
func TestOpenAPIFile(t *testing.T) {
	t.Parallel()
	want, err := httpapi.OpenAPIJSON(httpapi.OpenAPI(), "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "openapi.json")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("docs/openapi.json is stale: go test ./internal/httpapi -run TestOpenAPIFile -update")
	}
}
