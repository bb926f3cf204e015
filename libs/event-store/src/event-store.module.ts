import {
  BeforeApplicationShutdown,
  DynamicModule,
  Inject,
  Injectable,
  Logger,
  Module,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { LEDGER_BLOCKS_TOPIC } from '@medledger/contracts';
import { KafkaGateway, SERVICE_CONFIG, type ServiceConfig, type ServiceName } from '@medledger/platform';
import { loadEventStoreConfig, type EventStoreConfig } from './config';
import { EventStore, type EventCodec, type Projection } from './event-store';
import { EventsController } from './events.controller';
import { EVENT_STORE_GAUGE_SOURCES, EventStoreMetrics } from './metrics';
import { OUTBOX_BATCH_SIZE, OutboxRelay, outboxLag } from './outbox-relay';
import { RECEIPT_VERIFY_BATCH, ReceiptService } from './receipts/receipt.service';
import { ReliableConsumer } from './reliable-consumer';
import { loadOriginSigner } from './signing-key';
import type { Sql, TransactionalSql } from './sql';
import { EVENT_STORE, EVENT_STORE_CONFIG, EVENT_STORE_SQL, OUTBOX_RELAY } from './tokens';
import { PgSql } from './pg-sql';
import { loadWitnessSigner } from './witness/witness-key';
import { WitnessController } from './witness/witness.controller';
import { WitnessMetrics } from './witness/witness.metrics';
import { WITNESS_SIGNER, WitnessService } from './witness/witness.service';

export interface EventStoreModuleOptions<Tx extends Sql> {
  service: ServiceName;
  /** Default: process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  codec?: EventCodec<Tx>;
  projections?: ReadonlyArray<Projection<Tx>>;
}

/** Topics an event-sourced service needs besides its own public topic: the ledger's block announcements. */
export const EVENT_STORE_TOPICS: readonly string[] = [LEDGER_BLOCKS_TOPIC];

/**
 * Starts the relay once the application is up; stops it before Kafka's producer is flushed and closed, and closes
 * the event store's pool last.
 */
@Injectable()
class RelayLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(EVENT_STORE_SQL) private readonly sql: PgSql,
    @Inject(EVENT_STORE_CONFIG) private readonly config: EventStoreConfig,
    private readonly kafka: KafkaGateway,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.PUBLIC_EVENTS_TOPIC) await this.kafka.ensureTopics([this.config.PUBLIC_EVENTS_TOPIC]);
    this.relay.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sql.end();
  }
}

/**
 * Proves, in the background, receipts kept without proof (ReceiptService.verifyPending): once at start (rows from
 * before receipts were verified), then every RECEIPT_VERIFY_INTERVAL_MS; a pass that took a full batch goes on.
 */
@Injectable()
class ReceiptVerifierLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('ReceiptVerifier');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly receipts: ReceiptService,
    @Inject(EVENT_STORE_CONFIG) private readonly config: EventStoreConfig,
  ) {}

  onApplicationBootstrap(): void {
    const tick = () => {
      this.running = this.running
        .then(() => this.pass())
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.config.RECEIPT_VERIFY_INTERVAL_MS);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  private async pass(): Promise<void> {
    try {
      for (;;) {
        const pass = await this.receipts.verifyPending(RECEIPT_VERIFY_BATCH);
        if (pass.verified + pass.removed > 0)
          this.logger.log(`receipts proven: ${pass.verified}, claims removed: ${pass.removed}`);
        if (pass.verified + pass.removed + pass.waiting < RECEIPT_VERIFY_BATCH || pass.waiting > 0) return;
      }
    } catch (error) {
      this.logger.error({ err: error }, 'verifying stored receipts failed; trying again next time');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/**
 * The event-sourcing backbone of a service (libs/event-store README): event store with projections and
 * outbox, the relay to Kafka with proofs of origin, the inbox-backed reliable consumer, and ledger receipts.
 * Import after PlatformModule (it uses the service's Prisma client, Kafka gateway and metrics registry).
 */
@Module({})
export class EventStoreModule {
  static forRoot<Tx extends Sql>(options: EventStoreModuleOptions<Tx>): DynamicModule {
    const config = loadEventStoreConfig(options.service, options.env ?? process.env);
    const store = new EventStore<Tx>(options.codec, options.projections);
    return {
      module: EventStoreModule,
      controllers: [EventsController, WitnessController],
      providers: [
        { provide: EVENT_STORE_CONFIG, useValue: config satisfies EventStoreConfig },
        { provide: EVENT_STORE, useValue: store },
        {
          provide: EVENT_STORE_SQL,
          inject: [SERVICE_CONFIG],
          useFactory: (service: ServiceConfig) => new PgSql(service.DATABASE_URL),
        },
        ReceiptService,
        {
          provide: EVENT_STORE_GAUGE_SOURCES,
          inject: [EVENT_STORE_SQL, ReceiptService],
          useFactory: (client: TransactionalSql, receipts: ReceiptService) => ({
            outboxLag: () => outboxLag(client),
            unsealedCount: () => receipts.unsealedCount(),
          }),
        },
        EventStoreMetrics,
        ReliableConsumer,
        {
          provide: OUTBOX_RELAY,
          inject: [EVENT_STORE_SQL, KafkaGateway, EventStoreMetrics],
          useFactory: (client: TransactionalSql, kafka: KafkaGateway, metrics: EventStoreMetrics) => {
            const relay = new OutboxRelay(
              client,
              kafka,
              loadOriginSigner(options.service, config),
              { published: (count) => metrics.published.inc(count), failed: () => metrics.publishFailures.inc() },
              OUTBOX_BATCH_SIZE,
              config.PUBLIC_EVENTS_TOPIC,
            );
            store.onOutboxCommitted(() => relay.wake());
            return relay;
          },
        },
        RelayLifecycle,
        ReceiptVerifierLifecycle,
        // Every event-sourced service is also a witness of the ledger (ADR 0012).
        { provide: WITNESS_SIGNER, useValue: loadWitnessSigner(options.service, config) },
        WitnessMetrics,
        WitnessService,
      ],
      exports: [
        EVENT_STORE,
        EVENT_STORE_CONFIG,
        EVENT_STORE_SQL,
        OUTBOX_RELAY,
        ReliableConsumer,
        ReceiptService,
        WitnessService,
      ],
    };
  }
}
