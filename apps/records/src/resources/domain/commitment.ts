import { createHash } from 'node:crypto';
import { canonicalBytes } from '@medledger/ledger-core';
import type { FhirResource } from './resource';

/** 32 random bytes: a commitment cannot be brute-forced from a guessed resource without the salt. */
export const COMMITMENT_SALT_BYTES = 32;

/**
 * The salted commitment of one resource version: base64(SHA-256(salt ‖ JCS(resource))). Published instead of the
 * resource; the salt stays in the service (inside the encrypted event), so only the service can open it.
 */
export function commitment(resource: FhirResource, salt: Uint8Array): string {
  return createHash('sha256').update(salt).update(canonicalBytes(resource)).digest('base64');
}
