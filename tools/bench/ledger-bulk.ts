/**
 * Bulk loader for the ledger's database (issue 17 §3, proofs at scale): writes a valid log of N leaves straight into
 * a migrated ledger database, as the ledger itself would have written it block by block, without Kafka.
 *
 * - Leaves: realistic signed events of the three producers (ledger-harness.ts). A few producer batches are signed
 *   once and reused as patterns, each leaf with its own event id patched in (so every leaf, and its hash, is
 *   distinct); the proof of origin of a patched event no longer verifies, so `medledger-verify chain` accepts the log
 *   but `--producer-keys` would not (the ledger checks origin at admission only, never on stored leaves). Leaf bytes
 *   are the ledger's own form (TreeState.leavesData: JCS of {event, index, receivedAt, topic}); a sample is checked
 *   against ledger-core's generic `leafData`.
 * - Tiles: ledger-core's `appendToTiles`, block by block, exactly the sequencer's call; each tile that becomes full
 *   is written once, and the final right edge at the end (what the ledger's rows end as after its upserts).
 * - Blocks: headers and checkpoints signed and hash-linked as LedgerSigner.sealBlock does (signHeader, blockHash,
 *   signCheckpoint with the ledger's key), sealedAt spaced evenly up to the load's start, receivedAt before it.
 * - The signing key's row with its first/last height and block count (what commitBlock keeps), and the
 *   announcement cursor at the head: the loaded history counts as announced (ADR 0010), or the ledger would
 *   announce every block on start.
 *
 * Speed: the leaf table's two indexes are dropped during the load and rebuilt after it (sorted builds instead of
 * 10 M random B-tree inserts), rows go in multi-row INSERTs of many blocks (arrays through unnest, one bytea cut by
 * offsets, as commitBlock does), and the next batch is built while the last one is written.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import {
  appendToTiles,
  blockHash,
  bytesEqual,
  createSigner,
  GENESIS_PREVIOUS_HASH,
  leafData,
  leafHash,
  signCheckpoint,
  signHeader,
  TILE_WIDTH,
  type NoteSigner,
  type Tile,
} from '@medledger/ledger-core';
import { prepareEvents, type Producers, type Service, type Topics } from './ledger-harness';

export interface BulkLoadOptions {
  /** A migrated, empty ledger database. */
  databaseUrl: string;
  leaves: number;
  /** LEDGER_ORIGIN of the ledger that will run on it. */
  origin: string;
  /** LEDGER_SIGNING_KEY's seed. */
  seed: Uint8Array;
  producers: Producers;
  /** The topics the leaves say they arrived on (one per producer). */
  topics: Topics;
  /** Leaves per block (the ledger's LEDGER_BLOCK_MAX_EVENTS, 2,000 by default). */
  blockSize?: number;
  /** Blocks per INSERT statement. */
  blocksPerInsert?: number;
  log?: (message: string) => void;
}

export interface BulkLoadResult {
  leaves: number;
  blocks: number;
  tiles: number;
  /** Bytes of leaf data written. */
  leafBytes: number;
  seconds: { build: number; rows: number; indexes: number; total: number };
  leavesPerSecond: number;
  root: Uint8Array;
  /** The database's size on disk after the load, bytes. */
  databaseBytes: number;
}

/** Producer batches signed once each, reused round robin as the leaves' events. */
const PATTERN_BATCHES = 30;
const PATTERN_BATCH_SIZE = 100;
/** One leaf in this many is also built by ledger-core's generic leafData and compared byte for byte. */
const CHECK_EVERY = 100_003;

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const LEAF_PREFIX = Buffer.from('{"event":', 'utf8');

interface Pattern {
  service: Service;
  /** The canonical event (RFC 8785), as the producer published it. */
  bytes: Buffer;
  /** Where its 36-character id sits in `bytes`. */
  idAt: number;
}

/** Event ids as UUIDs: a per-load prefix and the leaf index, so they are distinct and look like the producers'. */
function eventIdFactory(): (index: number) => string {
  const prefix = randomBytes(10).toString('hex');
  const head = `${prefix.slice(0, 8)}-${prefix.slice(8, 12)}-4${prefix.slice(13, 16)}-a${prefix.slice(17, 20)}-`;
  return (index) => head + index.toString(16).padStart(12, '0');
}

function patterns(producers: Producers): Pattern[] {
  const events = prepareEvents(producers, PATTERN_BATCHES * PATTERN_BATCH_SIZE, PATTERN_BATCH_SIZE);
  return events.map((event) => {
    const bytes = event.message.value as Buffer;
    const idAt = bytes.indexOf(`"id":"${event.id}"`) + '"id":"'.length;
    if (idAt < '"id":"'.length || event.id.length !== 36) throw new Error(`event ${event.id}: no id to patch`);
    return { service: event.service, bytes, idAt };
  });
}

