/**
 * Proof of origin for events, cheap to check in bulk (docs/design/ledger-format.md §1).
 *
 * A producer signs a batch of events at once: an RFC 6962 tree over the JCS bytes of each envelope without its
 * proof attributes, whose checkpoint (origin, size, root) it signs as a C2SP signed note. Each event carries the
 * key id, that note, its index and its inclusion proof, so anyone holding the producer's public key can check
 * any single event, and a consumer of many events verifies each note's signature once.
 */
import { isUtf8 } from 'node:buffer';
import { toBase64, utf8 } from './encoding';
import { parseCheckpoint, signCheckpoint } from './checkpoint';
import { canonicalBytes, canonicalize, canonicalMembers, isCanonicalJson, isCanonicalJsonLatin1 } from './jcs';
import { leafHash, sha256 } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { ProvenNodes, verifyInclusionRemembering } from './proof';
import { createSigner, parseNote, parseVerifierKey, verifyNote, type NoteSigner, type NoteVerifier } from './note';

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
  /** A valid note of the producer's key, for another log than its event batches (batchOrigin). */
  WRONG_BATCH_ORIGIN: 'LEDGER.ORIGIN_WRONG_BATCH_ORIGIN',
} as const;
export type OriginFailureCode = (typeof OriginFailure)[keyof typeof OriginFailure];
export type OriginVerdict = { ok: true; producer: string } | { ok: false; code: OriginFailureCode; reason: string };

/**
 * The checkpoint origin of every event batch `service` signs. The verifier insists on it: the producer's key may
 * sign other notes (another log, a test), and none of them may pass for a batch of its events.
 */
export function batchOrigin(service: string): string {
  return `medledger.local/${service}/events`;
}

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

/**
 * An envelope as it arrived: its bytes and their text, decoded as UTF-8, or as Latin-1 (`latin1`: one character per
 * byte, see isCanonicalJsonLatin1; the envelope was parsed from that text, and the caller has checked that its proof
 * elements are base64, which is ASCII). With `latin1`, only acceptance is a verdict: anything else means "decode as
 * UTF-8 and check again" (the reasons may show bytes as characters). `canonical`: the caller has already checked
 * that `text` is the RFC 8785 form of the envelope and `bytes` its UTF-8 (an event cut out of a leaf whose canonical
 * form and UTF-8 were checked), so neither is checked again.
 */
export interface ReceivedEnvelope {
  text: string;
  bytes: Uint8Array;
  latin1?: boolean;
  canonical?: boolean;
}

