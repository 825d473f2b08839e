package client

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/shiplog/shiplog/apiv1"
)

// Verdict is the server's answer to a preflight question.
type Verdict struct {
	Allowed bool `json:"allowed"`
	// Block says why not, when not allowed.
	Block *Block `json:"block,omitempty"`
	// Rules are the rules the server evaluated, when it lists them;
	// Warnings picks the report-only violations.
	Rules      []RuleResult    `json:"rules_evaluated,omitempty"`
	StatusCode int             `json:"status_code"`
	Body       json.RawMessage `json:"response,omitempty"`
}

// Preflight asks the server whether a deployment would be allowed now,
// recording nothing (POST /preflight/). A block is a Verdict with Allowed
// false, not an error. A server without the endpoint answers an error that
// matches ErrNoPreflight.
func (c *Client) Preflight(ctx context.Context, req *apiv1.PreflightInput) (*Verdict, error) {
	var raw json.RawMessage
	err := c.do(ctx, http.MethodPost, "/preflight/", req, false, &raw)
	var ae *APIError
	switch {
	case errors.As(err, &ae) && ae.Block != nil:
		return &Verdict{Allowed: false, Block: ae.Block, StatusCode: ae.StatusCode, Body: ae.Body}, nil
	case errors.As(err, &ae) && noRoute(ae):
		ae.kind = ErrNoPreflight
		return nil, ae
	case err != nil:
		return nil, err
	}
	return parseVerdict(raw), nil
}

// noRoute tells "this server has no such endpoint" from a 404 the endpoint
// itself gives: 405, or 404 with the router's own message (shiplog's "No
// route for …", FastAPI's "Not Found").
func noRoute(e *APIError) bool {
	if e.StatusCode == http.StatusMethodNotAllowed {
		return true
	}
	m := strings.ToLower(e.Message)
	return e.StatusCode == http.StatusNotFound && (strings.HasPrefix(m, "no route for") || m == "not found")
}

// parseVerdict reads a 2xx preflight answer. It accepts "allowed" or
// "blocked" booleans, a block under "detail" or "block", and the evaluated
// rules at the top level or under "preflight_status". No verdict field
// means allowed: the server answered 2xx.
func parseVerdict(raw json.RawMessage) *Verdict {
	v := &Verdict{Allowed: true, StatusCode: http.StatusOK, Body: raw}
	var w struct {
		Allowed         *bool           `json:"allowed"`
		Blocked         *bool           `json:"blocked"`
		Detail          json.RawMessage `json:"detail"`
		Block           json.RawMessage `json:"block"`
		RulesEvaluated  []RuleResult    `json:"rules_evaluated"`
		PreflightStatus json.RawMessage `json:"preflight_status"`
	}
	if json.Unmarshal(raw, &w) != nil {
		return v
	}
	if w.Allowed != nil {
		v.Allowed = *w.Allowed
	} else if w.Blocked != nil {
		v.Allowed = !*w.Blocked
	}
	if !v.Allowed {
		v.Block = parseBlock(w.Detail)
		if v.Block == nil {
			v.Block = parseBlock(w.Block)
		}
	}
	v.Rules = w.RulesEvaluated
	if len(v.Rules) == 0 {
		v.Rules = rulesOf(w.PreflightStatus)
	}
	return v
}

// RuleResult is one evaluated rule, as servers list them in
// extra_metadata.preflight_status.rules_evaluated.
type RuleResult struct {
	RuleName         string `json:"rule_name"`
	ErrorMessage     string `json:"error_message,omitempty"`
	Status           string `json:"status,omitempty"`            // the rule's mode: enabled, report_only
	EvaluationResult string `json:"evaluation_result,omitempty"` // passed, failed, …
}

// ReportOnlyViolation is a rule that failed but only reports: the
// deployment went ahead, and the pipeline should show a warning.
func (r RuleResult) ReportOnlyViolation() bool {
	return strings.EqualFold(r.Status, "report_only") && strings.EqualFold(r.EvaluationResult, "failed")
}

// Warnings returns the report-only violations among rules.
func Warnings(rules []RuleResult) []RuleResult {
	var out []RuleResult
	for _, r := range rules {
		if r.ReportOnlyViolation() {
			out = append(out, r)
		}
	}
	return out
}

// RulesEvaluated reads extra_metadata.preflight_status.rules_evaluated from
// an event response's metadata; anything unreadable is none.
func RulesEvaluated(extraMetadata json.RawMessage) []RuleResult {
	var m struct {
		PreflightStatus json.RawMessage `json:"preflight_status"`
	}
	if json.Unmarshal(extraMetadata, &m) != nil {
		return nil
	}
	return rulesOf(m.PreflightStatus)
}

func rulesOf(preflightStatus json.RawMessage) []RuleResult {
	var ps struct {
		RulesEvaluated []RuleResult `json:"rules_evaluated"`
	}
	if json.Unmarshal(preflightStatus, &ps) != nil {
		return nil
	}
	return ps.RulesEvaluated
}
