import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { applyCustodyEvent, type CustodyEvent } from '../../custody/domain/custody';
import { epcisEventHashId } from '../../epcis/domain/event-hash';
import { validateEpcis } from '../../epcis/domain/validate';
import { withCheckDigit } from '../../identifiers/domain/check-digit';
import { readGln } from './keys';
import { CaptureErrorCode, FUTURE_TOLERANCE_MS, normaliseEpcis, type NormalisedEvent } from './normalise';

const EXAMPLES = join(__dirname, '../../../test/fixtures/gs1-examples');
const NOW = '2100-01-01T00:00:00.000Z';
const CONTEXT = 'https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld';

type Json = Record<string, unknown>;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : entry.name.endsWith('.jsonld') ? [join(dir, entry.name)] : [],
  );
}

/** Validates first, as the service does, so every case here is a schema-valid document. */
function normalise(document: Json, recorder: string, options: { now?: string; cpl?: (key: string) => number } = {}) {
  const valid = validateEpcis(document);
  if (!valid.ok) throw new Error(`fixture is not schema-valid: ${JSON.stringify(valid.errors)}`);
  return normaliseEpcis({
    document,
    events: valid.events,
    recorder,
    now: options.now ?? NOW,
    ...(options.cpl && { companyPrefixLength: options.cpl }),
  });
}

