import { DynamicModule, Module } from '@nestjs/common';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE_TOPICS, EventStoreModule } from '@medledger/event-store';
import { PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';

@Module({})
export class SupplyModule {
  /** `env`: the event-store settings (default process.env; tests pass their own). */
  static forRoot(
    config: ServiceConfig,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): DynamicModule {
    return {
      module: SupplyModule,
      imports: [
        PlatformModule.forRoot({
          config,
          prisma: (adapter) => new PrismaClient({ adapter }),
          topics: [PUBLIC_EVENT_TOPICS.supply, ...EVENT_STORE_TOPICS],
        }),
        // The backbone: event store, outbox relay, receipts. The supply domain (its own issue) appends to it.
        EventStoreModule.forRoot({ service: 'supply', env }),
      ],
    };
  }
}
