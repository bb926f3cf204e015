import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, type ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';
import { LEDGER_CONFIG, loadLedgerConfig } from './ledger.config';
import { ExplorerController } from './explorer/explorer.controller';
import { LedgerController } from './queries/ledger.controller';
import { LedgerQueries } from './queries/ledger.queries';
import { BlockAnnouncer } from './sealing/block-announcer';
import { EventAdmission } from './sealing/event-admission';
import { LedgerRepository } from './sealing/ledger.repository';
import { LedgerMetrics } from './sealing/ledger.metrics';
import { LedgerSigner } from './sealing/ledger-signer';
import { Sequencer } from './sealing/sequencer';
import { SequencerConsumer } from './sealing/sequencer.consumer';
import { TreeState } from './sealing/tree-state';
import { CosignatureStore } from './witnesses/cosignatures';
import { WitnessCollector } from './witnesses/witness-collector';

@Module({})
export class LedgerModule {
  /** `env` holds the ledger's own variables (LEDGER_*); tests pass theirs instead of the process's. */
  static forRoot(
    config: ServiceConfig,
    env: Readonly<Record<string, string | undefined>> = process.env,
  ): DynamicModule {
    return {
      module: LedgerModule,
      imports: [PlatformModule.forRoot({ config, prisma: (adapter) => new PrismaClient({ adapter }) })],
      controllers: [LedgerController, ExplorerController],
      providers: [
        { provide: LEDGER_CONFIG, useValue: loadLedgerConfig(env) },
        LedgerRepository,
        LedgerMetrics,
        TreeState,
        LedgerSigner,
        EventAdmission,
        Sequencer,
        BlockAnnouncer,
        SequencerConsumer,
        LedgerQueries,
        CosignatureStore,
        WitnessCollector,
      ],
    };
  }
}
