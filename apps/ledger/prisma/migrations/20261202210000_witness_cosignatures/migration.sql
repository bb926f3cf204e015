-- Witness cosignatures of the ledger's checkpoints (C2SP tlog-cosignature, ADR 0012), one per tree size and witness key.
CREATE TABLE "witness_cosignature" (
    "tree_size" BIGINT NOT NULL,
    "key_id" TEXT NOT NULL,
    "witness" TEXT NOT NULL,
    "block_height" BIGINT NOT NULL,
    "timestamp" BIGINT NOT NULL,
    "line" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "witness_cosignature_pkey" PRIMARY KEY ("tree_size","key_id")
);