interface BuiltBlock {
  height: number;
  firstLeafIndex: number;
  leafCount: number;
  treeSize: number;
  root: Uint8Array;
  sealedAt: Date;
  receivedAt: Date;
  previousHash: Uint8Array;
  signature: Uint8Array;
  hash: Uint8Array;
  checkpoint: string;
  eventIds: string[];
  topics: number[];
  data: Buffer;
  lengths: number[];
}

/** Signs a header and its checkpoint exactly as LedgerSigner.sealBlock does. */
function sealBlock(
  signer: NoteSigner,
  origin: string,
  fields: Omit<
    BuiltBlock,
    'signature' | 'hash' | 'checkpoint' | 'eventIds' | 'topics' | 'data' | 'lengths' | 'receivedAt'
  >,
) {
  const signed = signHeader(
    {
      height: fields.height,
      previousHash: b64(fields.previousHash),
      firstLeafIndex: fields.firstLeafIndex,
      leafCount: fields.leafCount,
      treeSize: fields.treeSize,
      root: b64(fields.root),
      sealedAt: fields.sealedAt.toISOString(),
      keyId: signer.keyId,
    },
    signer,
  );
  const checkpoint = signCheckpoint({ origin, size: fields.treeSize, root: fields.root, extensions: [] }, [signer]);
  return { signature: Buffer.from(signed.signature, 'base64'), hash: blockHash(signed), checkpoint };
}

const LEAF_SQL = `INSERT INTO leaf (index, event_id, topic, received_at, data, block_height)
  SELECT $1::bigint + l.ordinal - 1, l.event_id, ($2::text[])[l.topic],
         'epoch'::timestamptz + l.received_ms * interval '1 millisecond',
         substring($3::bytea FROM l.start FOR l.length), l.height
  FROM unnest($4::text[], $5::int[], $6::float8[], $7::bigint[], $8::int[], $9::int[])
    WITH ORDINALITY AS l(event_id, topic, received_ms, height, start, length, ordinal)`;

const TILE_SQL = `INSERT INTO tile (level, index, width, hashes)
  SELECT t.level, t.index, t.width, substring($1::bytea FROM t.start FOR t.length)
  FROM unnest($2::int[], $3::bigint[], $4::int[], $5::int[], $6::int[]) AS t(level, index, width, start, length)
  ON CONFLICT (level, index) DO UPDATE SET width = EXCLUDED.width, hashes = EXCLUDED.hashes`;

const BLOCK_SQL = `INSERT INTO block (height, previous_hash, first_leaf_index, leaf_count, tree_size, root, sealed_at,
                     key_id, signature, hash, checkpoint)
  SELECT b.height, decode(b.previous_hash, 'base64'), b.first_leaf_index, b.leaf_count, b.tree_size,
         decode(b.root, 'base64'), b.sealed_at, $1::text, decode(b.signature, 'base64'), decode(b.hash, 'base64'),
         b.checkpoint
  FROM unnest($2::bigint[], $3::text[], $4::bigint[], $5::int[], $6::bigint[], $7::text[], $8::timestamptz[],
              $9::text[], $10::text[], $11::text[])
    AS b(height, previous_hash, first_leaf_index, leaf_count, tree_size, root, sealed_at, signature, hash, checkpoint)`;

const numbers = (values: readonly number[]) => `{${values.join(',')}}`;

function substrings(lengths: readonly number[]): { starts: string; lengths: string } {
  const starts: number[] = [];
  let offset = 1;
  for (const length of lengths) {
    starts.push(offset);
    offset += length;
  }
  return { starts: numbers(starts), lengths: numbers(lengths) };
}

async function insertBlocks(client: Client, topicNames: readonly string[], blocks: readonly BuiltBlock[]) {
  const first = blocks[0];
  if (!first) return;
  const lengths = blocks.flatMap((block) => block.lengths);
  const cuts = substrings(lengths);
  await client.query(LEAF_SQL, [
    first.firstLeafIndex,
    topicNames,
    Buffer.concat(blocks.map((block) => block.data)),
    `{${blocks.flatMap((block) => block.eventIds).join(',')}}`,
    numbers(blocks.flatMap((block) => block.topics)),
    numbers(blocks.flatMap((block) => block.eventIds.map(() => block.receivedAt.getTime()))),
    numbers(blocks.flatMap((block) => block.eventIds.map(() => block.height))),
    cuts.starts,
    cuts.lengths,
  ]);
}

