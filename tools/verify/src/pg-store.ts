import { Client } from 'pg';
import { CliError, CliErrorCode } from './codes';
import { type StoreReader, type StoredTileRow } from './store-audit';

/**
 * The ledger's PostgreSQL tables (apps/ledger/prisma/schema.prisma: block, leaf, tile) as a `StoreReader`, read in
 * one REPEATABLE READ READ ONLY transaction: a ledger that keeps sealing while the audit reads is seen as it was
 * when the audit began (its block commit writes the leaves, tiles and header in one statement). Rows are presented
 * as the ledger's API presents them (ledger.queries.ts presentBlock), so the chain check is the same code.
 */
export class PostgresStore implements StoreReader {
  private constructor(
    private readonly client: Client,
    private readonly batch: number,
  ) {}

  static async open(url: string, batch: number): Promise<PostgresStore> {
    const client = new Client({ connectionString: url });
    // A connection that fails later (server gone) surfaces through the query that needs it, not as a crash.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    } catch (error) {
      await client.end().catch(() => undefined);
      throw databaseError(error);
    }
    return new PostgresStore(client, batch);
  }

  async close(): Promise<void> {
    await this.client.query('ROLLBACK').catch(() => undefined);
    await this.client.end().catch(() => undefined);
  }

  async checkpoint(): Promise<string | undefined> {
    const rows = await this.query<{ checkpoint: string }>(
      'SELECT checkpoint FROM block ORDER BY height DESC LIMIT 1',
      [],
    );
    return rows[0]?.checkpoint;
  }

  // Ordered by the columns, not by their text aliases: "10" sorts before "2".
  async *blocks(): AsyncGenerator<unknown> {
    for (let from = '0'; ; ) {
      const rows = await this.query<BlockRow>(
        `SELECT height::text AS height, previous_hash, first_leaf_index::text AS first_leaf_index, leaf_count,
                tree_size::text AS tree_size, root, sealed_at, key_id, key_change, signature, hash, checkpoint
         FROM block WHERE height >= $1::bigint ORDER BY block.height LIMIT $2`,
        [from, this.batch],
      );
      for (const row of rows) yield presentBlock(row);
      if (rows.length < this.batch) return;
      from = String(BigInt((rows.at(-1) as BlockRow).height) + 1n);
    }
  }

  async *leaves(): AsyncGenerator<unknown> {
    for (let from = '0'; ; ) {
      const rows = await this.query<{ index: string; event_id: string; data: Buffer }>(
        'SELECT index::text AS index, event_id, data FROM leaf WHERE index >= $1::bigint ORDER BY leaf.index LIMIT $2',
        [from, this.batch],
      );
      for (const row of rows) {
        yield { index: Number(row.index), eventId: row.event_id, leafData: row.data.toString('base64') };
      }
      if (rows.length < this.batch) return;
      from = String(BigInt((rows.at(-1) as { index: string }).index) + 1n);
    }
  }

  async tiles(ids: ReadonlyArray<{ level: number; index: number }>): Promise<StoredTileRow[]> {
    if (ids.length === 0) return [];
    const rows = await this.query<{ level: number; index: string; width: number; hashes: Buffer }>(
      'SELECT level, index::text AS index, width, hashes FROM tile ' +
        'WHERE (level, index) IN (SELECT * FROM unnest($1::int[], $2::bigint[]))',
      [ids.map((id) => id.level), ids.map((id) => id.index)],
    );
    return rows.map((row) => ({
      level: row.level,
      index: Number(row.index),
      width: row.width,
      hashes: new Uint8Array(row.hashes.buffer, row.hashes.byteOffset, row.hashes.byteLength),
    }));
  }

  async tileKeys(): Promise<Array<{ level: number; index: number }>> {
    const rows = await this.query<{ level: number; index: string }>('SELECT level, index::text AS index FROM tile', []);
    return rows.map((row) => ({ level: row.level, index: Number(row.index) }));
  }

  private async query<T extends object>(text: string, values: unknown[]): Promise<T[]> {
    try {
      return (await this.client.query<T>(text, values)).rows;
    } catch (error) {
      throw databaseError(error);
    }
  }
}

interface BlockRow {
  height: string;
  previous_hash: Buffer;
  first_leaf_index: string;
  leaf_count: number;
  tree_size: string;
  root: Buffer;
  sealed_at: Date;
  key_id: string;
  key_change: string | null;
  signature: Buffer;
  hash: Buffer;
  checkpoint: string;
}

/** As the ledger's `GET /v1/blocks` presents a block (apps/ledger/src/queries/ledger.queries.ts presentBlock). */
function presentBlock(row: BlockRow) {
  return {
    height: Number(row.height),
    previousHash: row.previous_hash.toString('base64'),
    firstLeafIndex: Number(row.first_leaf_index),
    leafCount: row.leaf_count,
    treeSize: Number(row.tree_size),
    root: row.root.toString('base64'),
    sealedAt: row.sealed_at.toISOString(),
    keyId: row.key_id,
    ...(row.key_change === null ? {} : { keyChange: row.key_change }),
    signature: row.signature.toString('base64'),
    hash: row.hash.toString('base64'),
    checkpoint: row.checkpoint,
  };
}

function databaseError(error: unknown): CliError {
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(CliErrorCode.DATABASE, `the ledger's database: ${message}`);
}
