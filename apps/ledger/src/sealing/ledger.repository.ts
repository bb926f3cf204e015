import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Pool } from 'pg';
import { PRISMA, SERVICE_CONFIG, type ServiceConfig } from '@medledger/platform';
import type { PrismaClient } from '../generated/prisma/client';

export interface StoredTile {
  level: number;
  index: number;
  width: number;
  hashes: Uint8Array;
}

export interface StoredBlock {
  height: number;
  previousHash: Uint8Array;
  firstLeafIndex: number;
  leafCount: number;
  treeSize: number;
  root: Uint8Array;
  sealedAt: Date;
  keyId: string;
  /** The key change record, in the first block a new key signs only (docs/design/ledger-format.md §5.1). */
  keyChange: string | null;
  signature: Uint8Array;
  hash: Uint8Array;
  checkpoint: string;
}

export interface StoredLeaf {
  index: number;
  eventId: string;
  topic: string;
  receivedAt: Date;
  data: Uint8Array;
  blockHeight: number;
}

type BlockRow = Awaited<ReturnType<PrismaClient['block']['findFirst']>> & object;
type LeafRow = Awaited<ReturnType<PrismaClient['leaf']['findFirst']>> & object;

function toBlock(row: BlockRow): StoredBlock {
  return {
    ...row,
    height: Number(row.height),
    firstLeafIndex: Number(row.firstLeafIndex),
    treeSize: Number(row.treeSize),
  };
}

function toLeaf(row: LeafRow): StoredLeaf {
  return { ...row, index: Number(row.index), blockHeight: Number(row.blockHeight) };
}

/**
 * Connections of the sealing path's own pool: one block commit at a time, plus tile reads for concurrent proof
 * requests and the duplicate check of the next block.
 */
const HOT_PATH_POOL_SIZE = 4;

/** The block commit, one statement; see commitBlock. */
const COMMIT_BLOCK_SQL = `WITH leaves AS (
    INSERT INTO leaf (index, event_id, topic, received_at, data, block_height)
    SELECT $16 + l.ordinal - 1,
           convert_from(substring($2::bytea FROM l.id_start FOR l.id_length), 'UTF8'),
           ($5::text[])[l.topic],
           'epoch'::timestamptz + l.received_ms * interval '1 millisecond',
           substring($1::bytea FROM l.start FOR l.length),
           $8
    FROM unnest($3::int[], $4::int[], $6::int[], $7::float8[], $24::int[], $25::int[])
      WITH ORDINALITY AS l(id_start, id_length, topic, received_ms, start, length, ordinal)
  ), tiles AS (
    INSERT INTO tile (level, index, width, hashes)
    SELECT t.level, t.index, t.width, substring($9::bytea FROM t.start FOR t.length)
    FROM unnest($10::int[], $11::bigint[], $12::int[], $13::int[], $14::int[]) AS t(level, index, width, start, length)
    ON CONFLICT (level, index) DO UPDATE SET width = EXCLUDED.width, hashes = EXCLUDED.hashes
  ), signer AS (
    UPDATE signing_key SET first_height = coalesce(first_height, $8::bigint), last_height = $8::bigint,
                           blocks = blocks + 1
    WHERE key_id = $21::text
    RETURNING key_id
  )
  INSERT INTO block (height, previous_hash, first_leaf_index, leaf_count, tree_size, root, sealed_at, key_id,
                     key_change, signature, hash, checkpoint)
  SELECT $8::bigint, $15::bytea, $16::bigint, $17::int, $18::bigint, $19::bytea, $20::timestamptz, key_id,
         $27::text, $22::bytea, $23::bytea, $26::text
  FROM signer`;

/** The unique constraint that refuses an event id already in the log. */
const LEAF_EVENT_ID_CONSTRAINT = 'leaf_event_id_key';

/**
 * A numeric array parameter as PostgreSQL's array literal: node-postgres would otherwise quote and escape every
 * element, which for a 2,000-leaf block cost more than building its leaves.
 */
const numbers = (values: readonly number[]) => `{${values.join(',')}}`;

/** The 1-based start and the length of each of parts laid end to end (SQL substring positions). */
function substrings(lengths: readonly number[]): { starts: string; lengths: string } {
  const starts: number[] = [];
  let offset = 1;
  for (const length of lengths) {
    starts.push(offset);
    offset += length;
  }
  return { starts: numbers(starts), lengths: numbers(lengths) };
}

/**
 * Concatenates byte strings, with their substring positions. Parts that already lie end to end in one buffer (a
 * block's leaves, TreeState.leavesData) are sent as that buffer, uncopied.
 */
