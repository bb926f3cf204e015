import { Inject, Injectable, OnApplicationShutdown, Provider } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { DATABASE_PING, DatabasePing, SERVICE_CONFIG } from '../tokens';
import type { ServiceConfig } from '../config/config';

/** Injection token of the service's own generated Prisma client. */
export const PRISMA = Symbol('PRISMA');

/** The part of any generated Prisma client the platform relies on. */
export interface PrismaClientLike {
  $connect(): Promise<void>;
  $disconnect(): Promise<void>;
  $executeRawUnsafe(query: string): Promise<number>;
}

@Injectable()
class PrismaLifecycle implements DatabasePing, OnApplicationShutdown {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClientLike) {}

  async ping(): Promise<void> {
    await this.prisma.$executeRawUnsafe('SELECT 1');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.prisma.$disconnect();
  }
}

/**
 * Provides the service's generated client under {@link PRISMA}, connected through @prisma/adapter-pg to
 * `DATABASE_URL` (Rust-free: no engine binary), and the database health probe.
 * Each service passes its own client: `providePrisma((adapter) => new PrismaClient({ adapter }))`.
 */
export function providePrisma(create: (adapter: PrismaPg) => PrismaClientLike): Provider[] {
  return [
    {
      provide: PRISMA,
      inject: [SERVICE_CONFIG],
      useFactory: async (config: ServiceConfig) => {
        const client = create(new PrismaPg({ connectionString: config.DATABASE_URL }));
        await client.$connect();
        return client;
      },
    },
    PrismaLifecycle,
    { provide: DATABASE_PING, useExisting: PrismaLifecycle },
  ];
}
