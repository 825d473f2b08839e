// Package clientconf reads the Versioner CLI's configuration file, so that
// `shiplog track …` takes the same settings as `versioner track …` in the
// same place. The Versioner CLI (viper) reads `--config FILE`, else the first
// `config.<ext>` (json, toml, yaml, yml, properties, props, prop, hcl, tfvars,
// dotenv, env, ini, then no extension) in `$HOME/.versioner`, else the same
// names in the working directory, and parses what it found as YAML. Only flat
// `key: value` pairs matter (its keys are api_url, product, version, …), so
// this is a small YAML subset parser, not a YAML library: top-level mappings of
// scalars, plain or quoted, with comments. A file it cannot read is ignored,
// as the Versioner CLI ignores a file it cannot parse.
package clientconf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// searchExts is viper's SupportedExts, in its order: the first name that
// exists in a directory is the file, whatever its extension says.
var searchExts = []string{"json", "toml", "yaml", "yml", "properties", "props", "prop", "hcl", "tfvars", "dotenv", "env", "ini"}

// File is a configuration file that was found.
type File struct {
	Path   string
	Values map[string]string // lower-case keys; only keys with a value
	Err    error             // why the file was ignored (its Values are then empty)
}

// Get returns a key's value ("" when absent).
func (f *File) Get(key string) string {
	if f == nil {
		return ""
	}
	return f.Values[strings.ToLower(key)]
}

// Has reports whether the file sets key.
func (f *File) Has(key string) bool {
	if f == nil {
		return false
	}
	_, ok := f.Values[strings.ToLower(key)]
	return ok
}

// Find locates the file the Versioner CLI would read: explicit (from
// --config) if given, else the search in home/.versioner then cwd. home ""
// skips the home directory. It returns nil when there is none.
func Find(explicit, home, cwd string) *File {
	if explicit != "" {
		f := &File{Path: explicit}
		ext := strings.TrimPrefix(filepath.Ext(explicit), ".")
		switch strings.ToLower(ext) {
		case "yaml", "yml", "json":
		default:
			// viper reads it by its extension: TOML, HCL, INI, dotenv and
			// Java properties files are not read by shiplog; an unknown
			// extension is ignored by both.
			f.Err = fmt.Errorf("%s: only YAML (.yaml, .yml) and JSON configuration files are read", explicit)
			return f
		}
		b, err := os.ReadFile(explicit)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // viper ignores a --config file that is not there
			}
			f.Err = err
			return f
		}
		f.Values, f.Err = Parse(b)
		return f
	}
	var dirs []string
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".versioner"))
	}
	dirs = append(dirs, cwd)
	for _, d := range dirs {
		names := make([]string, 0, len(searchExts)+1)
		for _, e := range searchExts {
			names = append(names, "config."+e)
		}
		names = append(names, "config")
		for _, n := range names {
			p := filepath.Join(d, n)
			st, err := os.Stat(p)
			if err != nil || st.IsDir() {
				continue
			}
			f := &File{Path: p}
			b, err := os.ReadFile(p)
			if err != nil {
				f.Err = err
				return f
			}
			f.Values, f.Err = Parse(b)
			return f
		}
	}
	return nil
}

// MaxSize bounds what Parse reads; a configuration file is a few lines.
const MaxSize = 1 << 20

// Parse reads a flat YAML mapping (or a JSON object, which is YAML too) into
// lower-case keys and string values, as viper's GetString sees them: numbers
// in their canonical form (1.10 is "1.1"), booleans as "true"/"false", null
// as absent. Nested mappings and sequences are skipped (no key of the
// Versioner CLI is nested). An error means the whole file is ignored.
func Parse(b []byte) (map[string]string, error) {
	if len(b) > MaxSize {
		return nil, fmt.Errorf("configuration file over %d bytes", MaxSize)
	}
	s := strings.TrimPrefix(string(b), "\ufeff")
	if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") {
		return parseJSON([]byte(t))
	}
	out := map[string]string{}
	seen := map[string]bool{}
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	docs := 0
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if trimmed == "---" || strings.HasPrefix(trimmed, "--- ") || strings.HasPrefix(trimmed, "%") {
			if trimmed == "---" || strings.HasPrefix(trimmed, "--- ") {
				docs++
				if docs > 1 && len(seen) > 0 {
					break // viper reads the first document
				}
			}
			continue
		}
		if trimmed == "..." {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			continue // nested content of a skipped key
		}
		key, rest, err := splitKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		lk := strings.ToLower(key)
		if lk == "" {
			continue // no key of ours is empty
		}
		if seen[lk] {
			return nil, fmt.Errorf("line %d: key %q appears twice", i+1, key)
		}
		seen[lk] = true
		rest = strings.TrimSpace(rest)
		switch {
		case rest == "" || strings.HasPrefix(rest, "#"):
			continue // null, or a nested mapping/sequence on the next lines
		case rest[0] == '|' || rest[0] == '>':
			var block []string
			for i+1 < len(lines) && (strings.TrimSpace(lines[i+1]) == "" || lines[i+1][0] == ' ' || lines[i+1][0] == '\t') {
				i++
				block = append(block, strings.TrimSpace(lines[i]))
			}
			for len(block) > 0 && block[len(block)-1] == "" {
				block = block[:len(block)-1]
			}
			sep := "\n"
			if rest[0] == '>' {
				sep = " "
			}
			v := strings.Join(block, sep)
			if !strings.Contains(rest, "-") && v != "" {
				v += "\n"
			}
			out[lk] = v
		case rest[0] == '[' || rest[0] == '{' || rest[0] == '&' || rest[0] == '*' || rest[0] == '!':
			continue // flow collections, anchors, aliases and tags: no key of ours
		default:
			v, ok, err := scalar(rest)
			if err != nil {
				return nil, fmt.Errorf("line %d: %w", i+1, err)
			}
			if ok {
				out[lk] = v
			}
		}
	}
	return out, nil
}

