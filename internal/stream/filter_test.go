package stream

import (
	"strings"
	"testing"

	"github.com/shiplog/shiplog"
)

func TestFilter(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in      string
		pass    []shiplog.EventType
		block   []shiplog.EventType
		invalid string // part of the error message
	}{
		{in: "", pass: []shiplog.EventType{"deployment.completed", "dr.created", "build.failed"}},
		{in: " , ,", pass: []shiplog.EventType{"deployment.completed", "version.approved"}},
		{in: "*", pass: []shiplog.EventType{"deployment.completed", "dr.created"}},
		{in: "deployment.completed", pass: []shiplog.EventType{"deployment.completed"},
			block: []shiplog.EventType{"deployment.failed", "build.completed"}},
		{in: "deployment.*, build.failed", pass: []shiplog.EventType{"deployment.started", "deployment.preflight_failed", "build.failed"},
			block: []shiplog.EventType{"build.completed", "dr.created"}},
		{in: "dr*", pass: []shiplog.EventType{"dr.approved"}, block: []shiplog.EventType{"deployment.started"}},
		{in: "deployment.complete", invalid: `"deployment.complete"`},
		{in: "Deployment.completed", invalid: `"Deployment.completed"`},
		{in: "deploy*ment.*", invalid: `"deploy*ment.*"`},
		{in: "nothing.*", invalid: `"nothing.*"`},
		{in: "deployment.completed,bogus", invalid: `"bogus"`},
		{in: strings.Repeat("dr.created,", 65), invalid: "too many"},
		{in: strings.Repeat("x", 2001), invalid: "too long"},
	} {
		f, err := ParseFilter(c.in)
		if c.invalid != "" {
			if shiplog.ErrorCode(err) != shiplog.EINVALID || !strings.Contains(shiplog.ErrorMessage(err), c.invalid) {
				t.Errorf("ParseFilter(%.40q): %v; want invalid mentioning %s", c.in, err, c.invalid)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", c.in, err)
			continue
		}
		for _, ty := range c.pass {
			if !f.Match(ty) {
				t.Errorf("filter %q blocks %s", c.in, ty)
			}
		}
		for _, ty := range c.block {
			if f.Match(ty) {
				t.Errorf("filter %q passes %s", c.in, ty)
			}
		}
	}
}

// ParseFilter never fails other than with an invalid-input error, and a
// filter it accepts passes at least one event type unless it is empty.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "*", "deployment.*,build.failed", "dr*", "x*y", ",,", "deployment.completed"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if shiplog.ErrorCode(err) != shiplog.EINVALID {
				t.Fatalf("ParseFilter(%q): %v is not an invalid-input error", s, err)
			}
			return
		}
		passes := 0
		for _, ty := range knownTypes {
			if flt.Match(ty) {
				passes++
			}
		}
		if passes == 0 {
			t.Fatalf("ParseFilter(%q) accepted a filter that passes no event type", s)
		}
	})
}
