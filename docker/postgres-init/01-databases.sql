-- Creates one database per medledger service. The postgres image runs this once, as
-- POSTGRES_USER, on first start with an empty data directory (/docker-entrypoint-initdb.d);
-- that user owns the databases. Safe to run again by hand (skips databases that exist):
--   psql -U medledger -d medledger -f docker/postgres-init/01-databases.sql
SELECT format('CREATE DATABASE %I', datname)
FROM unnest(ARRAY[
  'medledger_ledger',
  'medledger_records',
  'medledger_trials',
  'medledger_supply'
]) AS wanted(datname)
WHERE NOT EXISTS (SELECT 1 FROM pg_database d WHERE d.datname = wanted.datname)
\gexec
