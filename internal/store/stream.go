package store

import (
	"context"
	"errors"
	"math"
	"strconv"
	"strings"

	"github.com/shiplog/shiplog"
)

// StreamReader reads an org's event log in commit order, for live streams
// (internal/stream) that clients resume after the last position they saw.
type StreamReader interface {
	// EventStream returns up to limit of the org's events after the
	// position after, in commit order, each with its own position. It
	// returns only events whose place in that order is final: no event
	// committed later can sort before them, so a client that resumes after
	// the last position it received misses nothing and sees nothing twice.
	// A position this kind of store cannot have issued is ErrCursor.
	EventStream(ctx context.Context, orgID string, after Cursor, limit int) (*StreamPage, error)
	// EventStreamHead returns the end of the org's stream now: EventStream
	// after it returns the events committed from now on (on PostgreSQL
	// possibly also a few committed moments before).
	EventStreamHead(ctx context.Context, orgID string) (Cursor, error)
}

// StreamEvent is an event and its position in the stream.
type StreamEvent struct {
	Cursor Cursor
	Event  *shiplog.Event
}

// StreamPage is one read of a stream.
type StreamPage struct {
	Events []StreamEvent
	// Pending says the org has committed events that are not in the stream
	// yet because an older transaction is still running (PostgreSQL, see
	// Cursor): they come out as soon as it ends, so ask again soon.
	Pending bool
}

// MaxStreamPage bounds EventStream's limit.
const MaxStreamPage = 1000

// Cursor is a position in an org's event stream. Clients only ever see it as
// an opaque string (String, ParseCursor), the SSE event id.
//
// On SQLite one writer commits at a time, so an event's seq is its commit
// position: Tx is 0 and the string is the seq ("42").
//
// On PostgreSQL seq is taken at INSERT, not at COMMIT, and several
// transactions commit concurrently, so a lower seq can become visible after
// a higher one. There Tx is the id of the top-level transaction that wrote
// the event (xid8, never 0), the stream holds back every event of a
// transaction younger than the oldest write transaction still running, and
// the order is (Tx, Seq): the string is "<tx>-<seq>" ("1804-42").
// docs/stream.md has the argument.
//
// The zero Cursor ("0") is the start of the log on both drivers.
type Cursor struct {
	Tx  uint64
	Seq int64
}

// ErrCursor marks a cursor that is well formed but cannot have come from
// this kind of store (a SQLite position given to PostgreSQL, or the reverse).
var ErrCursor = errors.New("not a position of this store's event stream")

func (c Cursor) String() string {
	if c.Tx == 0 {
		return strconv.FormatInt(c.Seq, 10)
	}
	return strconv.FormatUint(c.Tx, 10) + "-" + strconv.FormatInt(c.Seq, 10)
}

// maxCursorLen is the longest String: 20 digits, "-", 19 digits.
const maxCursorLen = 40

// ParseCursor reads a cursor as String writes it, and only that way: exactly
// one spelling per position (no signs, spaces or leading zeros), so a client
// cannot hold two ids for one place.
func ParseCursor(s string) (Cursor, error) {
	if len(s) > maxCursorLen {
		return Cursor{}, errors.New("too long")
	}
	txPart, seqPart, two := strings.Cut(s, "-")
	if !two {
		seq, err := canonical(s, math.MaxInt64)
		return Cursor{Seq: int64(seq)}, err
	}
	tx, err := canonical(txPart, math.MaxUint64)
	if err != nil {
		return Cursor{}, err
	}
	if tx == 0 {
		return Cursor{}, errors.New("transaction part is 0")
	}
	seq, err := canonical(seqPart, math.MaxInt64)
	if err != nil {
		return Cursor{}, err
	}
	return Cursor{Tx: tx, Seq: int64(seq)}, nil
}

// canonical parses a decimal number written without sign or leading zeros.
func canonical(s string, max uint64) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, errors.New("leading zero")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > max {
		return 0, errors.New("out of range")
	}
	return n, nil
}
