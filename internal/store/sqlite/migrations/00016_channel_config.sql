-- +goose Up
-- Each channel kind keeps its own settings in config (a JSON object that
-- the kind validates), so a new kind needs no column: the webhook's
-- signature_scheme and the email channel's recipients move there. URLs
-- and signing secrets stay in their sealed columns; rows whose URL is in
-- the old plain url column are read from it until they are next written.
ALTER TABLE channels ADD COLUMN config TEXT NOT NULL DEFAULT '{}';
-- Channels written while the webhook's format was packed into the
-- signature_scheme column hold {"signature_scheme": …, "config": {…}}.
UPDATE channels SET config = COALESCE(json_extract(signature_scheme, '$.config'), '{}'),
    signature_scheme = COALESCE(json_extract(signature_scheme, '$.signature_scheme'), '')
    WHERE signature_scheme LIKE '{%' AND json_valid(signature_scheme);
UPDATE channels SET config = json_set(config, '$.signature_scheme', signature_scheme) WHERE signature_scheme <> '';
UPDATE channels SET config = json_set(config, '$.recipients', json(recipients)) WHERE recipients <> '[]';
ALTER TABLE channels DROP COLUMN signature_scheme;
ALTER TABLE channels DROP COLUMN recipients;

-- +goose Down
ALTER TABLE channels ADD COLUMN signature_scheme TEXT NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN recipients TEXT NOT NULL DEFAULT '[]';
UPDATE channels SET signature_scheme = COALESCE(json_extract(config, '$.signature_scheme'), ''),
    recipients = COALESCE(json_extract(config, '$.recipients'), '[]');
ALTER TABLE channels DROP COLUMN config;
