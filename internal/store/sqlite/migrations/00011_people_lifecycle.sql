-- +goose Up
-- People can be deactivated (their tokens and sessions are refused until
-- they are reactivated) and deleted. A deleted person stays as a tombstone:
-- the row keeps its id and name, so every approval, sign-off and request
-- they made still says who; their email gets a "#<id>" suffix so the
-- address can be given to someone new, and nothing signs in as them again.
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;
ALTER TABLE users ADD COLUMN deleted_at INTEGER;

-- One-time password reset links. The link carries rst_<id>_<secret>; only
-- SHA-256(secret) is stored.
CREATE TABLE password_resets (
    id         TEXT PRIMARY KEY,
    org_id     TEXT NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    hash       BLOB NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_user ON password_resets (user_id);
CREATE INDEX personal_tokens_user ON personal_tokens (user_id);
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP INDEX sessions_user;
DROP INDEX personal_tokens_user;
DROP TABLE password_resets;
ALTER TABLE users DROP COLUMN deleted_at;
ALTER TABLE users DROP COLUMN deactivated_at;
