package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shiplog/shiplog"
	"github.com/shiplog/shiplog/internal/store"
)

// Times are stored as integer microseconds since the epoch on both drivers:
// they compare correctly in SQL everywhere (SQLite has no time type) and
// PostgreSQL's timestamptz precision is the microsecond anyway.
func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

func nullMicros(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMicro()
}

func timePtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMicros(v.Int64)
	return &t
}

func strPtr(v sql.NullString) *string {
	if !v.Valid {
		return nil
	}
	s := v.String
	return &s
}

func nullStr(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func jsonText(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

// rawJSON is stored JSON as it is served. SQLite databases written before
// the input contract (internal/input) may hold bytes that are not UTF-8
// inside a string; they become U+FFFD here, so every answer built from a
// row is still valid JSON. (Such bytes can only sit inside strings: JSON
// outside them is ASCII.)
func rawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid || v.String == "" {
		return nil
	}
	if !utf8.ValidString(v.String) {
		return json.RawMessage(strings.ToValidUTF8(v.String, "\uFFFD"))
	}
	return json.RawMessage(v.String)
}

func limitOf(p store.Page) int {
	switch {
	case p.Limit <= 0:
		return store.DefaultLimit
	case p.Limit > store.MaxLimit:
		return store.MaxLimit
	}
	return p.Limit
}

// pageClause appends the cursor condition and returns ORDER/LIMIT text. The
// ids are time-ordered, so "newest first" is "id descending".
func pageClause(where []string, args []any, col string, p store.Page) ([]string, []any, string) {
	if p.Cursor != "" {
		where = append(where, col+" < ?")
		args = append(args, p.Cursor)
	}
	args = append(args, limitOf(p))
	return where, args, " ORDER BY " + col + " DESC LIMIT ?"
}

// timePageClause pages newest first by a time expression (tie: id). The
// cursor stays the last row's id: the row's own time is read back from
// table (its column expression timeOfRow), so a cursor is never a time a
// client could forge. Times are integer microseconds on both drivers.
func timePageClause(where []string, args []any, timeExpr, table, timeOfRow, idCol string, p store.Page) ([]string, []any, string) {
	if p.Cursor != "" {
		cur := `(SELECT ` + timeOfRow + ` FROM ` + table + ` WHERE id = ?)`
		where = append(where, `(`+timeExpr+` < `+cur+` OR (`+timeExpr+` = `+cur+` AND `+idCol+` < ?))`)
		args = append(args, p.Cursor, p.Cursor, p.Cursor)
	}
	args = append(args, limitOf(p))
	return where, args, " ORDER BY " + timeExpr + " DESC, " + idCol + " DESC LIMIT ?"
}

// credentialText stores a credential as JSON; nil is NULL.
func credentialText(c *shiplog.Credential) any {
	if c == nil {
		return nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil // a struct of strings always marshals
	}
	return string(b)
}

func credentialOf(v sql.NullString) (*shiplog.Credential, error) {
	if !v.Valid || v.String == "" {
		return nil, nil
	}
	var c shiplog.Credential
	if err := json.Unmarshal([]byte(v.String), &c); err != nil {
		return nil, fmt.Errorf("stored credential: %w", err)
	}
	return &c, nil
}
