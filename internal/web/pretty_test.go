package web

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// depthOf is a valid document's deepest nesting.
func depthOf(doc []byte) int {
	d, deepest := 0, 0
	in, esc := false, false
	for _, c := range doc {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case in && c == '"':
			in = false
		case in:
		case c == '"':
			in = true
		case c == '{' || c == '[':
			d++
			deepest = max(deepest, d)
		case c == '}' || c == ']':
			d--
		}
	}
	return deepest
}

func TestPrettyJSON(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"a":1,"b":[1,2],"c":{},"d":[]}`, "{\n  \"a\": 1,\n  \"b\": [\n    1,\n    2\n  ],\n  \"c\": {},\n  \"d\": []\n}"},
		{` [ "x\"]" , { "k" : null } ] `, "[\n  \"x\\\"]\",\n  {\n    \"k\": null\n  }\n]"},
		{`not json {`, `not json {`},
	}
	for _, c := range cases {
		if got := prettyJSON([]byte(c.in), maxPrettyBytes); got.Text != c.want || got.Cut {
			t.Errorf("prettyJSON(%s) = %q (cut %v), want %q", c.in, got.Text, got.Cut, c.want)
		}
	}
	// Past maxIndentDepth the rest is compact: the indentation stops growing.
	deep := strings.Repeat(`{"a":`, 100) + "1" + strings.Repeat("}", 100)
	got := prettyJSON([]byte(deep), maxPrettyBytes)
	for line := range strings.Lines(got.Text) {
		if indent := len(line) - len(strings.TrimLeft(line, " ")); indent > 2*maxIndentDepth {
			t.Fatalf("a line indented %d spaces", indent)
		}
	}
	var a, b bytes.Buffer
	_ = json.Compact(&a, []byte(deep))
	_ = json.Compact(&b, []byte(got.Text))
	if a.String() != b.String() {
		t.Error("the deep document changed")
	}
	// The cut keeps UTF-8 whole.
	long := `"` + strings.Repeat("é", maxPrettyBytes) + `"`
	if got := prettyJSON([]byte(long), maxPrettyBytes); !got.Cut || !utf8.ValidString(got.Text) || len(got.Text) > maxPrettyBytes+8 {
		t.Errorf("cut %v, valid %v, %d bytes", got.Cut, utf8.ValidString(got.Text), len(got.Text))
	}
}

// FuzzPrettyJSON: for any input, the text is bounded and valid UTF-8
// where the input was; for valid JSON shown whole, it is the same document,
// and as deep as maxIndentDepth it is exactly what json.Indent writes.
func FuzzPrettyJSON(f *testing.F) {
	for _, s := range []string{`{"a":[1,{"b":"c"}],"d":{}}`, `[]`, `"x"`, `{"a":"\"}"}`, strings.Repeat("[", 30) + strings.Repeat("]", 30), `{`, "\"\xff\""} {
		f.Add([]byte(s), 200)
	}
	f.Fuzz(func(t *testing.T, in []byte, limit int) {
		limit = min(max(limit, 0), 1<<16)
		got := prettyJSON(in, limit)
		if len(got.Text) > limit+4+4*maxIndentDepth+8 {
			t.Fatalf("%d bytes out for a limit of %d", len(got.Text), limit)
		}
		if utf8.Valid(in) && !utf8.ValidString(got.Text) {
			t.Fatalf("invalid UTF-8 out of valid input: %q", got.Text)
		}
		t2 := bytes.TrimSpace(in)
		if got.Cut || !json.Valid(t2) {
			return
		}
		var a, b bytes.Buffer
		_ = json.Compact(&a, t2)
		if err := json.Compact(&b, []byte(got.Text)); err != nil || a.String() != b.String() {
			t.Fatalf("%s became %s (%v)", t2, got.Text, err)
		}
		if depthOf(t2) <= maxIndentDepth {
			var want bytes.Buffer
			_ = json.Indent(&want, a.Bytes(), "", "  ")
			if want.String() != got.Text {
				t.Fatalf("%s: got\n%s\nwant\n%s", t2, got.Text, want.String())
			}
		}
	})
}
