package clientconf_test

import (
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/shiplog/shiplog/internal/clientconf"
)

func TestParse(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   string
		want map[string]string
		err  bool
	}{
		{"flat", "api_url: https://shiplog.example.com\napi_key: sk_acme_k1_x\n", map[string]string{"api_url": "https://shiplog.example.com", "api_key": "sk_acme_k1_x"}, false},
		{"comments and document marker", "---\n# who we are\nproduct: api # the service\n\nenvironment: 'prod # not a comment'\n", map[string]string{"product": "api", "environment": "prod # not a comment"}, false},
		{"keys are case-insensitive", "API_URL: x\n", map[string]string{"api_url": "x"}, false},
		{"numbers as viper prints them", "version: 1.10\nbuild_number: 042\nx: 0x1F\ny: 1e3\n", map[string]string{"version": "1.1", "build_number": "42", "x": "31", "y": "1000"}, false},
		{"quoted numbers stay", "version: \"1.10\"\n", map[string]string{"version": "1.10"}, false},
		{"booleans", "fail_on_api_error: False\nother: yes\n", map[string]string{"fail_on_api_error": "false", "other": "yes"}, false},
		{"null is absent", "product: ~\nversion: null\nenvironment:\n", map[string]string{}, false},
		{"nested skipped", "api:\n  url: x\nproduct: p\n", map[string]string{"product": "p"}, false},
		{"escapes", `deployed_by_name: "Ada \"the\" Lovelace\u00e9"` + "\n", map[string]string{"deployed_by_name": "Ada \"the\" Lovelaceé"}, false},
		{"single-quote escape", "x: 'it''s'\n", map[string]string{"x": "it's"}, false},
		{"CRLF", "product: p\r\nversion: v\r\n", map[string]string{"product": "p", "version": "v"}, false},
		{"block scalar", "x: |\n  a\n  b\ny: z\n", map[string]string{"x": "a\nb\n", "y": "z"}, false},
		{"JSON", `{"api_url": "http://h", "fail_on_api_error": false, "build_number": 7}`, map[string]string{"api_url": "http://h", "fail_on_api_error": "false", "build_number": "7"}, false},
		{"duplicate key", "a: 1\nA: 2\n", nil, true},
		{"not a mapping", "api_url = \"x\"\n", nil, true},
		{"a list", "- a\n- b\n", nil, true},
		{"unterminated", "a: \"x\n", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := clientconf.Parse([]byte(tc.in))
			if (err != nil) != tc.err {
				t.Fatalf("err %v, want error %v", err, tc.err)
			}
			if !tc.err && !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The search order is viper's: --config, then $HOME/.versioner, then the
// working directory; in a directory config.json before config.yaml before
// config.yml before a bare "config".
func TestFind(t *testing.T) {
	t.Parallel()
	home, cwd := t.TempDir(), t.TempDir()
	if f := clientconf.Find("", home, cwd); f != nil {
		t.Fatalf("found %+v in empty directories", f)
	}
	write(t, filepath.Join(cwd, "config.yml"), "product: from-cwd-yml\n")
	if f := clientconf.Find("", home, cwd); f == nil || f.Get("product") != "from-cwd-yml" {
		t.Fatalf("cwd: %+v", f)
	}
	write(t, filepath.Join(cwd, "config.yaml"), "product: from-cwd-yaml\n")
	if f := clientconf.Find("", home, cwd); f.Get("product") != "from-cwd-yaml" {
		t.Fatalf("yaml before yml: %+v", f)
	}
	write(t, filepath.Join(home, ".versioner", "config"), "product: from-home\n")
	if f := clientconf.Find("", home, cwd); f.Get("product") != "from-home" {
		t.Fatalf("home first: %+v", f)
	}
	if f := clientconf.Find("", "", cwd); f.Get("product") != "from-cwd-yaml" {
		t.Fatalf("no home: %+v", f)
	}
	write(t, filepath.Join(home, ".versioner", "config.toml"), "product = \"toml\"\n")
	if f := clientconf.Find("", home, cwd); f.Err == nil || f.Has("product") {
		t.Fatalf("a config.toml is read as YAML and fails, as viper does: %+v", f)
	}
	explicit := filepath.Join(t.TempDir(), "ci.yaml")
	write(t, explicit, "product: explicit\n")
	if f := clientconf.Find(explicit, home, cwd); f.Get("product") != "explicit" {
		t.Fatalf("--config: %+v", f)
	}
	if f := clientconf.Find(filepath.Join(cwd, "missing.yaml"), home, cwd); f != nil {
		t.Fatalf("a missing --config file is ignored: %+v", f)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"api_url: x\n", "a: 'b''c'\n", "x: |\n  y\n", `{"a": 1}`, "---\na: \"\\u00e9\"\n", "a:\n  b: c\n", "- x\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := clientconf.Parse(b)
		if err != nil && m != nil {
			t.Fatalf("values with an error: %v", m)
		}
		for k := range m {
			if k == "" {
				t.Fatalf("empty key from %q", b)
			}
		}
	})
}
