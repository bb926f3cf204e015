/**
 * A peer of the ledger for the side-by-side benchmark (ledger-compare.bench.ts): a consumer of the same topics with
 * the same partition concurrency, run as its own process as the ledger is. What a team would build without proofs:
 *
 * - `naive`: each message as it comes (kafkajs eachMessage): parse it, hash-chain it (SHA-256 of the partition's
 *   previous hash and the bytes), insert one row (unique event id) in its own durable commit; offsets are
 *   committed by kafkajs after the handler, so only after the insert.
 * - `batched`: each Kafka batch in one INSERT (arrays through unnest), then its offsets committed: the strongest
 *   design without proofs.
 * - `raw`: counts messages and commits offsets: the Kafka consume ceiling.
 * - `floor`: parses and hashes each message (JSON.parse and one SHA-256), stores nothing.
 *
 * No signatures, canonical form, proof of origin or Merkle tree. The parent reads the committed offsets and the
 * table to time it. Arguments: JSON of {@link PeerConfig} in argv[2].
 */
import { createHash } from 'node:crypto';
import { Kafka, logLevel, type EachBatchPayload, type EachMessagePayload } from 'kafkajs';
import { Pool } from 'pg';

export type PeerMode = 'naive' | 'batched' | 'raw' | 'floor';

export interface PeerConfig {
  mode: PeerMode;
  brokers: string[];
  topics: string[];
  groupId: string;
  databaseUrl: string;
  /** kafkajs partitionsConsumedConcurrently, the ledger's own (4). */
  concurrency: number;
}

export const PEER_TABLE = `CREATE TABLE IF NOT EXISTS peer_event (
  event_id  text PRIMARY KEY,
  topic     text NOT NULL,
  partition int NOT NULL,
  offset_   bigint NOT NULL,
  chain     bytea NOT NULL,
  body      bytea NOT NULL,
  stored_at timestamptz NOT NULL DEFAULT clock_timestamp()
)`;

const INSERT_ONE = `INSERT INTO peer_event (event_id, topic, partition, offset_, chain, body)
  VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING`;
const INSERT_BATCH = `INSERT INTO peer_event (event_id, topic, partition, offset_, chain, body)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[], $5::bytea[], $6::bytea[])
  ON CONFLICT (event_id) DO NOTHING`;

function idOf(value: Buffer): string {
  const id = (JSON.parse(value.toString('utf8')) as { id?: unknown }).id;
  if (typeof id !== 'string') throw new Error('an event without a string id');
  return id;
}

async function main(config: PeerConfig): Promise<void> {
  const pool = new Pool({ connectionString: config.databaseUrl, max: config.concurrency });
  await pool.query(PEER_TABLE);
  const chains = new Map<string, Buffer>();
  const link = (topic: string, partition: number, bytes: Buffer): Buffer => {
    const key = `${topic}/${partition}`;
    const next = createHash('sha256')
      .update(chains.get(key) ?? Buffer.alloc(32))
      .update(bytes)
      .digest();
    chains.set(key, next);
    return next;
  };

  const kafka = new Kafka({ clientId: `peer-${config.mode}`, brokers: config.brokers, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: config.groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: config.topics, fromBeginning: true });

  const naive = async ({ topic, partition, message }: EachMessagePayload) => {
    const body = message.value as Buffer;
    await pool.query(INSERT_ONE, [idOf(body), topic, partition, message.offset, link(topic, partition, body), body]);
  };
  const batched = async (payload: EachBatchPayload) => {
    const { topic, partition, messages } = payload.batch;
    if (messages.length > 0) {
      const bodies = messages.map((m) => m.value as Buffer);
      await pool.query(INSERT_BATCH, [
        bodies.map(idOf),
        messages.map(() => topic),
        messages.map(() => partition),
        messages.map((m) => m.offset),
        bodies.map((body) => link(topic, partition, body)),
        bodies,
      ]);
    }
    payload.resolveOffset(payload.batch.lastOffset());
    await payload.commitOffsetsIfNecessary();
  };
  const counting = (work: (value: Buffer) => void) => async (payload: EachBatchPayload) => {
    for (const message of payload.batch.messages) work(message.value as Buffer);
    payload.resolveOffset(payload.batch.lastOffset());
    await payload.commitOffsetsIfNecessary();
  };
  const run = { partitionsConsumedConcurrently: config.concurrency };
  switch (config.mode) {
    case 'naive':
      await consumer.run({ ...run, eachMessage: naive });
      break;
    case 'batched':
      await consumer.run({ ...run, eachBatchAutoResolve: false, eachBatch: batched });
      break;
    case 'raw':
      await consumer.run({ ...run, eachBatchAutoResolve: false, eachBatch: counting(() => undefined) });
      break;
    case 'floor':
      await consumer.run({
        ...run,
        eachBatchAutoResolve: false,
        eachBatch: counting((value) => {
          idOf(value);
          createHash('sha256').update(value).digest();
        }),
      });
      break;
  }
  process.stdout.write('ready\n');
  const stop = () => {
    void consumer
      .disconnect()
      .then(() => pool.end())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main(JSON.parse(process.argv[2] ?? '{}') as PeerConfig).catch((error: unknown) => {
    process.stderr.write(`peer failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  });
}
