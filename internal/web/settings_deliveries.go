package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/apiv1"
)

// A channel's delivery log: newest first, each delivery with every attempt.

// deliveriesPerPage keeps a page to one screenful of cards and its
// in-process calls (one per delivery, for the attempts) cheap.
const deliveriesPerPage = 20

type deliveryRow struct {
	D        apiv1.DeliveryDetail
	State    settingsBadge
	Attempts []attemptRow
	// Finished deliveries can be sent again; a queued one is still on its way.
	Finished bool
}

// attemptRow is one attempt; a short answer is shown as is, a long one
// folded away.
type attemptRow struct {
	*shiplog.Attempt
	Short bool
}

// shortAnswer is as much of a receiver's answer as the log shows unfolded.
const shortAnswer = 200

type deliveriesData struct {
	C      apiv1.Channel
	Label  string // the channel kind's tab
	Rows   []deliveryRow
	Next   string // cursor of the next (older) page; empty on the last
	Cursor string // this page's cursor; empty on the newest page
	// Pending: something on the page is still queued, so the page refreshes.
	Pending bool
}

var stateBadges = map[shiplog.DeliveryState]settingsBadge{
	shiplog.DeliveryQueued:    {"run", "◐", "queued"},
	shiplog.DeliverySucceeded: {"ok", "✓", "succeeded"},
	shiplog.DeliveryFailed:    {"bad", "✗", "failed"},
	shiplog.DeliveryCancelled: {"idle", "⊘", "cancelled"},
}

func stateBadge(s shiplog.DeliveryState) settingsBadge {
	if b, ok := stateBadges[s]; ok {
		return b
	}
	return settingsBadge{"idle", "⊘", string(s)}
}

func (s *Server) deliveriesPage(w http.ResponseWriter, r *http.Request, v *view) error {
	v.Nav = "settings"
	id := r.PathValue("id")
	d := deliveriesData{Cursor: r.URL.Query().Get("cursor")}
	if err := s.call(r, v, http.MethodGet, channelPath(id), nil, &d.C); err != nil {
		return err
	}
	d.Label = kindLabel(d.C.Kind)
	q := url.Values{"limit": {strconv.Itoa(deliveriesPerPage)}}
	if d.Cursor != "" {
		q.Set("cursor", d.Cursor)
	}
	var list apiv1.List[*shiplog.Delivery]
	if err := s.call(r, v, http.MethodGet, channelPath(id)+"/deliveries?"+q.Encode(), nil, &list); err != nil {
		return err
	}
	if list.NextCursor != nil {
		d.Next = *list.NextCursor
	}
	for _, dl := range list.Items {
		var det apiv1.DeliveryDetail
		if err := s.call(r, v, http.MethodGet, "/deliveries/"+url.PathEscape(dl.ID), nil, &det); err != nil {
			return err
		}
		row := deliveryRow{D: det, State: stateBadge(det.State), Finished: det.State != shiplog.DeliveryQueued}
		for _, a := range det.Attempts {
			row.Attempts = append(row.Attempts, attemptRow{Attempt: a, Short: len(a.ResponseBody) <= shortAnswer})
		}
		d.Pending = d.Pending || !row.Finished
		d.Rows = append(d.Rows, row)
	}
	if r.Header.Get("HX-Request") != "" {
		return s.fragment(w, "settings_deliveries", "log", v, d)
	}
	return s.render(w, r, http.StatusOK, "settings_deliveries", v, d)
}

// redeliver queues a finished delivery again: same payload, same webhook-id.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.call(r, v, http.MethodPost, "/deliveries/"+url.PathEscape(r.PathValue("delivery"))+"/redeliver", nil, nil); err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/settings/notifications/"+url.PathEscape(r.PathValue("id"))+"/deliveries",
		"Queued the delivery again; it keeps its webhook-id, so receivers can tell it is the same one.")
}
