package sqlite

import (
	"strings"
	"testing"
)

func TestPathFromURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"sqlite://./shiplog.db":    "./shiplog.db",
		"sqlite:///var/lib/s.db":   "/var/lib/s.db",
		"sqlite:rel.db":            "rel.db",
		"sqlite://data%20dir/s.db": "data dir/s.db",
		"sqlite://./s.db?cache=x":  "./s.db",
		"sqlite://":                "",
		"postgres://localhost/x":   "",
		"sqlite://%zz":             "",
	} {
		got, err := PathFromURL(in)
		if (want == "") != (err != nil) || got != want {
			t.Errorf("PathFromURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func FuzzPathFromURL(f *testing.F) {
	f.Add("sqlite://./shiplog.db")
	f.Add("sqlite:///a?b")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := PathFromURL(s)
		if err == nil && (p == "" || strings.Contains(p, "?") && !strings.Contains(s, "%3F") && !strings.Contains(s, "%3f")) {
			t.Fatalf("PathFromURL(%q) = %q", s, p)
		}
	})
}
