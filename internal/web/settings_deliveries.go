package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

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
	// State is the outcome filter ("" for all); Channels the org's
	// channels, for the channel filter.
	State    string
	States   []string
	Channels []apiv1.Channel
	// AnyFailed: the channel has failed deliveries to redeliver;
	// CanRedeliver: the viewer may.
	AnyFailed, CanRedeliver bool
}

// logStates are the outcome filter's choices.
var logStates = []string{string(shiplog.DeliveryFailed), string(shiplog.DeliverySucceeded), string(shiplog.DeliveryQueued),
	string(shiplog.DeliveryCancelled)}

// logURL is a channel's log with a filter and a page.
func logURL(id, state, cursor string) string {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	u := "/ui/settings/notifications/" + url.PathEscape(id) + "/deliveries"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// LogURL is this log's address with another page.
func (d deliveriesData) LogURL(cursor string) string { return logURL(d.C.ID, d.State, cursor) }

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
	q := r.URL.Query()
	d := deliveriesData{Cursor: q.Get("cursor"), State: q.Get("state"), States: logStates}
	if !slices.Contains(logStates, d.State) {
		d.State = ""
	}
	// The filter form names a channel; another one's log is its own page.
	if ch := q.Get("channel"); ch != "" && ch != id && shiplog.ValidID(ch) {
		http.Redirect(w, r, logURL(ch, d.State, ""), http.StatusSeeOther)
		return nil
	}
	if err := s.call(r, v, http.MethodGet, channelPath(id), nil, &d.C); err != nil {
		return err
	}
	d.Label = kindLabel(d.C.Kind)
	list, err := s.deliveryPage(r, v, id, d.State, d.Cursor)
	if err != nil {
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
	var chans apiv1.List[apiv1.Channel]
	if err := s.call(r, v, http.MethodGet, "/notification-channels/", nil, &chans); err != nil {
		return err
	}
	d.Channels = chans.Items
	d.CanRedeliver = v.May(http.MethodPost, "/notification-channels/{id}/recover")
	if d.CanRedeliver {
		failed, err := s.newestDelivery(r, v, id, shiplog.DeliveryFailed)
		if err != nil {
			return err
		}
		d.AnyFailed = failed != nil
	}
	return s.render(w, r, http.StatusOK, "settings_deliveries", v, d)
}

// deliveryPage is one page of a channel's log, narrowed to state if given.
func (s *Server) deliveryPage(r *http.Request, v *view, id, state, cursor string) (*apiv1.List[*shiplog.Delivery], error) {
	q := url.Values{"limit": {strconv.Itoa(deliveriesPerPage)}}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if state != "" {
		q.Set("state", state)
	}
	var list apiv1.List[*shiplog.Delivery]
	if err := s.call(r, v, http.MethodGet, channelPath(id)+"/deliveries?"+q.Encode(), nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

// redeliverFailed queues every failed delivery of the channel again: the
// API's recover since the beginning, as `POST …/recover` does for clients.
func (s *Server) redeliverFailed(w http.ResponseWriter, r *http.Request, v *view) error {
	id := r.PathValue("id")
	var out struct {
		Requeued int `json:"requeued"`
	}
	if err := s.call(r, v, http.MethodPost, channelPath(id)+"/recover", apiv1.RecoverInput{Since: time.Unix(0, 0).UTC().Format(time.RFC3339)}, &out); err != nil {
		return err
	}
	msg := "No failed deliveries to send again."
	switch {
	case out.Requeued == 1:
		msg = "Queued 1 failed delivery again; it keeps its webhook-id."
	case out.Requeued > 1:
		msg = "Queued " + strconv.Itoa(out.Requeued) + " failed deliveries again; each keeps its webhook-id."
	}
	return s.redirect(w, r, logURL(id, r.PostFormValue("state"), ""), msg)
}

// redeliver queues a finished delivery again: same payload, same webhook-id.
func (s *Server) redeliver(w http.ResponseWriter, r *http.Request, v *view) error {
	if err := s.call(r, v, http.MethodPost, "/deliveries/"+url.PathEscape(r.PathValue("delivery"))+"/redeliver", nil, nil); err != nil {
		return err
	}
	return s.redirect(w, r, "/ui/settings/notifications/"+url.PathEscape(r.PathValue("id"))+"/deliveries",
		"Queued the delivery again; it keeps its webhook-id, so receivers can tell it is the same one.")
}
