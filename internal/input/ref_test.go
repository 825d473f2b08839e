package input

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// refCheck is the first Check, built on encoding/json's Decoder.Token: the
// reference the scanner must agree with on every valid JSON body. It walks body and returns the first string or array that breaks the
// contract, as a shiplog EINVALID error naming the field. A body that is
// not JSON passes: the caller's decoder reports that in its own words.
func refCheck(body []byte, l *Limits) error {
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

// literal cuts the string literal (quotes included) out of the bytes one
// Token call consumed: separators and spaces, then the literal.
func literal(raw []byte) []byte {
	if i := bytes.IndexByte(raw, '"'); i >= 0 {
		return raw[i:]
	}
	return raw
}
