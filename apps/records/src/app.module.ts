import { DynamicModule, Module } from '@nestjs/common';
import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE_TOPICS, EventStoreModule, type Sql } from '@medledger/event-store';
import { AuthModule, PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';
import { AccessService } from './access/access.service';
import { AuditService } from './audit/audit.service';
import { BundlesController } from './bundles/bundles.controller';
import { BundlesService } from './bundles/bundles.service';
import { BUNDLE_BODY_LIMIT } from './bundles/domain/bundle';
import { DecryptionMetrics, MeteredCodec } from './resources/infra/metered-codec';
import { PatientKeyCodec } from './resources/infra/patient-keys';
import { auditLogProjection, breakGlassProjection, resourceIndexProjection } from './resources/infra/projections';
import { SearchIndexBackfill, searchIndexProjection } from './resources/infra/search-index';
import { ErasureService } from './resources/erasure.service';
import { ResourceRepository } from './resources/resource.repository';
import { PatientRecordController, ResourcesController } from './resources/resources.controller';
import { ResourcesService } from './resources/resources.service';
import { loadMasterKey, loadRecordsConfig } from './records.config';
import { MetadataController } from './http/metadata.controller';

@Module({})
export class RecordsModule {
  /** `env`: the records and event-store settings (default process.env; tests pass their own). */
  static forRoot(
    config: ServiceConfig,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): DynamicModule {
    const records = loadRecordsConfig(env);
    const keys = new PatientKeyCodec(loadMasterKey(records));
    const codec = new MeteredCodec(keys);
    return {
      module: RecordsModule,
      imports: [
        PlatformModule.forRoot({
          config,
          prisma: (adapter) => new PrismaClient({ adapter }),
          topics: [PUBLIC_EVENT_TOPICS.records, ...EVENT_STORE_TOPICS],
          // A whole record in one transaction or batch Bundle (bundles/).
          bodyLimits: [{ method: 'POST', path: '/fhir', limit: BUNDLE_BODY_LIMIT }],
        }),
        // Every records route needs a bearer token (health, metrics, docs and diagnostics excepted).
        AuthModule.forRoot('records', env),
        EventStoreModule.forRoot<Sql>({
          service: 'records',
          env,
          codec,
          projections: [resourceIndexProjection, breakGlassProjection, auditLogProjection, searchIndexProjection(keys)],
        }),
      ],
      // PatientRecordController first: its fixed paths (AuditEvent, $break-glass) win over /fhir/:type.
      controllers: [MetadataController, PatientRecordController, ResourcesController, BundlesController],
      providers: [
        { provide: PatientKeyCodec, useValue: keys },
        { provide: MeteredCodec, useValue: codec },
        DecryptionMetrics,
        ResourceRepository,
        AuditService,
        AccessService,
        ResourcesService,
        BundlesService,
        ErasureService,
        SearchIndexBackfill,
      ],
    };
  }
}
