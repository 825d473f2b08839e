package cli

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseMetadata(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"  \n", "", ""},
		{`{}`, "", ""}, // nothing to send
		{`{"a": 1, "b": {"c": [true, null]}, "big": 12345678901234567890}`, `{"a":1,"b":{"c":[true,null]},"big":12345678901234567890}`, ""},
		{`{"a": 1, "a": 2}`, `{"a":2}`, ""},
		{` {"ticket": "OPS-1"} `, `{"ticket":"OPS-1"}`, ""},
		{`[1]`, "", "got a JSON array"},
		{`"text"`, "", "got a JSON string"},
		{`null`, "", "got null"},
		{`{"a": }`, "", "invalid character"},
		{`{"a": 1} {"b": 2}`, "", "one JSON object, with nothing after it"},
		{`{"a": 1} x`, "", "nothing after it"},
		{`{"a": 1`, "", "must be a JSON object"},
	} {
		m, err := parseMetadata(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseMetadata(%q): %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		got, merr := mergeMetadata(m)
		if err != nil || merr != nil || string(got) != tc.want {
			t.Errorf("parseMetadata(%q) = %s, %v, %v; want %s", tc.in, got, err, merr, tc.want)
		}
	}
}

func TestMergeMetadata(t *testing.T) {
	t.Parallel()
	detected := metadata{}.strings(map[string]string{"vi_gh_job": "deploy", "vi_gh_ref": "refs/heads/main", "vi_empty": ""})
	user, _ := parseMetadata(`{"vi_gh_job": "mine", "n": 1}`)
	facts := metadata{}.set("vi_run_exit_code", 3)
	got, err := mergeMetadata(detected, user, facts)
	if err != nil || string(got) != `{"n":1,"vi_gh_job":"mine","vi_gh_ref":"refs/heads/main","vi_run_exit_code":3}` {
		t.Errorf("merge: %s %v", got, err)
	}
	if got, err := mergeMetadata(nil, metadata{}); got != nil || err != nil {
		t.Errorf("empty merge: %s %v", got, err)
	}
	big := metadata{}.set("blob", strings.Repeat("x", 100<<10))
	if _, err := mergeMetadata(big); err == nil || !strings.Contains(err.Error(), "the limit is 100 KiB") {
		t.Errorf("oversized: %v", err)
	}
}

// Whatever --extra-metadata says, parsing either refuses it or yields an
// object that survives the trip to the wire unchanged.
func FuzzParseMetadata(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"a":{"b":[1,2,{"c":null}]}}`, `[]`, `{"a":1}{}`, `{"\u00e9":"\ud800"}`, `{"n":1e400}`, " ", `{"a":"\x00"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := parseMetadata(s)
		if err != nil {
			if m != nil {
				t.Errorf("error with a result: %q", s)
			}
			return
		}
		out, err := mergeMetadata(m)
		if err != nil {
			if !strings.Contains(err.Error(), "limit") {
				t.Errorf("parsed %q but cannot send it: %v", s, err)
			}
			return
		}
		if len(m) == 0 {
			if out != nil {
				t.Errorf("%q: empty object sent as %s", s, out)
			}
			return
		}
		var back map[string]json.RawMessage
		if err := json.Unmarshal(out, &back); err != nil || len(back) != len(m) {
			t.Errorf("%q → %s: not the same object (%v)", s, out, err)
		}
		again, err := parseMetadata(string(out))
		if err != nil || len(again) != len(m) {
			t.Errorf("%q → %s does not parse again: %v", s, out, err)
		}
	})
}
