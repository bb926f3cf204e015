-- The key change record (docs/design/ledger-format.md §5b): the first block a new key signs carries, in its signed
-- header, a note by the previous key handing over. Null in every other block, and in every block sealed before.
ALTER TABLE "block" ADD COLUMN "key_change" TEXT;
