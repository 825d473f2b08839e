-- +goose Up
-- An Idempotency-Key answers only the request it was first used for: the
-- SHA-256 of method, operation and body. Keys stored before have none
-- and replay as they did until they expire (24 hours).
ALTER TABLE idempotency_keys ADD COLUMN request_hash BYTEA;

-- +goose Down
ALTER TABLE idempotency_keys DROP COLUMN request_hash;
