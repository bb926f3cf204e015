import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { Counter } from 'prom-client';
import type { EventCodec, Sql } from '@medledger/event-store';
import { MetricsRegistry } from '@medledger/platform';
import { AUDIT_STREAM_PREFIX, keyOwner, type PatientKeyCodec } from './patient-keys';

/**
 * The kind of record an encrypted stream holds, for counting: `Patient`, the resource type of a resource under
 * its patient (`Patient-<pid>/Observation-<id>` → `Observation`), `AuditEvent` for the service's audit streams.
 */
export function streamKind(streamId: string): string {
  if (streamId.startsWith(AUDIT_STREAM_PREFIX)) return 'AuditEvent';
  const slash = streamId.indexOf('/');
  const last = slash === -1 ? streamId : streamId.slice(slash + 1);
  const dash = last.indexOf('-');
  return dash === -1 ? last : last.slice(0, dash);
}

/**
 * The records codec, counting what it decrypts by kind (`records_event_decryptions_total{kind}`), so that what a
 * request decrypts is observable: a refused request must decrypt none of the resource it asked for (ADR 0007,
 * "authorize before decrypting"), only the consents that refused it.
 */
export class MeteredCodec implements EventCodec<Sql> {
  readonly decryptions = new Counter({
    name: 'records_event_decryptions_total',
    help: 'Events of patient records decrypted, by kind (resource type, Consent, AuditEvent)',
    labelNames: ['kind'] as const,
    registers: [],
  });

  constructor(readonly inner: PatientKeyCodec) {}

  encode(tx: Sql, streamId: string, data: Record<string, unknown>): Promise<unknown> {
    return this.inner.encode(tx, streamId, data);
  }

  async decode(tx: Sql, streamId: string, stored: unknown): Promise<Record<string, unknown>> {
    const data = await this.inner.decode(tx, streamId, stored);
    if (keyOwner(streamId) !== undefined) this.decryptions.inc({ kind: streamKind(streamId) });
    return data;
  }
}

/** Puts the codec's counter in the service's registry (the codec is built before Nest's container exists). */
@Injectable()
export class DecryptionMetrics implements OnModuleInit {
  constructor(
    @Inject(MetricsRegistry) private readonly metrics: MetricsRegistry,
    private readonly codec: MeteredCodec,
  ) {}

  onModuleInit(): void {
    this.metrics.registry.registerMetric(this.codec.decryptions);
  }
}
