/**
 * `npm run events:catalogue`: writes docs/events.md from the catalogue in libs/contracts, and the kept example of
 * every event version that has none yet (libs/contracts/examples/<type>/v<N>.json). Existing examples are never
 * rewritten: they are kept forever, and a spec checks that the catalogue still matches them.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EVENT_CATALOGUE } from '@medledger/contracts';
import { formatMarkdown, ROOT } from './paths';
import { renderCatalogue } from './render';

async function main(): Promise<void> {
  for (const type of EVENT_CATALOGUE.types()) {
    for (const definition of EVENT_CATALOGUE.versions(type)) {
      const file = join(ROOT, 'libs/contracts/examples', type, `v${definition.version}.json`);
      if (existsSync(file)) continue;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(definition.example, null, 2)}\n`);
      process.stdout.write(`kept example ${file}\n`);
    }
  }
  const target = join(ROOT, 'docs/events.md');
  writeFileSync(target, await formatMarkdown(renderCatalogue(), target));
  process.stdout.write(`wrote ${target}\n`);
}

void main();
