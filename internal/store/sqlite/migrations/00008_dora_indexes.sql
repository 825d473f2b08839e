-- +goose Up
-- The DORA metrics read deployments by when they finished: an org's window
-- (GET /metrics/dora), and per product × environment the one just before
-- or after it. Partial, so running and aborted runs cost nothing here. The
-- org index carries the columns the window's product × environment ×
-- version list is made of, so that list is read from the index alone.
CREATE INDEX deployments_finished_org
    ON deployments (org_id, completed_at, product_id, environment_id, version_id, status)
    WHERE status IN ('completed', 'failed');
CREATE INDEX deployments_finished_pair ON deployments (product_id, environment_id, completed_at)
    WHERE status IN ('completed', 'failed');

-- +goose Down
DROP INDEX deployments_finished_pair;
DROP INDEX deployments_finished_org;
