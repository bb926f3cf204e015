import { createHash, createHmac } from 'node:crypto';
import { canonicalBytes, leafHash, MemoryMerkleTree, toBase64, toHex } from '@medledger/ledger-core';
import {
  type Allocation,
  type AllocationCommitment,
  AllocationDrbg,
  type AllocationProof,
  allocationLeafData,
  allocationSalt,
  commitAllocationList,
  CommittedAllocationList,
  generateAllocationList,
  LabelledHmac,
  proveAllocation,
  type RandomisationScheme,
  uniformBelow,
  validateScheme,
  verifyAllocationProof,
  verifyRevealedList,
} from './randomisation';

/** Seed i: 32 bytes derived from i, so every run of the suite sees the same seeds. */
function seedOf(i: number): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(`test seed ${i}`).digest());
}

function scheme(ratios: Record<string, number>, blockSizes: number[], listLength: number): RandomisationScheme {
  return {
    algorithm: 'permuted-blocks-v1',
    arms: Object.entries(ratios).map(([armId, ratio]) => ({ armId, ratio })),
    blockSizes,
    listLength,
  };
}

const arms = (list: readonly Allocation[]): string[] => list.map((allocation) => allocation.armId);

/**
 * A second implementation of the SPEC text in randomisation.ts, written for reading rather than speed: createHmac,
 * BigInt and one draw at a time. generateAllocationList must agree with it everywhere.
 */
function referenceList(seed: Uint8Array, s: RandomisationScheme): string[] {
  let counter = 0n;
  let stream = Buffer.alloc(0);
  const word = (): number => {
    if (stream.length === 0) {
      const message = Buffer.alloc(8);
      message.writeBigUInt64BE(counter++);
      stream = createHmac('sha256', seed)
        .update(Buffer.concat([Buffer.from('medledger/allocation-drbg/v1'), message]))
        .digest();
    }
    const value = stream.readUInt32BE(0);
    stream = stream.subarray(4);
    return value;
  };
  const below = (n: number): number => {
    if (n === 1) return 0;
    const limit = 2 ** 32 - (2 ** 32 % n);
    for (let w = word(); ; w = word()) if (w < limit) return w % n;
  };
  const total = s.arms.reduce((sum, arm) => sum + arm.ratio, 0);
  const out: string[] = [];
  while (out.length < s.listLength) {
    const size = s.blockSizes[below(s.blockSizes.length)] as number;
    const block: string[] = [];
    for (const arm of s.arms) for (let k = 0; k < (arm.ratio * size) / total; k++) block.push(arm.armId);
    for (let i = size - 1; i > 0; i--) {
      const j = below(i + 1);
      const held = block[i] as string;
      block[i] = block[j] as string;
      block[j] = held;
    }
    out.push(...block);
  }
  return out.slice(0, s.listLength);
}

