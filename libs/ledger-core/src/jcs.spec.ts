import { toHex } from './encoding';
import {
  canonicalBytes,
  canonicalize,
  canonicalMembers,
  isCanonicalJson,
  isCanonicalJsonLatin1,
  JCS_MAX_DEPTH,
} from './jcs';

// Input and expected output files of cyberphone/json-canonicalization testdata/ (the reference test data of
// RFC 8785's authors). The input is parsed with JSON.parse, as the ledger parses received envelopes.
const CYBERPHONE: [name: string, input: string, output: string][] = [
  [
    'values.json',
    '{\n  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],\n  "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n  "literals": [null, true, false]\n}',
    '{"escaping":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
  ],
  [
    'weird.json',
    '{\n  "\\u20ac": "Euro Sign",\n  "1": "One",\n  "\\u0080": "Control\\u007f",\n  "\\ud83d\\ude02": "Smiley",\n  "\\u00f6": "Latin Small Letter O With Diaeresis",\n  "\\ufb33": "Hebrew Letter Dalet With Dagesh",\n  "</script>": "Browser Challenge"\n}\n',
    '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f","\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  ],
  [
    'structures.json',
    '{\n  "1": {"f": {"f": "hi","F": 5} ,"\\n": 56.0},\n  "10": { },\n  "": "empty",\n  "a": { },\n  "111": [ { } ],\n  "A": { }\n}',
    '{"":"empty","1":{"\\n":56,"f":{"F":5,"f":"hi"}},"10":{},"111":[{}],"A":{},"a":{}}',
  ],
  ['unicode.json', '{\n  "Unnormalized Unicode":"\\u1e0d\\u0307"\n}\n', '{"Unnormalized Unicode":"\u1e0d\u0307"}'],
  [
    'french.json',
    '{\n  "peach": "This sorting order",\n  "p\u00e9ch\u00e9": "is wrong according to French",\n  "p\u00eache": "but canonicalization MUST",\n  "sin":   "ingnore locale"\n}\n',
    '{"peach":"This sorting order","p\u00e9ch\u00e9":"is wrong according to French","p\u00eache":"but canonicalization MUST","sin":"ingnore locale"}',
  ],
  // testdata/input/arrays.json; its output file is not in the corpus searched, so this expectation is derived
  // from the RFC 8785 rules by hand (arrays keep order, members sort).
  [
    'arrays.json',
    '[\n  56,\n  {\n    "d": true,\n    "10": null,\n    "1": [ ]\n  }\n]',
    '[56,{"1":[],"10":null,"d":true}]',
  ],
];

// RFC 8785 Appendix B: IEEE 754 bit patterns and their required serialisation (the same table appears in the
// test suites of several independent JCS implementations).
const APPENDIX_B: [bits: bigint, text: string][] = [
  [0x0000000000000000n, '0'],
  [0x8000000000000000n, '0'],
  [0x0000000000000001n, '5e-324'],
  [0x8000000000000001n, '-5e-324'],
  [0x7fefffffffffffffn, '1.7976931348623157e+308'],
  [0xffefffffffffffffn, '-1.7976931348623157e+308'],
  [0x4340000000000000n, '9007199254740992'],
  [0xc340000000000000n, '-9007199254740992'],
  [0x4430000000000000n, '295147905179352830000'],
  [0x44b52d02c7e14af5n, '9.999999999999997e+22'],
  [0x44b52d02c7e14af6n, '1e+23'],
  [0x44b52d02c7e14af7n, '1.0000000000000001e+23'],
  [0x444b1ae4d6e2ef4en, '999999999999999700000'],
  [0x444b1ae4d6e2ef4fn, '999999999999999900000'],
  [0x444b1ae4d6e2ef50n, '1e+21'],
  [0x3eb0c6f7a0b5ed8cn, '9.999999999999997e-7'],
  [0x3eb0c6f7a0b5ed8dn, '0.000001'],
  [0x41b3de4355555553n, '333333333.3333332'],
  [0x41b3de4355555554n, '333333333.33333325'],
  [0x41b3de4355555555n, '333333333.3333333'],
  [0x41b3de4355555556n, '333333333.3333334'],
  [0x41b3de4355555557n, '333333333.33333343'],
  [0xbecbf647612f3696n, '-0.0000033333333333333333'],
  [0x43143ff3c1cb0959n, '1424953923781206.2'],
];

function float(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits);
  return view.getFloat64(0);
}

