import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSigner,
  createWitnessSigner,
  EMPTY_ROOT,
  formatCheckpoint,
  parseWitnessKey,
  signNote,
  witnessVerifierKey,
} from '@medledger/ledger-core';
import { ledgerWitnesses, writeVerifierKeyrings } from './dev-keys';
import { showCosignedCheckpoint } from './demo-witnesses';

const witnesses = ['records', 'trials', 'supply'].map((s) =>
  createWitnessSigner(`medledger.local/${s}/witness`, randomBytes(32)),
);
const keys = witnesses.map((w) => witnessVerifierKey(w.name, w.publicKey)).join(',');

describe("the demo's witness wiring (ADR 0012)", () => {
  it('gives the ledger one <witness key>=<add-checkpoint URL> per service, keys that parse', () => {
    const list = ledgerWitnesses(keys, {
      records: 'http://127.0.0.1:3101',
      trials: 'http://127.0.0.1:3102',
      supply: 'http://127.0.0.1:3103',
    }).split(',');
    expect(list).toHaveLength(3);
    list.forEach((entry, i) => {
      const at = entry.indexOf('=');
      expect(parseWitnessKey(entry.slice(0, at))).toMatchObject({ ok: true });
      expect(entry.slice(at + 1)).toBe(`http://127.0.0.1:310${i + 1}/witness/add-checkpoint`);
    });
  });

  it('writes the witness keyring medledger-verify pins, one key per line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'medledger-keys-'));
    const files = writeVerifierKeyrings({ ledger: 'l', producers: 'p', witnesses: keys }, dir);
    const lines = readFileSync(files.witnesses, 'utf8').split('\n');
    expect(lines[0]).toMatch(/^# /);
    expect(lines.slice(1, 4).join(',')).toBe(keys);
  });

  describe('showCosignedCheckpoint', () => {
    const ledger = createSigner('medledger.local/ledger', randomBytes(32));
    const text = formatCheckpoint({ origin: 'medledger.local/ledger', size: 0, root: EMPTY_ROOT, extensions: [] });
    let served = '';
    let asked = '';
    let server: Server;
    let url = '';

    beforeAll(async () => {
      server = createServer((request, response) => {
        asked = request.url ?? '';
        response.writeHead(served ? 200 : 404).end(served || '{"code":"LEDGER.NOT_WITNESSED"}');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise((resolve) => server.close(resolve)));

    it('accepts a checkpoint every pinned witness cosigned, asking for that quorum', async () => {
      served = signNote(text, [ledger]) + witnesses.map((w) => w.cosign(text, 1_800_000_000)).join('');
      await expect(showCosignedCheckpoint(url, keys, 3, 1_000)).resolves.toBe(true);
      expect(asked).toBe('/v1/checkpoint?witnessed=3');
    });

    it('refuses one that a witness did not cosign, or with a forged cosignature', async () => {
      served =
        signNote(text, [ledger]) +
        witnesses
          .slice(1)
          .map((w) => w.cosign(text, 1_800_000_000))
          .join('');
      await expect(showCosignedCheckpoint(url, keys, 3, 600)).resolves.toBe(false);
      const forger = createWitnessSigner('medledger.local/records/witness', randomBytes(32));
      served =
        signNote(text, [ledger]) + [forger, ...witnesses.slice(1)].map((w) => w.cosign(text, 1_800_000_000)).join('');
      await expect(showCosignedCheckpoint(url, keys, 3, 600)).resolves.toBe(false);
    });
  });
});
