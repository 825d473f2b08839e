package client

import (
	"testing"
	"unicode/utf8"
)

// newAPIError reads any body without panicking, always says something, and
// calls a body a block only on the statuses that carry one.
func FuzzNewAPIError(f *testing.F) {
	for _, s := range []string{
		`{"detail": {"error": "deployment_blocked", "message": "m", "code": "C", "retry_after": "t", "details": {"rule_name": "r"}}}`,
		`{"error": "deployment_blocked", "code": "C"}`, `{"detail": "x"}`, `{"detail": [{"loc": ["body", 1], "msg": "m"}]}`,
		`{"detail": null}`, `{"detail": {"details": 5, "code": 1}}`, "<html>", "", "\xff\xfe", `{"detail": {"code": "C", "details": [1]}}`,
	} {
		f.Add(428, []byte(s))
		f.Add(500, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		e := newAPIError(status, body, 1)
		if e.Message == "" {
			t.Errorf("no message for %d %q", status, body)
		}
		if e.Block != nil {
			if !blockStatus(status) {
				t.Errorf("a %d is not a block: %q", status, body)
			}
			_, _ = e.Block.RuleName(), e.Block.Reason()
		}
		if !utf8.ValidString(e.Error()) && utf8.Valid(body) {
			t.Errorf("invalid UTF-8 in %q", e.Error())
		}
	})
}
