-- +goose Up
-- The claim reads every due, unleased delivery of the channels it may take,
-- and skips those of channels that are paused or full, which can be tens of
-- thousands behind one dead receiver. It reads them from this index alone
-- (due time, channel, lease, id), so skipping a row costs no table lookup.
-- It serves everything deliveries_due served (next_attempt_at first).
CREATE INDEX deliveries_claim ON deliveries (next_attempt_at, channel_id, lease_until, id) WHERE state = 'queued';
DROP INDEX deliveries_due;

-- +goose Down
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'queued';
DROP INDEX deliveries_claim;
