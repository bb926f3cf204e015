-- CreateTable
CREATE TABLE "leaf" (
    "index" BIGINT NOT NULL,
    "event_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "data" BYTEA NOT NULL,
    "block_height" BIGINT NOT NULL,

    CONSTRAINT "leaf_pkey" PRIMARY KEY ("index")
);

-- CreateTable
CREATE TABLE "tile" (
    "level" INTEGER NOT NULL,
    "index" BIGINT NOT NULL,
    "width" INTEGER NOT NULL,
    "hashes" BYTEA NOT NULL,

    CONSTRAINT "tile_pkey" PRIMARY KEY ("level","index")
);

-- CreateTable
CREATE TABLE "block" (
    "height" BIGINT NOT NULL,
    "previous_hash" BYTEA NOT NULL,
    "first_leaf_index" BIGINT NOT NULL,
    "leaf_count" INTEGER NOT NULL,
    "tree_size" BIGINT NOT NULL,
    "root" BYTEA NOT NULL,
    "sealed_at" TIMESTAMPTZ(3) NOT NULL,
    "key_id" TEXT NOT NULL,
    "signature" BYTEA NOT NULL,
    "hash" BYTEA NOT NULL,
    "checkpoint" TEXT NOT NULL,

    CONSTRAINT "block_pkey" PRIMARY KEY ("height")
);

-- CreateTable
CREATE TABLE "signing_key" (
    "key_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "public_key" BYTEA NOT NULL,
    "added_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "signing_key_pkey" PRIMARY KEY ("key_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "leaf_event_id_key" ON "leaf"("event_id");

-- CreateIndex
CREATE INDEX "leaf_block_height_idx" ON "leaf"("block_height");

-- CreateIndex
CREATE UNIQUE INDEX "block_hash_key" ON "block"("hash");

-- CreateIndex
CREATE INDEX "block_key_id_idx" ON "block"("key_id");

