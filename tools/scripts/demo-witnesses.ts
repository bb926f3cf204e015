/**
 * The demo's witness step (ADR 0012): the newest checkpoint that records, trials and supply all cosigned, checked
 * against their pinned witness keys and shown as a person would read it.
 */
import { parseWitnessKey, verifyWitnessQuorum, type WitnessVerifier } from '@medledger/ledger-core';
import { say } from './lib';

/** How long the demo waits for a checkpoint with every witness's cosignature (they answer within milliseconds). */
export const COSIGNED_TIMEOUT_MS = 60_000;

export function parseWitnessKeys(keys: string): WitnessVerifier[] {
  return keys
    .split(',')
    .map((key) => key.trim())
    .filter(Boolean)
    .map((key) => {
      const parsed = parseWitnessKey(key);
      if (!parsed.ok) throw new Error(`witness key ${key}: ${parsed.reason}`);
      return parsed.value;
    });
}

/**
 * Waits for `GET /v1/checkpoint?witnessed=<quorum>` and verifies the cosignatures against the pinned keys; prints
 * the note. Returns whether a checkpoint with the quorum came.
 */
export async function showCosignedCheckpoint(
  ledgerUrl: string,
  witnessKeys: string,
  quorum: number,
  timeoutMs = COSIGNED_TIMEOUT_MS,
): Promise<boolean> {
  const witnesses = parseWitnessKeys(witnessKeys);
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    const response = await fetch(`${ledgerUrl}/v1/checkpoint?witnessed=${quorum}`).catch((error: unknown) => error);
    if (response instanceof Response) {
      const note = await response.text();
      const verdict = response.ok ? verifyWitnessQuorum(note, witnesses, quorum) : undefined;
      if (verdict?.ok) {
        say(`  a checkpoint cosigned by ${verdict.cosignatures.map((c) => c.name).join(', ')}:`);
        for (const line of note.trimEnd().split('\n')) say(`    ${line}`);
        return true;
      }
      last = verdict ? verdict.reason : `HTTP ${response.status} ${note.slice(0, 200)}`;
    } else {
      last = response instanceof Error ? response.message : String(response);
    }
    if (Date.now() > deadline) {
      say(`  no checkpoint cosigned by ${quorum} witness(es) after ${timeoutMs / 1000} s: ${last}`);
      return false;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
