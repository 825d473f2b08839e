-- +goose Up
-- The live event stream's order (docs/stream.md). seq is taken at INSERT,
-- and transactions commit concurrently, so seq order is not commit order:
-- an event with a lower seq can become visible after one with a higher seq.
-- Each event also records the id of the top-level transaction that wrote it
-- (pg_current_xact_id reports the top-level id inside savepoints too); the
-- stream serves only events of transactions older than every write
-- transaction still running, in (txid, seq) order, a set no later commit
-- can add to. Existing rows (a table rewrite) take this migration's id,
-- which precedes every later writer's.
ALTER TABLE events ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX events_org_stream ON events (org_id, txid, seq);

-- +goose Down
DROP INDEX events_org_stream;
ALTER TABLE events DROP COLUMN txid;
