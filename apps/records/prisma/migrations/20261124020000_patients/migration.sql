-- CreateTable
CREATE TABLE "patient_key" (
    "stream_id" TEXT NOT NULL,
    "wrapped" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "destroyed_at" TIMESTAMPTZ(3),

    CONSTRAINT "patient_key_pkey" PRIMARY KEY ("stream_id")
);

-- CreateTable
CREATE TABLE "patient_summary" (
    "patient_id" UUID NOT NULL,
    "version_id" INTEGER NOT NULL,
    "registered_at" TIMESTAMPTZ(3) NOT NULL,
    "last_updated" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "patient_summary_pkey" PRIMARY KEY ("patient_id")
);

