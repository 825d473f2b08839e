-- +goose Up
-- An org's own switches; no row means the defaults (shiplog.DefaultOrgSettings).
CREATE TABLE org_settings (
    org_id            UUID PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    skip_preflight    TEXT NOT NULL,
    stale_run_minutes INTEGER NOT NULL,
    updated_at        BIGINT NOT NULL,
    updated_by        TEXT NOT NULL
);

-- Who skipped a run's preflight checks (a JSON credential), and which
-- credential submitted each event (the key that skipped, the person who
-- marked a run aborted).
ALTER TABLE deployments ADD COLUMN preflight_skipped_by TEXT;
ALTER TABLE events ADD COLUMN submitted_by TEXT;
-- The run's deployer (or builder) email as of the event, for notifications
-- of later events that do not repeat it.
ALTER TABLE events ADD COLUMN actor_email TEXT NOT NULL DEFAULT '';

-- A deployment request may be created by an org API key (an agent).
ALTER TABLE deployment_requests ALTER COLUMN created_by DROP NOT NULL;
ALTER TABLE deployment_requests ADD COLUMN created_by_key TEXT;
ALTER TABLE deployment_requests ADD CONSTRAINT deployment_requests_creator
    CHECK (created_by IS NOT NULL OR created_by_key IS NOT NULL);

-- +goose Down
ALTER TABLE deployment_requests DROP CONSTRAINT deployment_requests_creator;
ALTER TABLE deployment_requests DROP COLUMN created_by_key;
DROP TABLE org_settings;
ALTER TABLE deployments DROP COLUMN preflight_skipped_by;
ALTER TABLE events DROP COLUMN submitted_by;
ALTER TABLE events DROP COLUMN actor_email;
