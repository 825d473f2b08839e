-- +goose Up
-- An org's own switches; no row means the defaults (shiplog.DefaultOrgSettings).
CREATE TABLE org_settings (
    org_id            TEXT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    skip_preflight    TEXT NOT NULL,
    stale_run_minutes INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
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

-- A deployment request may be created by an org API key (an agent), so
-- created_by (a person) becomes optional and created_by_key names the key.
-- SQLite cannot relax NOT NULL in place: both tables are rebuilt. The new
-- slots table references the new requests table, and the rename carries
-- that reference over, so dropping the old tables cascades into nothing.
CREATE TABLE deployment_requests_new (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    links             TEXT NOT NULL,
    items             TEXT NOT NULL,
    environment_names TEXT NOT NULL,
    status            TEXT NOT NULL,
    created_by        TEXT REFERENCES users (id),
    created_by_key    TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    revision          BIGINT NOT NULL DEFAULT 0,
    CHECK (created_by IS NOT NULL OR created_by_key IS NOT NULL)
);
INSERT INTO deployment_requests_new (id, org_id, name, description, links, items, environment_names, status, created_by,
    created_at, updated_at, revision)
SELECT id, org_id, name, description, links, items, environment_names, status, created_by, created_at, updated_at, revision
FROM deployment_requests;
CREATE TABLE dr_slots_new (
    id            TEXT PRIMARY KEY,
    dr_id         TEXT NOT NULL REFERENCES deployment_requests_new (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    approval_type TEXT NOT NULL,
    required      BOOLEAN NOT NULL,
    status        TEXT NOT NULL,
    decided_by    TEXT REFERENCES users (id),
    decided_role  TEXT,
    decided_at    INTEGER,
    comments      TEXT
);
INSERT INTO dr_slots_new SELECT id, dr_id, position, approval_type, required, status, decided_by, decided_role, decided_at, comments
FROM dr_slots;
DROP TABLE dr_slots;
DROP TABLE deployment_requests;
ALTER TABLE deployment_requests_new RENAME TO deployment_requests;
ALTER TABLE dr_slots_new RENAME TO dr_slots;
CREATE INDEX deployment_requests_org ON deployment_requests (org_id, id);
CREATE INDEX dr_slots_dr ON dr_slots (dr_id, position);

-- +goose Down
DROP TABLE org_settings;
ALTER TABLE deployments DROP COLUMN preflight_skipped_by;
ALTER TABLE events DROP COLUMN submitted_by;
ALTER TABLE events DROP COLUMN actor_email;
