/**
 * Scenario `tamper`: single-byte changes of what the ledger stores (a leaf's bytes, one field of a block header, a
 * tile's hashes) made directly in its PostgreSQL database, as an operator or an intruder with database access
 * could. After each, two runs of medledger-verify (in this process, with the ledger's and the producers' keys
 * pinned): `chain --deep` through the running ledger's API (what any party can check), and `audit` of its
 * database (the operator's check of the store, ADR 0017); then the byte is restored and the restoration checked.
 * Figures: the share each detects, and whether the verdict names the block that was changed (for a header of the
 * newest block, the latest checkpoint may fail first: it is read before any block).
 *
 * Tiles hold the hashes proofs are served from. `chain` recomputes every root from the leaves; `--deep` checks the
 * proofs the ledger serves, but a running ledger serves the tiles it sealed or read from memory, so a changed row
 * is not served until it restarts (and then refused, LEDGER.TILES_CORRUPT): the API figure for tiles is reported,
 * and the target for tiles is the audit's, which reads the rows. Its block: the one that sealed the last leaf of
 * the changed entry (the first block whose proofs read that hash).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { round } from '../common';
import {
  connectKafka,
  createProducers,
  createTopics,
  freshDatabase,
  LedgerUnderTest,
  prepareEvents,
  publish,
  say,
  topicsOf,
  verifierHasOption,
  verify,
  type ChaosContext,
  type ScenarioResult,
} from './harness';

type Kind = 'leaf' | 'header' | 'tile';
const KINDS: readonly Kind[] = ['leaf', 'header', 'tile'];
const PLURAL: Record<Kind, string> = { leaf: 'leaves', header: 'headers', tile: 'tiles' };

/** The block table's columns that make up the stored header (schema.prisma `Block`). */
const HEADER_FIELDS = [
  { column: 'previous_hash', type: 'bytes' },
  { column: 'first_leaf_index', type: 'digits' },
  { column: 'leaf_count', type: 'digits' },
  { column: 'tree_size', type: 'digits' },
  { column: 'root', type: 'bytes' },
  { column: 'sealed_at', type: 'timestamp' },
  { column: 'key_id', type: 'text' },
  { column: 'signature', type: 'bytes' },
  { column: 'hash', type: 'bytes' },
  { column: 'checkpoint', type: 'text' },
] as const;

interface Change {
  kind: Kind;
  /** What was changed, for the notes: `leaf 12 byte 40`, `block 3 sealed_at char 20`. */
  where: string;
  /** The block a verifier should name. */
  block: number;
  apply(): Promise<void>;
  restore(): Promise<void>;
}

interface Counts {
  detected: number;
  named: number;
  cannotVerify: number;
  missed: string[];
  misnamed: string[];
}

/** Per kind of change: how `chain` through the API and `audit` of the store answered. */
interface Tally {
  changes: number;
  chain: Counts;
  audit: Counts;
}

const counts = (): Counts => ({ detected: 0, named: 0, cannotVerify: 0, missed: [], misnamed: [] });
const tally = (): Tally => ({ changes: 0, chain: counts(), audit: counts() });

const randomInt = (below: number) => Math.floor(Math.random() * below);

/** A byte value other than `original`. */
const otherByte = (original: number) => (original + 1 + randomInt(255)) % 256;

/** A printable ASCII character other than `original` (text columns hold ASCII: hex ids, signed notes). */
function otherChar(original: string): string {
  for (;;) {
    const candidate = String.fromCharCode(0x21 + randomInt(0x7e - 0x21 + 1));
    if (candidate !== original) return candidate;
  }
}

function otherDigit(original: string): string {
  for (;;) {
    const candidate = String(randomInt(10));
    if (candidate !== original) return candidate;
  }
}

