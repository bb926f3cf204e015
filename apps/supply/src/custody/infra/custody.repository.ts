import { Inject, Injectable } from '@nestjs/common';
import { EVENT_STORE_SQL, type Sql, type TransactionalSql } from '@medledger/event-store';
import {
  lotKey,
  type CustodyEntry,
  type CustodyEvent,
  type LotState,
  type UnitAction,
  type UnitState,
} from '../domain/custody';

/**
 * Advisory lock buckets for custody keys: at most this many locks per capture, whatever its size. Taken with the
 * two-key form (`pg_advisory_xact_lock(int, int)`), in a space of supply's own.
 */
export const LOCK_BUCKETS = 256;
const UNIT_LOCK_SPACE = 0x5eed;
const LOT_LOCK_SPACE = 0x5eee;

/** A captured EPCIS event as stored (by its event hash). */
export interface StoredEpcisEvent {
  eventHash: string;
  eventId: string;
  recorder: string;
  eventType: string;
  bizStep: string | null;
  capturedAt: Date;
  withdrawnAt: Date | null;
}

/**
 * The custody read model: units and lots as the custody model left them, the captured events by hash, the
 * service's unit actions, detections. Written in the capture's transaction; units and lots are locked first
 * ({@link lock}) so that concurrent captures on the same packs serialise and never lose a detection.
 */
@Injectable()
export class CustodyRepository {
  constructor(@Inject(EVENT_STORE_SQL) readonly client: TransactionalSql) {}

  /**
   * Transaction-scoped advisory locks on the given keys (unit epcs, lot keys), taken in one statement in a fixed
   * order (no deadlock between two captures). Advisory rather than row locks: a serial not commissioned yet has no
   * row, and two captures commissioning it at once must still see each other. Keys share {@link LOCK_BUCKETS}
   * locks, so that a document of ten thousand packs takes a bounded number of PostgreSQL's lock slots (64 per
   * connection by default): two captures that share a bucket wait for each other, which is only slower. Units and
   * lots have lock spaces of their own; `lot-shared`: readers of a lot (every capture) do not wait for each other,
   * only for a recall.
   */
  async lock(tx: Sql, keys: readonly string[], kind: 'unit' | 'lot' | 'lot-shared' = 'unit'): Promise<void> {
    if (keys.length === 0) return;
    const fn = kind === 'lot-shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock';
    const space = kind === 'unit' ? UNIT_LOCK_SPACE : LOT_LOCK_SPACE;
    await tx.$queryRawUnsafe(
      `SELECT ${fn}(${space}, b)
         FROM (SELECT DISTINCT (hashtextextended(k, 0) & ${LOCK_BUCKETS - 1})::int AS b FROM unnest($1::text[]) k ORDER BY 1) s`,
      keys,
    );
  }

  async units(sql: Sql, epcs: readonly string[]): Promise<Map<string, UnitState>> {
    if (epcs.length === 0) return new Map();
    const rows = await sql.$queryRawUnsafe<Array<{ state: UnitState }>>(
      'SELECT state FROM unit WHERE epc = ANY($1::text[])',
      epcs,
    );
    return new Map(rows.map((row) => [row.state.epc, row.state]));
  }

  async lots(sql: Sql, keys: readonly string[]): Promise<Map<string, LotState>> {
    if (keys.length === 0) return new Map();
    const rows = await sql.$queryRawUnsafe<Array<{ key: string; state: LotState }>>(
      'SELECT key, state FROM lot WHERE key = ANY($1::text[])',
      keys,
    );
    return new Map(rows.map((row) => [row.key, row.state]));
  }

  async lot(sql: Sql, gtin: string, lot: string): Promise<LotState | undefined> {
    return (await this.lots(sql, [lotKey(gtin, lot)])).get(lotKey(gtin, lot));
  }

  /** The SGTIN pack with this GTIN and serial (verification). */
  async pack(sql: Sql, gtin: string, serial: string): Promise<UnitState | undefined> {
    const [row] = await sql.$queryRawUnsafe<Array<{ state: UnitState }>>(
      'SELECT state FROM unit WHERE gtin = $1 AND serial = $2 LIMIT 1',
      gtin,
      serial,
    );
    return row?.state;
  }

  /**
   * The SGTIN pack with this GTIN and serial and its lot, in one statement (verification answers from this alone:
   * one round trip per request instead of two).
   */
  async packAndLot(sql: Sql, gtin: string, serial: string): Promise<{ unit?: UnitState; lot?: LotState }> {
    const [row] = await sql.$queryRawUnsafe<Array<{ state: UnitState; lot: LotState | null }>>(
      `SELECT u.state, l.state AS lot FROM unit u
         LEFT JOIN lot l ON l.key = '(01)' || u.gtin || '(10)' || u.lot
        WHERE u.gtin = $1 AND u.serial = $2 LIMIT 1`,
      gtin,
      serial,
    );
    return row ? { unit: row.state, ...(row.lot && { lot: row.lot }) } : {};
  }

