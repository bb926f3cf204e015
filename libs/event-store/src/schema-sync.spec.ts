import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The event store's tables live in every event-sourced service's own Prisma schema (a service owns its database),
 * copied from libs/event-store/prisma/event-store.prisma by `npm run event-store:sync`. A stale copy fails here.
 */
const root = join(__dirname, '../../..');
const canonical = readFileSync(join(root, 'libs/event-store/prisma/event-store.prisma'), 'utf8').trim();

describe.each(['records', 'trials', 'supply'])('%s schema', (service) => {
  it('holds the event store models exactly as libs/event-store defines them', () => {
    const schema = readFileSync(join(root, `apps/${service}/prisma/schema.prisma`), 'utf8');
    const block = /\/\/ BEGIN event-store[^\n]*\n([\s\S]*?)\n\/\/ END event-store/.exec(schema)?.[1]?.trim();
    if (block !== canonical)
      throw new Error(
        `apps/${service}/prisma/schema.prisma is stale: run npm run event-store:sync, then add a migration`,
      );
  });
});