function normalised(result: ReturnType<typeof normaliseEpcis>): NormalisedEvent[] {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.issues)}`);
  return result.events;
}

// ---------------------------------------------------------------------------------------------------------------
// GS1's examples

/**
 * The GS1 Company Prefix 0614141 is 7 digits long: GS1's own examples write it so in their SGTIN and SGLN URNs.
 * No other prefix length is known from the examples (9506000 only ever appears in Digital Link form).
 */
const EXAMPLE_PREFIXES = (key: string): number => (key.slice(1).startsWith('0614141') ? 7 : 0);

type Issues = ReadonlyArray<readonly [code: string, pointer: string]>;
type Outcome = 'normalises' | Issues;
const child = (...indexes: number[]): Issues =>
  indexes.map((i) => [CaptureErrorCode.UNSUPPORTED_EVENT, `/childEPCs/${i}`] as const);
const dissociateAll: Issues = [[CaptureErrorCode.UNSUPPORTED_EVENT, '/childEPCs']];
const otherReadPoint: Issues = [[CaptureErrorCode.NOT_YOUR_LOCATION, '/readPoint/id']];

/**
 * Each event of each example, submitted alone by the party at its bizLocation (or readPoint), on 2100-01-01. Events
 * of all five types about serialised packs and cases (SGTIN / SSCC), and observations naming none, normalise; the
 * rest are refused, for the reason given. GS1's AssociationEvent examples associate assets with assets (GIAI
 * children): custody's children are packs and cases, so they are refused on the child, not the type.
 */
const FIXTURES: ReadonlyArray<readonly [file: string, event: number, outcome: Outcome, why: string]> = [
  ['AssociationEvent/AssociationEvent-a.jsonld', 0, child(0), 'a GIAI child (an asset, not a pack)'],
  ['AssociationEvent/AssociationEvent-b.jsonld', 0, child(0), 'a GIAI child; an SGLN parent is accepted as written'],
  ['AssociationEvent/AssociationEvent-c.jsonld', 0, child(0), 'a GIAI child'],
  ['AssociationEvent/AssociationEvent-d.jsonld', 0, dissociateAll, 'DELETE of every child: custody needs them named'],
  ['AssociationEvent/AssociationEvent-e.jsonld', 0, 'normalises', 'ADD of class-level quantities only: nothing to do'],
  [
    'AssociationEvent/AssociationEvent-f.jsonld',
    0,
    [...child(0, 1), ...otherReadPoint],
    'GIAI children; readPoint GLN …0016 is not bizLocation GLN …0023',
  ],
  ['AssociationEvent/AssociationEvent-g.jsonld', 0, dissociateAll, 'as d'],
  ['AssociationEvent/AssociationEvent-h.jsonld', 0, child(0, 1), 'GIAI children'],
  [
    'Example-TransactionEvents-2020_07_03y.jsonld',
    0,
    [
      [CaptureErrorCode.UNKNOWN_CBV_CODE, '/bizStep'],
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0'],
    ],
    'user bizStep; a GSRN (a patient), not a pack',
  ],
  [
    'Example-TransactionEvents-2020_07_03y.jsonld',
    1,
    [
      [CaptureErrorCode.UNKNOWN_CBV_CODE, '/bizTransactionList/0/type'],
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0'],
    ],
    'user bizTransaction type (rail); a GIAI (a wagon)',
  ],
  [
    'Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld',
    0,
    [...child(0, 1), ...otherReadPoint],
    'as AssociationEvent-f',
  ],
  ['Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld', 0, 'normalises', 'shipping of two SGTINs'],
  ['Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld', 1, 'normalises', 'receiving of one SGTIN'],
  ['Example_9.6.1-ObjectEvent.jsonld', 0, 'normalises', 'shipping of two SGTINs'],
  ['Example_9.6.1-ObjectEvent.jsonld', 1, 'normalises', 'receiving of one SGTIN'],
  ['Example_9.6.1-with-comment.jsonld', 0, 'normalises', 'shipping of two SGTINs'],
  ['Example_9.6.1-with-comment.jsonld', 1, 'normalises', 'receiving of one SGTIN'],
  [
    'Example_9.6.2-ObjectEvent.jsonld',
    0,
    [
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/quantityList'],
      [CaptureErrorCode.NOT_YOUR_LOCATION, '/readPoint/id'],
    ],
    'a receiving of class-level quantities only; readPoint GLN …7776 is not bizLocation GLN …8889',
  ],
  [
    'Example_9.6.3-AggregationEvent.jsonld',
    0,
    [[CaptureErrorCode.NOT_YOUR_LOCATION, '/readPoint/id']],
    'readPoint GLN 0614141007776 is not bizLocation GLN 0614141008889: two GLNs, one recorder',
  ],
  [
    'Example_9.6.4-TransformationEvent.jsonld',
    0,
    'normalises',
    'two SGTINs into four; quantity lists and the example: ilmd are not custody facts',
  ],
  ['PersistentDisposition-example.jsonld', 0, 'normalises', 'receiving of ten SGTINs, PGLN owners'],
  ['PersistentDisposition-example.jsonld', 1, 'normalises', 'inspecting, persistent disposition'],
  ['WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld', 0, 'normalises', 'Digital Link SGTINs'],
  ['WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld', 1, 'normalises', 'Digital Link SGTIN'],
  [
    'WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld',
    0,
    [
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/quantityList'],
      [CaptureErrorCode.NOT_YOUR_LOCATION, '/readPoint/id'],
    ],
    'as 9.6.2',
  ],
  [
    'WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld',
    0,
    [[CaptureErrorCode.NOT_YOUR_LOCATION, '/readPoint/id']],
    'as 9.6.3',
  ],
  ['WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld', 0, 'normalises', 'as 9.6.4'],
  [
    'WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld',
    0,
    'normalises',
    'error declaration of a transformation',
  ],
  ['WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld', 1, 'normalises', 'the corrective transformation'],
  [
    'WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld',
    0,
    'normalises',
    'error declaration of a shipping',
  ],
  ['WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld', 1, 'normalises', 'receiving'],
  ['WithFullCombinationOfFields/aggregation_event_all_possible_fields.jsonld', 0, 'normalises', 'SSCC with two SGTINs'],
  [
    'WithFullCombinationOfFields/association_event_all_possible_fields.jsonld',
    0,
    [...child(0, 1), ...otherReadPoint],
    'GIAI children; readPoint GLN 4012345000016 is not bizLocation GLN 0614141008889',
  ],
  [
    'WithFullCombinationOfFields/object_event_all_possible_fields.jsonld',
    0,
    'normalises',
    'ADD with ilmd lot ABC123 and an error declaration',
  ],
  [
    'WithFullCombinationOfFields/transaction_event_all_possible_fields.jsonld',
    0,
    [[CaptureErrorCode.NOT_YOUR_LOCATION, '/readPoint/id']],
    'readPoint GLN 0614141073467 is not bizLocation GLN 0614141008889',
  ],
  [
    'WithFullCombinationOfFields/transformation_event_all_possible_fields.jsonld',
    0,
    otherReadPoint,
    'readPoint GLN 4012345000016 is not bizLocation GLN 0614141008889',
  ],
  ['WithSensorData/SensorDataExample1.jsonld', 0, 'normalises', 'inspecting an SGTIN, sensor data'],
  ['WithSensorData/SensorDataExample10.jsonld', 0, 'normalises', 'sensor_reporting on an SGTIN'],
  ['WithSensorData/SensorDataExample11.jsonld', 0, 'normalises', 'TransactionEvent on two SGTINs'],
  [
    'WithSensorData/SensorDataExample12.jsonld',
    0,
    otherReadPoint,
    'a transformation of bulk into SGTINs; readPoint GLN …0000 is not bizLocation GLN …0017',
  ],
  [
    'WithSensorData/SensorDataExample13.jsonld',
    0,
    [[CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0']],
    'Digital Link SGTIN of prefix 9506…: its company prefix length is not known',
  ],
  [
    'WithSensorData/SensorDataExample14.jsonld',
    0,
    [[CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0']],
    'a GRAI (8003), not a pack',
  ],
  [
    'WithSensorData/SensorDataExample15.jsonld',
    0,
    [[CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0']],
    'a GRAI (8003), not a pack',
  ],
  [
    'WithSensorData/SensorDataExample16.jsonld',
    0,
    [
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0'],
      [CaptureErrorCode.BAD_IDENTIFIER, '/readPoint/id'],
    ],
    'a GRAI; a geo: readPoint has no GLN',
  ],
  ['WithSensorData/SensorDataExample17.jsonld', 0, [[CaptureErrorCode.UNSUPPORTED_EVENT, '/epcList/0']], 'as 13'],
  ['WithSensorData/SensorDataExample1b.jsonld', 0, 'normalises', 'inspecting with no EPC: an observation'],
  ['WithSensorData/SensorDataExample2.jsonld', 0, 'normalises', 'inspecting an SGTIN'],
  ['WithSensorData/SensorDataExample3.jsonld', 0, 'normalises', 'inspecting with no EPC: an observation'],
  ['WithSensorData/SensorDataExample4.jsonld', 0, 'normalises', 'inspecting a quantity: an observation'],
  ['WithSensorData/SensorDataExample5.jsonld', 0, 'normalises', 'inspecting an SGTIN'],
  ['WithSensorData/SensorDataExample6.jsonld', 0, 'normalises', 'inspecting an SGTIN'],
  ['WithSensorData/SensorDataExample7.jsonld', 0, 'normalises', 'inspecting an SGTIN'],
  [
    'WithSensorData/SensorDataExample8.jsonld',
    0,
    [[CaptureErrorCode.UNSUPPORTED_EVENT, '/childQuantityList']],
    'packing of class-level quantities into an SSCC',
  ],
  ['WithSensorData/SensorDataExample9.jsonld', 0, 'normalises', 'sensor_reporting on an SGTIN'],
];

describe("GS1's EPCIS 2.0 examples, each event submitted by the party at its location", () => {
  const examples = files(EXAMPLES).map((path) => relative(EXAMPLES, path));

  it('the table covers every event of every example', () => {
    const events = examples.flatMap((name) => {
      const doc = JSON.parse(readFileSync(join(EXAMPLES, name), 'utf8')) as { epcisBody: { eventList: unknown[] } };
      return doc.epcisBody.eventList.map((_, i) => `${name}#${i}`);
    });
    expect(FIXTURES.map(([file, i]) => `${file}#${i}`).sort()).toEqual(events.sort());
  });

  test.each(FIXTURES)('%s event %i: %j (%s)', (file, index, outcome) => {
    const document = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Json & {
      epcisBody: { eventList: Json[] };
    };
    const event = document.epcisBody.eventList[index] ?? {};
    const where = (event['bizLocation'] ?? event['readPoint']) as { id?: string } | undefined;
    const gln = readGln(where?.id, 'location');
    const recorder = gln.ok ? gln.value : withCheckDigit('000000000000');
    const alone = { ...document, epcisBody: { ...document.epcisBody, eventList: [event] } };
    const result = normalise(alone, recorder, { cpl: EXAMPLE_PREFIXES });
    if (outcome === 'normalises') {
      const [out] = normalised(result);
      expect(out?.hash).toBe(epcisEventHashId(event, { context: document['@context'] }));
      expect(out?.custody.recorder).toBe(recorder);
      for (const epc of [...(out?.custody.epcs ?? []), ...(out?.custody.outputs ?? [])])
        expect(epc).toMatch(/^urn:epc:id:(sgtin|sscc):/);
    } else {
      expect(result.ok).toBe(false);
      expect(!result.ok && result.issues.map((i) => [i.code, i.pointer, i.eventIndex])).toEqual(
        outcome.map(([code, pointer]) => [code, `/epcisBody/eventList/0${pointer}`, 0]),
      );
    }
  });

  it('a Digital Link SGTIN becomes the SGTIN URN when the company prefix length is known', () => {
    const file = join(EXAMPLES, 'WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld');
    const document = JSON.parse(readFileSync(file, 'utf8')) as Json & { epcisBody: { eventList: Json[] } };
    const alone = { ...document, epcisBody: { eventList: document.epcisBody.eventList.slice(0, 1) } };
    const [out] = normalised(normalise(alone, '0614141073467', { cpl: EXAMPLE_PREFIXES }));
    expect(out?.custody.epcs).toEqual(['urn:epc:id:sgtin:0614141.712345.2017', 'urn:epc:id:sgtin:0614141.712345.2018']);
    expect(out?.gtins).toEqual(['70614141123451']);
    // Without it, the event is refused rather than handed to custody under a second key for the same pack.
    const refused = normalise(alone, '0614141073467');
    expect(!refused.ok && refused.issues.map((i) => [i.code, i.pointer])).toEqual([
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/epcisBody/eventList/0/epcList/0'],
      [CaptureErrorCode.UNSUPPORTED_EVENT, '/epcisBody/eventList/0/epcList/1'],
    ]);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A pharma supply chain: a manufacturer (4012345), a wholesaler (5012345)

const MANUFACTURER = withCheckDigit('401234500001'); // urn:epc:id:sgln:4012345.00001.0
const WHOLESALER = withCheckDigit('501234500002'); // urn:epc:id:sgln:5012345.00002.0
const GTIN = withCheckDigit('0401234511111'); // urn:epc:id:sgtin:4012345.011111.*
const PACK_1 = 'urn:epc:id:sgtin:4012345.011111.PK0001';
const PACK_2 = 'urn:epc:id:sgtin:4012345.011111.PK0002';
const CASE = 'urn:epc:id:sscc:4012345.0000000001';

const commissioning = (over: Json = {}): Json => ({
  type: 'ObjectEvent',
  eventTime: '2025-03-01T08:00:00.000+01:00',
  eventTimeZoneOffset: '+01:00',
  epcList: [PACK_1, PACK_2],
  action: 'ADD',
  bizStep: 'commissioning',
  disposition: 'active',
  readPoint: { id: 'urn:epc:id:sgln:4012345.00001.7' },
  bizLocation: { id: 'urn:epc:id:sgln:4012345.00001.0' },
  ilmd: { 'cbvmda:lotNumber': 'LOT-2025-03', 'cbvmda:itemExpirationDate': '2027-02-28' },
  ...over,
});

const packing = (over: Json = {}): Json => ({
  type: 'AggregationEvent',
  eventTime: '2025-03-01T09:00:00.000+01:00',
  eventTimeZoneOffset: '+01:00',
  parentID: CASE,
  childEPCs: [PACK_1, PACK_2],
  action: 'ADD',
  bizStep: 'packing',
  disposition: 'in_progress',
  readPoint: { id: 'urn:epc:id:sgln:4012345.00001.0' },
  ...over,
});

const shipping = (over: Json = {}): Json => ({
  type: 'ObjectEvent',
  eventTime: '2025-03-02T10:00:00.000+01:00',
  eventTimeZoneOffset: '+01:00',
  epcList: [CASE],
  action: 'OBSERVE',
  bizStep: 'https://ref.gs1.org/cbv/BizStep-shipping',
  disposition: 'https://ref.gs1.org/cbv/Disp-in_transit',
  readPoint: { id: 'urn:epc:id:sgln:4012345.00001.0' },
  bizTransactionList: [{ type: 'inv', bizTransaction: 'urn:epcglobal:cbv:bt:4012345000009:INV-77' }],
  sourceList: [
    { type: 'owning_party', source: 'urn:epc:id:pgln:4012345.00001' },
    { type: 'https://ref.gs1.org/cbv/SDT-possessing_party', source: 'urn:epc:id:sgln:4012345.00001.0' },
  ],
  destinationList: [
    { type: 'owning_party', destination: `https://id.gs1.org/417/${WHOLESALER}` },
    { type: 'possessing_party', destination: `https://id.gs1.org/414/${WHOLESALER}/254/dock-3` },
    { type: 'location', destination: 'urn:epc:id:sgln:5012345.00002.0' },
  ],
  ...over,
});

// A repackager's transformation: the two packs in, two new packs of another GTIN out, with their own lot.
const NEW_GTIN = withCheckDigit('0401234522222'); // urn:epc:id:sgtin:4012345.022222.*
const NEW_PACK_1 = 'urn:epc:id:sgtin:4012345.022222.RP0001';
const NEW_PACK_2 = 'urn:epc:id:sgtin:4012345.022222.RP0002';
const LOGGER = 'urn:epc:id:giai:4012345.LOGGER1';

const transformation = (over: Json = {}): Json => ({
  type: 'TransformationEvent',
  eventTime: '2025-03-03T08:00:00.000+01:00',
  eventTimeZoneOffset: '+01:00',
  inputEPCList: [PACK_1, PACK_2],
  outputEPCList: [NEW_PACK_1, NEW_PACK_2],
  transformationID: 'urn:epc:id:gdti:4012345.00001.RP-77',
  bizStep: 'repackaging',
  disposition: 'active',
  readPoint: { id: 'urn:epc:id:sgln:4012345.00001.0' },
  ilmd: { 'cbvmda:lotNumber': 'RP-2025-03', 'cbvmda:itemExpirationDate': '2026-12-31' },
  ...over,
});

const association = (over: Json = {}): Json => ({
  type: 'AssociationEvent',
  eventTime: '2025-03-02T09:30:00.000+01:00',
  eventTimeZoneOffset: '+01:00',
  parentID: LOGGER,
  childEPCs: [CASE],
  action: 'ADD',
  bizStep: 'installing',
  readPoint: { id: 'urn:epc:id:sgln:4012345.00001.0' },
  ...over,
});

const doc = (...eventList: Json[]): Json => ({
  '@context': [CONTEXT],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: '2025-03-02T10:05:00Z',
  epcisBody: { eventList },
});

describe('refusals: code, event index and pointer', () => {
  const LATE = new Date(Date.parse(NOW) + FUTURE_TOLERANCE_MS + 1000).toISOString();
  test.each<[string, Json, string, string]>([
    [
      'unknown bizStep',
      commissioning({ bizStep: 'https://ref.gs1.org/cbv/BizStep-comissioning' }),
      CaptureErrorCode.UNKNOWN_CBV_CODE,
      '/epcisBody/eventList/1/bizStep',
    ],
    [
      'bizStep from a user vocabulary',
      commissioning({ bizStep: 'https://example.org/steps/labelling' }),
      CaptureErrorCode.UNKNOWN_CBV_CODE,
      '/epcisBody/eventList/1/bizStep',
    ],
    [
      'unknown disposition',
      commissioning({ disposition: 'https://ref.gs1.org/cbv/Disp-sellable' }),
      CaptureErrorCode.UNKNOWN_CBV_CODE,
      '/epcisBody/eventList/1/disposition',
    ],
    [
      'unknown source type',
      shipping({
        sourceList: [{ type: 'https://ref.gs1.org/cbv/SDT-owner', source: 'urn:epc:id:pgln:4012345.00001' }],
      }),
      CaptureErrorCode.UNKNOWN_CBV_CODE,
      '/epcisBody/eventList/1/sourceList/0/type',
    ],
    [
      'bad GTIN check digit in an SGTIN (Digital Link)',
      commissioning({
        epcList: [PACK_1, `https://id.gs1.org/01/${GTIN.slice(0, 13)}${(Number(GTIN.slice(13)) + 1) % 10}/21/PK3`],
      }),
      CaptureErrorCode.BAD_CHECK_DIGIT,
      '/epcisBody/eventList/1/epcList/1',
    ],
    [
      'bad GLN check digit in a Digital Link party',
      shipping({ destinationList: [{ type: 'owning_party', destination: 'https://id.gs1.org/417/5012345000021' }] }),
      CaptureErrorCode.BAD_CHECK_DIGIT,
      '/epcisBody/eventList/1/destinationList/0/destination',
    ],
    [
      'serial of 21 characters',
      commissioning({ epcList: [`urn:epc:id:sgtin:4012345.011111.${'S'.repeat(21)}`] }),
      CaptureErrorCode.BAD_SERIAL,
      '/epcisBody/eventList/1/epcList/0',
    ],
    [
      'SGTIN with a 14-digit company prefix and item reference',
      commissioning({ epcList: ['urn:epc:id:sgtin:4012345.0111111.PK1'] }),
      CaptureErrorCode.BAD_IDENTIFIER,
      '/epcisBody/eventList/1/epcList/0',
    ],
    [
      'lot of 21 characters',
      commissioning({ ilmd: { 'cbvmda:lotNumber': 'L'.repeat(21) } }),
      CaptureErrorCode.BAD_LOT,
      '/epcisBody/eventList/1/ilmd/cbvmda:lotNumber',
    ],
    [
      'expiry that is not a calendar day',
      commissioning({ ilmd: { 'cbvmda:lotNumber': 'L1', 'cbvmda:itemExpirationDate': '2027-02-30' } }),
      CaptureErrorCode.BAD_EXPIRY,
      '/epcisBody/eventList/1/ilmd/cbvmda:itemExpirationDate',
    ],
    [
      'expiry in AI 17 form instead of a date',
      commissioning({ ilmd: { 'cbvmda:lotNumber': 'L1', 'cbvmda:itemExpirationDate': '270228' } }),
      CaptureErrorCode.BAD_EXPIRY,
      '/epcisBody/eventList/1/ilmd/cbvmda:itemExpirationDate',
    ],
    [
      'event in the future (beyond the clock-skew tolerance)',
      commissioning({ eventTime: LATE }),
      CaptureErrorCode.EVENT_IN_FUTURE,
      '/epcisBody/eventList/1/eventTime',
    ],
    [
      'error declared in the future',
      commissioning({ errorDeclaration: { declarationTime: LATE, reason: 'did_not_occur' } }),
      CaptureErrorCode.EVENT_IN_FUTURE,
      '/epcisBody/eventList/1/errorDeclaration/declarationTime',
    ],
    [
      "another party's bizLocation",
      commissioning({ bizLocation: { id: 'urn:epc:id:sgln:5012345.00002.0' } }),
      CaptureErrorCode.NOT_YOUR_LOCATION,
      '/epcisBody/eventList/1/bizLocation/id',
    ],
    [
      "another party's readPoint (Digital Link)",
      commissioning({ readPoint: { id: `https://id.gs1.org/414/${WHOLESALER}` } }),
      CaptureErrorCode.NOT_YOUR_LOCATION,
      '/epcisBody/eventList/1/readPoint/id',
    ],
    [
      'a shipping of class-level quantities only',
      shipping({
        epcList: [],
        quantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.011111.LOT-2025-03', quantity: 100 }],
      }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/quantityList',
    ],
    [
      'a commissioning of a GIAI (an asset, not a pack)',
      commissioning({ epcList: ['urn:epc:id:giai:4012345.ASSET1'] }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/epcList/0',
    ],
    [
      'two owning parties in destinationList',
      shipping({
        destinationList: [
          { type: 'owning_party', destination: 'urn:epc:id:pgln:5012345.00002' },
          { type: 'owning_party', destination: 'urn:epc:id:pgln:4012345.00001' },
        ],
      }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/destinationList/1/destination',
    ],
    [
      'a TransformationEvent naming one pack as input and output',
      transformation({ outputEPCList: [NEW_PACK_1, PACK_2] }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/outputEPCList/1',
    ],
    [
      'a TransformationEvent with a GIAI output',
      transformation({ outputEPCList: ['urn:epc:id:giai:4012345.KIT1'] }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/outputEPCList/0',
    ],
    [
      "a TransformationEvent at another party's premises",
      transformation({ bizLocation: { id: 'urn:epc:id:sgln:5012345.00002.0' } }),
      CaptureErrorCode.NOT_YOUR_LOCATION,
      '/epcisBody/eventList/1/bizLocation/id',
    ],
    [
      "a TransformationEvent whose outputs' lot is too long",
      transformation({ ilmd: { 'cbvmda:lotNumber': 'L'.repeat(21) } }),
      CaptureErrorCode.BAD_LOT,
      '/epcisBody/eventList/1/ilmd/cbvmda:lotNumber',
    ],
    [
      'an AssociationEvent with a GIAI child (custody associates assets with packs, not with assets)',
      association({ childEPCs: [PACK_1, 'urn:epc:id:giai:4012345.LOGGER2'] }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/childEPCs/1',
    ],
    [
      'an AssociationEvent DELETE naming no child (dissociate everything)',
      association({ action: 'DELETE', childEPCs: undefined }),
      CaptureErrorCode.UNSUPPORTED_EVENT,
      '/epcisBody/eventList/1/childEPCs',
    ],
  ])('%s', (_, bad, code, pointer) => {
    const result = normalise(doc(commissioning(), bad), MANUFACTURER);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((i) => [i.code, i.eventIndex, i.pointer])).toEqual([[code, 1, pointer]]);
  });

  it('a pack named as input and as output is one pack whether written as URN or Digital Link', () => {
    const cpl = (key: string) => (key.slice(1).startsWith('4012345') ? 7 : 0);
    const bad = transformation({ outputEPCList: [NEW_PACK_1, `https://id.gs1.org/01/${GTIN}/21/PK0002`] });
    const result = normalise(doc(bad), MANUFACTURER, { cpl });
    expect(!result.ok && result.issues.map((i) => [i.code, i.pointer, i.message])).toEqual([
      [
        CaptureErrorCode.UNSUPPORTED_EVENT,
        '/epcisBody/eventList/0/outputEPCList/1',
        `${PACK_2} is both an input and an output: custody cannot consume and create one pack in one event`,
      ],
    ]);
  });

  it('an event within the clock-skew tolerance is accepted', () => {
    const soon = new Date(Date.parse(NOW) + FUTURE_TOLERANCE_MS - 1000).toISOString();
    expect(normalise(doc(commissioning({ eventTime: soon })), MANUFACTURER).ok).toBe(true);
  });

  it('a single event: the issue has no index and its pointer is into the event', () => {
    const single = { '@context': [CONTEXT], ...commissioning({ bizStep: 'https://example.org/steps/labelling' }) };
    const result = normalise(single, MANUFACTURER);
    const issues = result.ok ? [] : result.issues;
    expect(issues.map(({ message: _, ...issue }) => issue)).toEqual([
      { pointer: '/bizStep', code: CaptureErrorCode.UNKNOWN_CBV_CODE },
    ]);
    expect(issues[0]?.message).toContain('https://example.org/steps/labelling');
  });

  it('every issue of every event is returned, and nothing is normalised', () => {
    const result = normalise(
      doc(
        commissioning({ bizLocation: { id: 'urn:epc:id:sgln:5012345.00002.0' } }),
        packing(),
        shipping({
          disposition: 'https://ref.gs1.org/cbv/Disp-lost',
          epcList: [CASE, `urn:epc:id:sgtin:4012345.011111.${'9'.repeat(21)}`],
        }),
      ),
      MANUFACTURER,
    );
    expect(!result.ok && result.issues.map((i) => [i.eventIndex, i.code, i.pointer])).toEqual([
      [0, CaptureErrorCode.NOT_YOUR_LOCATION, '/epcisBody/eventList/0/bizLocation/id'],
      [2, CaptureErrorCode.UNKNOWN_CBV_CODE, '/epcisBody/eventList/2/disposition'],
      [2, CaptureErrorCode.BAD_SERIAL, '/epcisBody/eventList/2/epcList/1'],
    ]);
  });

  it('a recorder that is not a GLN is a bug in the caller, not a refusal', () => {
    expect(() => normalise(doc(commissioning()), '4012345000012')).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Mapping

describe('mapping to CustodyEvent', () => {
  it('a commissioning with lot and expiry: lot, expiry, GTINs and the lot fact', () => {
    const [event] = normalised(normalise(doc(commissioning()), MANUFACTURER));
    expect(event?.custody).toEqual({
      eventHash: event?.hash,
      type: 'ObjectEvent',
      action: 'ADD',
      bizStep: 'commissioning',
      disposition: 'active',
      eventTime: '2025-03-01T07:00:00.000Z',
      recordTime: NOW,
      recorder: MANUFACTURER,
      epcs: [PACK_1, PACK_2],
      lot: 'LOT-2025-03',
      expiry: '2027-02-28',
      location: MANUFACTURER,
    });
    expect(event?.gtins).toEqual([GTIN]);
    expect(event?.lots).toEqual([{ gtin: GTIN, lot: 'LOT-2025-03', expiry: '2027-02-28' }]);
  });

  it('ilmd keys without the cbvmda prefix are read too (only events not checked by the JSON Schema carry them)', () => {
    // GS1's schema wants ilmd keys to be URIs (CURIEs), so a JSON-LD capture never gets here with bare keys; an event
    // converted from EPCIS XML, where the CBV attribute is a plain element name, may.
    const bare = commissioning({ ilmd: { lotNumber: 'L7', itemExpirationDate: '2026-12-31' } });
    const result = normaliseEpcis({ document: doc(bare), events: [bare], recorder: MANUFACTURER, now: NOW });
    const [event] = normalised(result);
    expect([event?.custody.lot, event?.custody.expiry]).toEqual(['L7', '2026-12-31']);
  });

  it('the URN spelling of CBV words is read too (the JSON Schema refuses it; converted XML carries it)', () => {
    const urn = shipping({
      bizStep: 'urn:epcglobal:cbv:bizstep:shipping',
      disposition: 'urn:epcglobal:cbv:disp:in_transit',
      destinationList: [{ type: 'urn:epcglobal:cbv:sdt:owning_party', destination: 'urn:epc:id:pgln:5012345.00002' }],
    });
    const result = normaliseEpcis({ document: doc(urn), events: [urn], recorder: MANUFACTURER, now: NOW });
    const [event] = normalised(result);
    expect(event?.custody).toMatchObject({
      bizStep: 'shipping',
      disposition: 'in_transit',
      destination: { owning: WHOLESALER },
    });
  });

  it('a shipping with owning and possessing source and destination: GLN-13s from PGLN, SGLN and Digital Link', () => {
    const [event] = normalised(normalise(doc(shipping()), MANUFACTURER));
    expect(event?.custody).toMatchObject({
      bizStep: 'shipping',
      disposition: 'in_transit',
      epcs: [CASE],
      source: { owning: MANUFACTURER, possessing: MANUFACTURER },
      destination: { owning: WHOLESALER, possessing: WHOLESALER },
      location: MANUFACTURER,
    });
    expect(event?.gtins).toEqual([]);
  });

  it('an aggregation: parent and children', () => {
    const [event] = normalised(normalise(doc(packing()), MANUFACTURER));
    expect(event?.custody).toMatchObject({
      type: 'AggregationEvent',
      action: 'ADD',
      parent: CASE,
      epcs: [PACK_1, PACK_2],
    });
    expect(event?.gtins).toEqual([GTIN]);
  });

  it('what it produces is what custody consumes: commission, pack and ship build the case', () => {
    const events = normalised(normalise(doc(commissioning(), packing(), shipping()), MANUFACTURER));
    let units = new Map();
    let lots = new Map();
    const detections = [];
    for (const n of events) {
      const event: CustodyEvent = { ...n.custody, eventId: `e${n.index}` };
      const out = applyCustodyEvent({ event, units, lots, today: '2025-03-02' });
      ({ units, lots } = out);
      detections.push(...out.detections);
    }
    expect(detections).toEqual([]);
    expect(units.get(PACK_1)).toMatchObject({
      lot: 'LOT-2025-03',
      expiry: '2027-02-28',
      parent: CASE,
      status: 'in-transit',
    });
    expect(units.get(CASE)).toMatchObject({
      children: [PACK_1, PACK_2],
      pendingShipment: { to: WHOLESALER, owner: WHOLESALER },
    });
  });

  it('an error declaration keeps the hash of the event it declares', () => {
    const original = shipping();
    const corrective = 'ni:///sha-256;' + 'a'.repeat(64) + '?ver=CBV2.0';
    const declared = shipping({
      errorDeclaration: {
        declarationTime: '2025-03-03T12:00:00+01:00',
        reason: 'https://ref.gs1.org/cbv/ER-incorrect_data',
        correctiveEventIDs: [corrective, 'urn:uuid:0b6c2d0e-3f2a-4e0a-9a57-8d7a2f6e4b11'],
      },
    });
    const [a, b] = normalised(normalise(doc(original, declared), MANUFACTURER));
    expect(b?.hash).toBe(a?.hash);
    expect(b?.custody.eventHash).toBe(a?.custody.eventHash);
    expect(b?.custody.errorDeclaration).toEqual({
      declarationTime: '2025-03-03T11:00:00.000Z',
      reason: 'incorrect_data',
      correctiveEventHashes: [corrective],
    });
    expect(a?.custody.errorDeclaration).toBeUndefined();
  });

  it('an observation with no serial passes with no epcs; an unpacking with no children unpacks everything', () => {
    const observation = commissioning({ action: 'OBSERVE', bizStep: 'inspecting', epcList: [], ilmd: undefined });
    const unpackAll = packing({ action: 'DELETE', bizStep: 'unpacking', childEPCs: undefined });
    const [o, u] = normalised(normalise(doc(observation, unpackAll), MANUFACTURER));
    expect(o?.custody.epcs).toEqual([]);
    expect(u?.custody).toMatchObject({ action: 'DELETE', parent: CASE, epcs: [] });
  });

  it('a transformation: inputs become epcs, outputs outputs, ilmd their lot; GTINs of both, the lot of the outputs', () => {
    const [event] = normalised(normalise(doc(transformation()), MANUFACTURER));
    expect(event?.custody).toEqual({
      eventHash: event?.hash,
      type: 'TransformationEvent',
      bizStep: 'repackaging',
      disposition: 'active',
      eventTime: '2025-03-03T07:00:00.000Z',
      recordTime: NOW,
      recorder: MANUFACTURER,
      epcs: [PACK_1, PACK_2],
      outputs: [NEW_PACK_1, NEW_PACK_2],
      transformationId: 'urn:epc:id:gdti:4012345.00001.RP-77',
      lot: 'RP-2025-03',
      expiry: '2026-12-31',
      location: MANUFACTURER,
    });
    expect(event?.gtins).toEqual([GTIN, NEW_GTIN]);
    expect(event?.lots).toEqual([{ gtin: NEW_GTIN, lot: 'RP-2025-03', expiry: '2026-12-31' }]);
  });

  it('a transformation of quantities only passes with nothing for custody, even under a custody bizStep', () => {
    const bulk = transformation({
      inputEPCList: undefined,
      outputEPCList: undefined,
      inputQuantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.011111.API-7', quantity: 25, uom: 'KGM' }],
      outputQuantityList: [{ epcClass: 'urn:epc:class:lgtin:4012345.022222.RP-2025-03', quantity: 1000 }],
      bizStep: 'commissioning',
    });
    const [event] = normalised(normalise(doc(bulk), MANUFACTURER));
    expect(event?.custody).toMatchObject({ type: 'TransformationEvent', epcs: [], outputs: [] });
    expect([event?.gtins, event?.lots]).toEqual([[], []]);
  });

  it('an association: the asset is kept as written (not a unit, not public), the children are units', () => {
    const [event] = normalised(normalise(doc(association({ childEPCs: [CASE, PACK_1] })), MANUFACTURER));
    expect(event?.custody).toMatchObject({
      type: 'AssociationEvent',
      action: 'ADD',
      bizStep: 'installing',
      asset: LOGGER,
      epcs: [CASE, PACK_1],
    });
    expect(event?.custody.parent).toBeUndefined();
    expect(event?.gtins).toEqual([GTIN]);
    // Any URI the schema accepts is an asset: a sensor's own URI too.
    const sensor = 'https://sensors.example.org/loggers/TL-9';
    const [other] = normalised(normalise(doc(association({ parentID: sensor, action: 'DELETE' })), MANUFACTURER));
    expect(other?.custody).toMatchObject({ action: 'DELETE', asset: sensor, epcs: [CASE] });
  });

  it('what it produces is what custody consumes: commission, then repackage into new packs', () => {
    const events = normalised(normalise(doc(commissioning(), transformation()), MANUFACTURER));
    let units = new Map();
    let lots = new Map();
    for (const n of events) {
      const out = applyCustodyEvent({
        event: { ...n.custody, eventId: `e${n.index}` },
        units,
        lots,
        today: '2025-03-03',
      });
      expect(out.detections).toEqual([]);
      ({ units, lots } = out);
    }
    expect(units.get(PACK_1)).toMatchObject({ status: 'decommissioned', decommissionedAs: 'transformed' });
    expect(units.get(NEW_PACK_2)).toMatchObject({
      status: 'commissioned',
      gtin: NEW_GTIN,
      lot: 'RP-2025-03',
      expiry: '2026-12-31',
      owner: MANUFACTURER,
      transformedFrom: { eventId: 'e1', transformationId: 'urn:epc:id:gdti:4012345.00001.RP-77' },
    });
  });

  it('an SGTIN URN is written in canonical form, so one pack has one key', () => {
    const escaped = commissioning({ epcList: ['urn:epc:id:sgtin:4012345.011111.%41B%2f1'] });
    const [event] = normalised(normalise(doc(escaped), MANUFACTURER));
    expect(event?.custody.epcs).toEqual(['urn:epc:id:sgtin:4012345.011111.AB%2F1']);
  });
});
