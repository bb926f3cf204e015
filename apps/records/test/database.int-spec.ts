import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  createDatabaseFromTemplate,
  databaseUrl,
  dropDatabase,
  migrateServiceDatabase,
  TEST_ENV,
  uniqueSuffix,
  workspaceRoot,
} from '@medledger/testing';
import { PrismaClient } from '../src/generated/prisma/client';

/** The records schema migrates an empty database from zero, and the generated client writes and reads it. */
describe('records database', () => {
  const adminUrl = process.env[TEST_ENV.postgresUrl] as string;
  const name = `medledger_records_zero_${uniqueSuffix()}`;
  let prisma: PrismaClient;

  beforeAll(async () => {
    // template0 is PostgreSQL's pristine empty database: nothing of ours is in it.
    await createDatabaseFromTemplate(adminUrl, 'template0', name);
    await migrateServiceDatabase(workspaceRoot(), 'records', databaseUrl(adminUrl, name));
    prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: databaseUrl(adminUrl, name) }) });
  });

  afterAll(async () => {
    await prisma?.$disconnect();
    await dropDatabase(adminUrl, name);
  });

  it('has every migration applied', async () => {
    const applied = await prisma.$queryRawUnsafe<Array<{ migration_name: string; finished_at: Date | null }>>(
      'SELECT migration_name, finished_at FROM _prisma_migrations',
    );
    expect(applied.length).toBeGreaterThan(0);
    expect(applied.every((m) => m.finished_at !== null)).toBe(true);
  });

  it('writes and reads through the generated client', async () => {
    const id = randomUUID();
    const sentAt = new Date('2026-11-23T10:00:00.000Z');
    await prisma.diagnosticPing.create({
      data: {
        id,
        origin: 'records',
        sentAt,
        answers: {
          create: [
            {
              service: 'ledger',
              receivedAt: sentAt,
              answeredAt: sentAt,
              receivedBackAt: new Date(sentAt.getTime() + 7),
            },
          ],
        },
      },
    });

    const read = await prisma.diagnosticPing.findUnique({ where: { id }, include: { answers: true } });
    expect(read?.sentAt.toISOString()).toBe(sentAt.toISOString());
    expect(read?.answers.map((a) => a.service)).toEqual(['ledger']);
  });

  it('enforces the schema: an answer to an unknown ping is refused', async () => {
    const when = new Date();
    await expect(
      prisma.diagnosticAnswer.create({
        data: { pingId: randomUUID(), service: 'ledger', receivedAt: when, answeredAt: when, receivedBackAt: when },
      }),
    ).rejects.toThrow(/foreign key/i);
  });
});
