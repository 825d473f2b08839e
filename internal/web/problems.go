package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
	"github.com/shiplog/shiplog/internal/rule"
)

// Problems an on-call engineer must see without looking for them: channels
// that fail or that shiplog switched off, and no-deploy windows blocking
// deployments now. Home shows them in a banner, each with a link to where
// it is fixed.

// health is how a channel is doing, told from its switch, the worker's
// failure mark and its own deliveries: a channel that never delivered is
// not "healthy", and one switched off and on while failing (which clears
// the mark) still fails until a delivery succeeds.
type health struct {
	Badge settingsBadge
	// Problem: failing or switched off by shiplog (Home's banner).
	Problem bool
	// FailingSince is the worker's mark; LastFailed the newest failed
	// delivery's end when it is newer than every success.
	FailingSince, LastFailed *time.Time
	LastError                string
	Answer                   string     // the receiver's answer to that delivery's last attempt, shortened
	LastDelivered            *time.Time // the newest success; nil: never
}

// newestDelivery is the channel's newest delivery in one of states, nil
// when it has none.
func (s *Server) newestDelivery(r *http.Request, v *view, id string, states ...shiplog.DeliveryState) (*shiplog.Delivery, error) {
	words := make([]string, len(states))
	for i, st := range states {
		words[i] = string(st)
	}
	var list apiv1.List[*shiplog.Delivery]
	q := url.Values{"limit": {"1"}, "state": {strings.Join(words, ",")}}
	if err := s.call(r, v, http.MethodGet, channelPath(id)+"/deliveries?"+q.Encode(), nil, &list); err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		return nil, nil
	}
	return list.Items[0], nil
}

func (s *Server) healthOf(r *http.Request, v *view, c *shiplog.Channel) (health, error) {
	var h health
	last, err := s.newestDelivery(r, v, c.ID, shiplog.DeliverySucceeded, shiplog.DeliveryFailed)
	if err != nil {
		return h, err
	}
	ok := last
	if last != nil && last.State == shiplog.DeliveryFailed {
		h.LastError, h.LastFailed = last.LastError, last.CompletedAt
		if h.LastFailed == nil {
			h.LastFailed = &last.UpdatedAt
		}
		// Why it failed is often in the receiver's answer, not the status.
		var det apiv1.DeliveryDetail
		if err := s.call(r, v, http.MethodGet, "/deliveries/"+url.PathEscape(last.ID), nil, &det); err != nil {
			return h, err
		}
		if n := len(det.Attempts); n > 0 {
			h.Answer = answerExcerpt(det.Attempts[n-1].ResponseBody, 200)
		}
		if ok, err = s.newestDelivery(r, v, c.ID, shiplog.DeliverySucceeded); err != nil {
			return h, err
		}
	}
	if ok != nil {
		h.LastDelivered = ok.CompletedAt
		if h.LastDelivered == nil {
			h.LastDelivered = &ok.UpdatedAt
		}
	}
	h.FailingSince = c.FailingSince
	failing := c.FailingSince != nil || h.LastFailed != nil
	switch {
	case !c.Enabled && c.DisabledReason != "":
		h.Badge, h.Problem = settingsBadge{"bad", "✗", "disabled by shiplog"}, true
	case !c.Enabled:
		h.Badge = settingsBadge{"idle", "⊘", "off"}
	case failing:
		h.Badge, h.Problem = settingsBadge{"bad", "✗", "failing"}, true
	case h.LastDelivered == nil:
		h.Badge = settingsBadge{"idle", "○", "never delivered"}
	default:
		h.Badge = settingsBadge{"ok", "✓", "healthy"}
	}
	return h, nil
}

// channelProblem is a channel on Home's banner.
type channelProblem struct {
	C apiv1.Channel
	H health
}

// blockingRule is a no-deploy window in force now.
type blockingRule struct {
	R      ruleRow
	Until  time.Time // zero: no end found
	Scope  string    // which deployments it blocks, in words
	Reason string
}

type problems struct {
	Channels []channelProblem
	Rules    []blockingRule
}

func (p *problems) Any() bool { return p != nil && (len(p.Channels) > 0 || len(p.Rules) > 0) }

// problems gathers what Home's banner shows, as far as the viewer may read.
func (s *Server) problems(r *http.Request, v *view) (*problems, error) {
	p := &problems{}
	if v.May(http.MethodGet, "/notification-channels/") {
		var list apiv1.List[apiv1.Channel]
		if err := s.call(r, v, http.MethodGet, "/notification-channels/", nil, &list); err != nil {
			return nil, err
		}
		for _, c := range list.Items {
			h, err := s.healthOf(r, v, c.Channel)
			if err != nil {
				return nil, err
			}
			if h.Problem {
				p.Channels = append(p.Channels, channelProblem{C: c, H: h})
			}
		}
	}
	if v.May(http.MethodGet, "/deployment-rules/") {
		var list struct{ Items []ruleRow }
		if err := s.call(r, v, http.MethodGet, "/deployment-rules/", nil, &list); err != nil {
			return nil, err
		}
		p.Rules = blockingNow(list.Items, s.Clock.Now())
	}
	return p, nil
}

// blockingNow keeps the enabled schedule rules whose window holds now
// (report-only rules warn but never block).
func blockingNow(rules []ruleRow, now time.Time) []blockingRule {
	var out []blockingRule
	for _, rr := range rules {
		if rr.Type != rule.TypeSchedule || rr.Status != rule.StatusEnabled || rr.Schedule == nil {
			continue
		}
		w, active, err := rr.Schedule.Active(now)
		if err != nil || !active {
			continue
		}
		out = append(out, blockingRule{R: rr, Until: w.End, Scope: ruleScope(rr.Rule), Reason: rr.Schedule.Reason})
	}
	slices.SortFunc(out, func(a, b blockingRule) int { return strings.Compare(a.R.Name, b.R.Name) })
	return out
}

// ruleScope says which deployments a rule applies to.
func ruleScope(r rule.Rule) string {
	what, where := "every product", "every environment"
	if len(r.ProductNames) > 0 {
		what = strings.Join(r.ProductNames, ", ")
	}
	if len(r.EnvironmentNames) > 0 {
		where = strings.Join(r.EnvironmentNames, ", ")
	}
	return what + " to " + where
}
