import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ErasedEventData, type EventCodec, type Sql, type TransactionalSql } from '@medledger/event-store';
import { searchIndexKey } from '../domain/blind-index';
import { patientPseudonyms, unlinkablePseudonyms, type Pseudonyms } from '../domain/pseudonym';

/** AES-256-GCM: 32-byte keys, 12-byte nonces (NIST SP 800-38D §8.2.2 recommends 96 bits), 16-byte tags. */
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
/**
 * How long a read may use a patient key from memory. The erasing instance forgets the key at once; another
 * instance of records (if several run) could decrypt for at most this long after an erasure committed.
 */
export const KEY_CACHE_TTL_MS = 30_000;
/** Patients whose keys stay in memory (32 bytes each, about 100 bytes with the map entry). */
export const KEY_CACHE_MAX = 10_000;

export const RecordsCryptoError = {
  PATIENT_ERASED: 'RECORDS.PATIENT_ERASED',
} as const;

/** What is stored instead of an event's data: the patient key's ciphertext of its JSON. */
interface Sealed {
  alg: 'A256GCM';
  iv: string;
  ct: string;
  tag: string;
}

function seal(key: Uint8Array, plaintext: Uint8Array, aad: string): Sealed {
  const iv = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    alg: 'A256GCM',
    iv: iv.toString('base64'),
    ct: ct.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

function open(key: Uint8Array, sealed: Sealed, aad: string): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(sealed.ct, 'base64')), decipher.final()]);
}

/** Streams of erasures (`Erasure-<patientId>`): no PHI, never encrypted. */
export const ERASURE_STREAM_PREFIX = 'Erasure-';
/**
 * Streams of the audit trail (`Audit-<patientId>/AuditEvent-<id>`): encrypted under the service's own audit key,
 * which no erasure destroys, so the accounting of disclosures (HIPAA §164.528) outlives an erasure. They hold no
 * clinical values: a search's criteria go to a stream of the patient's record instead (audit.service.ts).
 */
export const AUDIT_STREAM_PREFIX = 'Audit-';
/** The key owner of every audit stream. */
export const AUDIT_KEY_OWNER = 'records-audit';

/**
 * Whose key encrypts a stream: the patient's stream itself (`Patient-<id>`) for every stream of their record
 * (`Patient-<id>/<anything>`). The full stream id is the AEAD's associated data, so a sealed event cannot be moved
 * to another stream.
 */
export function keyOwner(streamId: string): string | undefined {
  // The record of an erasure outlives the key it destroyed: it holds ids only, and is stored as it is.
  if (streamId.startsWith(ERASURE_STREAM_PREFIX)) return undefined;
  if (streamId.startsWith(AUDIT_STREAM_PREFIX)) return AUDIT_KEY_OWNER;
  const slash = streamId.indexOf('/');
  return slash === -1 ? streamId : streamId.slice(0, slash);
}

/**
 * The owner of a patient's pseudonym key (ADR 0013): beside their data key in `patient_key`, wrapped the same way
 * (its owner is the AEAD's associated data, so neither key's row can stand in for the other), destroyed in the
 * same erasure. No stream has this name (`#` is in no stream id).
 */
export function pseudonymKeyOwner(patientId: string): string {
  return `Patient-${patientId}#pseudonyms`;
}

/** The keys an erasure destroys: the patient's data key and their pseudonym key. */
export function patientKeyOwners(patientId: string): [string, string] {
  return [`Patient-${patientId}`, pseudonymKeyOwner(patientId)];
}

/**
 * Envelope encryption of the records service's events: each patient has a random data key, stored only
 * wrapped (AES-256-GCM) under the master key from configuration. Destroying a patient's wrapped key makes their
 * events unreadable (erasure, issue 5) without touching the event log or the ledger.
 */
export class PatientKeyCodec implements EventCodec<Sql> {
  /** Unwrapped keys that reads used lately (never one created by a transaction that may still roll back). */
  private readonly cache = new Map<string, { key: Uint8Array; until: number }>();
  /** The keys each open transaction created: not cached until it has committed. */
  private readonly createdIn = new WeakMap<Sql, Set<string>>();

  constructor(
    private readonly masterKey: Uint8Array,
    private readonly now: () => number = Date.now,
  ) {
    if (masterKey.length !== KEY_BYTES) throw new Error('the records master key must be 32 bytes');
  }

  /** Patients erased by this instance: a read that raced the erasure must not cache their key again. */
  private readonly erased = new Set<string>();

  /** Drops a patient's key from memory for good (after their erasure committed). */
  forget(owner: string): void {
    this.erased.add(owner);
    this.cache.delete(owner);
  }

  /**
   * The patient's pseudonyms for a public event written in `tx`: under their pseudonym key, created in `tx` when
   * they have none yet (at registration, or at the first event of a patient registered before pseudonyms). Once
   * the key is destroyed (erasure), fresh random values that link to nothing: nobody can compute the real ones.
   */
  async pseudonyms(tx: Sql, patientId: string): Promise<Pseudonyms> {
    const key = await this.pseudonymKey(tx, patientId);
    return key ? patientPseudonyms(key, patientId) : unlinkablePseudonyms(randomBytes);
  }

