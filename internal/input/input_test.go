package input

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
)

var testLimits = &Limits{
	Strings: map[string]int{"name": 12, "extra_metadata": 100 << 10, "items[].product_name": 4},
	Items:   map[string]int{"links": 2, "extra_metadata": 1 << 20},
}

func TestCheck(t *testing.T) {
	long := strings.Repeat("x", DefaultString+1)
	for _, tc := range []struct {
		body, field string // field "" = accepted
		why         string
	}{
		{`{"name":"ann","extra_metadata":{"a":[1,"b",{"c":null}]}}`, "", ""},
		{`{"name":"caf\u00e9 😀"}`, "", ""},
		{`{"name":"\ud83d\ude00"}`, "", ""}, // a surrogate pair is one character
		{`{"name":"a\\u0000"}`, "", ""},     // an escaped backslash, then text
		{"{\"name\":\"caf\xe9\"}", "name", "not valid UTF-8"},
		{`{"name":"a\u0000b"}`, "name", "NUL"},
		{`{"name":"\ud800"}`, "name", "unpaired surrogate"},
		{`{"name":"\udc00x"}`, "name", "unpaired surrogate"},
		{`{"name":"\ud800\u0041"}`, "name", "unpaired surrogate"},
		{`{"name":"1234567890abc"}`, "name", "too long (13 bytes; the limit is 12)"},
		{`{"other":"` + long + `"}`, "other", "the limit is 1024"},
		{`{"extra_metadata":{"deep":{"list":["ok","` + long + long + `"]}}}`, "", ""},
		{`{"extra_metadata":{"deep":{"list":["ok","bad\u0000"]}}}`, "extra_metadata.deep.list[1]", "NUL"},
		{"{\"extra_metadata\":{\"k\xff\":1}}", "extra_metadata", "key that is not valid UTF-8"},
		{`{"extra_metadata":{"k\u0000":1}}`, "extra_metadata", "key that contains a NUL"},
		{`{"extra_metadata":{"` + strings.Repeat("k", MaxKey+1) + `":1}}`, "extra_metadata", "key longer than"},
		{`{"items":[{"product_name":"abcd"},{"product_name":"abcde"}]}`, "items[1].product_name", "too long"},
		{`{"links":["a","b"]}`, "", ""},
		{`{"links":["a","b","c"]}`, "links", "too many items (the limit is 2)"},
		{`{"tags":[` + strings.Repeat(`1,`, DefaultItems) + `1]}`, "tags", "too many items (the limit is 100)"},
		{`"a\u0000"`, "(the request body)", "NUL"},
		{`{"name": "ok", "n": 1e400}`, "", ""},
		{`{"name": "ok"`, "", ""}, // not JSON: the decoder's to say
		{"{\"name\": \"ok\", \"x\xff\": 1}", "", "The request body has a key that is not valid UTF-8"},
	} {
		err := Check([]byte(tc.body), testLimits)
		if tc.field == "" && tc.why == "" {
			if err != nil {
				t.Errorf("%.60q: %v, want accepted", tc.body, err)
			}
			continue
		}
		if shiplog.ErrorCode(err) != shiplog.EINVALID || (tc.field != "" && !strings.Contains(err.Error(), "'"+tc.field+"'")) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%.60q: %v, want invalid naming %q with %q", tc.body, err, tc.field, tc.why)
		}
	}
}

