import { DynamicModule, Module } from '@nestjs/common';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE_TOPICS, EventStoreModule, type Sql } from '@medledger/event-store';
import { AuthModule, PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';
import { ParticipantsController } from './http/participants.controller';
import { TrialsController } from './http/trials.controller';
import { StatementService } from './statements/statement.service';
import { TrialsService } from './trials.service';

@Module({})
export class TrialsModule {
  /** `env`: the auth and event-store settings (default process.env; tests pass their own). */
  static forRoot(
    config: ServiceConfig,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): DynamicModule {
    return {
      module: TrialsModule,
      imports: [
        PlatformModule.forRoot({
          config,
          prisma: (adapter) => new PrismaClient({ adapter }),
          topics: [PUBLIC_EVENT_TOPICS.trials, ...EVENT_STORE_TOPICS],
        }),
        // Every trials route needs a bearer token (health, metrics, docs and diagnostics excepted).
        AuthModule.forRoot('trials', env),
        // Trial-level and pseudonymous participant-level events are stored as they are (ADR 0008): no PHI here.
        EventStoreModule.forRoot<Sql>({ service: 'trials', env }),
      ],
      controllers: [TrialsController, ParticipantsController],
      providers: [TrialsService, StatementService],
    };
  }
}
