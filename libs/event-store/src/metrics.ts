import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsRegistry } from '@medledger/platform';

/** Lazily evaluated gauges read the database on scrape; these supply the numbers. */
export interface EventStoreGaugeSources {
  outboxLag(): Promise<{ pending: number; oldestSeconds: number }>;
  unsealedCount(): Promise<number>;
}

export const EVENT_STORE_GAUGE_SOURCES = Symbol('EVENT_STORE_GAUGE_SOURCES');

@Injectable()
export class EventStoreMetrics {
  readonly published: Counter;
  readonly publishFailures: Counter;
  readonly consumed: Counter<'consumer' | 'outcome'>;

  constructor(
    @Inject(MetricsRegistry) metrics: MetricsRegistry,
    @Inject(EVENT_STORE_GAUGE_SOURCES) sources: EventStoreGaugeSources,
  ) {
    const registers = [metrics.registry];
    this.published = new Counter({
      name: 'outbox_published_total',
      help: 'Public events the outbox relay published to Kafka',
      registers,
    });
    this.publishFailures = new Counter({
      name: 'outbox_publish_failures_total',
      help: 'Outbox relay rounds that failed (Kafka or database unavailable) and were retried',
      registers,
    });
    this.consumed = new Counter({
      name: 'inbox_messages_total',
      help: 'Consumed messages by outcome: applied, duplicate (redelivery, not applied again), dead_lettered',
      labelNames: ['consumer', 'outcome'],
      registers,
    });
    let lag: Promise<{ pending: number; oldestSeconds: number }> | undefined;
    const currentLag = () => (lag ??= sources.outboxLag().finally(() => setImmediate(() => (lag = undefined))));
    new Gauge({
      name: 'outbox_lag_events',
      help: 'Public events committed but not yet acknowledged by Kafka',
      registers,
      async collect() {
        this.set((await currentLag()).pending);
      },
    });
    new Gauge({
      name: 'outbox_lag_seconds',
      help: 'Age of the oldest public event not yet acknowledged by Kafka',
      registers,
      async collect() {
        this.set((await currentLag()).oldestSeconds);
      },
    });
    new Gauge({
      name: 'events_unsealed',
      help: 'Published events without a ledger receipt after RECEIPT_UNSEALED_AFTER_MS (alert when above 0)',
      registers,
      async collect() {
        this.set(await sources.unsealedCount());
      },
    });
  }
}
