-- Receipts are kept only once proven (ADR 0010). The rows from before are claims that ledger.BlockSealed made
-- unverified: verified_at stays null for them, and the service proves each one again (ReceiptService.verifyPending).
ALTER TABLE "es_receipt" ADD COLUMN "verified_at" TIMESTAMPTZ(3);

CREATE INDEX "es_receipt_verified_at_block_height_idx" ON "es_receipt"("verified_at", "block_height");
