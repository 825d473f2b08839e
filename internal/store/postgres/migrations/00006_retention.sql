-- +goose Up
-- Retention deletes the oldest rows in small batches; these indexes let each
-- batch find them without reading the whole table. A plain CREATE INDEX
-- holds writes to the table while it builds, once, on upgrade: about 4 s
-- for a million events on SQLite (docs/operations.md).
CREATE INDEX events_occurred ON events (occurred_at);
-- Finished deliveries by age; queued ones have no completed_at.
CREATE INDEX deliveries_completed ON deliveries (completed_at);
-- An event is kept while a delivery refers to it (rendering and redelivery
-- read it); pruning asks that of each old event.
CREATE INDEX deliveries_event ON deliveries (event_id);

-- +goose Down
DROP INDEX deliveries_event;
DROP INDEX deliveries_completed;
DROP INDEX events_occurred;
