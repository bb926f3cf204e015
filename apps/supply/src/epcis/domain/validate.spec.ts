import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { validateEpcis, validateEpcisJson } from './validate';

const EXAMPLES = join(__dirname, '../../../test/fixtures/gs1-examples');

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.jsonld') ? [join(dir, entry.name)] : [],
  );
}

function load(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/**
 * GS1 examples the schema refuses, each with the reason. At the pinned commit (see the fixtures' README) every
 * example is accepted; an example refused after a fixture update goes here with its reason, and is tested as
 * refused.
 */
const REFUSED: ReadonlyMap<string, string> = new Map<string, string>();

const examples = files(EXAMPLES).map((path) => relative(EXAMPLES, path));

describe("GS1's published EPCIS 2.0 JSON-LD examples (gs1/EPCIS JSON/)", () => {
  it('the fixture set is complete (46 documents of the pinned commit)', () => {
    expect(examples).toHaveLength(46);
  });

  test.each(examples.filter((name) => !REFUSED.has(name)))('%s is accepted, with all its events', (name) => {
    const document = load(join(EXAMPLES, name));
    const result = validateEpcis(document);
    expect(result).toMatchObject({ ok: true });
    const eventList = (document['epcisBody'] as { eventList: unknown[] }).eventList;
    expect(result.ok && result.events).toEqual(eventList);
  });

  if (REFUSED.size > 0) {
    test.each([...REFUSED])('%s is refused: %s', (name) => {
      expect(validateEpcis(load(join(EXAMPLES, name))).ok).toBe(false);
    });
  }
});

describe('broken documents: one error per failing event, with its index and a pointer', () => {
  const base = load(join(EXAMPLES, 'Example_9.6.1-ObjectEvent.jsonld'));
  type Doc = { epcisBody: { eventList: Record<string, unknown>[] } } & Record<string, unknown>;
  const broken = (change: (doc: Doc) => void): Doc => {
    const doc = structuredClone(base) as Doc;
    change(doc);
    return doc;
  };
  const event = (doc: Doc, i: number): Record<string, unknown> => doc.epcisBody.eventList[i] ?? {};

  test.each<[string, (doc: Doc) => void, number, string, string]>([
    ['missing eventTime', (d) => delete event(d, 1)['eventTime'], 1, '/epcisBody/eventList/1/eventTime', 'required'],
    [
      'eventTime of the wrong type',
      (d) => (event(d, 0)['eventTime'] = 12),
      0,
      '/epcisBody/eventList/0/eventTime',
      'type',
    ],
    [
      'epcList of the wrong type',
      (d) => (event(d, 1)['epcList'] = 'urn:epc:id:sgtin:0614141.107346.2017'),
      1,
      '/epcisBody/eventList/1/epcList',
      'type',
    ],
    ['event type not a string', (d) => (event(d, 0)['type'] = 42), 0, '/epcisBody/eventList/0/type', 'type'],
    ['bad action', (d) => (event(d, 0)['action'] = 'MOVE'), 0, '/epcisBody/eventList/0/action', 'enum'],
    [
      'bizStep neither CBV word nor URI',
      (d) => (event(d, 0)['bizStep'] = 'flying'),
      0,
      '/epcisBody/eventList/0/bizStep',
      'format',
    ],
    [
      'unknown field without namespace',
      (d) => (event(d, 1)['colour'] = 'red'),
      1,
      '/epcisBody/eventList/1/colour',
      'propertyNames',
    ],
  ])('%s', (_, change, eventIndex, pointer, keyword) => {
    const result = validateEpcis(broken(change));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ eventIndex, pointer, code: 'SUPPLY.SCHEMA_VIOLATION' });
    expect(result.errors[0]?.message).toMatch(new RegExp(`^${keyword}:`));
  });

  it('two failing events give two errors, in eventList order', () => {
    const result = validateEpcis(
      broken((d) => {
        event(d, 1)['action'] = 'X';
        delete event(d, 0)['eventTime'];
      }),
    );
    expect(result.ok ? [] : result.errors.map((e) => [e.eventIndex, e.pointer])).toEqual([
      [0, '/epcisBody/eventList/0/eventTime'],
      [1, '/epcisBody/eventList/1/action'],
    ]);
  });

  it('a document-level error has no event index', () => {
    const result = validateEpcis(broken((d) => delete d['creationDate']));
    expect(result.ok ? [] : result.errors).toEqual([
      expect.objectContaining({ pointer: '/creationDate', code: 'SUPPLY.SCHEMA_VIOLATION' }),
    ]);
    expect(result.ok || result.errors[0]?.eventIndex).toBeUndefined();
  });

  it('a pointer escapes "/" and "~" in a property name (RFC 6901)', () => {
    const result = validateEpcis(broken((d) => (event(d, 0)['a/b~c'] = 1)));
    expect(result.ok ? undefined : result.errors[0]?.pointer).toBe('/epcisBody/eventList/0/a~1b~0c');
  });
});

describe('single events and malformed input', () => {
  const document = load(join(EXAMPLES, 'Example_9.6.1-ObjectEvent.jsonld'));
  const first = (document['epcisBody'] as { eventList: Record<string, unknown>[] }).eventList[0] ?? {};
  const single = { '@context': document['@context'], ...first };

  it('a single JSON-LD event is accepted and returned as the one event', () => {
    expect(validateEpcis(single)).toEqual({ ok: true, events: [single] });
  });

  it('a single event without eventTime points at /eventTime, without an index', () => {
    const { eventTime: _, ...withoutTime } = single as Record<string, unknown>;
    const result = validateEpcis(withoutTime);
    expect(result.ok ? [] : result.errors).toEqual([
      {
        pointer: '/eventTime',
        code: 'SUPPLY.SCHEMA_VIOLATION',
        message: "required: must have required property 'eventTime'",
      },
    ]);
  });

  test.each<[string, unknown, string]>([
    ['not an object', [1, 2], ''],
    ['no type', { epcisBody: {} }, '/type'],
    ['no eventList', { type: 'EPCISDocument', epcisBody: {} }, '/epcisBody/eventList'],
    ['a query document', { type: 'EPCISQueryDocument' }, '/type'],
  ])('%s is a malformed document', (_, input, pointer) => {
    expect(validateEpcis(input)).toEqual({
      ok: false,
      errors: [expect.objectContaining({ pointer, code: 'SUPPLY.MALFORMED_DOCUMENT' })],
    });
  });

  it('text that is not JSON is a malformed document', () => {
    expect(validateEpcisJson('{"type": ')).toMatchObject({
      ok: false,
      errors: [{ code: 'SUPPLY.MALFORMED_DOCUMENT', pointer: '' }],
    });
  });

  it('JSON text is parsed, then validated', () => {
    expect(validateEpcisJson(JSON.stringify(document)).ok).toBe(true);
  });
});