describe('known-answer vector (permuted-blocks-v1)', () => {
  const seed = Uint8Array.from({ length: 32 }, (_, i) => i); // 00 01 02 … 1f
  const kat = scheme({ active: 2, placebo: 1 }, [3, 6], 20);

  // Computed once with this implementation (and checked against referenceList and the independent recomputation
  // below) and written here: a change to any of these is a change to the algorithm, which must then be -v2.
  const FIRST_12 = [
    'active',
    'placebo',
    'active',
    'active',
    'placebo',
    'active',
    'active',
    'placebo',
    'active',
    'placebo',
    'active',
    'active',
  ];
  const ROOT = 'PXFNaJYefcwGbohHxUP2NaIUtcBk1of2kPs2eiy2kdA=';
  const SALT_1 = 'b0a84eb33aba917c327f9e1174dabc52b6dfe11b8f76bfd92d98620e6f2bb043';
  const LEAF_1 = '{"armId":"active","salt":"sKhOszq6kXwyf54RdNq8Urbf4RuPdr/ZLZhiDm8rsEM=","sequence":1}';

  it('gives the recorded first 12 arms, blocks and root', () => {
    const list = generateAllocationList(seed, kat);
    expect(arms(list).slice(0, 12)).toEqual(FIRST_12);
    expect(list.map((allocation) => allocation.blockIndex)).toEqual([
      0, 0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3,
    ]);
    expect(commitAllocationList(seed, kat).root).toBe(ROOT);
    expect(toHex(allocationSalt(seed, 1))).toBe(SALT_1);
    expect(Buffer.from(allocationLeafData({ sequence: 1, armId: 'active' }, allocationSalt(seed, 1))).toString()).toBe(
      LEAF_1,
    );
  });

  it('is recomputed independently: salts by createHmac, leaves by hand, root by MemoryMerkleTree', () => {
    const list = referenceList(seed, kat);
    const leaves = list.map((armId, i) => {
      const message = Buffer.alloc(8);
      message.writeBigUInt64BE(BigInt(i + 1));
      const salt = createHmac('sha256', seed)
        .update(Buffer.concat([Buffer.from('medledger/allocation-salt/v1'), message]))
        .digest('base64');
      return leafHash(Buffer.from(`{"armId":"${armId}","salt":"${salt}","sequence":${i + 1}}`));
    });
    expect(toBase64(new MemoryMerkleTree(leaves).root())).toBe(ROOT);
    const commitment = commitAllocationList(seed, kat);
    expect(commitment.seedHash).toBe(createHash('sha256').update(seed).digest('base64'));
    expect(commitment.schemeHash).toBe(
      createHash('sha256')
        .update(
          '{"algorithm":"permuted-blocks-v1","arms":[{"armId":"active","ratio":2},{"armId":"placebo","ratio":1}],' +
            '"blockSizes":[3,6],"listLength":20}',
        )
        .digest('base64'),
    );
  });

  it('the DRBG stream is HMAC-SHA256(seed, label ‖ uint64_be(counter)) read as big-endian words', () => {
    const drbg = new AllocationDrbg(seed);
    const words = Array.from({ length: 16 }, () => drbg.nextUint32());
    const expected = [0n, 1n].flatMap((counter) => {
      const message = Buffer.alloc(8);
      message.writeBigUInt64BE(counter);
      const block = createHmac('sha256', seed)
        .update(Buffer.concat([Buffer.from('medledger/allocation-drbg/v1'), message]))
        .digest();
      return Array.from({ length: 8 }, (_, i) => block.readUInt32BE(4 * i));
    });
    expect(words).toEqual(expected);
  });
});

describe('LabelledHmac (RFC 2104 over one-shot SHA-256) equals node:crypto createHmac', () => {
  it.each([0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1])('equals createHmac for counter %d', (counter) => {
    const label = Buffer.from('medledger/allocation-salt/v1');
    for (const key of [seedOf(1), Buffer.from('Jefe'), new Uint8Array(64).fill(0xaa)]) {
      const message = Buffer.alloc(8);
      message.writeBigUInt64BE(BigInt(counter));
      expect(toHex(new LabelledHmac(key, label).mac(counter))).toBe(
        createHmac('sha256', key)
          .update(Buffer.concat([label, message]))
          .digest('hex'),
      );
    }
  });
});

