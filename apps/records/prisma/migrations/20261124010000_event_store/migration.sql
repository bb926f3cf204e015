-- CreateTable
CREATE TABLE "es_stream" (
    "stream_id" TEXT NOT NULL,
    "stream_type" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "es_stream_pkey" PRIMARY KEY ("stream_id")
);

-- CreateTable
CREATE TABLE "es_event" (
    "position" BIGSERIAL NOT NULL,
    "event_id" UUID NOT NULL,
    "stream_id" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "metadata" JSONB NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "es_event_pkey" PRIMARY KEY ("position")
);

-- CreateTable
CREATE TABLE "es_outbox" (
    "position" BIGSERIAL NOT NULL,
    "event_id" TEXT NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "envelope" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "published_at" TIMESTAMPTZ(3),

    CONSTRAINT "es_outbox_pkey" PRIMARY KEY ("position")
);

-- CreateTable
CREATE TABLE "es_inbox" (
    "consumer" TEXT NOT NULL,
    "event_id" TEXT NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "es_inbox_pkey" PRIMARY KEY ("consumer","event_id")
);

-- CreateTable
CREATE TABLE "es_receipt" (
    "event_id" TEXT NOT NULL,
    "leaf_index" BIGINT NOT NULL,
    "block_height" BIGINT NOT NULL,
    "tree_size" BIGINT NOT NULL,
    "checkpoint" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "es_receipt_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "es_event_event_id_key" ON "es_event"("event_id");

-- CreateIndex
CREATE UNIQUE INDEX "es_event_stream_id_version_key" ON "es_event"("stream_id", "version");

-- CreateIndex
CREATE UNIQUE INDEX "es_outbox_event_id_key" ON "es_outbox"("event_id");

-- CreateIndex
CREATE INDEX "es_outbox_published_at_position_idx" ON "es_outbox"("published_at", "position");

