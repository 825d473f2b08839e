-- +goose Up
CREATE TABLE orgs (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key_num      BIGINT NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    hash         BYTEA NOT NULL,
    hint         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT,
    UNIQUE (org_id, key_num)
);

CREATE TABLE products (
    id         UUID PRIMARY KEY,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE environments (
    id          UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (org_id, name)
);

CREATE TABLE versions (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    product_id     UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version        TEXT NOT NULL,
    scm_sha        TEXT,
    scm_branch     TEXT,
    scm_repository TEXT,
    created_at     BIGINT NOT NULL,
    UNIQUE (product_id, version)
);
CREATE INDEX versions_org ON versions (org_id, id);

CREATE TABLE deployments (
    id                UUID PRIMARY KEY,
    org_id            UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    product_id        UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version_id        UUID NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    environment_id    UUID NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    status            TEXT NOT NULL,
    invoke_id         TEXT,
    deployed_by       TEXT,
    deployed_by_name  TEXT,
    deployed_by_email TEXT,
    scm_sha           TEXT,
    scm_branch        TEXT,
    scm_repository    TEXT,
    build_url         TEXT,
    build_number      TEXT,
    deploy_url        TEXT,
    source_system     TEXT,
    preflight_status  TEXT,
    extra_metadata    TEXT,
    started_at        BIGINT,
    completed_at      BIGINT,
    deployed_at       BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX deployments_org ON deployments (org_id, id);
CREATE INDEX deployments_subject ON deployments (product_id, version_id, environment_id, id);
CREATE INDEX deployments_product_env ON deployments (org_id, product_id, environment_id, id);
CREATE UNIQUE INDEX deployments_invoke ON deployments (product_id, version_id, environment_id, invoke_id)
    WHERE invoke_id IS NOT NULL;

CREATE TABLE builds (
    id             UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    product_id     UUID NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    version_id     UUID NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    invoke_id      TEXT,
    built_by       TEXT,
    built_by_name  TEXT,
    built_by_email TEXT,
    scm_sha        TEXT,
    scm_branch     TEXT,
    scm_repository TEXT,
    build_url      TEXT,
    build_number   TEXT,
    source_system  TEXT,
    error_message  TEXT,
    error_code     TEXT,
    extra_metadata TEXT,
    started_at     BIGINT,
    completed_at   BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX builds_org ON builds (org_id, id);
CREATE INDEX builds_subject ON builds (product_id, version_id, id);
CREATE UNIQUE INDEX builds_invoke ON builds (product_id, version_id, invoke_id) WHERE invoke_id IS NOT NULL;

-- The append-only event log: every event received, in order. seq is the
-- resume point for live streams.
CREATE TABLE events (
    seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id               UUID NOT NULL UNIQUE,
    org_id           UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    type             TEXT NOT NULL,
    kind             TEXT NOT NULL,
    subject_id       UUID NOT NULL,
    product_name     TEXT NOT NULL,
    version          TEXT NOT NULL,
    environment_name TEXT NOT NULL,
    environment_type TEXT NOT NULL,
    status           TEXT NOT NULL,
    actor            TEXT NOT NULL,
    scm_sha          TEXT NOT NULL,
    scm_repository   TEXT NOT NULL,
    preflight_status TEXT NOT NULL,
    payload          TEXT,
    occurred_at      BIGINT NOT NULL
);
CREATE INDEX events_subject ON events (subject_id, seq);
CREATE INDEX events_org ON events (org_id, seq);

CREATE TABLE idempotency_keys (
    org_id      UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    key         TEXT NOT NULL,
    status_code INTEGER,
    body        TEXT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE events;
DROP TABLE builds;
DROP TABLE deployments;
DROP TABLE versions;
DROP TABLE environments;
DROP TABLE products;
DROP TABLE api_keys;
DROP TABLE orgs;
