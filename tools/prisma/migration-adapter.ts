// CLI-only Prisma driver adapter for the Wasm schema engine (`migrate deploy`, `migrate dev`, `migrate diff`).
// Imported by every apps/<svc>/prisma.config.ts; never loaded by a running service.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import type { PoolConfig } from 'pg';

// prisma/orm#27403: the schema engine reads pg_catalog columns of type "char" (OID 18) and "name" (OID 19),
// which @prisma/adapter-pg cannot deserialize ("Column type 'name' could not be deserialized"). Report them
// as text (OID 25); both are plain strings on the wire.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const PgResult = require('pg/lib/result') as { prototype: { addFields(fields: Array<{ dataTypeID: number }>): void } };
const addFields = PgResult.prototype.addFields;
PgResult.prototype.addFields = function patchedAddFields(fields) {
  for (const field of fields) if (field.dataTypeID === 18 || field.dataTypeID === 19) field.dataTypeID = 25;
  return addFields.call(this, fields);
};

function poolConfig(url: string): PoolConfig {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: decodeURIComponent(parsed.pathname.slice(1)),
    // Lets the CLI exit as soon as the engine is done instead of waiting for idle clients to time out.
    allowExitOnIdle: true,
  };
}

/**
 * adapter-pg drops its shadow database before closing the pool that still uses it ("is being accessed by
 * other users"), and a connection string would override the shadow name. Create and drop it ourselves,
 * closing the shadow pool first.
 */
export function migrationAdapter(url: string | undefined): PrismaPg {
  if (!url) throw new Error('DATABASE_URL is not set: the Prisma CLI needs the database to migrate');
  const config = poolConfig(url);
  const factory = new PrismaPg(config);
  factory.connectToShadowDb = async () => {
    const admin = await factory.connect();
    const database = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
    await admin.executeScript(`CREATE DATABASE "${database}"`);
    const shadow = await new PrismaPg({ ...config, database }).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await admin.executeScript(`DROP DATABASE IF EXISTS "${database}"`);
      await admin.dispose();
    };
    return shadow;
  };
  return factory;
}
