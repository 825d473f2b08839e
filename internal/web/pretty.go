package web

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Limits of a JSON document as the console shows it. A pipeline's
// extra_metadata is its own JSON, up to the API's 1 MB body: indented
// naively, 10 KB of nesting 5,000 deep becomes 100 MB of leading spaces
// (each line is indented by its depth). Past maxIndentDepth the rest of a
// value is written compact, so indentation adds at most 2×maxIndentDepth
// bytes a line, and the whole text stops at maxPrettyBytes with a note
// pointing at the raw document.
const (
	maxIndentDepth = 12
	maxPrettyBytes = 64 << 10
	// maxPageJSON bounds all documents of one page together: a run's
	// timeline shows each event as received, and a run may have many.
	maxPageJSON = 512 << 10
)

// prettyText is a JSON document indented for reading, within the limits
// above. Cut tells the page to offer the raw JSON instead.
type prettyText struct {
	Text string
	Cut  bool
}

// prettyJSON indents raw in one pass over its bytes (linear in its size,
// never much more than limit bytes out). raw that is not valid JSON is
// shown as it is, cut the same way.
func prettyJSON(raw []byte, limit int) prettyText {
	t := bytes.TrimSpace(raw)
	if !json.Valid(t) {
		return cut(t, limit)
	}
	var out bytes.Buffer
	depth := 0
	inString, escaped := false, false
	newline := func(d int) {
		out.WriteByte('\n')
		for range min(d, maxIndentDepth) {
			out.WriteString("  ")
		}
	}
	for i := 0; i < len(t); i++ {
		if out.Len() >= limit {
			return prettyText{Text: runeSafe(out.Bytes()) + "\n…", Cut: true}
		}
		c := t[i]
		if inString {
			out.WriteByte(c)
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			continue
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			// the input's own whitespace is dropped; ours replaces it
		case '"':
			inString = true
			out.WriteByte(c)
		case '{', '[':
			out.WriteByte(c)
			// An empty object or array stays on one line.
			j := i + 1
			for j < len(t) && isSpace(t[j]) {
				j++
			}
			if j < len(t) && (t[j] == '}' || t[j] == ']') {
				out.WriteByte(t[j])
				i = j
				continue
			}
			depth++
			if depth <= maxIndentDepth {
				newline(depth)
			}
		case '}', ']':
			depth--
			if depth < maxIndentDepth {
				newline(depth)
			}
			out.WriteByte(c)
		case ',':
			out.WriteByte(c)
			if depth <= maxIndentDepth {
				newline(depth)
			}
		case ':':
			out.WriteByte(c)
			if depth <= maxIndentDepth {
				out.WriteByte(' ')
			}
		default:
			out.WriteByte(c)
		}
	}
	return prettyText{Text: out.String()}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func cut(t []byte, limit int) prettyText {
	if len(t) > limit {
		return prettyText{Text: runeSafe(t[:limit]) + "\n…", Cut: true}
	}
	return prettyText{Text: string(t)}
}

// runeSafe drops a UTF-8 sequence the cut split in two.
func runeSafe(b []byte) string {
	for i := 0; i < utf8.UTFMax && len(b) > 0; i++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size > 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return string(b)
}
