-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateTable
CREATE TABLE "diagnostic_ping" (
    "id" UUID NOT NULL,
    "origin" TEXT NOT NULL,
    "sent_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "diagnostic_ping_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "diagnostic_answer" (
    "ping_id" UUID NOT NULL,
    "service" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL,
    "answered_at" TIMESTAMPTZ(3) NOT NULL,
    "received_back_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "diagnostic_answer_pkey" PRIMARY KEY ("ping_id","service")
);

-- AddForeignKey
ALTER TABLE "diagnostic_answer" ADD CONSTRAINT "diagnostic_answer_ping_id_fkey" FOREIGN KEY ("ping_id") REFERENCES "diagnostic_ping"("id") ON DELETE CASCADE ON UPDATE CASCADE;