export async function tamper(context: ChaosContext): Promise<ScenarioResult> {
  const flips = context.number('flips', context.short ? 100 : 1_000);
  const eventCount = context.number('tamper-events', context.short ? 600 : 1_000);
  const name = 'tamper';
  const topics = topicsOf(`chaos.${context.suffix}.${name}`);
  const producers = createProducers();
  const kafka = await connectKafka(context, `chaos-${name}-${context.suffix}`);
  await createTopics(context, kafka.admin, Object.values(topics));
  const databaseUrl = await freshDatabase(context, 'ledger', name);
  const ledger = await LedgerUnderTest.start(context, name, {
    databaseUrl,
    topics: Object.values(topics),
    producerKeys: producers.verifierKeys,
    origin: `chaos.${context.suffix}/tamper`,
    // Small blocks: many headers to change, and a changed leaf's block is a narrow answer.
    env: { LEDGER_BLOCK_MAX_EVENTS: '50' },
  });
  const events = prepareEvents(producers, eventCount);
  await publish(kafka.producer, topics, events);
  await ledger.waitForTreeSize(eventCount);

  const dir = mkdtempSync(join(tmpdir(), 'medledger-chaos-'));
  context.cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const keyring = join(dir, 'ledger.keys');
  const producerRing = join(dir, 'producers.keys');
  writeFileSync(keyring, `${ledger.verifierKey}\n`);
  writeFileSync(producerRing, `${producers.verifierKeys.join('\n')}\n`);
  const deep = await verifierHasOption('--deep');
  const args = ['chain', '--url', ledger.baseUrl, '--keyring', keyring, '--producer-keys', producerRing, '--quiet'];
  if (deep) args.push('--deep', '--sample', 'all');
  const check = () => verify(...args);
  const audit = () =>
    verify('audit', '--database-url', databaseUrl, '--keyring', keyring, '--producer-keys', producerRing, '--quiet');

  for (const clean of [await check(), await audit()]) {
    if (clean.code !== 0) throw new Error(`the untouched ledger does not verify: ${clean.stdout}${clean.stderr}`);
  }

  const pg = new Client({ connectionString: databaseUrl });
  await pg.connect();
  context.cleanups.push(() => pg.end());
  const { rows: heights } = await pg.query<{ max: string }>('SELECT max(height)::text AS max FROM block');
  const lastHeight = Number(heights[0]?.max);
  const { rows: tiles } = await pg.query<{ level: number; index: string }>(
    'SELECT level, index::text AS index FROM tile ORDER BY level, index',
  );
  say(
    `tamper: ${eventCount} leaves in ${lastHeight + 1} blocks, ${tiles.length} tiles; ${flips} changes${deep ? ' (verifier --deep)' : ''}`,
  );

  const byKind: Record<Kind, Tally> = { leaf: tally(), header: tally(), tile: tally() };
  let notRestored = 0;
  const started = performance.now();
  const record = (into: Counts, change: Change, verdict: Awaited<ReturnType<typeof check>>) => {
    if (verdict.code === 0) return void into.missed.push(change.where);
    into.detected++;
    if (verdict.code === 2) into.cannotVerify++;
    const named = /^FAIL block (\d+):/.exec(verdict.stdout)?.[1];
    const checkpointFirst = change.block === lastHeight && /^FAIL latest checkpoint/.test(verdict.stdout);
    if (Number(named) === change.block || checkpointFirst) into.named++;
    else into.misnamed.push(`${change.where}: ${(verdict.stdout || verdict.stderr).trim().slice(0, 160)}`);
  };
  for (let n = 0; n < flips; n++) {
    const kind = KINDS[n % KINDS.length] as Kind;
    const change = await pickChange(pg, kind, eventCount, lastHeight, tiles);
    const counts = byKind[kind];
    counts.changes++;
    await change.apply();
    let verdicts: Array<Awaited<ReturnType<typeof check>>>;
    try {
      verdicts = [await check(), await audit()];
    } finally {
      await change.restore();
    }
    record(counts.chain, change, verdicts[0] as Awaited<ReturnType<typeof check>>);
    record(counts.audit, change, verdicts[1] as Awaited<ReturnType<typeof check>>);
    if ((n + 1) % 100 === 0) {
      // Restored byte for byte: the ledger verifies again.
      if ((await check()).code !== 0 || (await audit()).code !== 0) notRestored++;
      say(`tamper: ${n + 1}/${flips} changes, ${round((performance.now() - started) / 1000)} s`);
    }
  }
  if ((await check()).code !== 0 || (await audit()).code !== 0) notRestored++;
  const seconds = (performance.now() - started) / 1000;

  const percent = (c: Counts, t: Tally) =>
    `${c.detected}/${t.changes} (${round((t.changes === 0 ? 1 : c.detected / t.changes) * 100, 1)}%)`;
  const all = (c: Counts, t: Tally) => c.detected === t.changes && c.named === t.changes;
  // Leaves and headers: every one detected and its block named, through the API and in the store. Tiles: by the
  // audit; what the API shows of them is reported (a running ledger serves the tiles it holds from memory).
  const ok =
    all(byKind.leaf.chain, byKind.leaf) &&
    all(byKind.header.chain, byKind.header) &&
    all(byKind.leaf.audit, byKind.leaf) &&
    all(byKind.header.audit, byKind.header) &&
    all(byKind.tile.audit, byKind.tile) &&
    notRestored === 0;
  const notes = KINDS.flatMap((kind) =>
    (['chain', 'audit'] as const).flatMap((by) => {
      if (kind === 'tile' && by === 'chain') return [];
      const c = byKind[kind][by];
      return [
        ...c.missed.slice(0, 3).map((w) => `${kind} missed by ${by}: ${w}`),
        ...c.misnamed.slice(0, 3).map((w) => `${kind} misnamed by ${by}: ${w}`),
      ];
    }),
  );
  const chainName = deep ? 'chain --deep' : 'chain';
  const line = (kind: Kind) => {
    const t = byKind[kind];
    return (
      `${PLURAL[kind]}: ${chainName} detected ${percent(t.chain, t)}, block named ${t.chain.named}; ` +
      `audit detected ${percent(t.audit, t)}, block named ${t.audit.named}`
    );
  };
  return {
    pass: ok,
    summary:
      `${flips} single-byte changes: ${line('leaf')}; ${line('header')}; ${line('tile')} ` +
      `(through the API a running ledger serves its tiles from memory); ` +
      `restored and verifying again: ${notRestored === 0 ? 'yes' : `no (${notRestored})`}; ${round(seconds)} s`,
    figures: {
      changes: flips,
      leaves: eventCount,
      blocks: lastHeight + 1,
      tileRows: tiles.length,
      verifierDeep: deep,
      ...Object.fromEntries(
        KINDS.flatMap((kind) => [
          [`${kind}Changes`, byKind[kind].changes],
          [`${kind}ChainDetected`, byKind[kind].chain.detected],
          [`${kind}ChainNamed`, byKind[kind].chain.named],
          [`${kind}AuditDetected`, byKind[kind].audit.detected],
          [`${kind}AuditNamed`, byKind[kind].audit.named],
        ]),
      ),
      cannotVerify: KINDS.reduce(
        (sum, kind) => sum + byKind[kind].chain.cannotVerify + byKind[kind].audit.cannotVerify,
        0,
      ),
      notRestored,
      seconds: round(seconds),
    },
    notes,
  };
}