function packed(parts: readonly Uint8Array[]): { bytes: Buffer; starts: string; lengths: string } {
  const first = parts[0];
  let offset = 0;
  let adjacent = true;
  for (const part of parts) {
    adjacent &&= part.buffer === first?.buffer && part.byteOffset === first.byteOffset + offset;
    offset += part.length;
  }
  const bytes = first && adjacent ? Buffer.from(first.buffer, first.byteOffset, offset) : Buffer.concat(parts);
  return { bytes, ...substrings(parts.map((part) => part.length)) };
}

/** The same for strings, as their UTF-8 bytes (one buffer for all of them, not one per string). */
function packedText(values: readonly string[]): { bytes: Buffer; starts: string; lengths: string } {
  const lengths = values.map((value) => Buffer.byteLength(value, 'utf8'));
  return { bytes: Buffer.from(values.join(''), 'utf8'), ...substrings(lengths) };
}

const bytes = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/**
 * The ledger's tables. Sizes and indexes are bigint in PostgreSQL and numbers (< 2^53) here.
 *
 * Reads behind the API go through Prisma. The three statements on the sealing and proof hot paths (the block
 * commit, the duplicate check, tile reads) go through node-postgres directly: Prisma's client compiles every
 * query, raw ones included, in its Wasm query compiler, and measured here that cost ~1.3 ms of CPU for a
 * three-tile read and ~100 ms for a 2,000-leaf block, more than everything else the ledger does per event
 * (docs/perf.md). The statements are constant, named (prepared once per connection) and take arrays.
 */
