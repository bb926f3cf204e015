import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataschemaOf, EVENT_CATALOGUE } from '@medledger/contracts';
import { formatMarkdown, ROOT } from './paths';
import { renderCatalogue } from './render';

const examplesDir = join(ROOT, 'libs/contracts/examples');

describe('docs/events.md', () => {
  it('is generated from the catalogue as it is now', async () => {
    const target = join(ROOT, 'docs/events.md');
    const expected = await formatMarkdown(renderCatalogue(), target);
    const actual = readFileSync(target, 'utf8');
    if (actual !== expected) throw new Error('docs/events.md is stale: run npm run events:catalogue');
  });
});

describe('kept examples (libs/contracts/examples)', () => {
  const kept = readdirSync(examplesDir).flatMap((type) =>
    readdirSync(join(examplesDir, type)).map((file) => ({
      type,
      version: Number(/^v(\d+)\.json$/.exec(file)?.[1]),
      file: join(examplesDir, type, file),
    })),
  );

  it('exist for every version of every event', () => {
    for (const type of EVENT_CATALOGUE.types())
      for (const definition of EVENT_CATALOGUE.versions(type))
        expect(kept.some((k) => k.type === type && k.version === definition.version)).toBe(true);
  });

  test.each(kept.map((k) => [`${k.type} v${k.version}`, k] as const))(
    '%s still parses and upcasts to the latest version',
    (_name, k) => {
      const definition = EVENT_CATALOGUE.get(k.type, k.version);
      expect(definition).toBeDefined();
      const example: unknown = JSON.parse(readFileSync(k.file, 'utf8'));
      expect(example).toEqual(definition?.example);
      const parsed = EVENT_CATALOGUE.parseData(k.type, dataschemaOf(k.type, k.version), example);
      expect(parsed).toMatchObject({ ok: true, version: EVENT_CATALOGUE.latest(k.type)?.version });
    },
  );
});