  async unitsOfLot(sql: Sql, gtin: string, lot: string): Promise<UnitState[]> {
    const rows = await sql.$queryRawUnsafe<Array<{ state: UnitState }>>(
      'SELECT state FROM unit WHERE gtin = $1 AND lot = $2 ORDER BY epc',
      gtin,
      lot,
    );
    return rows.map((row) => row.state);
  }

  /** Writes units as they are now (one statement, however many). */
  async saveUnits(tx: Sql, units: Iterable<UnitState>): Promise<void> {
    const rows = [...units].map((u) => ({
      epc: u.epc,
      gtin: u.gtin ?? null,
      serial: u.serial,
      lot: u.lot ?? null,
      status: u.status,
      holder: u.holder,
      owner: u.owner,
      suspect: u.suspect,
      quarantined: u.quarantined,
      state: u,
    }));
    if (rows.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO unit (epc, gtin, serial, lot, status, holder, owner, suspect, quarantined, state, updated_at)
       SELECT x.epc, x.gtin, x.serial, x.lot, x.status, x.holder, x.owner, x.suspect, x.quarantined, x.state, now()
         FROM jsonb_to_recordset($1::jsonb) AS x(epc text, gtin text, serial text, lot text, status text, holder text,
              owner text, suspect boolean, quarantined boolean, state jsonb)
       ON CONFLICT (epc) DO UPDATE SET gtin = EXCLUDED.gtin, serial = EXCLUDED.serial, lot = EXCLUDED.lot,
         status = EXCLUDED.status, holder = EXCLUDED.holder, owner = EXCLUDED.owner, suspect = EXCLUDED.suspect,
         quarantined = EXCLUDED.quarantined, state = EXCLUDED.state, updated_at = now()`,
      JSON.stringify(rows),
    );
  }

  async deleteUnits(tx: Sql, epcs: readonly string[]): Promise<void> {
    if (epcs.length > 0) await tx.$executeRawUnsafe('DELETE FROM unit WHERE epc = ANY($1::text[])', epcs);
  }

  async saveLots(tx: Sql, lots: Iterable<LotState>): Promise<void> {
    const rows = [...lots].map((l) => ({ key: lotKey(l.gtin, l.lot), gtin: l.gtin, lot: l.lot, state: l }));
    if (rows.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO lot (key, gtin, lot, state, updated_at)
       SELECT x.key, x.gtin, x.lot, x.state, now() FROM jsonb_to_recordset($1::jsonb) AS x(key text, gtin text, lot text, state jsonb)
       ON CONFLICT (key) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
      JSON.stringify(rows),
    );
  }

  /** Events already captured, by hash (a replayed event is answered from here). */
  async captured(sql: Sql, hashes: readonly string[]): Promise<Map<string, StoredEpcisEvent>> {
    if (hashes.length === 0) return new Map();
    const rows = await sql.$queryRawUnsafe<
      Array<{
        event_hash: string;
        event_id: string;
        recorder: string;
        event_type: string;
        biz_step: string | null;
        captured_at: Date;
        withdrawn_at: Date | null;
      }>
    >(
      `SELECT event_hash, event_id::text AS event_id, recorder, event_type, biz_step, captured_at, withdrawn_at
         FROM epcis_event WHERE event_hash = ANY($1::text[])`,
      hashes,
    );
    return new Map(
      rows.map((r) => [
        r.event_hash,
        {
          eventHash: r.event_hash,
          eventId: r.event_id,
          recorder: r.recorder,
          eventType: r.event_type,
          bizStep: r.biz_step,
          capturedAt: r.captured_at,
          withdrawnAt: r.withdrawn_at,
        },
      ]),
    );
  }

  async saveEvents(
    tx: Sql,
    events: ReadonlyArray<{
      eventHash: string;
      eventId: string;
      recorder: string;
      eventType: string;
      bizStep?: string;
      event: unknown;
      custody: unknown;
      epcs: string[];
    }>,
  ): Promise<void> {
    if (events.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO epcis_event (event_hash, event_id, recorder, event_type, biz_step, event, custody, epcs, captured_at)
       SELECT x->>'event_hash', (x->>'event_id')::uuid, x->>'recorder', x->>'event_type', x->>'biz_step', x->'event',
              x->'custody', ARRAY(SELECT jsonb_array_elements_text(x->'epcs')), now()
         FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(x, n)
        ORDER BY a.n`,
      JSON.stringify(
        events.map((e) => ({
          event_hash: e.eventHash,
          event_id: e.eventId,
          recorder: e.recorder,
          event_type: e.eventType,
          biz_step: e.bizStep ?? null,
          event: e.event,
          custody: e.custody,
          epcs: e.epcs,
        })),
      ),
    );
  }

