import { DynamicModule, Module } from '@nestjs/common';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE_TOPICS, EventStoreModule, type Sql } from '@medledger/event-store';
import { AuthModule, PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';
import { PatientKeyCodec } from './patients/infra/patient-keys';
import { patientSummaryProjection } from './patients/infra/patient-summary.projection';
import { PatientsController } from './patients/patients.controller';
import { PatientsService } from './patients/patients.service';
import { loadMasterKey, loadRecordsConfig } from './records.config';

@Module({})
export class RecordsModule {
  /** `env`: the records and event-store settings (default process.env; tests pass their own). */
  static forRoot(
    config: ServiceConfig,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): DynamicModule {
    const records = loadRecordsConfig(env);
    return {
      module: RecordsModule,
      imports: [
        PlatformModule.forRoot({
          config,
          prisma: (adapter) => new PrismaClient({ adapter }),
          topics: [PUBLIC_EVENT_TOPICS.records, ...EVENT_STORE_TOPICS],
        }),
        // Every records route needs a bearer token (health, metrics, docs and diagnostics excepted).
        AuthModule.forRoot('records', env),
        EventStoreModule.forRoot<Sql>({
          service: 'records',
          env,
          codec: new PatientKeyCodec(loadMasterKey(records)),
          projections: [patientSummaryProjection],
        }),
      ],
      controllers: [PatientsController],
      providers: [PatientsService],
    };
  }
}
