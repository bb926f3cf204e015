import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import type { KafkaMessage } from 'kafkajs';
import { OriginVerifier } from '@medledger/ledger-core';
import { LEDGER_CONFIG, type LedgerConfig } from '../ledger.config';
import { admitBytes, checkTopic, type Verdict } from './admission';
import { AdmissionPool } from './admission-pool';

export { AdmissionFailure } from './admission';

export type Admission =
  | { ok: true; event: { eventId: string; receivedAt: Date; canonicalEvent: Uint8Array } }
  | { ok: false; code: string; reason: string };

/** The admission worker's bundle, beside the ledger's own (apps/ledger/webpack.config.js). */
export const ADMISSION_WORKER_FILE = join(__dirname, 'admission-worker.js');

/**
 * The ledger's edge (admission.ts says what it checks), on LEDGER_ADMISSION_WORKERS worker threads when the
 * worker bundle is there, else on the main thread (as when the ledger runs from its sources).
 */
@Injectable()
export class EventAdmission implements OnApplicationShutdown {
  private readonly logger = new Logger(EventAdmission.name);
  private readonly origin: OriginVerifier;
  private readonly pool: AdmissionPool | undefined;

  constructor(@Inject(LEDGER_CONFIG) private readonly config: LedgerConfig) {
    this.origin = new OriginVerifier(config.LEDGER_PRODUCER_KEYS);
    const workers = config.LEDGER_ADMISSION_WORKERS;
    if (workers > 0 && existsSync(ADMISSION_WORKER_FILE)) {
      this.pool = new AdmissionPool(ADMISSION_WORKER_FILE, workers, {
        maxBytes: config.LEDGER_EVENT_MAX_BYTES,
        producerKeys: config.LEDGER_PRODUCER_KEYS,
      });
      this.logger.log(`admitting events on ${workers} worker thread(s)`);
    } else if (workers > 0) {
      this.logger.warn(`no ${ADMISSION_WORKER_FILE}: admitting events on the main thread`);
    }
  }

  /** One message, on this thread. */
  private admit(topic: string, message: KafkaMessage): Admission {
    const verdict = admitBytes(message.value, this.config.LEDGER_EVENT_MAX_BYTES, this.origin);
    return this.toAdmission(checkTopic(verdict, topic), new Date());
  }

  /** A batch of messages of one topic, on the workers when there are any; verdicts in the order of the messages. */
  async admitAll(topic: string, messages: readonly KafkaMessage[]): Promise<Admission[]> {
    if (!this.pool) return messages.map((message) => this.admit(topic, message));
    const verdicts = await this.pool.admit(messages.map((message) => message.value));
    const receivedAt = new Date();
    return verdicts.map((verdict) => this.toAdmission(checkTopic(verdict, topic), receivedAt));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.pool?.close();
  }

  private toAdmission(verdict: Verdict, receivedAt: Date): Admission {
    if (!verdict.ok) return verdict;
    return { ok: true, event: { eventId: verdict.eventId, receivedAt, canonicalEvent: verdict.canonicalEvent } };
  }
}