  /** The same outside any transaction (an audit committed alone): a missing key is created in one of its own. */
  async pseudonymsNow(client: TransactionalSql, patientId: string): Promise<Pseudonyms> {
    const owner = pseudonymKeyOwner(patientId);
    const key = await this.cachedKey(client, owner);
    if (key) return patientPseudonyms(key, patientId);
    if (this.erased.has(owner)) return unlinkablePseudonyms(randomBytes);
    return client.$transaction((tx) => this.pseudonyms(tx, patientId));
  }

  /**
   * The key of the patient's blind index (domain/blind-index.ts), derived from their pseudonym key, for a write in
   * `tx`: the pseudonym key is created in `tx` when they have none yet, as for their pseudonyms. Undefined once it
   * is destroyed (erasure): an erased record is not indexed.
   */
  async searchKey(tx: Sql, patientId: string): Promise<Uint8Array | undefined> {
    const key = await this.pseudonymKey(tx, patientId);
    return key && searchIndexKey(key);
  }

  /** The patient's pseudonym key, created in `tx` when they have none yet; undefined once destroyed. */
  private async pseudonymKey(tx: Sql, patientId: string): Promise<Uint8Array | undefined> {
    const owner = pseudonymKeyOwner(patientId);
    const key = await this.cachedKey(tx, owner);
    if (key || this.erased.has(owner)) return key;
    try {
      return await this.createKey(tx, owner);
    } catch (error) {
      if (!(error instanceof ErasedEventData)) throw error;
      return undefined;
    }
  }

  /**
   * The same for a search, which creates nothing: undefined for a patient with no pseudonym key yet (nothing of
   * their record is indexed then) or an erased one.
   */
  async existingSearchKey(sql: Sql, patientId: string): Promise<Uint8Array | undefined> {
    const owner = pseudonymKeyOwner(patientId);
    if (this.erased.has(owner)) return undefined;
    const key = await this.cachedKey(sql, owner);
    return key && searchIndexKey(key);
  }

  async encode(tx: Sql, streamId: string, data: Record<string, unknown>): Promise<unknown> {
    const owner = keyOwner(streamId);
    if (owner === undefined) return { alg: 'none', data };
    const key = (await this.cachedKey(tx, owner)) ?? (await this.createKey(tx, owner));
    return seal(key, Buffer.from(JSON.stringify(data)), streamId);
  }

  async decode(tx: Sql, streamId: string, stored: unknown): Promise<Record<string, unknown>> {
    const owner = keyOwner(streamId);
    if (owner === undefined) return (stored as { data: Record<string, unknown> }).data;
    const key = await this.cachedKey(tx, owner);
    if (!key) throw new ErasedEventData(streamId, RecordsCryptoError.PATIENT_ERASED);
    return JSON.parse(open(key, stored as Sealed, streamId).toString('utf8')) as Record<string, unknown>;
  }

  /**
   * A key read from its committed row is kept in memory for KEY_CACHE_TTL_MS, so most reads and writes cost no key
   * query. A key this instance erased is forgotten at once; one that another instance erased is used at most that
   * long (a write then is lost with the rest of the erased record: nobody can read it either).
   */
  private async cachedKey(tx: Sql, owner: string): Promise<Uint8Array | undefined> {
    const hit = this.cache.get(owner);
    if (hit && hit.until > this.now()) {
      this.cache.delete(owner); // least recently used first
      this.cache.set(owner, hit);
      return hit.key;
    }
    const key = await this.key(tx, owner);
    if (key && !this.createdIn.get(tx)?.has(owner) && !this.erased.has(owner)) {
      this.cache.set(owner, { key, until: this.now() + KEY_CACHE_TTL_MS });
      if (this.cache.size > KEY_CACHE_MAX) this.cache.delete(this.cache.keys().next().value as string);
    }
    return key;
  }

  private async key(tx: Sql, streamId: string): Promise<Uint8Array | undefined> {
    const [row] = await tx.$queryRawUnsafe<Array<{ wrapped: string }>>(
      'SELECT wrapped FROM patient_key WHERE stream_id = $1 AND destroyed_at IS NULL',
      streamId,
    );
    return row ? open(this.masterKey, JSON.parse(row.wrapped) as Sealed, `key:${streamId}`) : undefined;
  }

  private async createKey(tx: Sql, streamId: string): Promise<Uint8Array> {
    const key = randomBytes(KEY_BYTES);
    const created = await tx.$executeRawUnsafe(
      'INSERT INTO patient_key (stream_id, wrapped, created_at) VALUES ($1, $2, now()) ON CONFLICT (stream_id) DO NOTHING',
      streamId,
      JSON.stringify(seal(this.masterKey, key, `key:${streamId}`)),
    );
    if (created !== 1) {
      // Another transaction created it first (the service's audit key at its first use, two writes at once): use
      // theirs. A key row without a live key is a destroyed one: an erased patient's record takes no new data.
      const theirs = await this.key(tx, streamId);
      if (theirs) return theirs;
      throw new ErasedEventData(streamId, RecordsCryptoError.PATIENT_ERASED);
    }
    const ownCreated = this.createdIn.get(tx) ?? new Set<string>();
    ownCreated.add(streamId);
    this.createdIn.set(tx, ownCreated);
    return key;
  }
}
