-- +goose Up
-- A deployment request's revision counts its writes: a transition or slot
-- decision is a compare-and-set on (status, revision), so two replicas
-- deciding at once cannot both win (docs/governance.md, race semantics).
ALTER TABLE deployment_requests ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- Before decisions were serialised, a rejection could land on a request
-- already approved (or race an approval) and leave it approved with a
-- rejected slot. Any slot rejected makes a request rejected; repair those
-- not yet completed or cancelled, so none can be completed.
UPDATE deployment_requests SET status = 'rejected', revision = revision + 1
WHERE status IN ('in_progress', 'approved')
  AND EXISTS (SELECT 1 FROM dr_slots s WHERE s.dr_id = deployment_requests.id AND s.status = 'rejected');

-- +goose Down
ALTER TABLE deployment_requests DROP COLUMN revision;