/** What JSON.stringify writes other than as itself in a string (surrogates never reach here: see isCanonicalJson). */
// eslint-disable-next-line no-control-regex -- the controls are exactly what is escaped
const ESCAPED = /["\\\u0000-\u001f]/;

/** The length of JSON.stringify(value), without writing it for strings, numbers and arrays of them. */
function jsonLength(value: unknown): number {
  if (typeof value === 'string') return ESCAPED.test(value) ? JSON.stringify(value).length : value.length + 2;
  if (typeof value === 'number') return String(value).length;
  if (Array.isArray(value)) {
    let length = 1 + Math.max(value.length, 1); // brackets and commas
    for (const item of value) length += jsonLength(item);
    return length;
  }
  return JSON.stringify(value).length;
}

/**
 * The UTF-8 bytes of the signed part of an envelope received in canonical form, cut out of what was received: the
 * whole minus its proof members, each with the comma after it. A member's place in the canonical text follows from
 * the lengths of the members before it (or after it, from the end), each its name and value as JSON.stringify
 * writes them, so the members between the proof attributes (the payload among them) are never serialised. The
 * character offsets are byte offsets when the text is ASCII; otherwise the kept text is encoded. Undefined when a
 * proof member is the envelope's last (no valid envelope: `type` and `time` sort after every proof attribute).
 */
function signedOfCanonical(
  envelope: Readonly<Record<string, unknown>>,
  received: ReceivedEnvelope,
): Uint8Array | undefined {
  const { text, bytes } = received;
  const keys = Object.keys(envelope);
  const at: number[] = [];
  for (let i = 0; i < keys.length; i++) if (!isSigned(keys[i] as string)) at.push(i);
  if (at.length !== ORIGIN_ATTRIBUTES.length) return undefined;
  const last = at[at.length - 1] as number;
  if (last === keys.length - 1) return undefined;
  const memberLength = (i: number) => {
    const key = keys[i] as string;
    return jsonLength(key) + 1 + jsonLength(envelope[key]);
  };
  // [start, end) of each proof member with its comma: from the front up to the one before the last, then from the back.
  const cuts: Array<[number, number]> = [];
  let start = 1;
  for (let i = 0; i <= (at[at.length - 2] as number); i++) {
    const end = start + memberLength(i);
    if (!isSigned(keys[i] as string)) cuts.push([start, end + 1]);
    start = end + 1;
  }
  let end = text.length - 1;
  for (let i = keys.length - 1; i > last; i--) end -= memberLength(i) + 1;
  cuts.push([end - memberLength(last), end + 1]);
  if (bytes.length === text.length) {
    // ASCII: a character is a byte.
    const signed = Buffer.allocUnsafe(bytes.length);
    let length = 0;
    let from = 0;
    for (const [cutStart, cutEnd] of cuts) {
      signed.set(bytes.subarray(from, cutStart), length);
      length += cutStart - from;
      from = cutEnd;
    }
    signed.set(bytes.subarray(from), length);
    return signed.subarray(0, length + bytes.length - from);
  }
  let kept = '';
  let from = 0;
  for (const [cutStart, cutEnd] of cuts) {
    kept += text.slice(from, cutStart);
    from = cutEnd;
  }
  return Buffer.from(kept + text.slice(from), 'utf8');
}

/**
 * A signed event as producers publish it: the RFC 8785 form of the whole envelope, which is what the ledger seals,
 * so that the ledger takes the bytes as they arrive instead of serialising the event again (OriginVerifier's
 * `verifyCanonical`). Throws like canonicalize for a value with no JSON form.
 */
export function encodeSignedEvent(event: object): string {
  return canonicalize(event);
}

/** The producer side: signs batches of envelopes with one signature per batch. */
export class OriginSigner {
  private readonly signer: NoteSigner;

  /**
   * `name` is the producing service (the key name); `origin` the checkpoint origin of its batches, which verifiers
   * accept only when it is batchOrigin(name) (another is for tests of exactly that).
   */
  constructor(
    name: string,
    seed: Uint8Array,
    private readonly origin = batchOrigin(name),
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

/**
 * Digests of batch notes whose signature some verifier sharing this has checked (verifiers on several threads):
 * so that each note's Ed25519 signature (~110–175 µs) is verified once, not once per thread. A digest binds the
 * note to the key that verified it. `has` must answer true only for digests that were `add`ed.
 */
export interface SharedNoteChecks {
  has(digest: Uint8Array): boolean;
  add(digest: Uint8Array): void;
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

  /**
   * `verifierKeys`: signed-note verifier keys (`<name>+<keyid>+<base64>`); a malformed one throws. `shared`: the
   * notes other verifiers have checked, and where this one records those it checks.
   */
  constructor(
    verifierKeys: readonly string[],
    private readonly shared?: SharedNoteChecks,
  ) {
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
   * latter). An envelope with no canonical form fails as not in its batch. When `received` (the text `envelope` was
   * parsed from, and its bytes) is already canonical, as producers publish it, nothing is serialised: the whole is
   * `received.bytes` itself and the signed part is cut out of it.
   */
  verifyCanonical(
    envelope: Readonly<Record<string, unknown>>,
    producer: string,
    received?: ReceivedEnvelope,
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
    const batch = this.batch(batchnote, key, received?.latin1 === true);
    if ('code' in batch) return batch;
    const proof: Uint8Array[] = [];
    for (const element of batchproof) {
      if (typeof element !== 'string')
        return { ok: false, code: OriginFailure.NOT_IN_BATCH, reason: 'proof element is not a string' };
      proof.push(Buffer.from(element, 'base64'));
    }
    // Received in canonical form (as producers publish): the whole is what arrived, the signed part is cut out of it.
    // The bytes must be valid UTF-8 too: a decoder turns an invalid sequence into U+FFFD, whose text may well be
    // canonical while the bytes are not its UTF-8.
    const canonical = received?.latin1 ? isCanonicalJsonLatin1 : isCanonicalJson;
    const cut =
      received && (received.canonical === true || (isUtf8(received.bytes) && canonical(received.text, envelope)))
        ? signedOfCanonical(envelope, received)
        : undefined;
    if (received?.latin1 && !cut)
      return { ok: false, code: OriginFailure.NOT_IN_BATCH, reason: 'not canonical as received' };
    let whole: Uint8Array;
    let signed: Uint8Array;
    if (received && cut) {
      whole = received.bytes;
      signed = cut;
    } else {
      let members: Array<[string, string]>;
      try {
        members = canonicalMembers(envelope);
      } catch (error) {
        return { ok: false, code: OriginFailure.NOT_IN_BATCH, reason: (error as Error).message };
      }
      ({ whole, signed } = wholeAndSigned(members));
    }
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

  /** `note` as received; `latin1`: its UTF-8 bytes decoded as Latin-1 (the cache keeps it so, checks the real text). */
  private batch(
    note: string,
    key: NoteVerifier,
    latin1: boolean,
  ): VerifiedBatch | { ok: false; code: OriginFailureCode; reason: string } {
    const cached = this.batches.get(note);
    if (cached && cached.producer === key.name) return cached;
    const real = latin1 ? Buffer.from(note, 'latin1').toString('utf8') : note;
    const digest = this.shared && sha256(key.publicKey, utf8(`${key.name}\n${real}`));
    let text: string;
    const parsed = digest && this.shared?.has(digest) ? parseNote(real) : undefined;
    if (parsed?.ok) {
      text = parsed.value.text; // its signature by this key was verified on another thread
    } else {
      const verified = verifyNote(real, [key]);
      if (!verified.ok) return { ok: false, code: OriginFailure.BAD_NOTE, reason: verified.reason };
      text = verified.text;
      if (digest) this.shared?.add(digest);
    }
    const checkpoint = parseCheckpoint(text);
    if (!checkpoint.ok) return { ok: false, code: OriginFailure.BAD_NOTE, reason: checkpoint.reason };
    if (checkpoint.value.origin !== batchOrigin(key.name)) {
      return {
        ok: false,
        code: OriginFailure.WRONG_BATCH_ORIGIN,
        reason: `the batch note is for ${JSON.stringify(checkpoint.value.origin)}, not ${JSON.stringify(batchOrigin(key.name))}`,
      };
    }
    const batch = { producer: key.name, size: checkpoint.value.size, root: checkpoint.value.root };
    if (this.batches.size >= ORIGIN_NOTE_CACHE_SIZE) this.batches.delete(this.batches.keys().next().value as string);
    this.batches.set(note, batch);
    return batch;
  }
}
