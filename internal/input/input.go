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
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
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
//
// It is one pass over the bytes (a request's body is checked before it is
// decoded, so this runs on every write): no tokens, no decoded values,
// except object keys, which name the fields.
func Check(body []byte, l *Limits) error {
	var stack []*frame
	for i := 0; ; {
		i = skipSpace(body, i)
		if i >= len(body) {
			return nil
		}
		c := body[i]
		if c == ',' || c == ':' {
			i++ // the decoder judges the separators
			continue
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		// A key: the object's next member.
		if top != nil && top.object && !top.haveKey {
			if c == '}' {
				stack = stack[:len(stack)-1]
				valueDone(stack)
				i++
				continue
			}
			s, next, ok := scanString(body, i)
			if !ok {
				return nil
			}
			if why := s.problem(); why != "" {
				return invalid("%s has a key that %s", owner(top.path), why)
			}
			if s.size > MaxKey {
				return invalid("%s has a key longer than %d bytes", owner(top.path), MaxKey)
			}
			top.key, top.haveKey = s.text(body[i:next]), true
			i = next
			continue
		}
		path, norm := "", ""
		if top != nil {
			if top.object {
				path, norm = join(top.path, top.key), join(top.norm, top.key)
			} else {
				if c == ']' {
					stack = stack[:len(stack)-1]
					valueDone(stack)
					i++
					continue
				}
				path, norm = top.path+"["+strconv.Itoa(top.items)+"]", top.norm+"[]"
				if limit := l.ItemsAt(top.norm); top.items >= limit {
					return invalid("Field '%s' has too many items (the limit is %d)", shown(top.path), limit)
				}
			}
		}
		switch c {
		case '{', '[':
			if len(stack) >= maxDepth {
				return nil // the decoder refuses such nesting
			}
			stack = append(stack, &frame{object: c == '{', path: path, norm: norm})
			i++
			continue
		case '"':
			s, next, ok := scanString(body, i)
			if !ok {
				return nil
			}
			if why := s.problem(); why != "" {
				return invalid("Field '%s' %s", shown(path), why)
			}
			if limit := l.String(norm); s.size > limit {
				return invalid("Field '%s' is too long (%d bytes; the limit is %d)", shown(path), s.size, limit)
			}
			i = next
		default:
			// A number, true, false or null: its syntax is the decoder's.
			j := i
			for j < len(body) && !delimiter(body[j]) {
				j++
			}
			if j == i {
				return nil // a stray '}' or ']'
			}
			i = j
		}
		valueDone(stack)
	}
}

// maxDepth is encoding/json's nesting limit: deeper bodies are not JSON to
// the decoder, so they are not this contract's either.
const maxDepth = 10000

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func delimiter(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', ':', '{', '}', '[', ']', '"':
		return true
	}
	return false
}

// scanned is what Check needs of one string literal.
type scanned struct {
	size    int  // bytes once decoded
	escaped bool // it has a backslash escape
	badUTF8 bool
	nul     bool
	lone    bool // an unpaired surrogate escape
}

// problem is what is wrong with the string, the first of: bad UTF-8, a NUL,
// a lone surrogate.
func (s scanned) problem() string {
	switch {
	case s.badUTF8:
		return "is not valid UTF-8 (send text as UTF-8, e.g. convert Latin-1 before sending)"
	case s.nul:
		return "contains a NUL character (\\u0000), which is not stored"
	case s.lone:
		return "contains an unpaired surrogate escape (\\ud800-\\udfff), which is not text"
	}
	return ""
}

// text decodes a checked literal (quotes included).
func (s scanned) text(lit []byte) string {
	if !s.escaped {
		return string(lit[1 : len(lit)-1])
	}
	var v string
	_ = json.Unmarshal(lit, &v) // checked: it is a valid literal
	return v
}

// scanString reads the string literal at b[i] (a '"'). ok is false when it
// is not a valid JSON string literal: unterminated, a control character, a
// bad escape. next is the index after its closing quote.
func scanString(b []byte, i int) (s scanned, next int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return s, i, false
	}
	for j := i + 1; j < len(b); {
		c := b[j]
		switch {
		case c == '"':
			return s, j + 1, true
		case c < 0x20:
			return s, j, false
		case c == '\\':
			s.escaped = true
			if j+1 >= len(b) {
				return s, j, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.size++
				j += 2
			case 'u':
				h, ok := hex4(b, j+2)
				if !ok {
					return s, j, false
				}
				j += 6
				switch {
				case h == 0:
					s.nul = true
					s.size++
				case h >= 0xDC00 && h < 0xE000:
					s.lone = true
					s.size += 3
				case h >= 0xD800 && h < 0xDC00:
					if l, ok := lowSurrogate(b, j); ok {
						s.size += utf8.RuneLen(utf16.DecodeRune(h, l))
						j += 6
					} else {
						s.lone = true
						s.size += 3
					}
				default:
					s.size += utf8.RuneLen(h)
				}
			default:
				return s, j, false
			}
		case c < utf8.RuneSelf:
			s.size++
			j++
		default:
			r, n := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && n <= 1 {
				s.badUTF8 = true
				s.size += 3 // the decoder's U+FFFD
				j++
				continue
			}
			s.size += n
			j += n
		}
	}
	return s, len(b), false
}

// lowSurrogate reads a \uDC00-\uDFFF escape at b[j].
func lowSurrogate(b []byte, j int) (rune, bool) {
	if j+1 >= len(b) || b[j] != '\\' || b[j+1] != 'u' {
		return 0, false
	}
	l, ok := hex4(b, j+2)
	return l, ok && l >= 0xDC00 && l < 0xE000
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

// checkText judges one string: lit is its literal as sent, s as decoded
// (encoding/json turns bad bytes and lone surrogates into U+FFFD, so those
// are judged on the literal). It returns what is wrong, or "".
func checkText(lit []byte, s string) string {
	return scanned{badUTF8: !utf8.Valid(lit), nul: strings.IndexByte(s, 0) >= 0, lone: loneSurrogate(lit)}.problem()
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
	var n rune
	for _, c := range b[at : at+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		n = n<<4 | rune(c)
	}
	return n, true
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
