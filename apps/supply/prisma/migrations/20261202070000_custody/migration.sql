-- One order for everything custody folds (EPCIS events and the service's unit actions): a withdrawal replays it.
CREATE SEQUENCE "custody_seq";

-- CreateTable
CREATE TABLE "unit" (
    "epc" TEXT NOT NULL,
    "gtin" TEXT,
    "serial" TEXT NOT NULL,
    "lot" TEXT,
    "status" TEXT NOT NULL,
    "holder" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "suspect" BOOLEAN NOT NULL,
    "quarantined" BOOLEAN NOT NULL,
    "state" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "unit_pkey" PRIMARY KEY ("epc")
);

-- CreateTable
CREATE TABLE "lot" (
    "key" TEXT NOT NULL,
    "gtin" TEXT NOT NULL,
    "lot" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "lot_pkey" PRIMARY KEY ("key")
);

-- CreateTable
CREATE TABLE "epcis_event" (
    "seq" BIGINT NOT NULL DEFAULT nextval('custody_seq'),
    "event_hash" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "recorder" TEXT NOT NULL,
    "event_type" TEXT NOT NULL,
    "biz_step" TEXT,
    "event" JSONB NOT NULL,
    "custody" JSONB NOT NULL,
    "epcs" TEXT[] NOT NULL,
    "captured_at" TIMESTAMPTZ(3) NOT NULL,
    "withdrawn_at" TIMESTAMPTZ(3),

    CONSTRAINT "epcis_event_pkey" PRIMARY KEY ("event_hash")
);

-- CreateTable
CREATE TABLE "detection" (
    "detection_id" UUID NOT NULL,
    "code" TEXT NOT NULL,
    "epc" TEXT NOT NULL,
    "gtin" TEXT,
    "event_hash" TEXT NOT NULL,
    "recorder" TEXT NOT NULL,
    "evidence" JSONB NOT NULL,
    "detected_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "detection_pkey" PRIMARY KEY ("detection_id")
);

-- CreateTable
CREATE TABLE "notification" (
    "notification_id" UUID NOT NULL,
    "gtin" TEXT NOT NULL,
    "lot" TEXT,
    "recorder" TEXT NOT NULL,
    "detection_ids" JSONB NOT NULL,
    "determined_at" TIMESTAMPTZ(3) NOT NULL,
    "deadline" TIMESTAMPTZ(3) NOT NULL,
    "notified_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "notification_pkey" PRIMARY KEY ("notification_id")
);

-- CreateIndex
CREATE INDEX "unit_gtin_serial_idx" ON "unit"("gtin", "serial");

-- CreateIndex
CREATE INDEX "unit_gtin_lot_idx" ON "unit"("gtin", "lot");

-- CreateIndex
CREATE UNIQUE INDEX "epcis_event_event_id_key" ON "epcis_event"("event_id");

-- CreateIndex
CREATE INDEX "detection_epc_idx" ON "detection"("epc");

-- CreateIndex
CREATE INDEX "epcis_event_epcs_idx" ON "epcis_event" USING GIN ("epcs");

-- CreateTable
CREATE TABLE "unit_action" (
    "seq" BIGINT NOT NULL DEFAULT nextval('custody_seq'),
    "action_id" UUID NOT NULL,
    "epc" TEXT NOT NULL,
    "action" JSONB NOT NULL,
    "recorded_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "unit_action_pkey" PRIMARY KEY ("action_id")
);

-- CreateIndex
CREATE INDEX "unit_action_epc_idx" ON "unit_action"("epc");
