// Package stream serves an org's events live, as server-sent events that a
// reconnecting client resumes from its last event id without missing or
// repeating one (docs/stream.md). The store decides the order and what is
// final (store.StreamReader); the Hub only says when to look again.
package stream

import (
	"log/slog"
	"sync"
	"time"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Defaults for the Hub's zero fields.
const (
	// DefaultPoll is how often a stream looks for events nobody announced:
	// those committed by other replicas, and on PostgreSQL those held back
	// by the horizon of a transaction that did not come through this
	// process. It bounds their latency.
	DefaultPoll = time.Second
	// DefaultHeartbeat keeps proxies from closing an idle stream (many cut
	// at 60 s of silence) and lets the server notice departed clients.
	DefaultHeartbeat = 15 * time.Second
	// DefaultRetry is the reconnection delay suggested to clients.
	DefaultRetry = 3 * time.Second
	// DefaultPageSize is how many events one query reads; a resume after a
	// long gap streams in pages of this size.
	DefaultPageSize = 100
	// DefaultWriteTimeout ends a stream whose client stopped reading.
	DefaultWriteTimeout = 30 * time.Second
	// DefaultMaxPerOrg bounds an org's open streams on one server: each
	// costs a connection and a query a second, and one tenant's runaway
	// dashboards must not starve the others.
	DefaultMaxPerOrg = 100
)

// Hub wakes the streams of an org when its events are committed and serves
// them (Serve). One Hub serves the API and the console alike.
type Hub struct {
	Store store.StreamReader
	Log   *slog.Logger
	// BaseURL is the server's public URL, for links in the event bodies.
	BaseURL      string
	Poll         time.Duration
	Heartbeat    time.Duration
	Retry        time.Duration
	PageSize     int
	WriteTimeout time.Duration
	MaxPerOrg    int

	once sync.Once
	mu   sync.Mutex
	orgs map[string]map[*sub]struct{}
	// behind holds the streams whose org has committed events still held
	// back by PostgreSQL's horizon: any commit may release them.
	behind map[*sub]struct{}
	done   chan struct{}
	closed sync.Once
}

// sub is one stream waiting for its org's events.
type sub struct {
	org  string
	wake chan struct{} // capacity 1: a wake-up that arrives while busy is kept
}

func (h *Hub) init() {
	h.once.Do(func() {
		h.orgs = map[string]map[*sub]struct{}{}
		h.behind = map[*sub]struct{}{}
		h.done = make(chan struct{})
		if h.Log == nil {
			h.Log = slog.New(slog.DiscardHandler)
		}
	})
}

// Notify wakes the streams of orgID: events of that org were committed. It
// never blocks; call it after commit, from any goroutine.
func (h *Hub) Notify(orgID string) {
	h.init()
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.orgs[orgID] {
		s.signal()
	}
	// A commit of any org can move the horizon that holds these back.
	for s := range h.behind {
		s.signal()
	}
}

// Close ends every stream, now and later (register it with
// http.Server.RegisterOnShutdown: Shutdown waits for streams otherwise).
func (h *Hub) Close() {
	h.init()
	h.closed.Do(func() { close(h.done) })
}

func (s *sub) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (h *Hub) subscribe(orgID string) (*sub, error) {
	h.init()
	s := &sub{org: orgID, wake: make(chan struct{}, 1)}
	h.mu.Lock()
	defer h.mu.Unlock()
	if limit := orDefault(h.MaxPerOrg, DefaultMaxPerOrg); len(h.orgs[orgID]) >= limit {
		return nil, shiplog.Errorf(shiplog.ETOOMANY, "Too many open event streams for this organization (at most %d per server); close one and reconnect", limit)
	}
	if h.orgs[orgID] == nil {
		h.orgs[orgID] = map[*sub]struct{}{}
	}
	h.orgs[orgID][s] = struct{}{}
	return s, nil
}

func (h *Hub) unsubscribe(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.orgs[s.org], s)
	if len(h.orgs[s.org]) == 0 {
		delete(h.orgs, s.org)
	}
	delete(h.behind, s)
}

// setBehind records whether s waits on the horizon rather than on its org.
func (h *Hub) setBehind(s *sub, behind bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if behind {
		h.behind[s] = struct{}{}
	} else {
		delete(h.behind, s)
	}
}

func orDefault[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