// splitKey splits "key: value" at the first ": " (or a trailing ":").
func splitKey(line string) (key, rest string, err error) {
	if line[0] == '"' || line[0] == '\'' {
		k, n, err := quoted(line)
		if err != nil {
			return "", "", err
		}
		after := strings.TrimLeft(line[n:], " \t")
		if !strings.HasPrefix(after, ":") {
			return "", "", errors.New("a quoted key needs a colon after it")
		}
		return k, after[1:], nil
	}
	if strings.HasPrefix(line, "- ") || line == "-" {
		return "", "", errors.New("the file is a list, not a mapping")
	}
	for i := 0; i < len(line); i++ {
		if line[i] == ':' && (i+1 == len(line) || line[i+1] == ' ' || line[i+1] == '\t') {
			k := strings.TrimSpace(line[:i])
			if k == "" {
				return "", "", errors.New("empty key")
			}
			return k, line[i+1:], nil
		}
		if line[i] == '#' && i > 0 && (line[i-1] == ' ' || line[i-1] == '\t') {
			break
		}
	}
	return "", "", errors.New("not a key: value line")
}

// quoted reads a quoted scalar at the start of s, returning it and the bytes used.
func quoted(s string) (string, int, error) {
	q := s[0]
	if q == '\'' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == '\'' {
				if i+1 < len(s) && s[i+1] == '\'' {
					b.WriteByte('\'')
					i++
					continue
				}
				return b.String(), i + 1, nil
			}
			b.WriteByte(s[i])
		}
		return "", 0, errors.New("unterminated single-quoted string")
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			v, err := strconv.Unquote(s[:i+1])
			if err != nil {
				return "", 0, fmt.Errorf("bad double-quoted string: %w", err)
			}
			return v, i + 1, nil
		}
	}
	return "", 0, errors.New("unterminated double-quoted string")
}

var (
	intRe   = regexp.MustCompile(`^[-+]?[0-9]+$`)
	hexRe   = regexp.MustCompile(`^0x[0-9a-fA-F]+$`)
	octRe   = regexp.MustCompile(`^0o[0-7]+$`)
	floatRe = regexp.MustCompile(`^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`)
)

// scalar resolves a value as YAML 1.2's core schema does (what viper's YAML
// decoder gives), then as viper's GetString prints it. ok is false for null.
func scalar(rest string) (string, bool, error) {
	if rest[0] == '"' || rest[0] == '\'' {
		v, n, err := quoted(rest)
		if err != nil {
			return "", false, err
		}
		if tail := strings.TrimSpace(rest[n:]); tail != "" && !strings.HasPrefix(tail, "#") {
			return "", false, fmt.Errorf("text after a quoted value: %q", tail)
		}
		return v, true, nil
	}
	v := rest
	for i := 1; i < len(v); i++ {
		if v[i] == '#' && (v[i-1] == ' ' || v[i-1] == '\t') {
			v = v[:i]
			break
		}
	}
	v = strings.TrimSpace(v)
	switch v {
	case "", "~", "null", "Null", "NULL":
		return "", false, nil
	case "true", "True", "TRUE":
		return "true", true, nil
	case "false", "False", "FALSE":
		return "false", true, nil
	}
	switch {
	case intRe.MatchString(v):
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return strconv.FormatInt(n, 10), true, nil
		}
	case hexRe.MatchString(v):
		if n, err := strconv.ParseInt(v[2:], 16, 64); err == nil {
			return strconv.FormatInt(n, 10), true, nil
		}
	case octRe.MatchString(v):
		if n, err := strconv.ParseInt(v[2:], 8, 64); err == nil {
			return strconv.FormatInt(n, 10), true, nil
		}
	case floatRe.MatchString(v):
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsInf(f, 0) {
			return strconv.FormatFloat(f, 'f', -1, 64), true, nil
		}
	}
	return v, true, nil
}

func parseJSON(b []byte) (map[string]string, error) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for k, v := range m {
		lk := strings.ToLower(k)
		if lk == "" {
			continue
		}
		switch x := v.(type) {
		case string:
			out[lk] = x
		case bool:
			out[lk] = strconv.FormatBool(x)
		case json.Number:
			if n, err := x.Int64(); err == nil {
				out[lk] = strconv.FormatInt(n, 10)
			} else if f, err := x.Float64(); err == nil {
				out[lk] = strconv.FormatFloat(f, 'f', -1, 64)
			}
		}
	}
	return out, nil
}
