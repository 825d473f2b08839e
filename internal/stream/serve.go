package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/delivery"
	"github.com/shiplog/shiplog/internal/notify/webhook"
	"github.com/shiplog/shiplog/internal/store"
)

// LastEventID returns where a client resumes: the Last-Event-ID header that
// a reconnecting EventSource sends, else the last_event_id query parameter
// (EventSource cannot set headers on its first connection). "" is neither.
func LastEventID(r *http.Request) string {
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		return id
	}
	return r.URL.Query().Get("last_event_id")
}

func badID(id string) error {
	if len(id) > 64 {
		id = id[:64] + "…"
	}
	return shiplog.Errorf(shiplog.EINVALID, "The last event id %q (Last-Event-ID or last_event_id) is not a position in this server's event stream; "+
		"connect without it to start at the end of the stream, or with 0 to replay from the start", id)
}

// Serve streams orgID's events to one client as server-sent events, until
// the client leaves, the request's context ends or the Hub is closed.
// lastEventID is where the client resumes ("" is the end of the stream: new
// events only; "0" the start of the log); f selects event types.
//
// Serve returns an error only when it has written nothing (a malformed id,
// the database unreachable), for the caller to answer as usual. Once the
// stream has begun, a failure ends it: the client reconnects with its last
// id and misses nothing.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, orgID, lastEventID string, f Filter) error {
	h.init()
	ctx := r.Context()
	var from store.Cursor
	var err error
	if lastEventID == "" {
		if from, err = h.Store.EventStreamHead(ctx, orgID); err != nil {
			return err
		}
	} else if from, err = store.ParseCursor(lastEventID); err != nil {
		return badID(lastEventID)
	}
	// Subscribed before the first read, so no commit after it goes unheard.
	s, err := h.subscribe(orgID)
	if err != nil {
		return err
	}
	defer h.unsubscribe(s)
	size := orDefault(h.PageSize, DefaultPageSize)
	page, err := h.Store.EventStream(ctx, orgID, from, size)
	if errors.Is(err, store.ErrCursor) {
		return badID(lastEventID)
	}
	if err != nil {
		return err
	}

	c := &conn{w: w, rc: http.NewResponseController(w), timeout: orDefault(h.WriteTimeout, DefaultWriteTimeout)}
	// The connection may serve further requests after a stream that ended
	// cleanly; they must not inherit its write deadline.
	defer func() { _ = c.rc.SetWriteDeadline(time.Time{}) }()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // nginx: pass frames on as they come
	w.WriteHeader(http.StatusOK)
	c.printf("retry: %d\n", orDefault(h.Retry, DefaultRetry).Milliseconds())
	if lastEventID == "" {
		// An id without data moves the client's resume point (EventSource
		// fires no event for it): it resumes from here even if it leaves
		// before the first event.
		c.printf("id: %s\n", from)
	}
	c.buf = append(c.buf, '\n')

	ss := &session{h: h, sub: s, c: c, orgID: orgID, filter: f, size: size, cur: from, sent: from,
		poll: time.NewTicker(orDefault(h.Poll, DefaultPoll)), heartbeat: time.NewTicker(orDefault(h.Heartbeat, DefaultHeartbeat)),
		retry: time.NewTimer(time.Hour)}
	ss.retry.Stop()
	defer ss.poll.Stop()
	defer ss.heartbeat.Stop()
	ss.run(ctx, page)
	return nil
}

// session is one stream being served.
type session struct {
	h      *Hub
	sub    *sub
	c      *conn
	orgID  string
	filter Filter
	size   int
	// cur is how far the stream has read; sent the last id the client got.
	cur, sent store.Cursor

	poll, heartbeat *time.Ticker
	retry           *time.Timer // soon again, while events wait on the horizon
	backoff         time.Duration
}

