-- The service is a witness of the ledger (C2SP tlog-witness, ADR 0012): the last checkpoint it cosigned per origin.
CREATE TABLE "es_witness_state" (
    "origin" TEXT NOT NULL,
    "tree_size" BIGINT NOT NULL,
    "root" BYTEA NOT NULL,
    "checkpoint" TEXT NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "es_witness_state_pkey" PRIMARY KEY ("origin")
);
