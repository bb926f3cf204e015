import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';

@Module({})
export class TrialsModule {
  static forRoot(config: ServiceConfig): DynamicModule {
    return {
      module: TrialsModule,
      imports: [PlatformModule.forRoot({ config, prisma: (adapter) => new PrismaClient({ adapter }) })],
    };
  }
}