// run sends page and every page after it until the stream ends.
func (ss *session) run(ctx context.Context, page *store.StreamPage) {
	for {
		if err := ss.send(page); err != nil {
			return // the client left or stopped reading
		}
		if len(page.Events) < ss.size && !ss.wait(ctx, page.Pending, len(page.Events) > 0) {
			return
		}
		select {
		case <-ss.h.done:
			return
		default:
		}
		var err error
		if page, err = ss.h.Store.EventStream(ctx, ss.orgID, ss.cur, ss.size); err != nil {
			if ctx.Err() == nil {
				ss.h.Log.Warn("stream: read failed; ending the stream", "org_id", ss.orgID, "err", err)
			}
			return
		}
	}
}

// send writes the page's events that pass the filter.
func (ss *session) send(page *store.StreamPage) error {
	for _, se := range page.Events {
		ss.cur = se.Cursor
		if !ss.filter.Match(se.Event.Type) {
			continue
		}
		data, err := ss.h.render(se.Event)
		if err != nil {
			// The same event would fail its webhook deliveries too.
			ss.h.Log.Error("stream: event not rendered; skipped", "event_id", se.Event.ID, "err", err)
			continue
		}
		ss.c.event(ss.cur, se.Event.Type, data)
		ss.sent = ss.cur
	}
	return ss.c.flush()
}

// wait returns when the stream should read again: its org committed, the
// poll ticked, or (pending: events held back by PostgreSQL's horizon) any
// commit or a short retry, growing while the stream makes no progress. It
// sends heartbeats meanwhile, and returns false when the stream is over.
func (ss *session) wait(ctx context.Context, pending, progressed bool) bool {
	ss.h.setBehind(ss.sub, pending)
	var retry <-chan time.Time
	if pending {
		if progressed {
			ss.backoff = 0
		}
		ss.backoff = min(max(2*ss.backoff, 10*time.Millisecond), orDefault(ss.h.Poll, DefaultPoll))
		ss.retry.Reset(ss.backoff)
		retry = ss.retry.C
	} else {
		ss.backoff = 0
		ss.retry.Stop()
	}
	for {
		select {
		case <-ctx.Done():
			return false
		case <-ss.h.done:
			return false
		case <-ss.sub.wake:
			return true
		case <-ss.poll.C:
			return true
		case <-retry:
			return true
		case <-ss.heartbeat.C:
			ss.c.buf = append(ss.c.buf, ": heartbeat\n"...)
			if ss.sent != ss.cur {
				// Events the filter dropped: move the resume point past
				// them, so a reconnect does not read them again.
				ss.c.printf("id: %s\n", ss.cur)
				ss.sent = ss.cur
			}
			ss.c.buf = append(ss.c.buf, '\n')
			if err := ss.c.flush(); err != nil {
				return false
			}
		}
	}
}

// render returns an event's frame data: the JSON body a webhook receiver
// gets for it, so consumers parse both the same way. It is one line: the
// renderers write compact JSON, and anything else is compacted.
func (h *Hub) render(e *shiplog.Event) ([]byte, error) {
	data, err := webhook.Body(delivery.Message(e, h.BaseURL))
	if err != nil {
		return nil, err
	}
	if bytes.ContainsAny(data, "\r\n") {
		var b bytes.Buffer
		if err := json.Compact(&b, data); err != nil {
			return nil, err
		}
		data = b.Bytes()
	}
	return data, nil
}

// conn buffers frames and writes them in one go, flushed at once.
type conn struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	buf     []byte
	timeout time.Duration
}

func (c *conn) printf(format string, args ...any) { c.buf = fmt.Appendf(c.buf, format, args...) }

func (c *conn) event(id store.Cursor, t shiplog.EventType, data []byte) {
	c.buf = append(c.buf, "id: "...)
	c.buf = append(c.buf, id.String()...)
	c.buf = append(c.buf, "\nevent: "...)
	c.buf = append(c.buf, t...)
	c.buf = append(c.buf, "\ndata: "...)
	c.buf = append(c.buf, data...)
	c.buf = append(c.buf, "\n\n"...)
}

// flush writes the buffered frames; a client that stops reading for the
// write timeout is dropped.
func (c *conn) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	_ = c.rc.SetWriteDeadline(time.Now().Add(c.timeout))
	if _, err := c.w.Write(c.buf); err != nil {
		return err
	}
	c.buf = c.buf[:0]
	return c.rc.Flush()
}
