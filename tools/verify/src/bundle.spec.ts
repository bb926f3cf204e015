import { at, buildLedger, keysOf, stream } from '../test/test-ledger';
import { BUNDLE_FORMAT, bundleChunks, headerFromFirstLine, sectionOf } from './bundle';
import { verifyChain } from './chain-verifier';
import { CliError } from './codes';
import { VerifyCode } from './codes';

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = '';
  for await (const chunk of chunks) out += chunk;
  return out;
}

async function collect(items: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('bundle layout', () => {
  const ledger = buildLedger();
  const header = { origin: 'test.local/ledger', keys: ['k'], checkpoint: ledger.checkpoint ?? null };

  it('is one JSON document with one block or leaf per line', async () => {
    const written = await text(bundleChunks(header, stream(ledger.blocks), stream(ledger.leaves)));
    expect(JSON.parse(written)).toEqual({
      format: BUNDLE_FORMAT,
      ...header,
      blocks: ledger.blocks,
      leaves: ledger.leaves,
    });
    // The header line, an opening and a closing line per list, the closing brace, and a final newline.
    expect(written.endsWith('}\n')).toBe(true);
    expect(written.trimEnd().split('\n')).toHaveLength(1 + ledger.blocks.length + ledger.leaves.length + 4 + 1);
  });

  it('reads back as streams the verifier accepts, and a changed line is named', async () => {
    const written = await text(bundleChunks(header, stream(ledger.blocks), stream(ledger.leaves)));
    const lines = written.split('\n');
    expect(headerFromFirstLine(lines[0], 'b.json')).toEqual({ format: BUNDLE_FORMAT, ...header });
    const section = (all: string[], name: 'blocks' | 'leaves') => sectionOf(stream(all), name, 'b.json');
    expect(await collect(section(lines, 'blocks'))).toEqual(ledger.blocks);
    expect(await collect(section(lines, 'leaves'))).toEqual(ledger.leaves);
    const keys = keysOf(...ledger.signers);
    const checkpoint = ledger.checkpoint;
    expect(
      await verifyChain({ keys, checkpoint, blocks: section(lines, 'blocks'), leaves: section(lines, 'leaves') }),
    ).toMatchObject({ ok: true, leaves: 21 });

    const leafLine = lines.findIndex((line) => line.includes('"index":9,'));
    const tampered = [...lines];
    tampered[leafLine] = at(tampered, leafLine).replace(
      /"leafData":"(.)/,
      (_, c: string) => `"leafData":"${c === 'A' ? 'B' : 'A'}`,
    );
    expect(
      await verifyChain({ keys, checkpoint, blocks: section(tampered, 'blocks'), leaves: section(tampered, 'leaves') }),
    ).toMatchObject({ ok: false, height: 3 });

    const garbled = [...lines];
    garbled[leafLine] = '{"index":9,';
    expect(
      await verifyChain({ keys, checkpoint, blocks: section(garbled, 'blocks'), leaves: section(garbled, 'leaves') }),
    ).toMatchObject({ ok: false, code: VerifyCode.LEAF_INVALID, height: 3 });
  });

  it('writes and reads an empty log', async () => {
    const written = await text(bundleChunks({ ...header, checkpoint: null }, stream([]), stream([])));
    expect(JSON.parse(written)).toMatchObject({ blocks: [], leaves: [], checkpoint: null });
    expect(await collect(sectionOf(stream(written.split('\n')), 'leaves', 'b.json'))).toEqual([]);
  });

  it('says a truncated bundle cannot be read', async () => {
    const written = await text(bundleChunks(header, stream(ledger.blocks), stream(ledger.leaves)));
    const truncated = written.split('\n').slice(0, -4);
    await expect(collect(sectionOf(stream(truncated), 'leaves', 'b.json'))).rejects.toThrow(CliError);
  });

  it('leaves other layouts of the same JSON to the whole-file reader', () => {
    expect(headerFromFirstLine('{', 'b.json')).toBeUndefined();
    expect(() => headerFromFirstLine('{"format":"other/1",', 'b.json')).toThrow(/not a medledger-bundle\/1 bundle/);
  });
});
