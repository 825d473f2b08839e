package client

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// APIError is an HTTP answer outside 2xx (after retries, for 5xx and 429).
type APIError struct {
	StatusCode int
	// Message is the server's explanation: the "detail" text, the joined
	// validation messages, or a block's message.
	Message string
	// Block is set when the answer is a preflight rejection (409, 423 or
	// 428 with the preflight body): the deployment must not go ahead.
	Block *Block
	// Body is the response body as received.
	Body     []byte
	Attempts int
	// kind lets errors.Is match ErrNoPreflight.
	kind error
}

// ErrNoPreflight matches the APIError of a server without POST /preflight/.
var ErrNoPreflight = errors.New("this server has no preflight endpoint")

func (e *APIError) Error() string {
	if e.Block != nil {
		return fmt.Sprintf("deployment blocked (%d %s): %s", e.StatusCode, e.Block.Code, e.Block.Message)
	}
	if e.kind != nil {
		return fmt.Sprintf("%v (POST /preflight/ answered %d: %s)", e.kind, e.StatusCode, e.Message)
	}
	tries := ""
	if e.Attempts > 1 {
		tries = fmt.Sprintf(" (%d attempts)", e.Attempts)
	}
	return fmt.Sprintf("%d %s: %s%s", e.StatusCode, http.StatusText(e.StatusCode), e.Message, tries)
}

// Is makes errors.Is(err, ErrNoPreflight) work.
func (e *APIError) Is(target error) bool { return e.kind != nil && target == e.kind }

// Blocked reports whether the server refused the deployment by a preflight rule.
func (e *APIError) Blocked() bool { return e.Block != nil }

// Block is the preflight rejection body (Versioner §4.6), which servers send
// under "detail" (and older documentation shows at the top level).
type Block struct {
	Error   string `json:"error"`
	Message string `json:"message"`
	Code    string `json:"code"`
	// RetryAfter is when trying again may succeed (RFC 3339), if the rule knows.
	RetryAfter string          `json:"retry_after,omitempty"`
	Details    json.RawMessage `json:"details,omitempty"`
}

// RuleName is details.rule_name: the rule that blocked, if given.
func (b *Block) RuleName() string { return b.detail("rule_name") }

// Reason is details.reason (schedule windows carry one), if given.
func (b *Block) Reason() string { return b.detail("reason") }

func (b *Block) detail(name string) string {
	var d map[string]any
	if json.Unmarshal(b.Details, &d) != nil {
		return ""
	}
	return scalar(d[name])
}

// scalar renders a JSON string or number as text; anything else is "".
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64, bool, json.Number:
		return fmt.Sprint(v)
	}
	return ""
}

// blockStatus reports whether an HTTP status can carry a preflight block.
func blockStatus(status int) bool {
	return status == http.StatusConflict || status == http.StatusLocked || status == http.StatusPreconditionRequired
}

// parseBlock reads a preflight body: an object with a message and an error or
// code. Anything else (a version-immutability 409's string detail) is nil.
func parseBlock(raw json.RawMessage) *Block {
	var w struct {
		Error      string          `json:"error"`
		Message    string          `json:"message"`
		Code       string          `json:"code"`
		RetryAfter any             `json:"retry_after"`
		Details    json.RawMessage `json:"details"`
	}
	if json.Unmarshal(raw, &w) != nil || (w.Error == "" && w.Code == "") {
		return nil
	}
	b := &Block{Error: w.Error, Message: w.Message, Code: w.Code, RetryAfter: scalar(w.RetryAfter)}
	if d := bytes.TrimSpace(w.Details); len(d) > 0 && !bytes.Equal(d, []byte("null")) {
		b.Details = d
	}
	if b.Message == "" {
		b.Message = cmp.Or(b.Code, b.Error)
	}
	return b
}

// newAPIError reads an error body: {"detail": "text"}, {"detail": [FastAPI
// validation errors]}, {"detail": {preflight block}} or a top-level block.
func newAPIError(status int, body []byte, attempts int) *APIError {
	e := &APIError{StatusCode: status, Body: body, Attempts: attempts}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		// A proxy's page: its first line if it is short text, else the status.
		line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
		e.Message = strings.TrimSpace(line)
		if e.Message == "" || len(e.Message) > 200 || strings.HasPrefix(e.Message, "<") || !utf8.ValidString(e.Message) {
			e.Message = cmp.Or(http.StatusText(status), fmt.Sprintf("HTTP %d", status))
		}
		return e
	}
	detail := bytes.TrimSpace(top["detail"])
	switch {
	case len(detail) > 0 && detail[0] == '"':
		_ = json.Unmarshal(detail, &e.Message)
	case len(detail) > 0 && detail[0] == '[':
		e.Message = validationMessage(detail)
	case len(detail) > 0 && detail[0] == '{':
		if b := parseBlock(detail); b != nil && blockStatus(status) {
			e.Block = b
		} else if b != nil {
			e.Message = b.Message
		}
	case blockStatus(status):
		e.Block = parseBlock(body)
	}
	if e.Block != nil {
		e.Message = e.Block.Message
	}
	if e.Message == "" {
		e.Message = cmp.Or(http.StatusText(status), fmt.Sprintf("HTTP %d", status))
	}
	return e
}

// validationMessage joins FastAPI-style [{"loc": [...], "msg": "..."}] errors.
func validationMessage(raw json.RawMessage) string {
	var items []struct {
		Loc []any  `json:"loc"`
		Msg string `json:"msg"`
	}
	if json.Unmarshal(raw, &items) != nil {
		return string(raw)
	}
	var parts []string
	for _, it := range items {
		var loc []string
		for _, l := range it.Loc {
			loc = append(loc, fmt.Sprint(l))
		}
		parts = append(parts, strings.TrimPrefix(strings.Join(loc, "."), "body.")+": "+it.Msg)
	}
	return strings.Join(parts, "; ")
}
