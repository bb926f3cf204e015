import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import {
  EVENT_STORE_SQL,
  type Projection,
  type Sql,
  type StoredEvent,
  type TransactionalSql,
} from '@medledger/event-store';
import { searchIndex, type StoredResource } from '../../fhir/domain';
import { indexTokens } from '../domain/blind-index';
import type { ResourceVersionData } from '../domain/resource';
import { RESOURCE_STREAM_TYPES } from '../domain/resource-types';
import { ResourceRepository } from '../resource.repository';
import { PatientKeyCodec } from './patient-keys';

/** The resources a search looks through: every type of the record but the Patient (which is read, not searched). */
export const SEARCHED_STREAM_TYPES = RESOURCE_STREAM_TYPES.filter((type) => type !== 'Patient');

/** One current version's row of the blind index. */
interface IndexRow {
  patientId: string;
  resourceType: string;
  id: string;
  version: number;
  tokens: Buffer[];
}

/** Streams indexed per transaction when the index is filled at start (as many as a rebuild replays per query). */
const BACKFILL_BATCH = 500;
/** A batch decrypts and hashes up to BACKFILL_BATCH streams: a minute leaves room on a loaded two-core machine. */
const BACKFILL_TIMEOUT_MS = 60_000;

/** The rows, each replacing the row of its resource's earlier version, in one statement. */
async function upsert(tx: Sql, rows: readonly IndexRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.$executeRawUnsafe(
    `INSERT INTO search_index (patient_id, resource_type, resource_id, version_id, tokens)
     SELECT x.p, x.t, x.r, x.v, ARRAY(SELECT decode(h, 'hex') FROM unnest(string_to_array(x.k, ',')) AS h)
       FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::int[], $5::text[]) AS x(p, t, r, v, k)
     ON CONFLICT (patient_id, resource_type, resource_id)
     DO UPDATE SET version_id = EXCLUDED.version_id, tokens = EXCLUDED.tokens`,
    rows.map((row) => row.patientId),
    rows.map((row) => row.resourceType),
    rows.map((row) => row.id),
    rows.map((row) => row.version),
    rows.map((row) => row.tokens.map((token) => token.toString('hex')).join(',')),
  );
}

/** The index row of a resource version, or none when the patient's key is destroyed (an erased record). */
async function rowOf(
  tx: Sql,
  keys: PatientKeyCodec,
  version: { patientId: string; resourceType: string; id: string; version: number; resource: unknown },
): Promise<IndexRow | undefined> {
  const key = await keys.searchKey(tx, version.patientId);
  if (!key) return undefined;
  const tokens = indexTokens(key, version.resourceType, searchIndex(version.resource as StoredResource));
  return { ...version, tokens };
}

/**
 * The blind index (domain/blind-index.ts) as a projection of the resource streams: every write path that appends a
 * version (a create, an update, a transaction or batch Bundle) replaces the resource's row in the append's
 * transaction, from the plaintext it has just encrypted. A rebuild (`POST /v1/projections/search-index/rebuild`)
 * replays every version under the live keys; the events of an erased record decrypt to nothing and index nothing.
 */
export function searchIndexProjection(keys: PatientKeyCodec): Projection<Sql> {
  const rowsOf = async (tx: Sql, events: readonly StoredEvent[]): Promise<IndexRow[]> => {
    const rows: IndexRow[] = [];
    for (const event of events) {
      const data = event.data as Partial<ResourceVersionData>;
      if (!data.resource || !data.resourceType || !data.id || !data.patientId) continue; // erased
      const row = await rowOf(tx, keys, {
        patientId: data.patientId,
        resourceType: data.resourceType,
        id: data.id,
        version: event.version,
        resource: data.resource,
      });
      if (row) rows.push(row);
    }
    return rows;
  };
  return {
    name: 'search-index',
    streamTypes: SEARCHED_STREAM_TYPES,
    async apply(tx, event) {
      await upsert(tx, await rowsOf(tx, [event]));
    },
    async applyNew(tx, events) {
      await upsert(tx, await rowsOf(tx, events));
    },
    async reset(tx) {
      await tx.$executeRawUnsafe('DELETE FROM search_index');
    },
  };
}

/**
 * Fills the blind index at start for the resources it lacks or holds at an older version: those written before it
 * existed (the migration that created `search_index` left it empty: only records holds the keys) or by an instance
 * that did not keep it. A search is right without it (such resources are decrypted as candidates: see
 * ResourceRepository.searchCandidates); filling it makes searches decrypt only what their tokens select. Erased
 * records are left out: their keys are gone.
 */
@Injectable()
export class SearchIndexBackfill implements OnApplicationBootstrap {
  private readonly logger = new Logger('SearchIndex');

  constructor(
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    private readonly repository: ResourceRepository,
    private readonly keys: PatientKeyCodec,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const indexed = await this.fill();
    if (indexed > 0) this.logger.log(`indexed ${indexed} resources written before the search index`);
  }

  /** Indexes what the index lacks; returns how many resources it indexed. */
  async fill(): Promise<number> {
    let indexed = 0;
    for (;;) {
      const done = await this.client.$transaction(
        async (tx) => {
          const missing = await tx.$queryRawUnsafe<Array<{ stream_id: string }>>(
            `SELECT ri.stream_id FROM resource_index ri
             LEFT JOIN search_index s ON s.patient_id = ri.patient_id AND s.resource_type = ri.resource_type
                                     AND s.resource_id = ri.resource_id AND s.version_id = ri.version_id
            WHERE ri.resource_type <> 'Patient' AND s.resource_id IS NULL
              AND NOT EXISTS (SELECT 1 FROM patient_key k WHERE k.stream_id = 'Patient-' || ri.patient_id::text
                                 AND k.destroyed_at IS NOT NULL)
            ORDER BY ri.patient_id, ri.stream_id LIMIT ${BACKFILL_BATCH}`,
          );
          const rows: IndexRow[] = [];
          for (const state of await this.repository.currentOf(
            tx,
            missing.map((row) => row.stream_id),
          )) {
            const row = await rowOf(tx, this.keys, state);
            if (row) rows.push(row);
          }
          await upsert(tx, rows);
          return { found: missing.length, indexed: rows.length };
        },
        { timeout: BACKFILL_TIMEOUT_MS },
      );
      indexed += done.indexed;
      // A batch that indexed nothing (a record erased meanwhile) would come back unchanged: stop.
      if (done.found < BACKFILL_BATCH || done.indexed === 0) return indexed;
    }
  }
}
