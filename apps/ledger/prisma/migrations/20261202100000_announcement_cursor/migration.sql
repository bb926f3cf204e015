-- The ledger.BlockSealed outbox (ADR 0010): a block row is committed with its leaves in one statement, so every
-- block above this height is durable but not yet announced: the ledger announces those on start before it consumes.
-- One row. An existing log counts as announced up to its head (re-announcing its whole history would be a flood).
CREATE TABLE "announcement_cursor" (
    "id" BOOLEAN NOT NULL DEFAULT true,
    "height" BIGINT NOT NULL,

    CONSTRAINT "announcement_cursor_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "announcement_cursor_single_row" CHECK ("id")
);

INSERT INTO "announcement_cursor" ("id", "height") SELECT true, COALESCE(max("height"), -1) FROM "block";