describe('canonicalize (RFC 8785)', () => {
  it.each(CYBERPHONE)('cyberphone testdata %s', (_name, input, output) => {
    expect(canonicalize(JSON.parse(input))).toBe(output);
  });

  it('RFC 8785 §3.2.2: the sample object', () => {
    const input =
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001], "string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}';
    expect(canonicalize(JSON.parse(input))).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\u20ac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('RFC 8785 §3.2.3: members sort by UTF-16 code units, not code points or locale', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    };
    expect(canonicalize(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it.each(APPENDIX_B)('RFC 8785 Appendix B: %s serialises as %s', (bits, text) => {
    expect(canonicalize(float(bits))).toBe(text);
    expect(canonicalize([float(bits)])).toBe(`[${text}]`);
  });

  it('RFC 8785 §3.2.4: UTF-8 output', () => {
    expect(toHex(canonicalBytes({ a: '\u20ac' }))).toBe('7b2261223a22e282ac227d');
    expect(toHex(canonicalBytes('this is a test string 1235'))).toBe(
      '22746869732069732061207465737420737472696e672031323335' + '22',
    );
  });

  it('escapes control characters in lower-case hex and leaves DEL and U+2028 alone', () => {
    expect(canonicalize('\u0000\u001f\b\t\n\f\r\u007f\u2028')).toBe('"\\u0000\\u001f\\b\\t\\n\\f\\r\u007f\u2028"');
  });

  it('treats an object with no prototype like a plain object and omits undefined members', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: undefined, c: [true] });
    expect(canonicalize(bare)).toBe('{"b":1,"c":[true]}');
  });

  it.each<[string, unknown]>([
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-Infinity in an array', [-Infinity]],
    ['undefined at the top', undefined],
    ['undefined in an array', [1, undefined]],
    ['a bigint', { n: 1n }],
    ['a symbol', Symbol('s')],
    ['a function', { f: () => 1 }],
    ['a Date', { at: new Date(0) }],
    ['a Map', new Map()],
    ['a typed array', new Uint8Array(2)],
    ['a lone high surrogate in a value', '\ud800'],
    ['a lone low surrogate in a key', { '\udc00': 1 }],
  ])('refuses %s with LEDGER.JCS_UNSUPPORTED_VALUE', (_name, value) => {
    expect(() => canonicalize(value)).toThrow('LEDGER.JCS_UNSUPPORTED_VALUE');
  });

  it('refuses cycles and excessive nesting, but not shared references', () => {
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => canonicalize(cycle)).toThrow('LEDGER.JCS_UNSUPPORTED_VALUE');
    const shared = { x: 1 };
    expect(canonicalize({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
    let deep: unknown = 0;
    for (let i = 0; i < JCS_MAX_DEPTH + 1; i++) deep = [deep];
    expect(() => canonicalize(deep)).toThrow('LEDGER.JCS_UNSUPPORTED_VALUE');
    let fine: unknown = 0;
    for (let i = 0; i < JCS_MAX_DEPTH; i++) fine = [fine];
    expect(canonicalize(fine)).toHaveLength(2 * JCS_MAX_DEPTH + 1);
  });

  it('is idempotent: canonical output parses back to the same canonical output', () => {
    for (const [, input] of CYBERPHONE) {
      const once = canonicalize(JSON.parse(input));
      expect(canonicalize(JSON.parse(once))).toBe(once);
    }
  });

  it('names the value it refuses by its path, fast path or not', () => {
    expect(() => canonicalize({ a: [{ b: 1 }, { c: NaN }] })).toThrow('$.a[1].c: NaN has no canonical JSON form');
  });
});

describe('canonicalMembers', () => {
  const envelope = JSON.parse(CYBERPHONE[2]?.[1] as string) as Record<string, unknown>;

  it('joined, gives the canonical form of the object, or of the part of it that the chosen members make', () => {
    const members = canonicalMembers({ ...envelope, skipped: undefined });
    expect(`{${members.map(([, member]) => member).join(',')}}`).toBe(canonicalize(envelope));
    const part = members.filter(([name]) => name !== 'a' && name !== '10');
    const { a: _a, '10': _ten, ...rest } = envelope;
    expect(`{${part.map(([, member]) => member).join(',')}}`).toBe(canonicalize(rest));
    expect(members.map(([name]) => name)).toEqual(['', '1', '10', '111', 'A', 'a']);
  });

  it('refuses what canonicalize refuses, naming the member', () => {
    expect(() => canonicalMembers({ ok: 1, bad: { deep: [Infinity] } })).toThrow('$.bad.deep[0]: Infinity');
    expect(() => canonicalMembers([1] as unknown as Record<string, unknown>)).toThrow('LEDGER.JCS_UNSUPPORTED_VALUE');
  });
});

describe('isCanonicalJson', () => {
  /** What it must answer: whether canonicalize of the parsed text gives the text back (false where it throws). */
  function expected(text: string): boolean {
    try {
      return canonicalize(JSON.parse(text)) === text;
    } catch {
      return false;
    }
  }

  const deep = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;
  const TEXTS: string[] = [
    ...CYBERPHONE.flatMap(([, input, output]) => [input, output]),
    '{}',
    '[]',
    '"plain"',
    '0',
    '-0',
    '1.0',
    '1e400',
    '1e+30',
    '4.5',
    'null',
    '{"a":1,"b":2}',
    '{"b":2,"a":1}', // members out of order
    '{"a":1, "b":2}', // whitespace
    '{"a":1,"a":2}', // duplicate name: JSON.parse keeps the last
    '{"1":"x","10":"y","9":"z"}', // sorted as RFC 8785 sorts; V8 lists integer keys numerically
    '{"1":"x","9":"z","10":"y"}',
    '{"a":{"d":[{"f":1,"e":2}]}}', // out of order deep down
    '{"a":{"d":[{"e":2,"f":1}]}}',
    '"\\u00e9"', // an escape JSON.stringify does not write
    '"é"',
    '"\\u001f\\n\\"\\\\"',
    '"\\u001F"', // upper-case hex
    '"\\/"',
    '"\\ud83d\\ude02"', // a pair written as escapes
    '"😂"',
    '"\\ud800"', // a lone surrogate: JSON.stringify writes it back, RFC 8785 refuses it
    '{"k":"\\udfff"}',
    '"a\\\\ud800"', // a backslash before "ud": canonical, and left to canonicalize
    '{"__proto__":1,"a":2}',
    '{"\\u2028":"\u2028"}',
    '{"\u2028":"\u2028"}',
    deep(JCS_MAX_DEPTH),
    deep(JCS_MAX_DEPTH + 1),
  ];

  /** Where it may answer false for canonical text (canonicalize then settles it): array-index names, `\ud`. */
  const leftToCanonicalize = (text: string) => text.includes('\\ud') || /"\d+":/.test(text);

  it.each(TEXTS.map((text) => [text]))('agrees with canonicalize on %j', (text) => {
    const answer = isCanonicalJson(text, JSON.parse(text));
    if (leftToCanonicalize(text)) expect(answer && !expected(text)).toBe(false);
    else expect(answer).toBe(expected(text));
  });

  it('accepts what canonicalize writes and refuses the same value written otherwise', () => {
    for (const [, input] of CYBERPHONE) {
      const canonical = canonicalize(JSON.parse(input));
      if (!leftToCanonicalize(canonical)) expect(isCanonicalJson(canonical, JSON.parse(canonical))).toBe(true);
      const indented = JSON.stringify(JSON.parse(canonical), null, 1);
      expect(isCanonicalJson(indented, JSON.parse(indented))).toBe(false);
    }
  });
});

describe('isCanonicalJsonLatin1', () => {
  const expected = (text: string) => {
    try {
      return canonicalize(JSON.parse(text)) === text;
    } catch {
      return false;
    }
  };
  const latin1 = (text: string) => Buffer.from(text, 'utf8').toString('latin1');
  const answer = (text: string) => isCanonicalJsonLatin1(latin1(text), JSON.parse(latin1(text)));
  const TEXTS = [
    ...CYBERPHONE.flatMap(([, input, output]) => [input, output]),
    '{"a":"é","b":"—"}',
    '{"b":"—","a":"é"}',
    '{"é":1,"z":2}', // U+00E9 (C3 A9) after z in both orders
    '{"z":2,"é":1}',
    '{"a":"\\u00e9"}',
    '{"a":"\\u2014"}', // escapes of non-ASCII characters: not canonical
    '{"\ud83d\ude02":1,"\ue000":2}', // RFC 8785 order (UTF-16), not code point order: left to UTF-8
    '{"\ue000":2,"\ud83d\ude02":1}', // code point order, not RFC 8785's
    '{"\ue000":1,"\uffff":2}',
    '{"a\u00e9":1,"a\u00ea":2}', // first differing at a continuation byte
    '{"note":"medledger.local/x\\n1\\nAA=\\n\\n— x AAAA\\n"}',
  ];

  it.each(TEXTS.map((text) => [text]))('never says yes where canonicalize says no: %j', (text) => {
    if (answer(text)) expect(expected(text)).toBe(true);
  });

  it('says yes to canonical text with ASCII names, whatever its values hold', () => {
    for (const text of [
      '{"a":"é","b":"—"}',
      '{"a":"😂","b":["\u2028","ü"]}',
      canonicalize({ x: 'caf\u00e9 \ud83d\ude00' }),
    ])
      expect([text, answer(text)]).toEqual([text, true]);
    for (const text of ['{"\ud83d\ude02":1,"\ue000":2}', '{"\ue000":2,"\ud83d\ude02":1}', '{"a":"\\u00e9"}'])
      expect([text, answer(text)]).toEqual([text, false]);
  });
});