@Injectable()
export class LedgerRepository implements OnApplicationShutdown {
  private readonly logger = new Logger(LedgerRepository.name);
  private readonly pool: Pool;

  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(SERVICE_CONFIG) config: ServiceConfig,
  ) {
    this.pool = new Pool({ connectionString: config.DATABASE_URL, max: HOT_PATH_POOL_SIZE });
    // An idle connection that breaks (database restarted) is replaced on the next query; a query that fails
    // rejects to its caller, and a failed commit stops the sequencer.
    this.pool.on('error', (error) => this.logger.warn({ err: error }, 'idle PostgreSQL connection failed'));
  }

  /** Called after the sequencer has drained (SequencerConsumer.beforeApplicationShutdown). */
  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }

  async head(): Promise<StoredBlock | null> {
    const row = await this.prisma.block.findFirst({ orderBy: { height: 'desc' } });
    return row ? toBlock(row) : null;
  }

  async block(height: number): Promise<StoredBlock | null> {
    const row = await this.prisma.block.findUnique({ where: { height: BigInt(height) } });
    return row ? toBlock(row) : null;
  }

  async blocks(from: number, limit: number): Promise<StoredBlock[]> {
    const rows = await this.prisma.block.findMany({
      where: { height: { gte: BigInt(from) } },
      orderBy: { height: 'asc' },
      take: limit,
    });
    return rows.map(toBlock);
  }

  /** The block whose leaves include `index`. */
  async blockContaining(index: number): Promise<StoredBlock | null> {
    const row = await this.prisma.block.findFirst({
      where: { firstLeafIndex: { lte: BigInt(index) }, treeSize: { gt: BigInt(index) } },
    });
    return row ? toBlock(row) : null;
  }

  /** Leaves with start <= index < end, in order. */
  async leaves(start: number, end: number): Promise<StoredLeaf[]> {
    const rows = await this.prisma.leaf.findMany({
      where: { index: { gte: BigInt(start), lt: BigInt(end) } },
      orderBy: { index: 'asc' },
    });
    return rows.map(toLeaf);
  }

  async leafByEventId(eventId: string): Promise<StoredLeaf | null> {
    const row = await this.prisma.leaf.findUnique({ where: { eventId } });
    return row ? toLeaf(row) : null;
  }

  /** The leaves holding these event ids (those in the log), in index order. */
  async leavesByEventIds(eventIds: readonly string[]): Promise<StoredLeaf[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.prisma.leaf.findMany({
      where: { eventId: { in: [...eventIds] } },
      orderBy: { index: 'asc' },
    });
    return rows.map(toLeaf);
  }

  /** The leaf data of those of these event ids that are already in the log, by event id. */
  async knownEvents(eventIds: readonly string[]): Promise<Map<string, Uint8Array>> {
    if (eventIds.length === 0) return new Map();
    const result = await this.pool.query<{ event_id: string; data: Buffer }>({
      name: 'ledger-known-events',
      text: 'SELECT event_id, data FROM leaf WHERE event_id = ANY($1::text[])',
      values: [eventIds],
    });
    return new Map(result.rows.map((row) => [row.event_id, row.data]));
  }

  /** The tile rows with these coordinates (those that exist). Every inclusion and consistency proof reads here. */
  async tiles(ids: ReadonlyArray<{ level: number; index: number }>): Promise<StoredTile[]> {
    if (ids.length === 0) return [];
    const result = await this.pool.query<{ level: number; index: string; width: number; hashes: Buffer }>({
      name: 'ledger-tiles',
      text: 'SELECT level, index, width, hashes FROM tile WHERE (level, index) IN (SELECT * FROM unnest($1::int[], $2::bigint[]))',
      values: [ids.map((id) => id.level), ids.map((id) => id.index)],
    });
    return result.rows.map((row) => ({
      level: row.level,
      index: Number(row.index),
      width: row.width,
      hashes: new Uint8Array(row.hashes.buffer, row.hashes.byteOffset, row.hashes.byteLength),
    }));
  }

  /**
   * One block, atomically: its leaves, the tiles it changed, its header and its signing key's figures (first and
   * last height, blocks: what GET /v1/keys reads). Either all of it is in the database or none of it (a crash at
   * any instant leaves no half block). False, with nothing written, when one of its event ids is already in the
   * log. The header is inserted from the key's updated row, so a key that was never registered writes nothing
   * (it throws).
   *
   * One statement (data-modifying CTEs), so it is atomic without an explicit transaction and costs one round
   * trip. Columns travel as arrays through unnest and the byte and text columns as one bytea each, cut by
   * offsets, so a block of any size is the same prepared statement with 27 parameters. Leaf indexes are the
   * block's first index plus the row's ordinal; topics are numbers into the block's few distinct topics.
   */
  async commitBlock(block: StoredBlock, leaves: readonly StoredLeaf[], tiles: readonly StoredTile[]): Promise<boolean> {
    const topics: string[] = [];
    const topicNumbers: number[] = [];
    leaves.forEach((leaf, offset) => {
      // The statement derives both from the block: leaf i is index firstLeafIndex + i, of block `height`.
      if (leaf.blockHeight !== block.height || leaf.index !== block.firstLeafIndex + offset)
        throw new Error(`leaf ${leaf.index} is not leaf ${offset} of block ${block.height}`);
      let topic = topics.indexOf(leaf.topic);
      if (topic < 0) topic = topics.push(leaf.topic) - 1;
      topicNumbers.push(topic + 1);
    });
    const data = packed(leaves.map((leaf) => leaf.data));
    const ids = packedText(leaves.map((leaf) => leaf.eventId));
    const hashes = packed(tiles.map((tile) => tile.hashes));
    let written: number | null;
    try {
      ({ rowCount: written } = await this.pool.query({
        name: 'ledger-commit-block-v4',
        text: COMMIT_BLOCK_SQL,
        values: [
          data.bytes,
          ids.bytes,
          ids.starts,
          ids.lengths,
          topics,
          numbers(topicNumbers),
          numbers(leaves.map((leaf) => leaf.receivedAt.getTime())),
          block.height,
          hashes.bytes,
          numbers(tiles.map((tile) => tile.level)),
          numbers(tiles.map((tile) => tile.index)),
          numbers(tiles.map((tile) => tile.width)),
          hashes.starts,
          hashes.lengths,
          bytes(block.previousHash),
          block.firstLeafIndex,
          block.leafCount,
          block.treeSize,
          bytes(block.root),
          block.sealedAt.toISOString(),
          block.keyId,
          bytes(block.signature),
          bytes(block.hash),
          data.starts,
          data.lengths,
          block.checkpoint,
          block.keyChange,
        ],
      }));
    } catch (error) {
      if ((error as { code?: string; constraint?: string }).constraint === LEAF_EVENT_ID_CONSTRAINT) return false;
      throw error;
    }
    // No header row means no signing_key row (and, the statement being one, no leaves or tiles either).
    if (written !== 1) throw new Error(`block ${block.height}: its signing key ${block.keyId} is not registered`);
    return true;
  }

  async signingKey(keyId: string): Promise<{ name: string; publicKey: Uint8Array } | null> {
    return this.prisma.signingKey.findUnique({ where: { keyId }, select: { name: true, publicKey: true } });
  }

  async registerKey(keyId: string, name: string, publicKey: Uint8Array): Promise<void> {
    await this.prisma.signingKey.upsert({
      where: { keyId },
      create: { keyId, name, publicKey: Buffer.from(publicKey) },
      update: {},
    });
  }

  /**
   * Every key with the first and last height it signed (null when it has signed nothing yet): its own row, kept up
   * to date by commitBlock, so this reads O(keys) rows and no block.
   */
  async keys(): Promise<
    Array<{
      keyId: string;
      name: string;
      publicKey: Uint8Array;
      addedAt: Date;
      firstHeight: number | null;
      lastHeight: number | null;
      blocks: number;
    }>
  > {
    const keys = await this.prisma.signingKey.findMany({ orderBy: { addedAt: 'asc' } });
    return keys.map((key) => ({
      keyId: key.keyId,
      name: key.name,
      publicKey: key.publicKey,
      addedAt: key.addedAt,
      firstHeight: key.firstHeight === null ? null : Number(key.firstHeight),
      lastHeight: key.lastHeight === null ? null : Number(key.lastHeight),
      blocks: Number(key.blocks),
    }));
  }
}
