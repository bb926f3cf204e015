import { Inject, Injectable } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import { EventEnvelope, serviceOfSource } from '@medledger/contracts';
import { canonicalize, OriginVerifier } from '@medledger/ledger-core';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';

export type Admission =
  | { ok: true; event: { eventId: string; receivedAt: Date; canonicalEvent: string } }
  | { ok: false; code: string; reason: string };

/** Stable dead-letter reasons of the ledger's edge. */
export const AdmissionFailure = {
  EMPTY: 'LEDGER.EMPTY_EVENT',
  TOO_LARGE: 'LEDGER.EVENT_TOO_LARGE',
  NOT_JSON: 'LEDGER.MALFORMED_EVENT',
  SCHEMA: 'LEDGER.INVALID_ENVELOPE',
} as const;

/**
 * Everything an event must pass before it may enter the log: size, JSON, the CloudEvents envelope, and its
 * producer's proof of origin (one signature check per producer batch, cached,
 * plus one short inclusion proof per event).
 */
@Injectable()
export class EventAdmission {
  private readonly origin: OriginVerifier;

  constructor(@Inject(LEDGER_CONFIG) private readonly config: LedgerConfig) {
    this.origin = new OriginVerifier(config.LEDGER_PRODUCER_KEYS);
  }

  admit(message: KafkaMessage): Admission {
    const bytes = message.value;
    if (!bytes || bytes.length === 0)
      return { ok: false, code: AdmissionFailure.EMPTY, reason: 'message has no value' };
    if (bytes.length > this.config.LEDGER_EVENT_MAX_BYTES) {
      return {
        ok: false,
        code: AdmissionFailure.TOO_LARGE,
        reason: `${bytes.length} bytes > limit ${this.config.LEDGER_EVENT_MAX_BYTES}`,
      };
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      return { ok: false, code: AdmissionFailure.NOT_JSON, reason: (error as Error).message };
    }
    const parsed = EventEnvelope.safeParse(json);
    if (!parsed.success) {
      const reason = parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
        .join('; ');
      return { ok: false, code: AdmissionFailure.SCHEMA, reason };
    }
    const envelope = parsed.data;
    // Which producer may sign it: the service named by its source (a records key cannot vouch for supply).
    const producer = serviceOfSource(envelope.source) ?? envelope.source;
    // The proof covers the JSON as received (every attribute, unknown extensions included), not zod's copy.
    const verdict = this.origin.verify(json as Record<string, unknown>, producer);
    if (!verdict.ok) return { ok: false, code: verdict.code, reason: verdict.reason };
    return { ok: true, event: { eventId: envelope.id, receivedAt: new Date(), canonicalEvent: canonicalize(json) } };
  }
}
