-- +goose Up
-- Console sign-in throttling, shared by every replica. key_hash is the
-- SHA-256 of an account (org + email) or a client address; a window starts
-- with its first attempt. in_flight counts password checks under way, so a
-- burst of attempts cannot all pass the limit before any of them fails.
CREATE TABLE signin_throttle (
    key_hash     BYTEA PRIMARY KEY,
    window_start BIGINT NOT NULL,
    failures     INTEGER NOT NULL,
    in_flight    INTEGER NOT NULL
);
CREATE INDEX signin_throttle_window ON signin_throttle (window_start);

-- +goose Down
DROP TABLE signin_throttle;
