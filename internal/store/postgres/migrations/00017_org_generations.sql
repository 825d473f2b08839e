-- +goose Up
-- An org's generation counts changes to what the ingest path reads for
-- every event: its rules, settings, channels and subscriptions, and its
-- environments' types. Every such change increments it in its own
-- transaction, so a replica may keep that configuration in memory and
-- trust it while the generation it reads in the event's transaction is
-- the one it cached under. No row: generation 0.
CREATE TABLE org_generations (
    org_id UUID PRIMARY KEY REFERENCES orgs (id),
    gen    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE org_generations;
