-- DropTable
DROP TABLE "patient_summary";

-- CreateTable
CREATE TABLE "resource_index" (
    "resource_type" TEXT NOT NULL,
    "resource_id" UUID NOT NULL,
    "patient_id" UUID NOT NULL,
    "stream_id" TEXT NOT NULL,
    "version_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "last_updated" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "resource_index_pkey" PRIMARY KEY ("resource_type","resource_id")
);

-- CreateTable
CREATE TABLE "break_glass_grant" (
    "grant_id" UUID NOT NULL,
    "patient_id" UUID NOT NULL,
    "actor" TEXT NOT NULL,
    "granted_at" TIMESTAMPTZ(3) NOT NULL,
    "until" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "break_glass_grant_pkey" PRIMARY KEY ("grant_id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "audit_event_id" UUID NOT NULL,
    "patient_id" UUID NOT NULL,
    "actor" TEXT NOT NULL,
    "role" TEXT NOT NULL,
    "interaction" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "basis" TEXT NOT NULL,
    "resource_type" TEXT,
    "resource_id" UUID,
    "purpose" TEXT,
    "recorded" TIMESTAMPTZ(3) NOT NULL,
    "event_id" UUID NOT NULL,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("audit_event_id")
);

-- CreateIndex
CREATE INDEX "resource_index_patient_id_resource_type_idx" ON "resource_index"("patient_id", "resource_type");

-- CreateIndex
CREATE INDEX "break_glass_grant_patient_id_actor_idx" ON "break_glass_grant"("patient_id", "actor");

-- CreateIndex
CREATE INDEX "audit_log_patient_id_recorded_idx" ON "audit_log"("patient_id", "recorded");

-- Backfill: the patients registered before every type shared one index (their ids are in their stream ids).
INSERT INTO "resource_index" ("resource_type", "resource_id", "patient_id", "stream_id", "version_id", "created_at", "last_updated")
SELECT 'Patient', substr(s."stream_id", 9)::uuid, substr(s."stream_id", 9)::uuid, s."stream_id", s."version",
       (SELECT min(e."recorded_at") FROM "es_event" e WHERE e."stream_id" = s."stream_id"), s."updated_at"
  FROM "es_stream" s
 WHERE s."stream_type" = 'Patient' AND s."stream_id" LIKE 'Patient-%';
