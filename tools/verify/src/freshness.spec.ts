import { at, buildLedger, keysOf, signer } from '../test/test-ledger';
import { VerifyCode } from './codes';
import { checkAge, datedCheckpoint, parseMaxAge } from './freshness';

describe('datedCheckpoint', () => {
  const ledger = buildLedger();
  const last = at(ledger.blocks, 4);
  const keys = keysOf(signer());

  it("dates the newest checkpoint by its block's signed sealedAt", () => {
    expect(datedCheckpoint(last, keys)).toEqual({ ok: true, checkpoint: last.checkpoint, sealedAt: last.sealedAt });
  });

  it.each([
    [
      'a sealedAt changed after signing',
      { ...last, sealedAt: '2030-01-01T00:00:00.000Z' },
      VerifyCode.SIGNATURE_INVALID,
    ],
    [
      "another block's checkpoint",
      { ...last, checkpoint: at(ledger.blocks, 3).checkpoint },
      VerifyCode.CHECKPOINT_MISMATCH,
    ],
    ['no checkpoint', { ...last, checkpoint: undefined }, VerifyCode.BLOCK_MALFORMED],
    ['no block (an empty log)', undefined, VerifyCode.CHECKPOINT_MISSING],
  ])('refuses %s', (_, block, code) => {
    expect(datedCheckpoint(block, keys)).toMatchObject({ ok: false, code });
  });

  it('refuses a block signed by a key that is not trusted', () => {
    expect(datedCheckpoint(last, keysOf(signer(3)))).toMatchObject({ ok: false, code: VerifyCode.SIGNATURE_INVALID });
  });
});

describe('--max-age', () => {
  it.each([
    ['90', 90_000],
    ['90s', 90_000],
    ['15m', 900_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['soon', undefined],
    ['-5', undefined],
    ['1.5h', undefined],
  ])('%s is %s ms', (text, ms) => {
    expect(parseMaxAge(text)).toBe(ms);
  });

  it('passes a checkpoint younger than the bound and names one older, or one from the future', () => {
    const sealedAt = '2026-11-23T12:00:00.000Z';
    const now = Date.parse(sealedAt);
    expect(checkAge(sealedAt, 60_000, now + 60_000)).toBeUndefined();
    expect(checkAge(sealedAt, 60_000, now + 61_000)).toMatchObject({
      code: VerifyCode.STALE_CHECKPOINT,
      message: `checkpoint: the newest block was sealed at ${sealedAt}, 61 s ago, more than --max-age 60 s`,
    });
    expect(checkAge(sealedAt, 60_000, now - 120_000)).toMatchObject({ code: VerifyCode.STALE_CHECKPOINT });
  });
});