async function insertHeaders(client: Client, keyId: string, blocks: readonly BuiltBlock[]) {
  if (blocks.length === 0) return;
  await client.query(BLOCK_SQL, [
    keyId,
    blocks.map((b) => b.height),
    blocks.map((b) => b64(b.previousHash)),
    blocks.map((b) => b.firstLeafIndex),
    blocks.map((b) => b.leafCount),
    blocks.map((b) => b.treeSize),
    blocks.map((b) => b64(b.root)),
    blocks.map((b) => b.sealedAt.toISOString()),
    blocks.map((b) => b64(b.signature)),
    blocks.map((b) => b64(b.hash)),
    blocks.map((b) => b.checkpoint),
  ]);
}

async function insertTiles(client: Client, tiles: readonly Tile[]) {
  if (tiles.length === 0) return;
  const cuts = substrings(tiles.map((tile) => tile.hashes.length));
  await client.query(TILE_SQL, [
    Buffer.concat(tiles.map((tile) => tile.hashes)),
    numbers(tiles.map((tile) => tile.level)),
    numbers(tiles.map((tile) => tile.index)),
    numbers(tiles.map((tile) => tile.width)),
    cuts.starts,
    cuts.lengths,
  ]);
}

/** Writes the log; the database must be migrated and empty. */
export async function bulkLoad(options: BulkLoadOptions): Promise<BulkLoadResult> {
  const { leaves: total, origin, producers, topics } = options;
  const blockSize = options.blockSize ?? 2_000;
  const blocksPerInsert = options.blocksPerInsert ?? 10;
  const log = options.log ?? (() => undefined);
  const signer = createSigner(origin, options.seed);
  const topicNames = [topics.records, topics.trials, topics.supply];
  const topicNumber: Record<Service, number> = { records: 1, trials: 2, supply: 3 };
  const eventId = eventIdFactory();
  const pool = patterns(producers);

  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  const started = performance.now();
  let buildMs = 0;
  let leafBytes = 0;
  let tileRows = 0;
  try {
    const existing = await client.query<{ n: string }>('SELECT count(*) AS n FROM block');
    if (existing.rows[0]?.n !== '0') throw new Error('bulk load: the database already has blocks');
    // A loader's session: its commits need not wait for the WAL flush (the load is redone if it fails), and the
    // index builds get memory. The ledger itself runs with the server's settings, untouched.
    await client.query('SET synchronous_commit = off');
    await client.query("SET maintenance_work_mem = '512MB'");
    await client.query('ALTER TABLE leaf DROP CONSTRAINT leaf_pkey');
    await client.query('DROP INDEX leaf_event_id_key');

    const blockCount = Math.ceil(total / blockSize);
    // The history ends now: one block per second of (simulated) 2,000 events/s before the load started.
    const endAt = Date.now() - 1_000;
    let rightEdge: readonly Tile[] = [];
    let size = 0;
    let previousHash: Uint8Array = Buffer.from(GENESIS_PREVIOUS_HASH, 'base64');
    let root: Uint8Array = new Uint8Array();
    let pendingWrite: Promise<void> = Promise.resolve();
    let lastReport = performance.now();

    for (let height = 0; height < blockCount; height += blocksPerInsert) {
      const buildStarted = performance.now();
      const built: BuiltBlock[] = [];
      const fullTiles: Tile[] = [];
      for (let h = height; h < Math.min(blockCount, height + blocksPerInsert); h += 1) {
        const count = Math.min(blockSize, total - size);
        const sealedAt = new Date(endAt - (blockCount - 1 - h) * 1_000);
        const receivedAt = new Date(sealedAt.getTime() - 50);
        const receivedJson = JSON.stringify(receivedAt.toISOString());
        const eventIds: string[] = [];
        const topicNumbers: number[] = [];
        const lengths: number[] = [];
        const parts: Buffer[] = [];
        const hashes: Uint8Array[] = [];
        for (let i = 0; i < count; i += 1) {
          const index = size + i;
          const pattern = pool[index % pool.length] as Pattern;
          const id = eventId(index);
          // TreeState.leavesData: '{"event":' + the canonical event + the rest of the leaf's canonical JSON.
          const suffix = `,"index":${index},"receivedAt":${receivedJson},"topic":${JSON.stringify(topicNames[topicNumber[pattern.service] - 1])}}`;
          const leaf = Buffer.allocUnsafe(LEAF_PREFIX.length + pattern.bytes.length + Buffer.byteLength(suffix));
          LEAF_PREFIX.copy(leaf, 0);
          pattern.bytes.copy(leaf, LEAF_PREFIX.length);
          leaf.write(id, LEAF_PREFIX.length + pattern.idAt, 'latin1');
          leaf.write(suffix, LEAF_PREFIX.length + pattern.bytes.length, 'utf8');
          if (index % CHECK_EVERY === 0) {
            const event = JSON.parse(pattern.bytes.toString('utf8')) as Record<string, unknown>;
            const expected = leafData({
              index,
              receivedAt: receivedAt.toISOString(),
              topic: topicNames[topicNumber[pattern.service] - 1] as string,
              event: { ...event, id },
            });
            if (!bytesEqual(expected, leaf)) throw new Error(`bulk load: leaf ${index} is not the ledger's leaf form`);
          }
          parts.push(leaf);
          lengths.push(leaf.length);
          hashes.push(leafHash(leaf));
          eventIds.push(id);
          topicNumbers.push(topicNumber[pattern.service]);
        }
        // The sequencer's own call (TreeState.prepareAppend).
        const appended = appendToTiles({ treeSize: size, rightEdge, leafHashes: hashes });
        for (const tile of appended.upserts) if (tile.width === TILE_WIDTH) fullTiles.push(tile);
        const sealed = sealBlock(signer, origin, {
          height: h,
          previousHash,
          firstLeafIndex: size,
          leafCount: count,
          treeSize: appended.treeSize,
          root: appended.root,
          sealedAt,
        });
        const data = Buffer.concat(parts);
        leafBytes += data.length;
        built.push({
          height: h,
          previousHash,
          firstLeafIndex: size,
          leafCount: count,
          treeSize: appended.treeSize,
          root: appended.root,
          sealedAt,
          receivedAt,
          ...sealed,
          eventIds,
          topics: topicNumbers,
          data,
          lengths,
        });
        rightEdge = appended.rightEdge;
        size = appended.treeSize;
        root = appended.root;
        previousHash = sealed.hash;
      }
      buildMs += performance.now() - buildStarted;
      tileRows += fullTiles.length;
      // One write in flight while the next batch is built: the two cores are this loop and PostgreSQL.
      await pendingWrite;
      pendingWrite = (async () => {
        await client.query('BEGIN');
        await insertBlocks(client, topicNames, built);
        await insertTiles(client, fullTiles);
        await insertHeaders(client, signer.keyId, built);
        await client.query('COMMIT');
      })();
      // Awaited before the next write; this only keeps a failure meanwhile from being an unhandled rejection.
      pendingWrite.catch(() => undefined);
      if (performance.now() - lastReport > 10_000) {
        lastReport = performance.now();
        const seconds = (lastReport - started) / 1000;
        log(`bulk load: ${size} of ${total} leaves in ${seconds.toFixed(0)} s (${Math.round(size / seconds)}/s)`);
      }
    }
    await pendingWrite;
    // The right edge as the ledger's upserts leave it: every partial tile of the final size.
    await insertTiles(client, rightEdge);
    tileRows += rightEdge.length;
    const lastHeight = blockCount - 1;
    await client.query(
      `INSERT INTO signing_key (key_id, name, public_key, first_height, last_height, blocks) VALUES ($1, $2, $3, 0, $4, $5)`,
      [signer.keyId, signer.name, Buffer.from(signer.publicKey), lastHeight, blockCount],
    );
    await client.query('UPDATE announcement_cursor SET height = $1', [lastHeight]);
    const rowsDone = performance.now();
    log(`bulk load: rows written; rebuilding the leaf indexes...`);
    await client.query('ALTER TABLE leaf ADD CONSTRAINT leaf_pkey PRIMARY KEY (index)');
    await client.query('CREATE UNIQUE INDEX leaf_event_id_key ON leaf (event_id)');
    // Hint bits and statistics as a long-running database has them: a proof's first read of a tile should not be
    // the one that sets them. The leaf table is only analysed (proofs never read it).
    await client.query('VACUUM (ANALYZE) tile');
    await client.query('VACUUM (ANALYZE) block');
    await client.query('ANALYZE leaf');
    const done = performance.now();
    const databaseBytes = Number(
      (await client.query<{ size: string }>('SELECT pg_database_size(current_database()) AS size')).rows[0]?.size,
    );
    return {
      leaves: size,
      blocks: blockCount,
      tiles: tileRows,
      leafBytes,
      seconds: {
        build: buildMs / 1000,
        rows: (rowsDone - started) / 1000,
        indexes: (done - rowsDone) / 1000,
        total: (done - started) / 1000,
      },
      leavesPerSecond: size / ((done - started) / 1000),
      root,
      databaseBytes,
    };
  } finally {
    await client.end();
  }
}
