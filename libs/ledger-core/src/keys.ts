import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign as cryptoSign,
  verify as cryptoVerify,
} from 'node:crypto';

import { bytesEqual, concatBytes, fromHex, plainBytes } from './encoding';
import { LedgerCoreError, LedgerErrorCode } from './errors';

/**
 * Ed25519 keys as raw bytes: a 32-byte seed (the private key of RFC 8032 §5.1.5) and a 32-byte public key.
 * node:crypto wants DER, so these helpers add or strip the fixed PKCS#8 / SPKI prefixes.
 */

export const ED25519_SEED_SIZE = 32;
export const ED25519_PUBLIC_KEY_SIZE = 32;
export const ED25519_SIGNATURE_SIZE = 64;

// SPEC: RFC 8410 §7 (PKCS#8 OneAsymmetricKey for id-Ed25519, OID 1.3.101.112) and §4 (SubjectPublicKeyInfo).
// For Ed25519 the DER is a constant prefix followed by the 32 raw bytes.
const PKCS8_PREFIX = fromHex('302e020100300506032b657004220420') as Uint8Array;
const SPKI_PREFIX = fromHex('302a300506032b6570032100') as Uint8Array;

export interface Ed25519KeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

function assertLength(bytes: unknown, length: number, what: string): asserts bytes is Uint8Array {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, `${what} must be ${length} bytes`);
  }
}

export function pkcs8FromSeed(seed: Uint8Array): Uint8Array {
  assertLength(seed, ED25519_SEED_SIZE, 'Ed25519 seed');
  return concatBytes([PKCS8_PREFIX, seed]);
}

export function seedFromPkcs8(der: Uint8Array): Uint8Array {
  const prefix = der.subarray(0, PKCS8_PREFIX.length);
  if (der.length !== PKCS8_PREFIX.length + ED25519_SEED_SIZE || !bytesEqual(prefix, PKCS8_PREFIX)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'not an Ed25519 PKCS#8 private key');
  }
  return new Uint8Array(der.subarray(PKCS8_PREFIX.length));
}

export function spkiFromPublicKey(publicKey: Uint8Array): Uint8Array {
  assertLength(publicKey, ED25519_PUBLIC_KEY_SIZE, 'Ed25519 public key');
  return concatBytes([SPKI_PREFIX, publicKey]);
}

export function publicKeyFromSpki(der: Uint8Array): Uint8Array {
  const prefix = der.subarray(0, SPKI_PREFIX.length);
  if (der.length !== SPKI_PREFIX.length + ED25519_PUBLIC_KEY_SIZE || !bytesEqual(prefix, SPKI_PREFIX)) {
    throw new LedgerCoreError(LedgerErrorCode.INVALID_KEY, 'not an Ed25519 SubjectPublicKeyInfo');
  }
  return new Uint8Array(der.subarray(SPKI_PREFIX.length));
}

export function privateKeyObject(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(pkcs8FromSeed(seed)), format: 'der', type: 'pkcs8' });
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(spkiFromPublicKey(publicKey)), format: 'der', type: 'spki' });
}

export function ed25519PublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return publicKeyFromSpki(der);
}

/** A fresh key pair from the operating system's CSPRNG. For key ceremonies and tests, not for domain code. */
export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { privateKey } = generateKeyPairSync('ed25519');
  const seed = seedFromPkcs8(privateKey.export({ format: 'der', type: 'pkcs8' }));
  return { seed, publicKey: ed25519PublicKeyFromSeed(seed) };
}

/** SPEC: RFC 8032 §5.1.6 (PureEd25519: the message is signed as is, no pre-hash). Deterministic. */
export function ed25519Sign(privateKey: KeyObject, message: Uint8Array): Uint8Array {
  return plainBytes(cryptoSign(null, message, privateKey));
}

/** Public keys kept as KeyObjects for verification: building one costs more than the check (a few distinct keys). */
const VERIFY_KEY_CACHE_SIZE = 256;
const verifyKeys = new Map<string, KeyObject>();

function verifyKeyObject(publicKey: Uint8Array): KeyObject {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64');
  let key = verifyKeys.get(id);
  if (!key) {
    key = publicKeyObject(publicKey);
    if (verifyKeys.size >= VERIFY_KEY_CACHE_SIZE) verifyKeys.delete(verifyKeys.keys().next().value as string);
    verifyKeys.set(id, key);
  }
  return key;
}

/** SPEC: RFC 8032 §5.1.7. Never throws: a malformed key or signature is simply not valid. */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_SIZE) return false;
  try {
    return cryptoVerify(null, message, verifyKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}
