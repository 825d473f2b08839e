package sqlstore

import (
	"testing"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
)

// FuzzUnpackSettings: whatever the signature_scheme column holds, reading
// it never panics, and what packSettings writes reads back the same.
func FuzzUnpackSettings(f *testing.F) {
	f.Add("versioner", "")
	f.Add("", "qovery")
	f.Add(`{"signature_scheme":"standard-webhooks","config":{"format":"clever"}}`, "clever")
	f.Add("{", "x")
	f.Fuzz(func(t *testing.T, column, format string) {
		var c shiplog.Channel
		_ = unpackSettings(column, &c)
		if !utf8.ValidString(column) || !utf8.ValidString(format) {
			return // the input layer refuses invalid UTF-8 before anything is stored
		}

		in := shiplog.Channel{SignatureScheme: column}
		if format != "" {
			in.Config = map[string]any{"format": format}
		}
		packed, err := packSettings(&in)
		if err != nil {
			t.Fatal(err)
		}
		var out shiplog.Channel
		if err := unpackSettings(packed, &out); err != nil {
			if format == "" && len(column) > 0 && column[0] == '{' {
				return // a scheme that looks like JSON: not one shiplog accepts
			}
			t.Fatalf("%q: %v", packed, err)
		}
		if format != "" && (out.SignatureScheme != column || out.Config["format"] != format) {
			t.Fatalf("%q → %q → %+v", column, packed, out)
		}
	})
}
