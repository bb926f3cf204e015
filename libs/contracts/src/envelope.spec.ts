import { EventEnvelope, isEventEnvelope, PUBLIC_EVENT_TOPICS, serviceOfTopic } from './envelope';

const VALID = {
  specversion: '1.0',
  id: '00000000-0000-4000-8000-000000000001',
  source: '/medledger/supply',
  type: 'supply.PackShipped',
  time: '2026-11-29T10:00:00.000Z',
  subject: 'urn:epc:id:sgtin:0950600.013435.S1',
  datacontenttype: 'application/json',
  data: { serial: 'S1' },
  aggregateid: 'pack-S1',
  aggregateversion: 2,
  correlationid: 'c',
  causationid: 'd',
  producerkey: '0a1b2c3d',
  batchnote: 'medledger.local/supply/events\n1\nAAAA\n\n— supply AAAA\n',
  batchindex: 0,
  batchproof: ['47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='],
};

/** Values to put in each attribute's place: every kind of JSON, and the edges of each rule. */
const VALUES: unknown[] = [
  undefined,
  null,
  true,
  0,
  -0,
  1,
  -1,
  1.5,
  2 ** 53 - 1,
  2 ** 53,
  '',
  'x',
  'x'.repeat(128),
  'x'.repeat(129),
  '1.0',
  '1.1',
  '/medledger/supply',
  '/medledger/Supply',
  '/medledger/',
  '/medledger/supply/x',
  'supply.PackShipped',
  'supply.packShipped',
  'Supply.PackShipped',
  'supply.Pack-Shipped',
  '2026-11-29T10:00:00.000Z',
  '2026-11-29T10:00:00Z',
  '2026-11-29T10:00Z',
  '2026-11-29T10:00:00.123456789Z',
  '2026-11-29T10:00:00+01:00',
  '2026-11-29 10:00:00Z',
  '2026-02-30T10:00:00Z',
  '2024-02-29T10:00:00Z',
  '2026-11-29T24:00:00Z',
  '2026-11-29',
  'application/json',
  'text/plain',
  '0a1b2c3d',
  '0A1B2C3D',
  '0a1b2c3',
  '0a1b2c3d0',
  '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  '47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=',
  [],
  ['47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='],
  ['47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=', 'AAAA'],
  Array.from({ length: 64 }, () => '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='),
  Array.from({ length: 65 }, () => '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='),
  [1],
  {},
  { a: 1 },
  { '1': [null] },
];

describe('isEventEnvelope', () => {
  const cases: Array<[string, unknown]> = [['the valid envelope', VALID]];
  for (const name of [...Object.keys(VALID), 'extension']) {
    for (const value of VALUES) {
      const envelope: Record<string, unknown> = { ...VALID };
      if (value === undefined) delete envelope[name];
      else envelope[name] = value;
      cases.push([`${name} = ${JSON.stringify(value)?.slice(0, 40)}`, envelope]);
    }
  }
  for (const other of [null, [], 'envelope', 1, [VALID]]) cases.push([JSON.stringify(other), other]);

  it('says yes exactly where EventEnvelope does', () => {
    const disagreements = cases.filter(([, json]) => isEventEnvelope(json) !== EventEnvelope.safeParse(json).success);
    expect(disagreements.map(([name]) => name)).toEqual([]);
    // Both answers occur for every attribute the schema constrains.
    expect(cases.filter(([, json]) => isEventEnvelope(json)).length).toBeGreaterThan(Object.keys(VALID).length);
    expect(cases.filter(([, json]) => !isEventEnvelope(json)).length).toBeGreaterThan(VALUES.length * 10);
  });
});

describe('serviceOfTopic', () => {
  it.each([
    ['medledger.records.events', 'records'],
    ['medledger.supply.events', 'supply'],
    ['test.k3x9.trials.events', 'trials'],
    ['supply.events', 'supply'],
    ['medledger.ledger.blocks', undefined],
    ['medledger.ledger.events', undefined],
    ['bench.k3x9.throughput.events', undefined],
    ['medledger.records.events.dlq', undefined],
    ['medledger.xsupply.events', undefined],
    ['medledger.constructor.events', undefined],
  ])('%s is the topic of %s', (topic, service) => {
    expect(serviceOfTopic(topic)).toBe(service);
  });

  it('names the producer of each public event topic', () => {
    for (const [service, topic] of Object.entries(PUBLIC_EVENT_TOPICS)) expect(serviceOfTopic(topic)).toBe(service);
  });
});
