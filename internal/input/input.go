// Package input is the contract every JSON request body meets before
// anything reads it, on every endpoint and whatever the store: each string,
// object keys included and however deeply nested, is valid UTF-8 with no
// NUL character and no unpaired surrogate escape, and within its length
// limit; each array within its item limit. PostgreSQL refuses such bytes
// (a 500 after the fact) and SQLite keeps them (and later serves invalid
// JSON), so they are refused here, with a 400 naming the field, before
// anything is stored.
package input

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
)

// Defaults for paths no Limits entry covers.
const (
	// DefaultString bounds any string a body's table does not name: room
	// for a long URL or a paragraph, not for a file.
	DefaultString = 1024
	// DefaultItems bounds any array a body's table does not name.
	DefaultItems = 100
	// MaxKey bounds every object key.
	MaxKey = 256
)

// Limits bounds one kind of body. Paths name object members with dots and
// array elements with "[]" ("items[].product_name"); an entry covers its
// path and everything under it, the nearest entry winning, so
// "extra_metadata" bounds every string inside that object.
type Limits struct {
	Strings map[string]int // path → bytes per string
	Items   map[string]int // path → elements per array
}

// String is the byte limit for a string at path (in the "[]" form).
func (l *Limits) String(path string) int { return l.lookup(l.stringsMap(), path, DefaultString) }

// ItemsAt is the element limit for an array at path.
func (l *Limits) ItemsAt(path string) int { return l.lookup(l.itemsMap(), path, DefaultItems) }

func (l *Limits) stringsMap() map[string]int {
	if l == nil {
		return nil
	}
	return l.Strings
}

func (l *Limits) itemsMap() map[string]int {
	if l == nil {
		return nil
	}
	return l.Items
}

func (l *Limits) lookup(m map[string]int, path string, def int) int {
	for p := path; p != ""; p = parent(p) {
		if n, ok := m[p]; ok {
			return n
		}
	}
	return def
}

// parent drops path's last element: "a.b[]" → "a.b", "a.b" → "a".
func parent(p string) string {
	if strings.HasSuffix(p, "[]") {
		return p[:len(p)-2]
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}

// frame is one open object or array.
type frame struct {
	object  bool
	path    string // as shown: "items[2]"
	norm    string // as looked up: "items[]"
	key     string // object: the member being read ("" before its key)
	haveKey bool
	items   int // array: elements so far
}

// Check walks body and returns the first string or array that breaks the
// contract, as a shiplog EINVALID error naming the field. A body that is
// not JSON passes: the caller's decoder reports that in its own words.
func Check(body []byte, l *Limits) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var stack []*frame
	prev := int64(0)
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or not JSON: not this contract's to judge
		}
		off := dec.InputOffset()
		raw := body[prev:off]
		prev = off
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		// A key: the object's next member.
		if top != nil && top.object && !top.haveKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				valueDone(stack)
				continue
			}
			k, _ := tok.(string)
			if err := checkText(literal(raw), k); err != "" {
				return invalid("%s has a key that %s", owner(top.path), err)
			}
			if len(k) > MaxKey {
				return invalid("%s has a key longer than %d bytes", owner(top.path), MaxKey)
			}
			top.key, top.haveKey = k, true
			continue
		}
		path, norm := "", ""
		if top != nil {
			if top.object {
				path, norm = join(top.path, top.key), join(top.norm, top.key)
			} else {
				if d, ok := tok.(json.Delim); ok && d == ']' {
					stack = stack[:len(stack)-1]
					valueDone(stack)
					continue
				}
				path, norm = top.path+"["+strconv.Itoa(top.items)+"]", top.norm+"[]"
				if limit := l.ItemsAt(top.norm); top.items >= limit {
					return invalid("Field '%s' has too many items (the limit is %d)", shown(top.path), limit)
				}
			}
		}
		switch v := tok.(type) {
		case json.Delim:
			stack = append(stack, &frame{object: v == '{', path: path, norm: norm})
			continue
		case string:
			if err := checkText(literal(raw), v); err != "" {
				return invalid("Field '%s' %s", shown(path), err)
			}
			if limit := l.String(norm); len(v) > limit {
				return invalid("Field '%s' is too long (%d bytes; the limit is %d)", shown(path), len(v), limit)
			}
		}
		valueDone(stack)
	}
}

// valueDone records that the innermost container got a whole value.
func valueDone(stack []*frame) {
	if len(stack) == 0 {
		return
	}
	top := stack[len(stack)-1]
	if top.object {
		top.key, top.haveKey = "", false
	} else {
		top.items++
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func shown(path string) string {
	if path == "" {
		return "(the request body)"
	}
	return path
}

// owner names the object a key is in.
func owner(path string) string {
	if path == "" {
		return "The request body"
	}
	return "Field '" + path + "'"
}

func invalid(format string, args ...any) error {
	return shiplog.Errorf(shiplog.EINVALID, format, args...)
}

// literal cuts the string literal (quotes included) out of the bytes one
// Token call consumed: separators and spaces, then the literal.
func literal(raw []byte) []byte {
	if i := bytes.IndexByte(raw, '"'); i >= 0 {
		return raw[i:]
	}
	return raw
}

// checkText judges one string: lit is its literal as sent, s as decoded
// (encoding/json turns bad bytes and lone surrogates into U+FFFD, so those
// are judged on the literal). It returns what is wrong, or "".
func checkText(lit []byte, s string) string {
	if !utf8.Valid(lit) {
		return "is not valid UTF-8 (send text as UTF-8, e.g. convert Latin-1 before sending)"
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL character (\\u0000), which is not stored"
	}
	if loneSurrogate(lit) {
		return "contains an unpaired surrogate escape (\\ud800-\\udfff), which is not text"
	}
	return ""
}

// loneSurrogate reports a \uD800-\uDFFF escape that is not a high
// surrogate followed by a low one.
func loneSurrogate(lit []byte) bool {
	for i := 0; i < len(lit); i++ {
		if lit[i] != '\\' || i+1 >= len(lit) {
			continue
		}
		if lit[i+1] != 'u' {
			i++ // the escaped character, whatever it is
			continue
		}
		h, ok := hex4(lit, i+2)
		if !ok {
			return false // not JSON; the decoder says so
		}
		i += 5
		switch {
		case h >= 0xDC00 && h < 0xE000:
			return true
		case h >= 0xD800 && h < 0xDC00:
			if i+6 >= len(lit) || lit[i+1] != '\\' || lit[i+2] != 'u' {
				return true
			}
			l, ok := hex4(lit, i+3)
			if !ok || l < 0xDC00 || l >= 0xE000 {
				return true
			}
			i += 6
		}
	}
	return false
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[at:at+4]), 16, 32)
	return rune(n), err == nil
}

// Text judges one string outside a JSON body (a query parameter, a path
// segment) by the same rule; what names it in the error ("Query parameter
// 'product_name'"). Length is the caller's to bound.
func Text(what, s string) error {
	if err := checkText([]byte(s), s); err != "" {
		return invalid("%s %s", what, err)
	}
	return nil
}
