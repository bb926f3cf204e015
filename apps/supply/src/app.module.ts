import { DynamicModule, Module } from '@nestjs/common';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE_TOPICS, EventStoreModule, type Sql } from '@medledger/event-store';
import { AuthModule, PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';
import { CaptureService } from './capture/capture.service';
import { CustodyService } from './custody/custody.service';
import { CustodyRepository } from './custody/infra/custody.repository';
import { SupplyController } from './http/supply.controller';
import { VerifyPageController } from './http/verify-page.controller';

@Module({})
export class SupplyModule {
  /** `env`: the auth and event-store settings (default process.env; tests pass their own). */
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
        // Every supply route but verification and its page needs a bearer token naming the party's GLN.
        AuthModule.forRoot('supply', env),
        // EPCIS events hold no PHI; who traded what with whom stays in this database, commitments go public.
        EventStoreModule.forRoot<Sql>({ service: 'supply', env }),
      ],
      controllers: [SupplyController, VerifyPageController],
      providers: [CustodyRepository, CaptureService, CustodyService],
    };
  }
}
