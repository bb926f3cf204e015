-- CreateTable
CREATE TABLE "company_prefix" (
    "prefix" TEXT NOT NULL,
    "learned_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "company_prefix_pkey" PRIMARY KEY ("prefix")
);
