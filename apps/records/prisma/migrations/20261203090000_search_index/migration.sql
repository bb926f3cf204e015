-- The blind index of searches (ADR 0016). Created empty: its tokens need the keys of the patients, which only
-- records holds. Records fills it at start for the resources written before it (SearchIndexBackfill).
CREATE TABLE "search_index" (
    "patient_id" UUID NOT NULL,
    "resource_type" TEXT NOT NULL,
    "resource_id" UUID NOT NULL,
    "version_id" INTEGER NOT NULL,
    "tokens" BYTEA[],

    CONSTRAINT "search_index_pkey" PRIMARY KEY ("patient_id","resource_type","resource_id")
);
