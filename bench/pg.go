package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// pgDefaultURL is the local server the benchmark uses unless told otherwise.
const pgDefaultURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// pgSchema is a schema made for one run; url points shiplog at it.
type pgSchema struct {
	db      *sql.DB
	name    string
	url     string
	version string
}

// createSchema connects to base (giving up after 5 s) and creates a fresh
// schema bench_<random>.
func createSchema(ctx context.Context, base string) (*pgSchema, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("not a postgres:// URL")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s := &pgSchema{db: db}
	if err := db.QueryRowContext(cctx, "SHOW server_version").Scan(&s.version); err != nil {
		db.Close()
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	s.name = "bench_" + hex.EncodeToString(b[:])
	if _, err := db.ExecContext(cctx, "CREATE SCHEMA "+s.name); err != nil {
		db.Close()
		return nil, err
	}
	q := u.Query()
	q.Set("search_path", s.name)
	u.RawQuery = q.Encode()
	s.url = u.String()
	return s, nil
}

// drop removes the schema and everything shiplog made in it.
func (s *pgSchema) drop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.db.ExecContext(ctx, "DROP SCHEMA "+s.name+" CASCADE")
	s.db.Close()
	return err
}

// redactURL hides a password before a URL is printed.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
