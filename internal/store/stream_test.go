package store_test

import (
	"testing"

	"github.com/shiplog/shiplog/internal/store"
)

func TestParseCursor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want store.Cursor
		bad  bool
	}{
		{in: "0", want: store.Cursor{}},
		{in: "42", want: store.Cursor{Seq: 42}},
		{in: "9223372036854775807", want: store.Cursor{Seq: 1<<63 - 1}},
		{in: "1804-42", want: store.Cursor{Tx: 1804, Seq: 42}},
		{in: "1804-0", want: store.Cursor{Tx: 1804}},
		{in: "18446744073709551615-9223372036854775807", want: store.Cursor{Tx: 1<<64 - 1, Seq: 1<<63 - 1}},
		{in: "", bad: true},
		{in: "-", bad: true},
		{in: "-1", bad: true},
		{in: "+1", bad: true},
		{in: "01", bad: true},
		{in: "1-01", bad: true},
		{in: "0-5", bad: true}, // a transaction id is never 0
		{in: "1-2-3", bad: true},
		{in: " 1", bad: true},
		{in: "1 ", bad: true},
		{in: "9223372036854775808", bad: true},
		{in: "18446744073709551616-1", bad: true},
		{in: "1-9223372036854775808", bad: true},
		{in: "0x10", bad: true},
		{in: "１", bad: true}, // fullwidth digit
		{in: "abc", bad: true},
		{in: "00000000000000000000000000000000000000001", bad: true},
	} {
		got, err := store.ParseCursor(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseCursor(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseCursor(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
		if s := got.String(); s != c.in {
			t.Errorf("ParseCursor(%q).String() = %q", c.in, s)
		}
	}
}

// Anything ParseCursor accepts is the one spelling String gives its value.
func FuzzParseCursor(f *testing.F) {
	for _, s := range []string{"0", "42", "1804-42", "1-0", "01", "-", "1-2-3", "18446744073709551615-9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := store.ParseCursor(s)
		if err != nil {
			return
		}
		if c.String() != s {
			t.Fatalf("ParseCursor(%q) = %v, which prints as %q", s, c, c.String())
		}
		if c.Seq < 0 {
			t.Fatalf("ParseCursor(%q) has a negative seq", s)
		}
	})
}
