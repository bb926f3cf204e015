import {
  blockHash,
  createSigner,
  GENESIS_PREVIOUS_HASH,
  leafData,
  leafHash,
  MemoryMerkleTree,
  OriginSigner,
  signCheckpoint,
  signHeader,
  signKeyChange,
  toBase64,
  verifierKey,
  type BlockHeader,
  type NoteSigner,
  type SignedBlockHeader,
} from '@medledger/ledger-core';
import { type BlockRecord } from '../src/chain-verifier';
import { trustKeys, type TrustedKeys } from '../src/keys';
import { type LeafRecord } from '../src/leaf';
import { ProducerCheck } from '../src/producers';

/**
 * A small ledger built the way the ledger service builds one (apps/ledger/src/sealing), with ledger-core only:
 * JCS leaves, RFC 6962 roots, signed hash-linked headers and a signed checkpoint per block. For feeding the
 * verifier, and for tampering with.
 */
export const ORIGIN = 'test.local/ledger';
const T0 = Date.parse('2026-11-23T12:00:00.000Z');

export interface TestLedger {
  readonly signers: readonly NoteSigner[];
  readonly blocks: BlockRecord[];
  readonly leaves: LeafRecord[];
  /** The latest checkpoint (the last block's). */
  checkpoint: string | undefined;
  readonly tree: MemoryMerkleTree;
  /** The producer that signed the events (supply, in batches of PRODUCER_BATCH that straddle blocks). */
  readonly producer: OriginSigner;
}

/** Events per producer batch: not a divisor of the block sizes, so batches straddle blocks as they do live. */
export const PRODUCER_BATCH = 4;

export function producer(byte = 9): OriginSigner {
  return new OriginSigner('supply', seed(byte));
}

/** A check of the events' proofs of origin against these producers' keys. */
export function producersOf(...signers: readonly OriginSigner[]): ProducerCheck {
  return new ProducerCheck({
    verifierKeys: signers.map((key) => verifierKey('supply', key.publicKey)),
    source: 'test producer keys',
  });
}

export function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

export function signer(byte = 7, origin = ORIGIN): NoteSigner {
  return createSigner(origin, seed(byte));
}

export function event(id: string, n = 0): Record<string, unknown> {
  return {
    specversion: '1.0',
    id,
    source: '/medledger/supply',
    type: 'supply.PackCommissioned',
    time: new Date(T0).toISOString(),
    datacontenttype: 'application/json',
    data: { serial: `SN${n}` },
  };
}

/** Seals a header for the given fields with `key`, adding `hash` and the checkpoint after it. */
export function seal(header: Omit<BlockHeader, 'keyId'>, key: NoteSigner, origin = ORIGIN): BlockRecord {
  const signed: SignedBlockHeader = signHeader({ ...header, keyId: key.keyId }, key);
  const checkpoint = signCheckpoint(
    { origin, size: header.treeSize, root: Buffer.from(header.root, 'base64'), extensions: [] },
    [key],
  );
  return { ...signed, hash: toBase64(blockHash(signed)), checkpoint };
}

/**
 * `blockSizes[h]` leaves in block h. `keyFor(h)` picks the signer of block h (key rotation: where it changes, the
 * block carries a key change record by the previous key, unless `recordKeyChanges` is false); `eventIds` may
 * override ids (for duplicates). Every event is signed by `producer`, in batches of PRODUCER_BATCH.
 */
export function buildLedger({
  blockSizes = [3, 5, 1, 8, 4],
  keyFor = () => signer(),
  eventId = (index: number) => `evt-${index}`,
  producer: producerKey = producer(),
  recordKeyChanges = true,
}: {
  blockSizes?: readonly number[];
  keyFor?: (height: number) => NoteSigner;
  recordKeyChanges?: boolean;
  eventId?: (index: number) => string;
  producer?: OriginSigner;
} = {}): TestLedger {
  const total = blockSizes.reduce((sum, count) => sum + count, 0);
  const events: Array<Record<string, unknown>> = [];
  for (let start = 0; start < total; start += PRODUCER_BATCH) {
    const batch = Array.from({ length: Math.min(PRODUCER_BATCH, total - start) }, (_, i) =>
      event(eventId(start + i), start + i),
    );
    events.push(...producerKey.signBatch(batch));
  }
  const tree = new MemoryMerkleTree();
  const blocks: BlockRecord[] = [];
  const leaves: LeafRecord[] = [];
  const signers = new Map<string, NoteSigner>();
  let previousHash = GENESIS_PREVIOUS_HASH;
  let previousKey: NoteSigner | undefined;
  blockSizes.forEach((count, height) => {
    const firstLeafIndex = tree.size;
    for (let i = 0; i < count; i++) {
      const index = tree.size;
      const id = eventId(index);
      const data = leafData({
        index,
        receivedAt: new Date(T0 + index).toISOString(),
        topic: 'medledger.supply.events',
        event: at(events, index),
      });
      leaves.push({ index, eventId: id, leafData: toBase64(data) });
      tree.append(leafHash(data));
    }
    const key = keyFor(height);
    signers.set(key.keyId, key);
    const handover =
      recordKeyChanges && previousKey && previousKey.keyId !== key.keyId
        ? signKeyChange(
            { origin: ORIGIN, height, previousHash, newKey: verifierKey(key.name, key.publicKey) },
            previousKey,
          )
        : undefined;
    previousKey = key;
    const block = seal(
      {
        height,
        previousHash,
        firstLeafIndex,
        leafCount: count,
        treeSize: tree.size,
        root: toBase64(tree.root()),
        sealedAt: new Date(T0 + 1_000 * (height + 1)).toISOString(),
        ...(handover ? { keyChange: handover } : {}),
      },
      key,
    );
    blocks.push(block);
    previousHash = block.hash;
  });
  return {
    signers: [...signers.values()],
    blocks,
    leaves,
    checkpoint: blocks.at(-1)?.checkpoint,
    tree,
    producer: producerKey,
  };
}

