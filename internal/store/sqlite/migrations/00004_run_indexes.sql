-- +goose Up
-- Open and running deployments are what ingest and preflight look up on
-- every event; partial indexes keep those lookups independent of history.
CREATE INDEX deployments_open ON deployments (product_id, version_id, environment_id, id)
    WHERE status IN ('pending', 'started');
CREATE INDEX deployments_running ON deployments (product_id, environment_id)
    WHERE status = 'started';
-- Superseded: it made the planner walk a product's whole history.
DROP INDEX deployments_product_env;

-- +goose Down
CREATE INDEX deployments_product_env ON deployments (org_id, product_id, environment_id, id);
DROP INDEX deployments_running;
DROP INDEX deployments_open;
