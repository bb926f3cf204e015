#!/usr/bin/env node
// Copies the event store's Prisma models (libs/event-store/prisma/event-store.prisma) into the schema of every
// event-sourced service, between the BEGIN/END markers. A spec in libs/event-store fails when a copy is stale.
// Usage: npm run event-store:sync   (then create each service's migration)
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const EVENT_SOURCED_SERVICES = ['records', 'trials', 'supply'];
const BEGIN = '// BEGIN event-store: copied from libs/event-store/prisma/event-store.prisma (npm run event-store:sync)';
const END = '// END event-store';

const models = readFileSync(join(root, 'libs/event-store/prisma/event-store.prisma'), 'utf8').trim();
const block = `${BEGIN}\n\n${models}\n\n${END}\n`;
for (const service of EVENT_SOURCED_SERVICES) {
  const file = join(root, `apps/${service}/prisma/schema.prisma`);
  let text = readFileSync(file, 'utf8');
  const start = text.indexOf(BEGIN);
  if (start >= 0) {
    const end = text.indexOf(END, start);
    text = text.slice(0, start) + block + text.slice(end + END.length).replace(/^\n/, '');
  } else {
    text = `${text.trimEnd()}\n\n${block}`;
  }
  writeFileSync(file, text);
  console.log(`updated ${file}`);
}
