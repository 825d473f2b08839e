-- +goose Up
-- The org's owners until users exist: who "owners" recipients and
-- channel-disabled notices go to.
CREATE TABLE org_owners (
    org_id TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email  TEXT NOT NULL,
    PRIMARY KEY (org_id, email)
);

CREATE TABLE channels (
    id                       TEXT PRIMARY KEY,
    org_id                   TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    kind                     TEXT NOT NULL,
    name                     TEXT NOT NULL,
    description              TEXT NOT NULL DEFAULT '',
    enabled                  BOOLEAN NOT NULL,
    environment_types_filter TEXT NOT NULL, -- JSON array
    product_names_filter     TEXT NOT NULL, -- JSON array
    url                      TEXT NOT NULL DEFAULT '', -- webhook URL (not secret)
    url_sealed               BLOB,                     -- Slack URL (secret)
    secret_sealed            BLOB,
    signature_scheme         TEXT NOT NULL DEFAULT '',
    recipients               TEXT NOT NULL, -- JSON array
    retry_schedule           TEXT NOT NULL, -- JSON array of milliseconds
    disabled_reason          TEXT NOT NULL DEFAULT '',
    disabled_at              INTEGER,
    failing_since            INTEGER,
    created_at               INTEGER NOT NULL,
    updated_at               INTEGER NOT NULL
);
CREATE INDEX channels_org ON channels (org_id, id);

CREATE TABLE subscriptions (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (channel_id, event_type)
);
CREATE INDEX subscriptions_event ON subscriptions (org_id, event_type);

CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    channel_id      TEXT NOT NULL REFERENCES channels (id) ON DELETE CASCADE,
    channel_kind    TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    test            BOOLEAN NOT NULL DEFAULT FALSE,
    payload         TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    completed_at    INTEGER
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX deliveries_channel ON deliveries (channel_id, id);

CREATE TABLE delivery_attempts (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    delivery_id      TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    status_code      INTEGER NOT NULL,
    response_headers TEXT NOT NULL, -- JSON object
    response_body    TEXT NOT NULL,
    error            TEXT NOT NULL,
    outcome          TEXT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, number);

-- +goose Down
DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE subscriptions;
DROP TABLE channels;
DROP TABLE org_owners;
