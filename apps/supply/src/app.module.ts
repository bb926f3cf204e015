import { DynamicModule, Module } from '@nestjs/common';
import { PlatformModule, ServiceConfig } from '@medledger/platform';
import { PrismaClient } from './generated/prisma/client';

@Module({})
export class SupplyModule {
  static forRoot(config: ServiceConfig): DynamicModule {
    return {
      module: SupplyModule,
      imports: [PlatformModule.forRoot({ config, prisma: (adapter) => new PrismaClient({ adapter }) })],
    };
  }
}