// FuzzCheck: whatever Check accepts, encoding/json decodes to valid UTF-8
// strings without NUL that PostgreSQL's jsonb would take, and Check never
// panics.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, `{"a":["\u0000"]}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`,
		`{"a":{"b":[1,2,{"c":"\ud83d\ude00"}]}}`, `[]`, `"x"`, `{"a":"\\u0000"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := Check(body, testLimits); err != nil {
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Fatalf("error code %q: %v", shiplog.ErrorCode(err), err)
			}
			return
		}
		var v any
		if json.Unmarshal(body, &v) != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		var walk func(v any)
		walk = func(v any) {
			switch v := v.(type) {
			case string:
				// U+FFFD in a decoded string is a bad byte or a lone
				// surrogate, unless the body sent one.
				sent := strings.Contains(string(body), "\uFFFD") || strings.Contains(strings.ToLower(string(body)), `\ufffd`)
				if strings.ContainsRune(v, utf8.RuneError) && !sent {
					t.Fatalf("accepted %q (decoded %q)", body, v)
				}
				if strings.Contains(v, "\x00") {
					t.Fatalf("accepted a NUL: %q", body)
				}
			case []any:
				for _, e := range v {
					walk(e)
				}
			case map[string]any:
				for k, e := range v {
					walk(k)
					walk(e)
				}
			}
		}
		walk(v)
	})
}

// sameVerdict fails unless Check and refCheck say the same of body: both
// accept it, or both refuse it with the same message.
func sameVerdict(t *testing.T, body []byte) {
	t.Helper()
	got, want := Check(body, testLimits), refCheck(body, testLimits)
	if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
		t.Fatalf("%.200q:\n Check:    %v\n reference: %v", body, got, want)
	}
}

func TestCheckAgreesWithReference(t *testing.T) {
	long := strings.Repeat("é", 700)
	for _, body := range []string{
		`{"name":"ann","extra_metadata":{"a":[1,"b",{"c":null}]}}`,
		`{"name":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`, // 14 bytes decoded, 42 sent
		`{"name":"\ud83d\ude00\ud83d\ude00\ud83d\ude00"}`,       // 12 bytes: at the limit
		`{"name":"\ud83d\ude00\ud83d\ude00\ud83d\ude00x"}`,
		`{"name":"a\"b\\c\/d\b\f\n\r\t"}`,
		`{"other":"` + long + `"}`,
		`{"extra_metadata":{"k\u00e9y":"\u0000"}}`, // an escaped key names the field
		`{"extra_metadata":{"k\\\"":"\ud800"}}`,
		`{"links":[[],[[]],{}]}`,
		`{"links":[[],[[]],{},1]}`,
		`[[1,2],[3,4,"\u0000"]]`,
		` { "name" : "ok" , "links" : [ "a" , "b" ] } `,
		`{"a":true,"b":false,"c":null,"d":-1.5e+3,"e":"x"}`,
		`{"name":"ok"} {"name":"\u0000"}`,
		strings.Repeat("[", 10001) + strings.Repeat("]", 10001),
		strings.Repeat(`{"a":`, 500) + `"\u0000"` + strings.Repeat("}", 500),
	} {
		sameVerdict(t, []byte(body))
	}
}

// FuzzCheckAgreesWithReference: on every valid JSON body the scanner and
// the Token-based reference agree; on any other body the scanner either
// passes it to the decoder or refuses it as invalid, and never panics.
func FuzzCheckAgreesWithReference(f *testing.F) {
	for _, s := range []string{`{"name":"b"}`, `{"links":["\u0000"]}`, "{\"a\":\"\xff\"}", `{"a":"\ud800"}`,
		`{"extra_metadata":{"b":[1,2,{"c":"\ud83d\ude00"}]}}`, `[]`, `"x"`, `{"a":"\\u0000"}`, `{"name":"\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9"}`,
		`{"items":[{"product_name":"abcd"},{"product_name":"ab\u00e9"}]}`, `{"k\u00e9":1}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if json.Valid(body) {
			sameVerdict(t, body)
			return
		}
		if err := Check(body, testLimits); err != nil && shiplog.ErrorCode(err) != shiplog.EINVALID {
			t.Fatalf("error code %q: %v", shiplog.ErrorCode(err), err)
		}
	})
}

func BenchmarkCheck(b *testing.B) {
	body := []byte(`{"product_name":"checkout-api","version":"1.4.2","environment_name":"production","status":"started",
		"scm_sha":"4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39","scm_branch":"main","scm_repository":"git@github.com:acme/checkout-api.git",
		"build_url":"https://ci.example.com/acme/checkout-api/builds/1234","build_number":"1234","invoke_id":"run-1234-1",
		"deployed_by":"ci-bot","deployed_by_email":"ci@example.com","deploy_url":"https://ci.example.com/deploys/1234",
		"extra_metadata":{"pipeline":"deploy","runner":"linux-x64","attempt":1,"tags":["blue","canary"],"duration_s":42.5}}`)
	for _, impl := range []struct {
		name  string
		check func([]byte, *Limits) error
	}{{"scanner", Check}, {"reference", refCheck}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := impl.check(body, testLimits); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
