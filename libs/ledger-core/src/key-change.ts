import { BlockFailure, type BlockFailureCode, type SignedBlockHeader } from './block';
import { bytesEqual, fromBase64 } from './encoding';
import { fail, type Failure, LedgerCoreError, LedgerErrorCode, type Parsed, type Verdict } from './errors';
import { HASH_SIZE } from './hash';
import { type NoteSigner, type NoteVerifier, parseVerifierKey, signNote, verifierKey, verifyNote } from './note';
import { isCount } from './tree-math';

/**
 * Key change records (docs/design/ledger-format.md §5.1, ADR 0015). The ledger signs its blocks with one key at a
 * time; a new key may take over only where the key before it says so, in a C2SP signed note by that previous key
 * carried in the first block the new key signs (its header's `keyChange`). The note's text is four lines:
 *
 *     <origin> key change
 *     height <height of the first block the new key signs>
 *     previous <base64 previousHash of that block>
 *     key <verifier key of the new key>
 *
 * so a record authorises exactly one key at exactly one place in one log: it cannot be replayed at another height
 * or on another branch. Its second line is not a decimal number, so the text is never a valid checkpoint (C2SP
 * tlog-checkpoint) that the same key could be said to have signed.
 */
export interface KeyChange {
  /** The log's origin (the checkpoints' first line). */
  readonly origin: string;
  /** The first height the new key signs. */
  readonly height: number;
  /** Base64 of the block hash of the last block the previous key signed: the new key's first block links to it. */
  readonly previousHash: string;
  /** The new key, as a C2SP verifier key `<name>+<key id>+<base64>`. */
  readonly newKey: string;
}

const SUFFIX = ' key change';
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

/** The record's note text. Throws on a value it cannot represent (the caller's precondition). */
export function formatKeyChange(change: KeyChange): string {
  const { origin, height, previousHash, newKey } = change;
  const invalid = (reason: string) => new LedgerCoreError(LedgerErrorCode.INVALID_ARGUMENT, `key change: ${reason}`);
  if (typeof origin !== 'string' || origin.length === 0 || /\s/.test(origin)) throw invalid('origin must be one word');
  if (!isCount(height) || height === 0) throw invalid('height must be an integer ≥ 1');
  if (!fromBase64(previousHash, HASH_SIZE)) throw invalid('previousHash must be the base64 of 32 bytes');
  if (!parseVerifierKey(newKey).ok) throw invalid('newKey must be a verifier key');
  return `${origin}${SUFFIX}\nheight ${height}\nprevious ${previousHash}\nkey ${newKey}\n`;
}

/** Parses a record's note text strictly (exactly the four lines, each exactly as formatKeyChange writes it). */
export function parseKeyChange(
  text: string,
): Parsed<KeyChange & { readonly newVerifier: NoteVerifier }, BlockFailureCode> {
  const malformed = (reason: string): Failure<BlockFailureCode> => fail(BlockFailure.KEY_CHANGE_INVALID, reason);
  if (typeof text !== 'string' || !text.endsWith('\n')) return malformed('the text must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length !== 4) return malformed('the text must be four lines');
  const [first, heightLine, previousLine, keyLine] = lines as [string, string, string, string];
  const origin = first.endsWith(SUFFIX) ? first.slice(0, -SUFFIX.length) : '';
  if (origin.length === 0 || /\s/.test(origin)) return malformed(`the first line must be "<origin>${SUFFIX}"`);
  const height = heightLine.startsWith('height ') ? heightLine.slice('height '.length) : '';
  if (!DECIMAL.test(height) || !isCount(Number(height))) return malformed('the second line must be "height <n>"');
  const previousHash = previousLine.startsWith('previous ') ? previousLine.slice('previous '.length) : '';
  if (!fromBase64(previousHash, HASH_SIZE)) return malformed('the third line must be "previous <base64 hash>"');
  const newKey = keyLine.startsWith('key ') ? keyLine.slice('key '.length) : '';
  const newVerifier = parseVerifierKey(newKey);
  if (!newVerifier.ok) return malformed(`the fourth line must be "key <verifier key>" (${newVerifier.reason})`);
  // A verifier key re-encoded differently (base64 without padding, say) would still parse: only one form is signed.
  if (verifierKey(newVerifier.value.name, newVerifier.value.publicKey) !== newKey) {
    return malformed('the key is not in its canonical form');
  }
  return {
    ok: true,
    value: { origin, height: Number(height), previousHash, newKey, newVerifier: newVerifier.value },
  };
}

/** The signed record: the note text signed by the previous key (and nothing else). */
export function signKeyChange(change: KeyChange, previousKey: NoteSigner): string {
  return signNote(formatKeyChange(change), [previousKey]);
}

/**
 * Whether `next` may be signed by its key, given `prev` (the block before it, already verified with
 * `previousKey`) and `nextKey` (the key that verified `next`'s own signature): the same key as `prev` with no
 * record; or another key with a record in `next.keyChange` signed by `previousKey` that names `origin` (when
 * given), `next.height`, `next.previousHash` and exactly `nextKey`. Both headers must be parsed already. A key
 * change record says nothing about whether the new key is one to trust: that is the caller's keyring. Never throws.
 */
export function verifyKeyChange(
  prev: SignedBlockHeader,
  next: SignedBlockHeader,
  previousKey: NoteVerifier,
  nextKey: NoteVerifier,
  origin?: string,
): Verdict<BlockFailureCode> {
  const invalid = (reason: string) => fail(BlockFailure.KEY_CHANGE_INVALID, `block ${next.height}: ${reason}`);
  if (previousKey.keyId !== prev.keyId || nextKey.keyId !== next.keyId) {
    return invalid('the keys given are not the keys the blocks name');
  }
  if (next.keyId === prev.keyId) {
    return next.keyChange === undefined
      ? { ok: true }
      : invalid(`a key change record, though block ${prev.height} is signed by the same key ${prev.keyId}`);
  }
  if (next.keyChange === undefined) {
    return fail(
      BlockFailure.KEY_CHANGE_MISSING,
      `block ${next.height} is signed by key ${next.keyId}, block ${prev.height} by key ${prev.keyId}, ` +
        `and no key change record by ${prev.keyId} hands over`,
    );
  }
  const opened = verifyNote(next.keyChange, [previousKey]);
  if (!opened.ok) return invalid(`the key change record is not signed by key ${prev.keyId} (${opened.reason})`);
  const parsed = parseKeyChange(opened.text);
  if (!parsed.ok) return invalid(`the key change record is malformed (${parsed.reason})`);
  const record = parsed.value;
  if (origin !== undefined && record.origin !== origin) {
    return invalid(`the key change record is for log ${JSON.stringify(record.origin)}, not ${JSON.stringify(origin)}`);
  }
  if (record.height !== next.height) return invalid(`the key change record is for height ${record.height}`);
  if (record.previousHash !== next.previousHash) {
    return invalid('the key change record follows another block (its previous hash is not this block’s)');
  }
  const named = record.newVerifier;
  if (named.keyId !== nextKey.keyId || named.name !== nextKey.name || !bytesEqual(named.publicKey, nextKey.publicKey)) {
    return invalid(`the key change record names key ${named.keyId}, not the block's key ${next.keyId}`);
  }
  return { ok: true };
}
