-- +goose Up
-- The live event stream (docs/stream.md) needs nothing new here: SQLite has
-- one writer, so seq order is commit order, and events_org (org_id, seq)
-- already serves the stream's query. PostgreSQL's 00005 adds the txid
-- column it needs; this one keeps both drivers' schema versions in step.
SELECT 1;

-- +goose Down
SELECT 1;