/** An attacker holding the key: changes block h's fields, re-signs it and re-links every later block. */
export function rewrite(ledger: TestLedger, height: number, changes: Partial<BlockHeader>, key = signer()): void {
  let previousHash = height === 0 ? undefined : ledger.blocks[height - 1]?.hash;
  for (let h = height; h < ledger.blocks.length; h++) {
    const {
      hash: _hash,
      checkpoint: _checkpoint,
      signature: _signature,
      keyId: _keyId,
      ...fields
    } = at(ledger.blocks, h);
    const header = { ...fields, ...(previousHash ? { previousHash } : {}), ...(h === height ? changes : {}) };
    const block = seal(header, key);
    ledger.blocks[h] = block;
    previousHash = block.hash;
  }
  ledger.checkpoint = ledger.blocks.at(-1)?.checkpoint;
}

export function keysOf(...signers: readonly NoteSigner[]): TrustedKeys {
  const trusted = trustKeys(
    signers.map((key) => verifierKey(key.name, key.publicKey)),
    'test keys',
  );
  if (!trusted.ok) throw new Error(trusted.reason);
  return trusted.keys;
}

export async function* stream<T>(items: readonly T[]): AsyncGenerator<T> {
  yield* items;
}

/** The block holding leaf `index`. */
export function blockOf(ledger: TestLedger, index: number): number {
  const block = ledger.blocks.find((b) => b.firstLeafIndex <= index && index < b.treeSize);
  if (!block) throw new Error(`no block holds leaf ${index}`);
  return block.height;
}

/** items[index], which the test knows is there (noUncheckedIndexedAccess without `!`). */
export function at<T>(items: readonly T[], index: number): T {
  const item = items[index];
  if (item === undefined) throw new Error(`nothing at ${index}`);
  return item;
}

/** A leaf's content as the ledger writes it (docs/design/ledger-format.md §2). */
export interface LeafContent {
  event: Record<string, unknown>;
  index: number;
  receivedAt: string;
  topic: string;
}

export function leafContent(leaf: LeafRecord): LeafContent {
  return JSON.parse(Buffer.from(leaf.leafData, 'base64').toString('utf8')) as LeafContent;
}

/**
 * An operator holding the ledger's key: rewrites leaves with `change` (index → new content, or unchanged), then
 * rebuilds every root and re-signs and re-links every block, so that everything the ledger signs is consistent.
 * Only what the ledger cannot sign for (the producers' proofs, the rules on its own fields) can tell.
 */
export function reseal(ledger: TestLedger, change: (content: LeafContent) => LeafContent, key = signer()): TestLedger {
  const tree = new MemoryMerkleTree();
  const leaves = ledger.leaves.map((leaf) => {
    const content = change(leafContent(leaf));
    const data = leafData(content);
    tree.append(leafHash(data));
    return { index: leaf.index, eventId: String(content.event['id']), leafData: toBase64(data) };
  });
  const blocks: BlockRecord[] = [];
  let previousHash = GENESIS_PREVIOUS_HASH;
  for (const block of ledger.blocks) {
    const sealed = seal(
      {
        height: block.height,
        previousHash,
        firstLeafIndex: block.firstLeafIndex,
        leafCount: block.leafCount,
        treeSize: block.treeSize,
        root: toBase64(tree.root(block.treeSize)),
        sealedAt: block.sealedAt,
      },
      key,
    );
    blocks.push(sealed);
    previousHash = sealed.hash;
  }
  return { ...ledger, signers: [key], blocks, leaves, checkpoint: blocks.at(-1)?.checkpoint, tree };
}
