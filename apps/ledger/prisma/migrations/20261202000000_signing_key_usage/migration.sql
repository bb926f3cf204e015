-- GET /v1/keys grouped every block by key_id on each request: O(blocks), for a handful of keys. Each key's first
-- and last height and block count are kept on its row instead, updated by the statement that commits each block
-- (so they are exactly the committed blocks'), and the endpoint reads O(keys) rows.
ALTER TABLE "signing_key" ADD COLUMN "first_height" BIGINT,
ADD COLUMN "last_height" BIGINT,
ADD COLUMN "blocks" BIGINT NOT NULL DEFAULT 0;

-- The figures of the blocks sealed before this migration.
UPDATE "signing_key" AS k
SET "first_height" = u.first_height, "last_height" = u.last_height, "blocks" = u.blocks
FROM (
  SELECT "key_id", min("height") AS first_height, max("height") AS last_height, count(*) AS blocks
  FROM "block" GROUP BY "key_id"
) AS u
WHERE u."key_id" = k."key_id";
