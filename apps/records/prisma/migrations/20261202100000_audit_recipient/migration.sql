-- AlterTable
ALTER TABLE "audit_log" ADD COLUMN     "client_address" TEXT,
ADD COLUMN     "organization" TEXT,
ADD COLUMN     "token_id" TEXT;