describe('generateAllocationList', () => {
  it('is deterministic and agrees with the reference implementation', () => {
    for (const [i, s] of [
      scheme({ A: 1, B: 1 }, [2, 4, 6], 101),
      scheme({ active: 2, placebo: 1 }, [3, 6, 9], 250),
      scheme({ x: 1, y: 1, z: 1 }, [3], 50),
      scheme({ a: 3, b: 2, c: 1 }, [6, 12], 97),
    ].entries()) {
      const first = generateAllocationList(seedOf(i), s);
      expect(generateAllocationList(seedOf(i), s)).toEqual(first);
      expect(arms(first)).toEqual(referenceList(seedOf(i), s));
      expect(first.map((allocation) => allocation.sequence)).toEqual(
        Array.from({ length: s.listLength }, (_, k) => k + 1),
      );
    }
  });

  it('differs for different seeds', () => {
    const s = scheme({ A: 1, B: 1 }, [4], 64);
    const lists = new Set(Array.from({ length: 20 }, (_, i) => arms(generateAllocationList(seedOf(i), s)).join()));
    expect(lists.size).toBe(20);
  });

  it.each<[string, Record<string, number>, number[]]>([
    ['1:1, blocks of 2', { A: 1, B: 1 }, [2]],
    ['1:1, blocks of 4 and 6', { A: 1, B: 1 }, [4, 6]],
    ['1:1, blocks of 2, 4 and 8', { A: 1, B: 1 }, [2, 4, 8]],
    ['2:1, blocks of 3', { active: 2, placebo: 1 }, [3]],
    ['2:1, blocks of 6 and 9', { active: 2, placebo: 1 }, [6, 9]],
    ['1:1:1, blocks of 3 and 6', { x: 1, y: 1, z: 1 }, [3, 6]],
    ['1:1:1, blocks of 9', { x: 1, y: 1, z: 1 }, [9]],
  ])('every complete block is balanced to the ratios (%s)', (_, ratios, blockSizes) => {
    const s = scheme(ratios, blockSizes, 1001);
    const list = generateAllocationList(seedOf(7), s);
    const blocks = new Map<number, string[]>();
    for (const allocation of list)
      blocks.set(allocation.blockIndex, [...(blocks.get(allocation.blockIndex) ?? []), allocation.armId]);
    const last = Math.max(...blocks.keys());
    const total = Object.values(ratios).reduce((sum, ratio) => sum + ratio, 0);
    const sizesSeen = new Set<number>();
    for (const [index, block] of blocks) {
      if (index === last) continue; // the list may cut the last block
      expect(blockSizes).toContain(block.length);
      sizesSeen.add(block.length);
      for (const [armId, ratio] of Object.entries(ratios))
        expect(block.filter((arm) => arm === armId).length).toBe((ratio * block.length) / total);
    }
    // Blocks are consecutive and every listed size is drawn.
    expect([...blocks.keys()]).toEqual(Array.from({ length: last + 1 }, (_, i) => i));
    expect([...sizesSeen].sort((a, b) => a - b)).toEqual([...blockSizes].sort((a, b) => a - b));
  });

  it('shuffles without bias: each of the 6 orders of a 1:1 block of 4 is about equally frequent', () => {
    // 3000 seeds, expected 500 per order; a Fisher–Yates off by one (j drawn below i or below size) leaves some
    // orders out or doubles others. Bounds at ±6 standard deviations (sd ≈ 20), so this never fails by chance.
    const s = scheme({ A: 1, B: 1 }, [4], 4);
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const order = arms(generateAllocationList(seedOf(i), s)).join('');
      counts.set(order, (counts.get(order) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(['AABB', 'ABAB', 'ABBA', 'BAAB', 'BABA', 'BBAA']);
    for (const count of counts.values()) expect(Math.abs(count - 500)).toBeLessThan(120);
  });

  it('draws by rejection: words at or above the largest multiple of n are skipped, not folded', () => {
    const words = [0xffffffff, 0xfffffffe, 7];
    const source = (): number => words.shift() as number;
    // n = 3: limit = 2^32 − (2^32 mod 3) = 0xffffffff, so 0xffffffff is rejected and 0xfffffffe (≡ 2 mod 3) kept.
    expect(uniformBelow(source, 3)).toBe(0xfffffffe % 3);
    expect(words).toEqual([7]);
    // n = 1 takes no word.
    expect(uniformBelow(source, 1)).toBe(0);
    expect(words).toEqual([7]);
    // n = 2^31 + 1: limit = n, so almost half of all words are rejected; a fold (w mod n) would make 0..2^31 − 2
    // twice as likely as 2^31.
    const many = [2 ** 31 + 1, 0xffffffff, 5, 2 ** 31];
    expect(uniformBelow(() => many.shift() as number, 2 ** 31 + 1)).toBe(5);
    expect(uniformBelow(() => many.shift() as number, 2 ** 31 + 1)).toBe(2 ** 31);
    expect(many).toEqual([]);
  });

  it('refuses an invalid scheme and a seed of the wrong length (a caller bug: thrown)', () => {
    expect(() => generateAllocationList(seedOf(0), scheme({ A: 1 }, [2], 4))).toThrow('TRIALS.INVALID_RANDOMISATION');
    expect(() => generateAllocationList(new Uint8Array(16), scheme({ A: 1, B: 1 }, [2], 4))).toThrow(
      'TRIALS.INVALID_ARGUMENT',
    );
  });
});

describe('allocationLeafData', () => {
  it.each([
    ['A', 1],
    ['placebo_arm-2', 100000],
    ['x'.repeat(40), 2 ** 53 - 1],
  ])('is the UTF-8 JCS form of {armId, salt, sequence} (%s, %d)', (armId, sequence) => {
    const salt = allocationSalt(seedOf(3), sequence);
    expect(toHex(allocationLeafData({ armId, sequence }, salt))).toBe(
      toHex(canonicalBytes({ sequence, salt: toBase64(salt), armId })),
    );
  });

  it('falls back to canonicalBytes for ids outside the arm id pattern (escaped)', () => {
    const salt = new Uint8Array(32);
    expect(Buffer.from(allocationLeafData({ armId: 'a"b', sequence: 1 }, salt)).toString()).toBe(
      '{"armId":"a\\"b","salt":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","sequence":1}',
    );
  });
});

describe('proofs of single allocations', () => {
  const s = scheme({ active: 2, placebo: 1 }, [3, 6], 13);
  const seed = seedOf(42);
  const commitment = commitAllocationList(seed, s);
  const list = generateAllocationList(seed, s);

  it('every allocation of a small list verifies against the commitment, and shows its arm', () => {
    const committed = CommittedAllocationList.generate(seed, s);
    expect(committed.commitment).toEqual(commitment);
    for (const allocation of list) {
      const proof = proveAllocation(seed, s, allocation.sequence);
      expect(proof).toEqual(committed.prove(allocation.sequence));
      expect(proof.armId).toBe(allocation.armId);
      expect(proof.treeSize).toBe(13);
      expect(verifyAllocationProof(proof, commitment)).toEqual({ ok: true });
    }
  });

  it('a one-allocation list has an empty proof that verifies', () => {
    const one = scheme({ A: 1, B: 1 }, [2], 1);
    const proof = proveAllocation(seed, one, 1);
    expect(proof.proof).toEqual([]);
    expect(verifyAllocationProof(proof, commitAllocationList(seed, one))).toEqual({ ok: true });
  });

  const other = (armId: string): string => (armId === 'active' ? 'placebo' : 'active');
  const flipFirstByte = (b64: string): string => {
    const bytes = Buffer.from(b64, 'base64');
    bytes[0] = (bytes[0] as number) ^ 1;
    return bytes.toString('base64');
  };
  it.each<[string, (p: AllocationProof) => AllocationProof, (c: AllocationCommitment) => AllocationCommitment]>([
    ['wrong arm', (p) => ({ ...p, armId: other(p.armId) }), (c) => c],
    ['wrong salt', (p) => ({ ...p, salt: flipFirstByte(p.salt) }), (c) => c],
    ['salt of another allocation', (p) => ({ ...p, salt: toBase64(allocationSalt(seed, p.sequence + 1)) }), (c) => c],
    ['wrong sequence', (p) => ({ ...p, sequence: p.sequence + 1 }), (c) => c],
    ['sequence beyond the list', (p) => ({ ...p, sequence: 14 }), (c) => c],
    ['altered proof node', (p) => ({ ...p, proof: p.proof.map((n, i) => (i === 1 ? flipFirstByte(n) : n)) }), (c) => c],
    ['proof node dropped', (p) => ({ ...p, proof: p.proof.slice(1) }), (c) => c],
    ['proof node not base64', (p) => ({ ...p, proof: p.proof.map((n, i) => (i === 0 ? `${n}!` : n)) }), (c) => c],
    ['salt too short', (p) => ({ ...p, salt: toBase64(new Uint8Array(16)) }), (c) => c],
    ['tree size not the committed length', (p) => ({ ...p, treeSize: 12 }), (c) => c],
    ['other commitment', (p) => p, () => commitAllocationList(seedOf(43), s)],
    ['commitment root altered', (p) => p, (c) => ({ ...c, root: flipFirstByte(c.root) })],
    ['commitment of another algorithm', (p) => p, (c) => ({ ...c, algorithm: 'x' }) as unknown as AllocationCommitment],
    ['not an object', () => null as unknown as AllocationProof, (c) => c],
  ])('refuses a tampered proof: %s', (_, tamperProof, tamperCommitment) => {
    const proof = proveAllocation(seed, s, 6);
    expect(verifyAllocationProof(proof, commitment)).toEqual({ ok: true });
    const verdict = verifyAllocationProof(tamperProof(proof), tamperCommitment(commitment));
    expect(verdict).toMatchObject({ ok: false, code: 'TRIALS.ALLOCATION_PROOF_INVALID' });
  });

  it('refuses to prove a sequence outside the list', () => {
    expect(() => proveAllocation(seed, s, 0)).toThrow('TRIALS.INVALID_ARGUMENT');
    expect(() => proveAllocation(seed, s, 14)).toThrow('TRIALS.INVALID_ARGUMENT');
  });
});

describe('verifyRevealedList', () => {
  const s = scheme({ A: 1, B: 1 }, [2, 4], 40);
  const seed = seedOf(5);
  const commitment = commitAllocationList(seed, s);
  const list = generateAllocationList(seed, s);
  const made = list.slice(0, 25).map(({ sequence, armId }) => ({ sequence, armId }));

  it('accepts the revealed seed and scheme with the allocations made, in any order', () => {
    expect(verifyRevealedList(seed, s, commitment, made)).toEqual({ ok: true });
    expect(verifyRevealedList(seed, s, commitment, [...made].reverse())).toEqual({ ok: true });
    expect(verifyRevealedList(seed, s, commitment, [])).toEqual({ ok: true });
  });

  const flip = (armId: string): string => (armId === 'A' ? 'B' : 'A');
  it.each<[string, () => Parameters<typeof verifyRevealedList>, RegExp]>([
    ['wrong seed', () => [seedOf(6), s, commitment, made], /seed is not the committed one/],
    ['short seed', () => [seed.subarray(0, 31), s, commitment, made], /not 32 bytes/],
    ['wrong scheme (other block sizes)', () => [seed, { ...s, blockSizes: [2] }, commitment, made], /scheme is not/],
    [
      'wrong scheme (arms swapped)',
      () => [seed, { ...s, arms: [...s.arms].reverse() }, commitment, made],
      /scheme is not/,
    ],
    ['invalid scheme', () => [seed, { ...s, listLength: 0 }, commitment, made], /scheme is invalid/],
    ['commitment root altered', () => [seed, s, { ...commitment, root: toBase64(new Uint8Array(32)) }, made], /root/],
    [
      'a made allocation differs from the list',
      () => [seed, s, commitment, made.map((m) => (m.sequence === 17 ? { ...m, armId: flip(m.armId) } : m))],
      /^sequence 17: the list allocates arm "[AB]", the record says arm "[AB]"$/,
    ],
    [
      'the lowest differing sequence is named first',
      () => [
        seed,
        s,
        commitment,
        made.map((m) => (m.sequence === 21 || m.sequence === 9 ? { ...m, armId: flip(m.armId) } : m)),
      ],
      /^sequence 9:/,
    ],
    [
      'a sequence recorded twice',
      () => [seed, s, commitment, [...made, made[3] as Allocation]],
      /sequence 4 is recorded twice/,
    ],
    ['a sequence beyond the list', () => [seed, s, commitment, [...made, { sequence: 41, armId: 'A' }]], /sequence 41/],
  ])('refuses %s', (_, args, message) => {
    const verdict = verifyRevealedList(...args());
    expect(verdict).toMatchObject({ ok: false, code: 'TRIALS.REVEAL_MISMATCH' });
    expect(verdict.ok ? '' : verdict.message).toMatch(message);
  });

  it('names the expected and the recorded arm', () => {
    const first = list[0] as Allocation;
    const verdict = verifyRevealedList(seed, s, commitment, [{ sequence: 1, armId: flip(first.armId) }]);
    expect(verdict).toEqual({
      ok: false,
      code: 'TRIALS.REVEAL_MISMATCH',
      message: `sequence 1: the list allocates arm "${first.armId}", the record says arm "${flip(first.armId)}"`,
    });
  });
});

describe('validateScheme', () => {
  const good = scheme({ active: 2, placebo: 1 }, [3, 6], 100);

  it('accepts a valid scheme and returns a copy of exactly its members', () => {
    const checked = validateScheme(good);
    expect(checked).toEqual({ ok: true, scheme: good });
    if (checked.ok) {
      expect(checked.scheme).not.toBe(good);
      expect(checked.scheme.arms[0]).not.toBe(good.arms[0]);
    }
    expect(validateScheme({ ...good, listLength: 100000, blockSizes: [1023] })).toMatchObject({ ok: true });
  });

  const bad = (patch: Record<string, unknown>): unknown => ({ ...good, ...patch });
  it.each<[string, unknown, string]>([
    ['not an object', 'permuted-blocks-v1', 'JSON object'],
    ['an array', [good], 'JSON object'],
    ['unknown algorithm', bad({ algorithm: 'simple' }), 'algorithm'],
    ['unknown member', bad({ strata: ['site'] }), 'unknown member "strata"'],
    ['one arm', bad({ arms: [{ armId: 'A', ratio: 1 }] }), 'at least 2'],
    ['arms not a list', bad({ arms: { A: 1 } }), 'at least 2'],
    [
      'duplicate arm ids',
      bad({
        arms: [
          { armId: 'A', ratio: 1 },
          { armId: 'A', ratio: 2 },
        ],
      }),
      'used twice',
    ],
    [
      'arm id with a space',
      bad({
        arms: [
          { armId: 'A B', ratio: 1 },
          { armId: 'C', ratio: 2 },
        ],
      }),
      'armId',
    ],
    [
      'arm id of 41 characters',
      bad({
        arms: [
          { armId: 'a'.repeat(41), ratio: 1 },
          { armId: 'C', ratio: 2 },
        ],
      }),
      'armId',
    ],
    [
      'empty arm id',
      bad({
        arms: [
          { armId: '', ratio: 1 },
          { armId: 'C', ratio: 2 },
        ],
      }),
      'armId',
    ],
    [
      'arm with an extra member',
      bad({
        arms: [
          { armId: 'A', ratio: 1, label: 'x' },
          { armId: 'C', ratio: 2 },
        ],
      }),
      'label',
    ],
    [
      'ratio 0',
      bad({
        arms: [
          { armId: 'A', ratio: 0 },
          { armId: 'C', ratio: 1 },
        ],
      }),
      'ratio',
    ],
    [
      'negative ratio',
      bad({
        arms: [
          { armId: 'A', ratio: -1 },
          { armId: 'C', ratio: 1 },
        ],
      }),
      'ratio',
    ],
    [
      'fractional ratio',
      bad({
        arms: [
          { armId: 'A', ratio: 1.5 },
          { armId: 'C', ratio: 1 },
        ],
      }),
      'ratio',
    ],
    [
      'ratio as a string',
      bad({
        arms: [
          { armId: 'A', ratio: '1' },
          { armId: 'C', ratio: 1 },
        ],
      }),
      'ratio',
    ],
    ['no block sizes', bad({ blockSizes: [] }), 'blockSizes'],
    ['block size not a multiple of the ratios', bad({ blockSizes: [3, 4] }), 'blockSizes[1] = 4 is not a multiple'],
    ['block size 0', bad({ blockSizes: [0] }), 'blockSizes[0]'],
    ['block size too large', bad({ blockSizes: [1026] }), 'blockSizes[0]'],
    ['block size listed twice', bad({ blockSizes: [3, 3] }), 'listed twice'],
    ['list length 0', bad({ listLength: 0 }), 'listLength'],
    ['list length 100001', bad({ listLength: 100001 }), 'listLength'],
    ['fractional list length', bad({ listLength: 10.5 }), 'listLength'],
    ['missing list length', bad({ listLength: undefined }), 'listLength'],
  ])('refuses %s', (_, input, message) => {
    const checked = validateScheme(input);
    expect(checked).toMatchObject({ ok: false, error: { code: 'TRIALS.INVALID_RANDOMISATION' } });
    expect(checked.ok ? '' : checked.error.message).toContain(message);
  });
});
