package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/shiplog/shiplog"
)

// A run kind's columns are one table (deploymentColumns, buildColumns):
// SELECT, INSERT, UPDATE and the scan are made from it once, at init, so a
// column is added in one place. R is the record: shiplog.Deployment or
// shiplog.Build.
type runColumn[R any] struct {
	// expr is what SELECT reads: the run's own column (alias.name) or a
	// joined one (p.name), which has no name and is never written.
	expr, name string
	// once: written by INSERT only (what names the run, and created_at).
	once  bool
	value func(*R) any // the argument written
	dest  func(*R) any // the scan target, into the record
}

// runTable is a kind's columns and the statements made from them.
type runTable[R any] struct {
	cols []runColumn[R]
	// list is the SELECT list, and bound the same with each joined column
	// a parameter instead (CAST(? AS TEXT)), for a caller that knows the
	// names: no join on the hot path. insert and update are the statements
	// (update ends in "WHERE id = ?"), nInsert and nUpdate count their
	// arguments.
	list, bound, insert, update string
	nInsert, nUpdate            int
}

func newRunTable[R any](table, alias string, cols []runColumn[R]) *runTable[R] {
	t := &runTable[R]{cols: cols}
	var list, bound, names, marks, sets []string
	for i := range cols {
		c := &cols[i]
		if c.name == "" {
			list, bound = append(list, c.expr), append(bound, "CAST(? AS TEXT)")
			continue
		}
		c.expr = alias + "." + c.name
		list, bound = append(list, c.expr), append(bound, c.expr)
		names, marks = append(names, c.name), append(marks, "?")
		if !c.once {
			sets = append(sets, c.name+" = ?")
		}
	}
	t.list, t.bound = strings.Join(list, ", "), strings.Join(bound, ", ")
	t.insert = `INSERT INTO ` + table + ` (` + strings.Join(names, ", ") + `) VALUES (` + strings.Join(marks, ", ") + `)`
	t.update = `UPDATE ` + table + ` SET ` + strings.Join(sets, ", ") + ` WHERE id = ?`
	t.nInsert, t.nUpdate = len(names), len(sets)+1
	return t
}

// runs reads the rows of query (t.list) as records.
func runs[R any](ctx context.Context, q *Queries, t *runTable[R], query string, args ...any) ([]*R, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*R
	for rows.Next() {
		r, err := t.scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// insertArgs and updateArgs are r's values for insert and update.
func (t *runTable[R]) insertArgs(r *R) []any {
	args := make([]any, 0, t.nInsert)
	for i := range t.cols {
		if c := &t.cols[i]; c.name != "" {
			args = append(args, c.value(r))
		}
	}
	return args
}

func (t *runTable[R]) updateArgs(r *R, id string) []any {
	args := make([]any, 0, t.nUpdate)
	for i := range t.cols {
		if c := &t.cols[i]; c.name != "" && !c.once {
			args = append(args, c.value(r))
		}
	}
	return append(args, id)
}

// scan reads one row of t.list (after any leading columns the caller asks
// for: lead).
func (t *runTable[R]) scan(sc interface{ Scan(...any) error }, lead ...any) (*R, error) {
	r := new(R)
	dest := make([]any, 0, len(lead)+len(t.cols))
	dest = append(dest, lead...)
	for i := range t.cols {
		dest = append(dest, t.cols[i].dest(r))
	}
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	return r, nil
}

// Column helpers, by the record field's Go type. The scan targets are
// single pointers wrapped in a Scanner: no allocation to box them.

// text is a NOT NULL text column.
func textCol[R any](name string, f func(*R) *string) runColumn[R] {
	return runColumn[R]{name: name, value: func(r *R) any { return *f(r) }, dest: func(r *R) any { return f(r) }}
}

// joined is a column of a joined table, read only.
func joinedCol[R any, T ~string](expr string, f func(*R) *T) runColumn[R] {
	return runColumn[R]{expr: expr, dest: func(r *R) any { return f(r) }}
}

func statusCol[R any](f func(*R) *shiplog.Status) runColumn[R] {
	return runColumn[R]{name: "status", value: func(r *R) any { return string(*f(r)) }, dest: func(r *R) any { return f(r) }}
}

func nullTextCol[R any](name string, f func(*R) **string) runColumn[R] {
	return runColumn[R]{name: name, value: func(r *R) any { return nullStr(*f(r)) }, dest: func(r *R) any { return nullText{f(r)} }}
}

func timeCol[R any](name string, f func(*R) *time.Time) runColumn[R] {
	return runColumn[R]{name: name, value: func(r *R) any { return micros(*f(r)) }, dest: func(r *R) any { return microTime{f(r)} }}
}

func nullTimeCol[R any](name string, f func(*R) **time.Time) runColumn[R] {
	return runColumn[R]{name: name, value: func(r *R) any { return nullMicros(*f(r)) }, dest: func(r *R) any { return nullTime{f(r)} }}
}

func jsonCol[R any](name string, f func(*R) *json.RawMessage) runColumn[R] {
	return runColumn[R]{name: name, value: func(r *R) any { return jsonText(*f(r)) }, dest: func(r *R) any { return jsonDest{f(r)} }}
}

func credentialCol[R any](name string, f func(*R) **shiplog.Credential) runColumn[R] {
	return runColumn[R]{name: name, value: func(r *R) any { return credentialText(*f(r)) },
		dest: func(r *R) any { return credentialDest{f(r)} }}
}

// insertOnly marks c as written by INSERT only.
func insertOnly[R any](c runColumn[R]) runColumn[R] {
	c.once = true
	return c
}

type nullText struct{ p **string }

func (d nullText) Scan(v any) error {
	var s sql.NullString
	err := s.Scan(v)
	*d.p = strPtr(s)
	return err
}

type microTime struct{ p *time.Time }

func (d microTime) Scan(v any) error {
	var n sql.NullInt64
	if err := n.Scan(v); err != nil {
		return err
	}
	if !n.Valid {
		return errors.New("sqlstore: NULL time in a NOT NULL column")
	}
	*d.p = fromMicros(n.Int64)
	return nil
}

type nullTime struct{ p **time.Time }

func (d nullTime) Scan(v any) error {
	var n sql.NullInt64
	err := n.Scan(v)
	*d.p = timePtr(n)
	return err
}

type jsonDest struct{ p *json.RawMessage }

func (d jsonDest) Scan(v any) error {
	var s sql.NullString
	err := s.Scan(v)
	*d.p = rawJSON(s)
	return err
}

type credentialDest struct{ p **shiplog.Credential }

func (d credentialDest) Scan(v any) error {
	var s sql.NullString
	if err := s.Scan(v); err != nil {
		return err
	}
	var err error
	*d.p, err = credentialOf(s)
	return err
}
