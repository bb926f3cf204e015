/**
 * Proof of origin for events, cheap to check in bulk (docs/design/ledger-format.md §1).
 *
 * A producer signs a batch of events at once: an RFC 6962 tree over the JCS bytes of each envelope without its
 * proof attributes, whose checkpoint (origin, size, root) it signs as a C2SP signed note. Each event carries the
 * key id, that note, its index and its inclusion proof, so anyone holding the producer's public key can check
 * any single event, and a consumer of many events verifies each note's signature once.
 */
import { toBase64 } from './encoding';
import { parseCheckpoint, signCheckpoint } from './checkpoint';
import { canonicalBytes, canonicalMembers } from './jcs';
import { leafHash } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { ProvenNodes, verifyInclusionRemembering } from './proof';
import { createSigner, parseVerifierKey, verifyNote, type NoteSigner, type NoteVerifier } from './note';

/** The attributes that carry the proof; everything else is what the producer signed. */
export const ORIGIN_ATTRIBUTES = ['producerkey', 'batchnote', 'batchindex', 'batchproof'] as const;

export interface OriginProof {
  producerkey: string;
  batchnote: string;
  batchindex: number;
  batchproof: string[];
}

/** Stable codes of an origin check that fails (they become dead-letter reasons). */
export const OriginFailure = {
  UNKNOWN_KEY: 'LEDGER.ORIGIN_UNKNOWN_KEY',
  BAD_NOTE: 'LEDGER.ORIGIN_BAD_NOTE',
  NOT_IN_BATCH: 'LEDGER.ORIGIN_NOT_IN_BATCH',
} as const;
export type OriginFailureCode = (typeof OriginFailure)[keyof typeof OriginFailure];
export type OriginVerdict = { ok: true; producer: string } | { ok: false; code: OriginFailureCode; reason: string };

/** Distinct batch notes remembered by a verifier; a producer batch is verified once while it is in here. */
export const ORIGIN_NOTE_CACHE_SIZE = 4_096;

/**
 * Tree nodes a verifier remembers across the batches it has seen most recently (each ~100 bytes): enough for the
 * batches being consumed at any moment, so that each event's proof stops at a node an earlier event of its batch
 * proved (verifyInclusionRemembering). Older batches' nodes are forgotten first; their events still verify, in full.
 */
export const ORIGIN_PROVEN_NODE_BUDGET = 100_000;

function signedPart(envelope: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...envelope };
  for (const attribute of ORIGIN_ATTRIBUTES) delete copy[attribute];
  return copy;
}

const isSigned = (name: string) => !(ORIGIN_ATTRIBUTES as readonly string[]).includes(name);

/**
 * The UTF-8 bytes of the canonical whole (`{` + every member + `}`) and of its signed part (the same without the
 * proof attributes). Encoded once: the signed part is copied out of the whole's bytes member by member.
 */
function wholeAndSigned(members: ReadonlyArray<[string, string]>): { whole: Uint8Array; signed: Uint8Array } {
  const whole = Buffer.from(`{${members.map(([, member]) => member).join(',')}}`, 'utf8');
  const signed = Buffer.allocUnsafe(whole.length);
  signed[0] = OPEN_BRACE;
  let at = 1;
  let from = 1;
  for (const [name, member] of members) {
    const length = Buffer.byteLength(member, 'utf8');
    if (isSigned(name)) {
      if (at > 1) signed[at++] = COMMA;
      at += whole.copy(signed, at, from, from + length);
    }
    from += length + 1;
  }
  signed[at++] = CLOSE_BRACE;
  return { whole, signed: signed.subarray(0, at) };
}

const [OPEN_BRACE, COMMA, CLOSE_BRACE] = [0x7b, 0x2c, 0x7d];

/** The producer side: signs batches of envelopes with one signature per batch. */
export class OriginSigner {
  private readonly signer: NoteSigner;

  /** `name` is the producing service (the key name); `origin` the checkpoint origin of its batches. */
  constructor(
    name: string,
    seed: Uint8Array,
    private readonly origin = `medledger.local/${name}/events`,
  ) {
    this.signer = createSigner(name, seed);
  }

  get keyId(): string {
    return this.signer.keyId;
  }

  get publicKey(): Uint8Array {
    return this.signer.publicKey;
  }

  signBatch<T extends object>(envelopes: readonly T[]): Array<T & OriginProof> {
    if (envelopes.length === 0) return [];
    const leaves = envelopes.map((envelope) =>
      leafHash(canonicalBytes(signedPart(envelope as Record<string, unknown>))),
    );
    const tree = new MemoryMerkleTree(leaves);
    const root = tree.root();
    const note = signCheckpoint({ origin: this.origin, size: leaves.length, root, extensions: [] }, [this.signer]);
    return envelopes.map((envelope, index) => ({
      ...envelope,
      producerkey: this.signer.keyId,
      batchnote: note,
      batchindex: index,
      batchproof: tree.inclusionProof(index).map(toBase64),
    }));
  }
}

