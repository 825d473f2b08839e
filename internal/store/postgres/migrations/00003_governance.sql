-- +goose Up
CREATE TABLE users (
    id            UUID PRIMARY KEY,
    org_id        UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    email         TEXT NOT NULL,
    name          TEXT NOT NULL,
    roles         TEXT NOT NULL, -- JSON array
    password_hash TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    UNIQUE (org_id, email)
);

CREATE TABLE personal_tokens (
    id           UUID PRIMARY KEY,
    org_id       UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_id     TEXT NOT NULL UNIQUE, -- the public part of pat_<token_id>_<secret>
    hash         BYTEA NOT NULL,
    name         TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);

CREATE TABLE deployment_requests (
    id                UUID PRIMARY KEY,
    org_id            UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    links             TEXT NOT NULL, -- JSON array
    items             TEXT NOT NULL, -- JSON array of {product_name, version}
    environment_names TEXT NOT NULL, -- JSON array
    status            TEXT NOT NULL,
    created_by        UUID NOT NULL REFERENCES users (id),
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX deployment_requests_org ON deployment_requests (org_id, id);

-- Each slot keeps who decided, under which role, when and why: the audit.
CREATE TABLE dr_slots (
    id            UUID PRIMARY KEY,
    dr_id         UUID NOT NULL REFERENCES deployment_requests (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    approval_type TEXT NOT NULL,
    required      BOOLEAN NOT NULL,
    status        TEXT NOT NULL,
    decided_by    UUID REFERENCES users (id),
    decided_role  TEXT,
    decided_at    BIGINT,
    comments      TEXT
);
CREATE INDEX dr_slots_dr ON dr_slots (dr_id, position);

CREATE TABLE version_approvals (
    id               UUID PRIMARY KEY,
    org_id           UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    version_id       UUID NOT NULL REFERENCES versions (id) ON DELETE CASCADE,
    approval_type    TEXT NOT NULL,
    environment_name TEXT,
    comments         TEXT,
    user_id          UUID NOT NULL REFERENCES users (id),
    approver_role    TEXT NOT NULL,
    created_at       BIGINT NOT NULL
);
CREATE INDEX version_approvals_version ON version_approvals (version_id, created_at);

CREATE TABLE deployment_rules (
    id         UUID PRIMARY KEY,
    org_id     UUID NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    rule_type  TEXT NOT NULL,
    status     TEXT NOT NULL,
    config     TEXT NOT NULL, -- JSON: the rule's own fields
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deployment_rules_org ON deployment_rules (org_id, id);

-- System channels (the DR approval emails) are not listed or subscribable.
ALTER TABLE channels ADD COLUMN system BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE channels DROP COLUMN system;
DROP TABLE deployment_rules;
DROP TABLE version_approvals;
DROP TABLE dr_slots;
DROP TABLE deployment_requests;
DROP TABLE personal_tokens;
DROP TABLE users;