async function pickChange(
  pg: Client,
  kind: Kind,
  leafCount: number,
  lastHeight: number,
  tiles: ReadonlyArray<{ level: number; index: string }>,
): Promise<Change> {
  switch (kind) {
    case 'leaf': {
      const index = randomInt(leafCount);
      const { rows } = await pg.query<{ data: Buffer; block_height: string }>(
        'SELECT data, block_height::text AS block_height FROM leaf WHERE index = $1',
        [index],
      );
      const original = (rows[0] as { data: Buffer }).data;
      const at = randomInt(original.length);
      const changed = Buffer.from(original);
      changed[at] = otherByte(original[at] as number);
      return {
        kind,
        where: `leaf ${index} byte ${at}`,
        block: Number(rows[0]?.block_height),
        apply: () => pg.query('UPDATE leaf SET data = $1 WHERE index = $2', [changed, index]).then(() => undefined),
        restore: () => restoreChecked(pg, 'leaf', 'data', 'index', index, original),
      };
    }
    case 'header': {
      const height = randomInt(lastHeight + 1);
      const field = HEADER_FIELDS[randomInt(HEADER_FIELDS.length)] as (typeof HEADER_FIELDS)[number];
      const column = field.column;
      const { rows } = await pg.query<{ value: Buffer | string }>(
        `SELECT ${field.type === 'bytes' ? column : `${column}::text`} AS value FROM block WHERE height = $1`,
        [height],
      );
      const original = (rows[0] as { value: Buffer | string }).value;
      const cast = field.type === 'digits' ? '::bigint' : field.type === 'timestamp' ? '::timestamptz' : '';
      let changed: Buffer | string;
      let at: number;
      if (Buffer.isBuffer(original)) {
        at = randomInt(original.length);
        changed = Buffer.from(original);
        changed[at] = otherByte(original[at] as number);
      } else {
        // Digits of a number or of a timestamp stay digits, and the column's type must still hold the value: a
        // change PostgreSQL itself refuses (month 13) is no tampering, so another is drawn.
        const positions = [...original].flatMap((c, i) => (field.type === 'text' || /\d/.test(c) ? [i] : []));
        for (;;) {
          at = positions[randomInt(positions.length)] as number;
          const old = original[at] as string;
          changed =
            original.slice(0, at) + (field.type === 'text' ? otherChar(old) : otherDigit(old)) + original.slice(at + 1);
          if (!cast) break;
          const valid = await pg.query(`SELECT $1${cast}`, [changed]).then(
            () => true,
            () => false,
          );
          if (valid) break;
        }
      }
      const set = (value: Buffer | string) =>
        pg.query(`UPDATE block SET ${column} = $1${cast} WHERE height = $2`, [value, height]).then(() => undefined);
      const final = changed;
      return {
        kind,
        where: `block ${height} ${column} ${Buffer.isBuffer(original) ? 'byte' : 'char'} ${at}`,
        block: height,
        apply: () => set(final),
        restore: () => set(original),
      };
    }
    case 'tile': {
      const tile = tiles[randomInt(tiles.length)] as { level: number; index: string };
      const { rows } = await pg.query<{ hashes: Buffer }>('SELECT hashes FROM tile WHERE level = $1 AND index = $2', [
        tile.level,
        tile.index,
      ]);
      const original = (rows[0] as { hashes: Buffer }).hashes;
      const at = randomInt(original.length);
      const changed = Buffer.from(original);
      changed[at] = otherByte(original[at] as number);
      // SPEC: C2SP tlog-tiles: entry e of tile (L, N) is the hash of leaves [(N·256+e)·256^L, (N·256+e+1)·256^L);
      // the block that sealed its last leaf is the first whose proofs read it.
      const span = 256 ** tile.level;
      const lastLeaf = (Number(tile.index) * 256 + Math.floor(at / 32) + 1) * span - 1;
      const { rows: blocks } = await pg.query<{ height: string }>(
        'SELECT height::text AS height FROM block WHERE first_leaf_index <= $1 AND tree_size > $1',
        [lastLeaf],
      );
      const set = (value: Buffer) =>
        pg
          .query('UPDATE tile SET hashes = $1 WHERE level = $2 AND index = $3', [value, tile.level, tile.index])
          .then(() => undefined);
      return {
        kind,
        where: `tile ${tile.level}/${tile.index} byte ${at}`,
        block: blocks[0] ? Number(blocks[0].height) : lastHeight,
        apply: () => set(changed),
        restore: () => set(original),
      };
    }
  }
}

async function restoreChecked(
  pg: Client,
  table: string,
  column: string,
  key: string,
  id: number,
  original: Buffer,
): Promise<void> {
  await pg.query(`UPDATE ${table} SET ${column} = $1 WHERE ${key} = $2`, [original, id]);
  const { rows } = await pg.query<{ value: Buffer }>(`SELECT ${column} AS value FROM ${table} WHERE ${key} = $1`, [id]);
  if (!rows[0]?.value.equals(original)) throw new Error(`${table} ${id}: not restored`);
}