interface VerifiedBatch {
  producer: string;
  size: number;
  root: Uint8Array;
}

/** The consumer side: checks events against a keyring of producer verifier keys. */
export class OriginVerifier {
  private readonly keys: NoteVerifier[];
  private readonly batches = new Map<string, VerifiedBatch>();
  /** By batch note, oldest first: the nodes its events' proofs have shown (ORIGIN_PROVEN_NODE_BUDGET in all). */
  private readonly proven = new Map<string, ProvenNodes>();

  /** `verifierKeys`: signed-note verifier keys (`<name>+<keyid>+<base64>`); a malformed one throws. */
  constructor(verifierKeys: readonly string[]) {
    this.keys = verifierKeys.map((vkey) => {
      const parsed = parseVerifierKey(vkey);
      if (!parsed.ok) throw new Error(`invalid producer verifier key "${vkey}": ${parsed.reason}`);
      return parsed.value;
    });
  }

  /** Checks that `envelope` was signed by the key `producer` owns. Never throws on crafted input. */
  verify(envelope: Readonly<Record<string, unknown>>, producer: string): OriginVerdict {
    const verdict = this.verifyCanonical(envelope, producer);
    return verdict.ok ? { ok: true, producer } : verdict;
  }

  /**
   * {@link verify}, also returning the RFC 8785 form of the whole envelope (proof attributes included), as UTF-8
   * bytes: each member is serialised once for both the signed part and the whole (the ledger's leaf holds the
   * latter). An envelope with no canonical form fails as not in its batch.
   */
  verifyCanonical(
    envelope: Readonly<Record<string, unknown>>,
    producer: string,
  ): { ok: true; producer: string; canonical: Uint8Array } | Extract<OriginVerdict, { ok: false }> {
    const { producerkey, batchnote, batchindex, batchproof } = envelope;
    if (
      typeof producerkey !== 'string' ||
      typeof batchnote !== 'string' ||
      typeof batchindex !== 'number' ||
      !Array.isArray(batchproof)
    ) {
      return { ok: false, code: OriginFailure.BAD_NOTE, reason: 'missing or malformed proof attributes' };
    }
    const key = this.keys.find((k) => k.name === producer && k.keyId === producerkey);
    if (!key)
      return { ok: false, code: OriginFailure.UNKNOWN_KEY, reason: `no key ${producer}+${producerkey} in the keyring` };
    const batch = this.batch(batchnote, key);
    if ('code' in batch) return batch;
    const proof: Uint8Array[] = [];
    for (const element of batchproof) {
      if (typeof element !== 'string')
        return { ok: false, code: OriginFailure.NOT_IN_BATCH, reason: 'proof element is not a string' };
      proof.push(Buffer.from(element, 'base64'));
    }
    let members: Array<[string, string]>;
    try {
      members = canonicalMembers(envelope);
    } catch (error) {
      return { ok: false, code: OriginFailure.NOT_IN_BATCH, reason: (error as Error).message };
    }
    const { whole, signed } = wholeAndSigned(members);
    const verdict = verifyInclusionRemembering(leafHash(signed), batchindex, proof, this.provenNodes(batchnote, batch));
    if (!verdict.ok) return { ok: false, code: OriginFailure.NOT_IN_BATCH, reason: verdict.reason };
    return { ok: true, producer, canonical: whole };
  }

  private provenNodes(note: string, batch: VerifiedBatch): ProvenNodes {
    const known = this.proven.get(note);
    if (known) return known;
    let total = 0;
    for (const nodes of this.proven.values()) total += nodes.count;
    for (const [oldest, nodes] of this.proven) {
      if (total <= ORIGIN_PROVEN_NODE_BUDGET) break;
      this.proven.delete(oldest);
      total -= nodes.count;
    }
    const nodes = new ProvenNodes(batch.size, batch.root);
    this.proven.set(note, nodes);
    return nodes;
  }

  private batch(
    note: string,
    key: NoteVerifier,
  ): VerifiedBatch | { ok: false; code: OriginFailureCode; reason: string } {
    const cached = this.batches.get(note);
    if (cached && cached.producer === key.name) return cached;
    const verified = verifyNote(note, [key]);
    if (!verified.ok) return { ok: false, code: OriginFailure.BAD_NOTE, reason: verified.reason };
    const checkpoint = parseCheckpoint(verified.text);
    if (!checkpoint.ok) return { ok: false, code: OriginFailure.BAD_NOTE, reason: checkpoint.reason };
    const batch = { producer: key.name, size: checkpoint.value.size, root: checkpoint.value.root };
    if (this.batches.size >= ORIGIN_NOTE_CACHE_SIZE) this.batches.delete(this.batches.keys().next().value as string);
    this.batches.set(note, batch);
    return batch;
  }
}
