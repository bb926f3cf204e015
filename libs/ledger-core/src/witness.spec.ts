import { randomBytes } from 'node:crypto';
import { signCheckpoint } from './checkpoint';
import { toBase64 } from './encoding';
import { EMPTY_ROOT, leafHash } from './hash';
import { MemoryMerkleTree } from './memory-tree';
import { createSigner, parseVerifierKey, verifierKey, type NoteVerifier } from './note';
import {
  decideAddCheckpoint,
  formatAddCheckpoint,
  openAddCheckpoint,
  parseAddCheckpoint,
  WITNESS_INITIAL_STATE,
  WitnessFailure,
  type WitnessState,
} from './witness';

const ORIGIN = 'medledger.test/ledger';
const ledger = createSigner(ORIGIN, randomBytes(32));
const impostor = createSigner(ORIGIN, randomBytes(32));
const pinned = parseVerifierKey(verifierKey(ORIGIN, ledger.publicKey));
if (!pinned.ok) throw new Error(pinned.reason);
const LOGS = new Map<string, NoteVerifier[]>([[ORIGIN, [pinned.value]]]);

function treeOf(prefix: string, size: number): MemoryMerkleTree {
  return new MemoryMerkleTree(Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`${prefix}${i}`))));
}

function note(tree: MemoryMerkleTree, size: number, signer = ledger): string {
  return signCheckpoint({ origin: ORIGIN, size, root: tree.root(size), extensions: [] }, [signer]);
}

function body(oldSize: number, tree: MemoryMerkleTree, size: number, signer = ledger): string {
  const proof = oldSize === 0 ? [] : tree.consistencyProof(oldSize, size);
  return formatAddCheckpoint({ oldSize, proof, checkpoint: note(tree, size, signer) });
}

function decide(text: string, state: WitnessState) {
  const opened = openAddCheckpoint(text, LOGS);
  return opened.ok ? decideAddCheckpoint(opened, state) : opened;
}

describe('add-checkpoint (C2SP tlog-witness)', () => {
  const honest = treeOf('a', 20);
  const forked = treeOf('b', 20);
  const at = (size: number): WitnessState => ({ size, root: honest.root(size) });

  it('formats and parses the spec layout', () => {
    const text = body(8, honest, 13);
    expect(text.startsWith('old 8\n')).toBe(true);
    const parsed = parseAddCheckpoint(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.value.oldSize).toBe(8);
    expect(parsed.value.proof.map(toBase64)).toEqual(honest.consistencyProof(8, 13).map(toBase64));
    expect(parsed.value.checkpoint).toBe(note(honest, 13));
  });

  it('cosigns the first checkpoint from old 0 with no proof, and each one that extends it', () => {
    expect(decide(body(0, honest, 5), WITNESS_INITIAL_STATE)).toEqual({ ok: true });
    expect(decide(body(5, honest, 13), at(5))).toEqual({ ok: true });
    expect(decide(body(13, honest, 13), at(13))).toEqual({ ok: true });
  });

  it('answers 409 with its size when old is not what it cosigned last', () => {
    expect(decide(body(0, honest, 13), at(5))).toMatchObject({
      status: 409,
      code: WitnessFailure.OLD_SIZE_MISMATCH,
      size: 5,
    });
  });

  it.each<[string, () => string, WitnessState]>([
    ['another root at the same size', () => body(13, forked, 13), at(13)],
    ['a larger tree that does not extend it', () => body(13, forked, 20), at(13)],
    [
      'a proof for other sizes',
      () => formatAddCheckpoint({ oldSize: 13, proof: honest.consistencyProof(12, 20), checkpoint: note(honest, 20) }),
      at(13),
    ],
  ])('refuses with 422 a split view: %s', (_what, request, state) => {
    expect(decide(request(), state)).toMatchObject({ status: 422, code: WitnessFailure.INCONSISTENT });
  });

  it('refuses with 422 a size-0 checkpoint with another root, and a proof from size 0', () => {
    const zero = signCheckpoint({ origin: ORIGIN, size: 0, root: honest.root(1), extensions: [] }, [ledger]);
    expect(
      decide(formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: zero }), WITNESS_INITIAL_STATE),
    ).toMatchObject({
      status: 422,
      code: WitnessFailure.BAD_REQUEST_PROOF,
    });
    const empty = signCheckpoint({ origin: ORIGIN, size: 0, root: EMPTY_ROOT, extensions: [] }, [ledger]);
    expect(decide(formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: empty }), WITNESS_INITIAL_STATE)).toEqual({
      ok: true,
    });
    const proofFromZero = formatAddCheckpoint({ oldSize: 0, proof: [honest.root(1)], checkpoint: note(honest, 5) });
    expect(decide(proofFromZero, WITNESS_INITIAL_STATE)).toMatchObject({ status: 422 });
  });

  it('answers 403 to a checkpoint not signed by a trusted key of the origin, 404 to an unknown origin', () => {
    expect(decide(body(0, honest, 5, impostor), WITNESS_INITIAL_STATE)).toMatchObject({
      status: 403,
      code: WitnessFailure.UNTRUSTED,
    });
    const other = createSigner('other.example/log', randomBytes(32));
    const foreign = signCheckpoint({ origin: 'other.example/log', size: 1, root: honest.root(1), extensions: [] }, [
      other,
    ]);
    expect(
      decide(formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: foreign }), WITNESS_INITIAL_STATE),
    ).toMatchObject({
      status: 404,
      code: WitnessFailure.UNKNOWN_LOG,
    });
  });

  it('answers 403 when a trusted key signature fails, though another line is valid', () => {
    const good = note(honest, 5);
    const forged = good.replace(
      / (\S+)\n$/,
      (_m, b64: string) => ` ${b64.slice(0, 10)}${b64[10] === 'A' ? 'B' : 'A'}${b64.slice(11)}\n`,
    );
    expect(
      decide(formatAddCheckpoint({ oldSize: 0, proof: [], checkpoint: forged }), WITNESS_INITIAL_STATE),
    ).toMatchObject({
      status: 403,
    });
  });

  it.each<[string, string]>([
    ['no old line', `\n${'x'}`],
    ['a leading zero', 'old 05\n\n'],
    ['no empty line', 'old 0\n'],
    ['a bad proof line', 'old 3\nnot base64!\n\n'],
    ['64 proof lines', `old 3\n${`${toBase64(EMPTY_ROOT)}\n`.repeat(64)}\n`],
    ['old above the checkpoint size', ''],
  ])('answers 400 to a malformed request: %s', (what, text) => {
    const request =
      what === 'old above the checkpoint size'
        ? formatAddCheckpoint({ oldSize: 6, proof: [], checkpoint: note(honest, 5) })
        : text + note(honest, 5);
    expect(decide(request, WITNESS_INITIAL_STATE)).toMatchObject({ status: 400, code: WitnessFailure.MALFORMED });
  });
});