  async markWithdrawn(tx: Sql, eventHash: string): Promise<void> {
    await tx.$executeRawUnsafe('UPDATE epcis_event SET withdrawn_at = now() WHERE event_hash = $1', eventHash);
  }

  async saveAction(tx: Sql, actionId: string, action: UnitAction): Promise<void> {
    await tx.$executeRawUnsafe(
      'INSERT INTO unit_action (action_id, epc, action, recorded_at) VALUES ($1::uuid, $2, $3::jsonb, now())',
      actionId,
      action.epc,
      JSON.stringify(action),
    );
  }

  /** Everything custody folded for these units, in custody order (a withdrawal replays it). */
  async entries(sql: Sql, epcs: readonly string[], hashes: readonly string[]): Promise<CustodyEntry[]> {
    const rows = await sql.$queryRawUnsafe<Array<{ entry: CustodyEntry }>>(
      `SELECT entry FROM (
         SELECT seq, custody AS entry FROM epcis_event
          WHERE (event_hash = ANY($2::text[]) OR epcs && $1::text[]) AND withdrawn_at IS NULL
         UNION ALL
         SELECT seq, action AS entry FROM unit_action WHERE epc = ANY($1::text[])) s
       ORDER BY seq`,
      epcs,
      hashes,
    );
    return rows.map((row) => row.entry);
  }

  async saveDetections(
    tx: Sql,
    detections: ReadonlyArray<{
      detectionId: string;
      code: string;
      epc: string;
      gtin?: string;
      eventHash: string;
      recorder: string;
      evidence: unknown;
    }>,
  ): Promise<void> {
    if (detections.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO detection (detection_id, code, epc, gtin, event_hash, recorder, evidence, detected_at)
       SELECT x.detection_id, x.code, x.epc, x.gtin, x.event_hash, x.recorder, x.evidence, now()
         FROM jsonb_to_recordset($1::jsonb) AS x(detection_id uuid, code text, epc text, gtin text, event_hash text,
              recorder text, evidence jsonb)`,
      JSON.stringify(
        detections.map((d) => ({
          detection_id: d.detectionId,
          code: d.code,
          epc: d.epc,
          gtin: d.gtin ?? null,
          event_hash: d.eventHash,
          recorder: d.recorder,
          evidence: d.evidence,
        })),
      ),
    );
  }

  async detectionsOf(sql: Sql, epcs: readonly string[]) {
    if (epcs.length === 0) return [];
    return sql.$queryRawUnsafe<
      Array<{
        detection_id: string;
        code: string;
        epc: string;
        event_hash: string;
        evidence: unknown;
        detected_at: Date;
      }>
    >(
      `SELECT detection_id::text AS detection_id, code, epc, event_hash, evidence, detected_at FROM detection
        WHERE epc = ANY($1::text[]) ORDER BY detected_at, detection_id`,
      epcs,
    );
  }

  /** Every GS1 Company Prefix seen in an EPC URN. */
  async companyPrefixes(sql: Sql): Promise<Set<string>> {
    const rows = await sql.$queryRawUnsafe<Array<{ prefix: string }>>('SELECT prefix FROM company_prefix');
    return new Set(rows.map((row) => row.prefix));
  }

  async saveCompanyPrefixes(tx: Sql, prefixes: readonly string[]): Promise<void> {
    if (prefixes.length === 0) return;
    await tx.$executeRawUnsafe(
      `INSERT INTO company_prefix (prefix, learned_at) SELECT p, now() FROM unnest($1::text[]) p ON CONFLICT DO NOTHING`,
      prefixes,
    );
  }

  /** The custody event (as captured, normalised) of each hash: a trace reads a transformation's inputs from it. */
  async custodyEvents(sql: Sql, hashes: readonly string[]): Promise<Map<string, CustodyEvent>> {
    if (hashes.length === 0) return new Map();
    const rows = await sql.$queryRawUnsafe<Array<{ event_hash: string; custody: CustodyEvent }>>(
      'SELECT event_hash, custody FROM epcis_event WHERE event_hash = ANY($1::text[])',
      hashes,
    );
    return new Map(rows.map((row) => [row.event_hash, row.custody]));
  }

  /** The recorders and times of events by hash (a trace shows who did what, to those entitled to see it). */
  async eventsByHash(sql: Sql, hashes: readonly string[]) {
    return this.captured(sql, hashes);
  }
}
