import {
  applyCustodyEvent,
  applyUnitAction,
  CustodyRefusalCode,
  DetectionCode,
  lotKey,
  lotsTouched,
  MAX_ASSOCIATIONS,
  quarantine,
  recallLot,
  release,
  replayUnits,
  revertDecommission,
  unitsTouched,
  withdrawalScope,
  withdrawEvent,
  type CustodyEntry,
  type CustodyEvent,
  type Detection,
  type LotState,
  type RevertRefusalReason,
  type UnitState,
} from './custody';

// Parties (GLN-13) and premises.
const MAKER = '4012345000009';
const WHOLESALER = '4098765000003';
const PHARMACY = '4055555000001';
const STRANGER = '4011111000002';
const PHARMACY_SHOP = '4055555000018';
const PHARMACY_OTHER_SHOP = '4055555000025';

const GTIN = '04012345123456'; // what urn:epc:id:sgtin:4012345.012345.* names
const PACK1 = 'urn:epc:id:sgtin:4012345.012345.S1';
const PACK2 = 'urn:epc:id:sgtin:4012345.012345.S2';
const PACK3 = 'urn:epc:id:sgtin:4012345.012345.S3';
const CASE1 = 'urn:epc:id:sscc:4012345.0000000001';
const CASE2 = 'urn:epc:id:sscc:4012345.0000000002';
const PALLET = 'urn:epc:id:sscc:4012345.0000000099';
const TODAY = '2026-06-01';
// A repackager's new packs (another GTIN) and the assets associated with units.
const NEW_GTIN = '04012345543216'; // what urn:epc:id:sgtin:4012345.054321.* names
const OUT1 = 'urn:epc:id:sgtin:4012345.054321.R1';
const OUT2 = 'urn:epc:id:sgtin:4012345.054321.R2';
const TRANSFORMATION_ID = 'urn:epc:id:gdti:4012345.00001.T1';
const LOGGER = 'urn:epc:id:giai:4012345.LOGGER1';
const TOTE = 'urn:epc:id:grai:4012345.55555.TOTE7';

const hash = (name: string): string => `ni:///sha-256;${name}?ver=CBV2.0`;

function event(name: string, fields: Partial<CustodyEvent> & Pick<CustodyEvent, 'recorder' | 'epcs'>): CustodyEvent {
  return {
    eventHash: hash(name),
    eventId: `id-${name}`,
    type: 'ObjectEvent',
    action: 'OBSERVE',
    eventTime: '2026-05-01T10:00:00.000Z',
    ...fields,
  };
}
const commission = (name: string, epcs: string[], more: Partial<CustodyEvent> = {}): CustodyEvent =>
  event(name, {
    recorder: MAKER,
    epcs,
    action: 'ADD',
    bizStep: 'commissioning',
    disposition: 'active',
    lot: 'L1',
    expiry: '2027-12-31',
    ...more,
  });
const pack = (name: string, parent: string, epcs: string[], recorder = MAKER): CustodyEvent =>
  event(name, { type: 'AggregationEvent', action: 'ADD', bizStep: 'packing', recorder, parent, epcs });
const unpack = (name: string, parent: string, epcs: string[], recorder = MAKER): CustodyEvent =>
  event(name, { type: 'AggregationEvent', action: 'DELETE', bizStep: 'unpacking', recorder, parent, epcs });
const ship = (name: string, epcs: string[], recorder: string, to?: string, owning?: string): CustodyEvent =>
  event(name, {
    recorder,
    epcs,
    bizStep: 'shipping',
    disposition: 'in_transit',
    source: { possessing: recorder },
    ...(to ? { destination: { possessing: to, ...(owning ? { owning } : {}) } } : {}),
  });
const receive = (name: string, epcs: string[], recorder: string): CustodyEvent =>
  event(name, { recorder, epcs, bizStep: 'receiving', disposition: 'in_progress', location: recorder });
const dispense = (name: string, epc: string, recorder = PHARMACY, disposition = 'dispensed'): CustodyEvent =>
  event(name, { recorder, epcs: [epc], bizStep: 'dispensing', disposition, location: PHARMACY_SHOP });
const decommission = (
  name: string,
  epcs: string[],
  recorder: string,
  disposition: string,
  more: Partial<CustodyEvent> = {},
): CustodyEvent => event(name, { recorder, epcs, action: 'DELETE', bizStep: 'decommissioning', disposition, ...more });

/** A repackaging: `inputs` consumed, `outputs` commissioned with lot R1 (another GTIN), at the recorder's premises. */
function transform(name: string, inputs: string[], outputs: string[], more: Partial<CustodyEvent> = {}): CustodyEvent {
  const { action: _none, ...rest } = event(name, {
    type: 'TransformationEvent',
    recorder: MAKER,
    epcs: inputs,
    outputs,
    transformationId: TRANSFORMATION_ID,
    bizStep: 'repackaging',
    disposition: 'active',
    lot: 'R1',
    expiry: '2027-06-30',
    location: MAKER,
    ...more,
  });
  return { ...rest, ...(more.recorder !== undefined && more.location === undefined && { location: more.recorder }) };
}
const associate = (
  name: string,
  action: 'ADD' | 'OBSERVE' | 'DELETE',
  epcs: string[],
  asset = LOGGER,
  recorder = MAKER,
): CustodyEvent =>
  event(name, {
    type: 'AssociationEvent',
    action,
    bizStep: action === 'DELETE' ? 'removing' : 'installing',
    recorder,
    epcs,
    asset,
    location: recorder,
  });

/** The service around the model: loads what `unitsTouched` asks for, applies, stores; keeps entries for replay. */
class Service {
  units = new Map<string, UnitState>();
  lots = new Map<string, LotState>();
  entries: CustodyEntry[] = [];
  detections: Detection[] = [];

  capture(e: CustodyEvent, today = TODAY): Detection[] {
    const recorded: CustodyEvent = { ...e, recordTime: `${today}T12:00:00.000Z` };
    let need: string[] = [];
    for (;;) {
      const next = unitsTouched(recorded, this.pick(need));
      if (next.every((epc) => need.includes(epc))) break;
      need = next;
    }
    const loaded = this.pick(need);
    const lots = new Map(
      lotsTouched(recorded, loaded).flatMap((key) => {
        const lot = this.lots.get(key);
        return lot ? [[key, lot] as const] : [];
      }),
    );
    const out = applyCustodyEvent({ event: recorded, units: loaded, lots, today });
    for (const [epc, unit] of out.units) this.units.set(epc, unit);
    for (const [key, lot] of out.lots) this.lots.set(key, lot);
    this.entries.push(recorded);
    this.detections.push(...out.detections);
    return out.detections;
  }

  recall(at: string, eventId: string): void {
    const lot = recallLot(this.lot(), at, eventId);
    if ('code' in lot) throw new Error(lot.code);
    this.lots.set(lotKey(GTIN, 'L1'), lot);
  }

  quarantine(epc: string, at: string, eventId: string): void {
    const unit = quarantine(this.unit(epc), at, eventId);
    if ('code' in unit) throw new Error(unit.code);
    this.units.set(epc, unit);
    this.entries.push({ type: 'UnitQuarantined', epc, at, eventId });
  }

  unit(epc: string): UnitState {
    const unit = this.units.get(epc);
    if (!unit) throw new Error(`no unit ${epc}`);
    return unit;
  }

  lot(): LotState {
    const lot = this.lots.get(lotKey(GTIN, 'L1'));
    if (!lot) throw new Error('no lot');
    return lot;
  }

  private pick(epcs: string[]): Map<string, UnitState> {
    return new Map(epcs.flatMap((epc) => (this.units.has(epc) ? [[epc, this.unit(epc)] as const] : [])));
  }
}

type Step = CustodyEvent | { recall: string } | { quarantine: string };
/** Given events are recorded on the day they happen (1 May), recalls and quarantines on 15 May, `when` on TODAY. */
function given(steps: Step[]): Service {
  const service = new Service();
  for (const step of steps) {
    if ('recall' in step) service.recall('2026-05-15T00:00:00.000Z', step.recall);
    else if ('quarantine' in step) service.quarantine(step.quarantine, '2026-05-15T00:00:00.000Z', step.quarantine);
    else service.capture(step, '2026-05-01');
  }
  return service;
}
/** A detection as the tables write it: code, epc, and the evidence (hash, or id for the service's own facts). */
const brief = (d: Detection): [string, string, string[]] => [
  d.code,
  d.epc,
  d.evidence.map((e) => `${e.role}:${e.eventHash ?? e.eventId}`),
];
const evidence = (thisEvent: string, ...conflicting: string[]): string[] => [
  `this:${hash(thisEvent)}`,
  ...conflicting.map((c) => `conflicting:${c.startsWith('id-') || c.startsWith('q-') ? c : hash(c)}`),
];

const C = commission('c', [PACK1]);
const C3 = commission('c3', [PACK1, PACK2, PACK3]);

describe('detections', () => {
  test.each<[string, Step[], CustodyEvent, Array<[string, string, string[]]>]>([
    [
      'an event on a serial never commissioned',
      [C],
      ship('s', [PACK2], MAKER, WHOLESALER),
      [[DetectionCode.UNKNOWN_SERIAL, PACK2, evidence('s')]],
    ],
    [
      'a receipt of a serial never commissioned',
      [],
      receive('r', [PACK1], PHARMACY),
      [[DetectionCode.UNKNOWN_SERIAL, PACK1, evidence('r')]],
    ],
    [
      'a second commissioning of a serial',
      [C],
      commission('c2', [PACK1], { recorder: STRANGER }),
      [[DetectionCode.DUPLICATE_COMMISSION, PACK1, evidence('c2', 'c')]],
    ],
    [
      'shipping a destroyed pack',
      [C, event('d', { recorder: MAKER, epcs: [PACK1], bizStep: 'destroying', disposition: 'destroyed' })],
      ship('s', [PACK1], MAKER, WHOLESALER),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('s', 'd')]],
    ],
    [
      'receiving a pack decommissioned as stolen',
      [C, ship('s', [PACK1], MAKER, WHOLESALER), decommission('d', [PACK1], MAKER, 'stolen')],
      receive('r', [PACK1], WHOLESALER),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('r', 'd')]],
    ],
    [
      'dispensing a pack decommissioned as a sample',
      [C, decommission('d', [PACK1], MAKER, 'sample')],
      dispense('x', PACK1),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('x', 'd')]],
    ],
    [
      'shipping a dispensed pack',
      [C, dispense('x', PACK1)],
      ship('s', [PACK1], PHARMACY, WHOLESALER),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('s', 'x')]],
    ],
    [
      'dispensing a dispensed pack',
      [C, dispense('x1', PACK1)],
      dispense('x2', PACK1, STRANGER),
      [[DetectionCode.DISPENSED_TWICE, PACK1, evidence('x2', 'x1')]],
    ],
    [
      'dispensing elsewhere a pack partially dispensed',
      [C, dispense('x1', PACK1, PHARMACY, 'partially_dispensed')],
      dispense('x2', PACK1, STRANGER),
      [[DetectionCode.DISPENSED_TWICE, PACK1, evidence('x2', 'x1')]],
    ],
    [
      'shipping by a party that never held the pack',
      [C],
      ship('s', [PACK1], STRANGER, PHARMACY),
      [[DetectionCode.SHIPPER_NOT_HOLDER, PACK1, evidence('s', 'c')]],
    ],
    [
      'shipping again what the consignee received',
      [C, ship('s1', [PACK1], MAKER, WHOLESALER), receive('r', [PACK1], WHOLESALER)],
      ship('s2', [PACK1], MAKER, PHARMACY),
      [[DetectionCode.SHIPPER_NOT_HOLDER, PACK1, evidence('s2', 'r')]],
    ],
    [
      'a receipt with no shipment',
      [C],
      receive('r', [PACK1], WHOLESALER),
      [[DetectionCode.RECEIPT_WITHOUT_SHIPMENT, PACK1, evidence('r')]],
    ],
    [
      'a receipt by a party the shipment was not for (diversion)',
      [C, ship('s', [PACK1], MAKER, WHOLESALER)],
      receive('r', [PACK1], STRANGER),
      [[DetectionCode.RECEIPT_WITHOUT_SHIPMENT, PACK1, evidence('r', 's')]],
    ],
    [
      'packing into a second case a pack still in the first',
      [C, pack('p1', CASE1, [PACK1])],
      pack('p2', CASE2, [PACK1]),
      [[DetectionCode.PACKED_TWICE, PACK1, evidence('p2', 'p1')]],
    ],
    [
      'shipping an expired pack',
      [commission('c', [PACK1], { expiry: '2026-05-31' })],
      ship('s', [PACK1], MAKER, WHOLESALER),
      [[DetectionCode.EXPIRED, PACK1, evidence('s', 'c')]],
    ],
    [
      'shipping a pack of a recalled lot',
      [C, { recall: 'id-recall' }],
      ship('s', [PACK1], MAKER, WHOLESALER),
      [[DetectionCode.RECALLED, PACK1, evidence('s', 'id-recall')]],
    ],
    [
      'shipping a quarantined pack',
      [C, { quarantine: PACK1 }],
      ship('s', [PACK1], MAKER, WHOLESALER),
      [[DetectionCode.QUARANTINED, PACK1, [`this:${hash('s')}`, `conflicting:${PACK1}`]]],
    ],
    [
      'a case of 3 packs shipped by a party that does not hold it',
      [C3, pack('p', CASE1, [PACK1, PACK2, PACK3])],
      ship('s', [CASE1], STRANGER, PHARMACY),
      [
        [DetectionCode.SHIPPER_NOT_HOLDER, CASE1, evidence('s', 'p')],
        [DetectionCode.SHIPPER_NOT_HOLDER, PACK1, evidence('s', 'c3')],
        [DetectionCode.SHIPPER_NOT_HOLDER, PACK2, evidence('s', 'c3')],
        [DetectionCode.SHIPPER_NOT_HOLDER, PACK3, evidence('s', 'c3')],
      ],
    ],
    [
      'a case received where it was not shipped, with a pack of it destroyed',
      [
        C3,
        pack('p', CASE1, [PACK1, PACK2, PACK3]),
        decommission('d', [PACK2], MAKER, 'destroyed'),
        ship('s', [CASE1], MAKER, WHOLESALER),
      ],
      receive('r', [CASE1], STRANGER),
      [
        [DetectionCode.RECEIPT_WITHOUT_SHIPMENT, CASE1, evidence('r', 's')],
        [DetectionCode.RECEIPT_WITHOUT_SHIPMENT, PACK1, evidence('r', 's')],
        [DetectionCode.AFTER_DECOMMISSION, PACK2, evidence('r', 'd')],
        [DetectionCode.RECEIPT_WITHOUT_SHIPMENT, PACK3, evidence('r', 's')],
      ],
    ],
    [
      'an expired, recalled, quarantined pack shipped by a stranger: every finding',
      [commission('c', [PACK1], { expiry: '2026-05-10' }), { recall: 'id-recall' }, { quarantine: PACK1 }],
      ship('s', [PACK1], STRANGER, WHOLESALER),
      [
        [DetectionCode.EXPIRED, PACK1, evidence('s', 'c')],
        [DetectionCode.RECALLED, PACK1, evidence('s', 'id-recall')],
        [DetectionCode.QUARANTINED, PACK1, [`this:${hash('s')}`, `conflicting:${PACK1}`]],
        [DetectionCode.SHIPPER_NOT_HOLDER, PACK1, evidence('s', 'c')],
      ],
    ],
    [
      'commissioning an identifier that is not an SGTIN or SSCC',
      [],
      commission('c', ['urn:epc:id:sgtin:4012345.012345.' + 'X'.repeat(21)]),
      [[DetectionCode.BAD_IDENTIFIER, 'urn:epc:id:sgtin:4012345.012345.' + 'X'.repeat(21), evidence('c')]],
    ],
    // TransformationEvent: the inputs are checked as a decommissioning by their holder, the outputs as a commissioning.
    [
      'a transformation consuming a serial never commissioned',
      [C],
      transform('t', [PACK2], [OUT1]),
      [[DetectionCode.UNKNOWN_SERIAL, PACK2, evidence('t')]],
    ],
    [
      'a transformation consuming a destroyed pack',
      [C, decommission('d', [PACK1], MAKER, 'destroyed')],
      transform('t', [PACK1], [OUT1]),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('t', 'd')]],
    ],
    [
      'a transformation consuming a pack consumed by an earlier one',
      [C, transform('t1', [PACK1], [OUT1])],
      transform('t2', [PACK1], [OUT2]),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('t2', 't1')]],
    ],
    [
      'a transformation consuming a dispensed pack',
      [C, dispense('x', PACK1)],
      transform('t', [PACK1], [OUT1], { recorder: PHARMACY }),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('t', 'x')]],
    ],
    [
      'a compounding elsewhere from a pack partially dispensed',
      [C, dispense('x', PACK1, PHARMACY, 'partially_dispensed')],
      transform('t', [PACK1], [OUT1], { recorder: STRANGER }),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('t', 'x')]],
    ],
    [
      'a transformation by a party that never held the input',
      [C],
      transform('t', [PACK1], [OUT1], { recorder: STRANGER }),
      [[DetectionCode.TRANSFORMER_NOT_HOLDER, PACK1, evidence('t', 'c')]],
    ],
    [
      'a repackaging of packs still in transit to the repackager (no receipt)',
      [C, ship('s', [PACK1], MAKER, WHOLESALER, WHOLESALER)],
      transform('t', [PACK1], [OUT1], { recorder: WHOLESALER }),
      [[DetectionCode.TRANSFORMER_NOT_HOLDER, PACK1, evidence('t', 'c')]],
    ],
    [
      'a case of 3 packs consumed by a party that does not hold it',
      [C3, pack('p', CASE1, [PACK1, PACK2, PACK3])],
      transform('t', [CASE1], [OUT1], { recorder: STRANGER }),
      [
        [DetectionCode.TRANSFORMER_NOT_HOLDER, CASE1, evidence('t', 'p')],
        [DetectionCode.TRANSFORMER_NOT_HOLDER, PACK1, evidence('t', 'c3')],
        [DetectionCode.TRANSFORMER_NOT_HOLDER, PACK2, evidence('t', 'c3')],
        [DetectionCode.TRANSFORMER_NOT_HOLDER, PACK3, evidence('t', 'c3')],
      ],
    ],
    [
      'a repackaging of an expired pack',
      [commission('c', [PACK1], { expiry: '2026-05-31' })],
      transform('t', [PACK1], [OUT1]),
      [[DetectionCode.EXPIRED, PACK1, evidence('t', 'c')]],
    ],
    [
      'a repackaging of a pack of a recalled lot',
      [C, { recall: 'id-recall' }],
      transform('t', [PACK1], [OUT1]),
      [[DetectionCode.RECALLED, PACK1, evidence('t', 'id-recall')]],
    ],
    [
      'a repackaging of a quarantined pack',
      [C, { quarantine: PACK1 }],
      transform('t', [PACK1], [OUT1]),
      [[DetectionCode.QUARANTINED, PACK1, [`this:${hash('t')}`, `conflicting:${PACK1}`]]],
    ],
    [
      'a transformation whose output was commissioned already',
      [C3],
      transform('t', [PACK1], [PACK2, OUT1]),
      [[DetectionCode.DUPLICATE_COMMISSION, PACK2, evidence('t', 'c3')]],
    ],
    [
      'a transformation whose outputs are expired when made',
      [C],
      transform('t', [PACK1], [OUT1], { expiry: '2026-05-31' }),
      [[DetectionCode.EXPIRED, OUT1, evidence('t')]],
    ],
    [
      'a transformation whose output is not an SGTIN or SSCC',
      [C],
      transform('t', [PACK1], ['urn:epc:id:sgtin:4012345.054321.' + 'X'.repeat(21)]),
      [[DetectionCode.BAD_IDENTIFIER, 'urn:epc:id:sgtin:4012345.054321.' + 'X'.repeat(21), evidence('t')]],
    ],
    // AssociationEvent: checked as an observation of the units it names.
    [
      'an association with a serial never commissioned',
      [C],
      associate('a', 'ADD', [PACK2]),
      [[DetectionCode.UNKNOWN_SERIAL, PACK2, evidence('a')]],
    ],
    [
      'an association with a dispensed pack',
      [C, dispense('x', PACK1)],
      associate('a', 'ADD', [PACK1], LOGGER, PHARMACY),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('a', 'x')]],
    ],
    [
      'a dissociation from a pack consumed by a transformation',
      [C, associate('a1', 'ADD', [PACK1]), transform('t', [PACK1], [OUT1])],
      associate('a2', 'DELETE', [PACK1]),
      [[DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('a2', 't')]],
    ],
  ])('%s', (_name, steps, when, expected) => {
    const service = given(steps);
    const detections = service.capture(when);
    expect(detections.map(brief)).toEqual(expected);
    // Never blocked: every known unit flagged carries the event and is suspect.
    for (const [, epc] of expected) {
      const unit = service.units.get(epc);
      if (!unit) continue;
      expect(unit.suspect).toBe(true);
      expect(unit.history.at(-1)?.eventHash).toBe(when.eventHash);
    }
  });

  test.each<[string, Step[], CustodyEvent]>([
    [
      'the whole chain: commission, pack, ship, receive, unpack, dispense',
      [
        C3,
        pack('p', CASE1, [PACK1, PACK2, PACK3]),
        ship('s', [CASE1], MAKER, WHOLESALER, WHOLESALER),
        receive('r', [CASE1], WHOLESALER),
        unpack('u', CASE1, [], WHOLESALER),
        ship('s2', [PACK1], WHOLESALER, PHARMACY, PHARMACY),
        receive('r2', [PACK1], PHARMACY),
      ],
      dispense('x', PACK1),
    ],
    [
      'destroying an expired pack',
      [commission('c', [PACK1], { expiry: '2026-05-10' })],
      event('d', { recorder: MAKER, epcs: [PACK1], bizStep: 'destroying', disposition: 'destroyed' }),
    ],
    [
      'decommissioning a quarantined pack of a recalled lot',
      [C, { recall: 'id-recall' }, { quarantine: PACK1 }],
      decommission('d', [PACK1], MAKER, 'recalled'),
    ],
    [
      'returning recalled stock, the event saying so',
      [C, ship('s', [PACK1], MAKER, PHARMACY), receive('r', [PACK1], PHARMACY), { recall: 'id-recall' }],
      { ...ship('back', [PACK1], PHARMACY, MAKER), bizStep: 'shipping', disposition: 'recalled' },
    ],
    [
      'dispensing again, by the same pharmacy, from a pack partially dispensed',
      [C, dispense('x1', PACK1, PHARMACY, 'partially_dispensed')],
      dispense('x2', PACK1, PHARMACY, 'partially_dispensed'),
    ],
    [
      'a shipment that names no consignee, received by whoever',
      [C, ship('s', [PACK1], MAKER)],
      receive('r', [PACK1], STRANGER),
    ],
    ['the same packing delivered twice', [C, pack('p', CASE1, [PACK1])], pack('p', CASE1, [PACK1])],
    ['a second delivery of a commissioning', [C], C],
    ['an observation of a pack', [C], event('o', { recorder: MAKER, epcs: [PACK1], bizStep: 'inspecting' })],
    ['a repackaging of packs by their holder', [C3], transform('t', [PACK1, PACK2], [OUT1, OUT2])],
    [
      'a repackaging by a wholesaler of what it received',
      [C, ship('s', [PACK1], MAKER, WHOLESALER, WHOLESALER), receive('r', [PACK1], WHOLESALER)],
      transform('t', [PACK1], [OUT1], { recorder: WHOLESALER }),
    ],
    [
      'a compounding by the pharmacy from a pack it supplies in parts',
      [
        C,
        ship('s', [PACK1], MAKER, PHARMACY, PHARMACY),
        receive('r', [PACK1], PHARMACY),
        dispense('x', PACK1, PHARMACY, 'partially_dispensed'),
      ],
      transform('t', [PACK1], [OUT1], { recorder: PHARMACY }),
    ],
    ['the same transformation delivered twice', [C, transform('t', [PACK1], [OUT1])], transform('t', [PACK1], [OUT1])],
    [
      'a transformation of quantities only (nothing serialised)',
      [C],
      transform('t', [], [], { lot: undefined, expiry: undefined }),
    ],
    ['a logger associated with a pack', [C], associate('a', 'ADD', [PACK1])],
    [
      'a logger associated with a case in transit, by the carrier',
      [C, pack('p', CASE1, [PACK1]), ship('s', [CASE1], MAKER, WHOLESALER)],
      associate('a', 'ADD', [CASE1], LOGGER, STRANGER),
    ],
  ])('no detection: %s', (_name, steps, when) => {
    const service = given(steps);
    expect(service.capture(when)).toEqual([]);
    expect(service.units.get(PACK1)?.suspect).toBe(false);
  });
});

describe('custody', () => {
  test('commissioning creates a unit owned and held by the recorder, with its lot and expiry', () => {
    const service = given([]);
    service.capture(commission('c', [PACK1], { location: MAKER }));
    expect(service.unit(PACK1)).toMatchObject({
      kind: 'sgtin',
      gtin: GTIN,
      serial: 'S1',
      lot: 'L1',
      expiry: '2027-12-31',
      status: 'commissioned',
      owner: MAKER,
      holder: MAKER,
      location: MAKER,
      quarantined: false,
      suspect: false,
    });
    expect(service.lot()).toEqual({ gtin: GTIN, lot: 'L1' });
  });

  test('an SSCC is read as its SSCC-18 (TDS 2.x §6.3.2 example: 0614141.1234567890 is 106141412345678908)', () => {
    const service = given([]);
    service.capture(commission('c', ['urn:epc:id:sscc:0614141.1234567890'], { lot: undefined, expiry: undefined }));
    expect(service.unit('urn:epc:id:sscc:0614141.1234567890')).toMatchObject({
      kind: 'sscc',
      serial: '106141412345678908',
    });
  });

  test('a matching receipt makes the consignee holder, and owner when the shipment says so', () => {
    const service = given([C, ship('s', [PACK1], MAKER, WHOLESALER, WHOLESALER)]);
    expect(service.unit(PACK1)).toMatchObject({ status: 'in-transit', holder: MAKER, owner: MAKER });
    expect(service.unit(PACK1).pendingShipment).toMatchObject({ eventHash: hash('s'), to: WHOLESALER });
    service.capture(receive('r', [PACK1], WHOLESALER));
    const unit = service.unit(PACK1);
    expect(unit).toMatchObject({ status: 'received', holder: WHOLESALER, owner: WHOLESALER });
    expect(unit.pendingShipment).toBeUndefined();
  });

  test('a shipment to a logistics provider moves possession, not ownership', () => {
    const service = given([C, ship('s', [PACK1], MAKER, WHOLESALER), receive('r', [PACK1], WHOLESALER)]);
    expect(service.unit(PACK1)).toMatchObject({ holder: WHOLESALER, owner: MAKER });
  });

  test('three packs in a case are shipped, received and unpacked as one', () => {
    const service = given([C3, pack('p', CASE1, [PACK1, PACK2, PACK3])]);
    expect(service.unit(CASE1)).toMatchObject({ kind: 'sscc', serial: '040123450000000016', holder: MAKER });
    expect(service.unit(CASE1).children).toEqual([PACK1, PACK2, PACK3]);
    expect(service.unit(PACK2)).toMatchObject({ parent: CASE1, status: 'packed' });

    service.capture(ship('s', [CASE1], MAKER, WHOLESALER, WHOLESALER));
    for (const epc of [CASE1, PACK1, PACK2, PACK3]) expect(service.unit(epc).status).toBe('in-transit');
    service.capture(receive('r', [CASE1], WHOLESALER));
    for (const epc of [CASE1, PACK1, PACK2, PACK3]) {
      expect(service.unit(epc)).toMatchObject({ status: 'received', holder: WHOLESALER, owner: WHOLESALER });
      expect(service.unit(epc).history.map((h) => h.eventHash)).toContain(hash('r'));
    }

    service.capture(unpack('u1', CASE1, [PACK1], WHOLESALER));
    expect(service.unit(PACK1).parent).toBeUndefined();
    expect(service.unit(CASE1).children).toEqual([PACK2, PACK3]);
    service.capture(unpack('u2', CASE1, [], WHOLESALER));
    expect(service.unit(CASE1).children).toEqual([]);
    expect(service.unit(PACK3).parent).toBeUndefined();
  });

  test('a pallet of cases: shipping the pallet moves every pack (loaded to a fixpoint by unitsTouched)', () => {
    const service = given([
      C3,
      pack('p1', CASE1, [PACK1, PACK2]),
      pack('p2', CASE2, [PACK3]),
      pack('p3', PALLET, [CASE1, CASE2]),
    ]);
    const s = ship('s', [PALLET], MAKER, WHOLESALER);
    expect(unitsTouched(s, new Map([[PALLET, service.unit(PALLET)]]))).toEqual([PALLET, CASE1, CASE2]);
    expect(unitsTouched(s, service.units)).toEqual([PALLET, CASE1, CASE2, PACK1, PACK2, PACK3]);
    service.capture(s);
    for (const epc of [PALLET, CASE1, CASE2, PACK1, PACK2, PACK3]) expect(service.unit(epc).status).toBe('in-transit');
  });

  test('decommissioning a case decommissions its packs', () => {
    const service = given([C3, pack('p', CASE1, [PACK1, PACK2])]);
    service.capture(decommission('d', [CASE1], MAKER, 'destroyed'));
    expect(service.unit(PACK1)).toMatchObject({ status: 'decommissioned', decommissionedAs: 'destroyed' });
    expect(service.unit(PACK3).status).toBe('commissioned');
  });

  test('unitsTouched loads the case a pack is in now, so a repacking can take it out', () => {
    const service = given([C, pack('p1', CASE1, [PACK1])]);
    expect(unitsTouched(pack('p2', CASE2, [PACK1]), service.units)).toEqual([CASE2, PACK1, CASE1]);
    service.capture(pack('p2', CASE2, [PACK1]));
    expect(service.unit(CASE1).children).toEqual([]);
    expect(service.unit(CASE2).children).toEqual([PACK1]);
  });

  test('a repackaging consumes its inputs and commissions its outputs, with lot, expiry and where they came from', () => {
    const service = given([C3]);
    const t = transform('t', [PACK1, PACK2], [OUT1, OUT2]);
    expect(unitsTouched(t, service.units)).toEqual([PACK1, PACK2, OUT1, OUT2]);
    expect(lotsTouched(t, service.units)).toEqual([lotKey(GTIN, 'L1'), lotKey(NEW_GTIN, 'R1')]);
    service.capture(t);
    for (const epc of [PACK1, PACK2]) {
      expect(service.unit(epc)).toMatchObject({
        status: 'decommissioned',
        decommissionedAs: 'transformed',
        decommissionedEvent: { eventHash: hash('t'), eventId: 'id-t' },
        decommissionedBy: MAKER,
        decommissionedLocation: MAKER,
        statusBeforeDecommission: 'commissioned',
        suspect: false,
      });
    }
    expect(service.unit(PACK3).status).toBe('commissioned');
    for (const [epc, serial] of [
      [OUT1, 'R1'],
      [OUT2, 'R2'],
    ] as const) {
      const unit = service.unit(epc);
      expect(unit).toMatchObject({
        kind: 'sgtin',
        gtin: NEW_GTIN,
        serial,
        lot: 'R1',
        expiry: '2027-06-30',
        status: 'commissioned',
        owner: MAKER,
        holder: MAKER,
        location: MAKER,
        commissionedBy: { eventHash: hash('t'), eventId: 'id-t' },
        transformedFrom: { eventHash: hash('t'), eventId: 'id-t', transformationId: TRANSFORMATION_ID },
        suspect: false,
      });
      expect(unit.history.map((h) => h.eventHash)).toEqual([hash('t')]);
    }
    expect(service.lots.get(lotKey(NEW_GTIN, 'R1'))).toEqual({ gtin: NEW_GTIN, lot: 'R1' });
    // The new packs live on like any other: shipped and received by the wholesaler.
    service.capture(ship('s', [OUT1], MAKER, WHOLESALER, WHOLESALER));
    expect(service.capture(receive('r', [OUT1], WHOLESALER))).toEqual([]);
    expect(service.unit(OUT1)).toMatchObject({ holder: WHOLESALER, owner: WHOLESALER });
  });

  test('consuming a case consumes what is packed in it; a bizStep does not change what a transformation does', () => {
    const service = given([C3, pack('p', CASE1, [PACK1, PACK2])]);
    service.capture(transform('t', [CASE1], [OUT1], { bizStep: 'shipping' }));
    for (const epc of [CASE1, PACK1, PACK2]) expect(service.unit(epc).decommissionedAs).toBe('transformed');
    expect(service.unit(PACK3).status).toBe('commissioned');
    expect(service.unit(OUT1).status).toBe('commissioned');
    expect(service.unit(OUT1).pendingShipment).toBeUndefined();
  });

  test('a transformation without a transformationID links its outputs to the event alone', () => {
    const service = given([C]);
    service.capture(transform('t', [PACK1], [OUT1], { transformationId: undefined }));
    expect(service.unit(OUT1).transformedFrom).toEqual({ eventHash: hash('t'), eventId: 'id-t' });
  });

  test('an association: ADD associates, OBSERVE confirms, DELETE dissociates; custody is unchanged', () => {
    const service = given([C, pack('p', CASE1, [PACK1]), ship('s', [CASE1], MAKER, WHOLESALER)]);
    const before = service.unit(CASE1);
    service.capture(associate('a1', 'ADD', [CASE1], LOGGER, STRANGER));
    service.capture(associate('a2', 'ADD', [CASE1], TOTE, STRANGER));
    const added = service.unit(CASE1);
    expect(added.associations).toEqual([
      { asset: LOGGER, since: { eventHash: hash('a1'), eventId: 'id-a1', at: '2026-05-01T10:00:00.000Z' } },
      { asset: TOTE, since: { eventHash: hash('a2'), eventId: 'id-a2', at: '2026-05-01T10:00:00.000Z' } },
    ]);
    // Nothing but the associations and the history: owner, holder, status, location, the shipment are as they were.
    const { associations: _a, history: _h, ...rest } = added;
    const { history: _before, ...restBefore } = before;
    expect(rest).toEqual(restBefore);
    // Only the unit named: the pack inside the case is not associated, and the event is not in its history.
    expect(service.unit(PACK1).associations).toBeUndefined();
    expect(service.unit(PACK1).history.map((h) => h.eventHash)).not.toContain(hash('a1'));

    service.capture({ ...associate('a3', 'OBSERVE', [CASE1], LOGGER), eventTime: '2026-05-02T08:00:00.000Z' });
    expect(service.unit(CASE1).associations?.[0]).toMatchObject({
      asset: LOGGER,
      since: { eventHash: hash('a1') },
      confirmedAt: '2026-05-02T08:00:00.000Z',
    });
    service.capture(associate('a4', 'DELETE', [CASE1], LOGGER));
    expect(service.unit(CASE1).associations?.map((a) => a.asset)).toEqual([TOTE]);
    service.capture(associate('a5', 'DELETE', [CASE1], TOTE));
    expect(service.unit(CASE1)).not.toHaveProperty('associations');
    expect(service.unit(CASE1).history.map((h) => h.eventHash)).toEqual(
      ['p', 's', 'a1', 'a2', 'a3', 'a4', 'a5'].map(hash),
    );
  });

  test('an OBSERVE of an association custody had not seen records it; a unit keeps the latest few', () => {
    const service = given([C]);
    service.capture(associate('o', 'OBSERVE', [PACK1]));
    expect(service.unit(PACK1).associations).toEqual([
      {
        asset: LOGGER,
        since: { eventHash: hash('o'), eventId: 'id-o', at: '2026-05-01T10:00:00.000Z' },
        confirmedAt: '2026-05-01T10:00:00.000Z',
      },
    ]);
    const assets = Array.from({ length: MAX_ASSOCIATIONS + 1 }, (_, i) => `urn:epc:id:giai:4012345.TAG${i}`);
    assets.forEach((asset, i) => service.capture(associate(`a${i}`, 'ADD', [PACK1], asset)));
    const kept = service.unit(PACK1).associations?.map((a) => a.asset);
    expect(kept).toHaveLength(MAX_ASSOCIATIONS);
    expect(kept).toEqual(assets.slice(-MAX_ASSOCIATIONS));
    expect(service.unit(PACK1).history).toHaveLength(MAX_ASSOCIATIONS + 3);
  });

  test('an association touches the units it names only (nothing packed inside them is loaded)', () => {
    const service = given([C3, pack('p', CASE1, [PACK1, PACK2])]);
    expect(unitsTouched(associate('a', 'ADD', [CASE1]), service.units)).toEqual([CASE1]);
  });

  test('an error declaration changes nothing on capture: it is applied by withdrawal', () => {
    const service = given([C]);
    const before = service.unit(PACK1);
    const declaration: CustodyEvent = {
      ...C,
      eventId: 'id-decl',
      errorDeclaration: { declarationTime: '2026-05-02T00:00:00Z', correctiveEventHashes: [] },
    };
    const out = applyCustodyEvent({ event: declaration, units: service.units, lots: service.lots, today: TODAY });
    expect(out.units.get(PACK1)).toEqual(before);
    expect(out.detections).toEqual([]);
  });
});

describe('service commands', () => {
  const DECOMMISSIONED_AT = '2026-05-20T10:00:00.000Z';
  function decommissioned(more: Partial<CustodyEvent> = {}, expiry = '2027-12-31'): UnitState {
    return given([
      commission('c', [PACK1], { expiry }),
      ship('s', [PACK1], MAKER, PHARMACY, PHARMACY),
      receive('r', [PACK1], PHARMACY),
      decommission('d', [PACK1], PHARMACY, 'inactive', {
        location: PHARMACY_SHOP,
        eventTime: DECOMMISSIONED_AT,
        ...more,
      }),
    ]).unit(PACK1);
  }
  const request = { by: PHARMACY, at: '2026-05-30T10:00:00.000Z', location: PHARMACY_SHOP, eventId: 'id-revert' };

  test('a revert within 10 days, by the same party at the same premises, makes the pack active again', () => {
    const unit = revertDecommission(decommissioned(), request);
    expect(unit).toMatchObject({ status: 'received', holder: PHARMACY });
    expect(unit).not.toHaveProperty('decommissionedAs');
  });

  test.each<[string, () => UnitState, Partial<typeof request> & { lot?: LotState }, RevertRefusalReason]>([
    ['a pack that is not decommissioned', () => given([C]).unit(PACK1), {}, 'not-decommissioned'],
    [
      'a pack supplied to the public (Art. 13(1)(e))',
      () => given([C, dispense('x', PACK1)]).unit(PACK1),
      {},
      'supplied',
    ],
    ['a pack decommissioned as stolen (Art. 13(1)(d))', () => decommissioned({ disposition: 'stolen' }), {}, 'stolen'],
    [
      'a pack consumed by a transformation (its goods are in the outputs)',
      () => given([C, transform('t', [PACK1], [OUT1], { eventTime: '2026-05-29T10:00:00.000Z' })]).unit(PACK1),
      { by: MAKER, location: MAKER },
      'transformed',
    ],
    [
      'a pack intended for destruction (Art. 13(1)(d))',
      () => decommissioned({ disposition: 'destroyed' }),
      {},
      'destroyed',
    ],
    [
      'a pack decommissioned as recalled (Art. 13(1)(d))',
      () => decommissioned({ disposition: 'recalled' }),
      {},
      'recalled',
    ],
    [
      'a pack of a recalled lot (Art. 13(1)(d))',
      () => decommissioned(),
      { lot: { gtin: GTIN, lot: 'L1', recalled: { at: '2026-05-21T00:00:00Z', eventId: 'id-recall' } } },
      'recalled',
    ],
    ['an expired pack (Art. 13(1)(c))', () => decommissioned({}, '2026-05-29'), {}, 'expired'],
    ['by another party (Art. 13(1)(a))', () => decommissioned(), { by: STRANGER }, 'other-party'],
    ['at other premises (Art. 13(1)(a))', () => decommissioned(), { location: PHARMACY_OTHER_SHOP }, 'other-premises'],
    [
      'of a decommissioning that named no premises (Art. 13(1)(a) cannot be shown)',
      () => decommissioned({ location: undefined }),
      {},
      'other-premises',
    ],
    [
      '10 days and a minute after (Art. 13(1)(b))',
      () => decommissioned(),
      { at: '2026-05-30T10:01:00.000Z' },
      'too-late',
    ],
  ])('no revert of %s', (_name, unit, overrides, reason) => {
    expect(revertDecommission(unit(), { ...request, ...overrides })).toMatchObject({
      code: CustodyRefusalCode.REVERT_REFUSED,
      reason,
    });
  });

  test('a revert exactly 10 days after is in time (Art. 13(1)(b): "not more than 10 days")', () => {
    expect(revertDecommission(decommissioned(), request)).toHaveProperty('status', 'received');
  });

  test('quarantine, release and recall refuse what is already so', () => {
    const unit = given([C]).unit(PACK1);
    expect(release(unit, TODAY, 'id-rel')).toMatchObject({ code: CustodyRefusalCode.NOT_QUARANTINED });
    const held = quarantine(unit, TODAY, 'id-q');
    if ('code' in held) throw new Error(held.code);
    expect(quarantine(held, TODAY, 'id-q2')).toMatchObject({ code: CustodyRefusalCode.ALREADY_QUARANTINED });
    expect(release(held, TODAY, 'id-rel')).toMatchObject({ quarantined: false });

    const lot = recallLot({ gtin: GTIN, lot: 'L1' }, TODAY, 'id-recall');
    if ('code' in lot) throw new Error(lot.code);
    expect(lot.recalled).toEqual({ at: TODAY, eventId: 'id-recall' });
    expect(recallLot(lot, TODAY, 'id-again')).toMatchObject({ code: CustodyRefusalCode.ALREADY_RECALLED });
  });
});

describe('replay and withdrawal', () => {
  test('replaying the recorded entries rebuilds the live state, detections included', () => {
    const service = given([
      C3,
      pack('p', CASE1, [PACK1, PACK2, PACK3]),
      { quarantine: PACK3 },
      ship('s', [CASE1], MAKER, WHOLESALER, WHOLESALER),
      receive('r', [CASE1], STRANGER),
      dispense('x', PACK1, STRANGER),
    ]);
    const replay = replayUnits(service.entries, new Map());
    expect(replay.units).toEqual(service.units);
    expect(service.detections.map((d) => d.code)).toContain(DetectionCode.RECEIPT_WITHOUT_SHIPMENT);
    expect(replay.detections).toEqual(service.detections);
  });

  test('a replay judges a recall as of the day each event was recorded', () => {
    const service = new Service();
    service.capture(C, '2026-05-01');
    service.capture(ship('s', [PACK1], MAKER, WHOLESALER), '2026-05-10');
    service.recall('2026-05-15T00:00:00.000Z', 'id-recall');
    expect(service.capture(receive('r', [PACK1], WHOLESALER), '2026-05-20').map((d) => d.code)).toEqual([
      DetectionCode.RECALLED,
    ]);
    expect(replayUnits(service.entries, service.lots).detections.map((d) => d.code)).toEqual([DetectionCode.RECALLED]);
  });

  test('withdrawing a mistaken decommissioning clears the finding it caused', () => {
    const service = given([C, decommission('d', [PACK1], MAKER, 'destroyed')]);
    expect(service.capture(ship('s', [PACK1], MAKER, WHOLESALER)).map((d) => d.code)).toEqual([
      DetectionCode.AFTER_DECOMMISSION,
    ]);

    const scope = withdrawalScope(hash('d'), service.units);
    expect(scope).toEqual({ epcs: [PACK1], eventHashes: [hash('d'), hash('c'), hash('s')] });
    const out = withdrawEvent({
      units: service.units,
      entries: service.entries.filter((e) => 'eventHash' in e && scope.eventHashes.includes(e.eventHash)),
      eventHash: hash('d'),
      lots: service.lots,
    });
    expect(out.detections).toEqual([]);
    expect(out.removed).toEqual([]);
    expect(out.units.get(PACK1)).toMatchObject({ status: 'in-transit', suspect: false });
    expect(out.units.get(PACK1)?.history.map((h) => h.eventHash)).toEqual([hash('c'), hash('s')]);
  });

  test('withdrawing a receipt through the case puts every pack back in transit', () => {
    const service = given([
      C3,
      pack('p', CASE1, [PACK1, PACK2, PACK3]),
      ship('s', [CASE1], MAKER, WHOLESALER, WHOLESALER),
      receive('r', [CASE1], WHOLESALER),
    ]);
    const scope = withdrawalScope(hash('r'), service.units);
    expect(new Set(scope.epcs)).toEqual(new Set([CASE1, PACK1, PACK2, PACK3]));
    const declaration: CustodyEvent = {
      ...receive('r', [CASE1], WHOLESALER),
      eventId: 'id-decl',
      errorDeclaration: {
        declarationTime: '2026-05-03T00:00:00Z',
        reason: 'incorrect_data',
        correctiveEventHashes: [],
      },
    };
    const { units } = replayUnits([...service.entries, declaration], service.lots);
    for (const epc of [CASE1, PACK1, PACK2, PACK3]) {
      expect(units.get(epc)).toMatchObject({ status: 'in-transit', holder: MAKER, owner: MAKER });
      expect(units.get(epc)?.pendingShipment?.eventHash).toBe(hash('s'));
    }
  });

  test('replaying transformations and associations rebuilds the live state', () => {
    const service = given([
      C3,
      associate('a', 'ADD', [PACK3]),
      transform('t', [PACK1, PACK2], [OUT1, OUT2]),
      transform('t2', [PACK1], [OUT2], { recorder: STRANGER }),
    ]);
    expect(service.detections.map(brief)).toEqual([
      [DetectionCode.AFTER_DECOMMISSION, PACK1, evidence('t2', 't')],
      [DetectionCode.DUPLICATE_COMMISSION, OUT2, evidence('t2', 't')],
    ]);
    const replay = replayUnits(service.entries, new Map());
    expect(replay.units).toEqual(service.units);
    expect(replay.detections).toEqual(service.detections);
  });

  test('withdrawing a transformation puts its inputs back and removes its outputs and what was done to them', () => {
    const service = given([C3, transform('t', [PACK1, PACK2], [OUT1, OUT2]), ship('s', [OUT1], MAKER, WHOLESALER)]);
    const scope = withdrawalScope(hash('t'), service.units);
    // PACK3 shares the commissioning with the inputs: the replay starts from every unit of every linked event.
    expect(new Set(scope.epcs)).toEqual(new Set([PACK1, PACK2, PACK3, OUT1, OUT2]));
    expect(new Set(scope.eventHashes)).toEqual(new Set([hash('t'), hash('c3'), hash('s')]));
    const scoped = new Map(scope.epcs.map((epc) => [epc, service.unit(epc)] as const));
    const out = withdrawEvent({
      units: scoped,
      entries: service.entries.filter((e) => 'eventHash' in e && scope.eventHashes.includes(e.eventHash)),
      eventHash: hash('t'),
      lots: service.lots,
    });
    expect(out.removed.sort()).toEqual([OUT1, OUT2].sort());
    for (const epc of [PACK1, PACK2]) {
      expect(out.units.get(epc)).toMatchObject({ status: 'commissioned', suspect: false });
      expect(out.units.get(epc)).not.toHaveProperty('decommissionedAs');
      expect(out.units.get(epc)?.history.map((h) => h.eventHash)).toEqual([hash('c3')]);
    }
    // The shipping of a pack that, without the transformation, never existed is what the corrected history shows.
    expect(out.detections.map(brief)).toEqual([[DetectionCode.UNKNOWN_SERIAL, OUT1, evidence('s')]]);
  });

  test('withdrawing an association takes the asset off the unit', () => {
    const service = given([C, associate('a', 'ADD', [PACK1])]);
    const out = withdrawEvent({
      units: service.units,
      entries: service.entries,
      eventHash: hash('a'),
      lots: service.lots,
    });
    expect(out.units.get(PACK1)).not.toHaveProperty('associations');
    expect(out.units.get(PACK1)?.history.map((h) => h.eventHash)).toEqual([hash('c')]);
  });

  test('withdrawing the only commissioning of a serial removes the unit', () => {
    const service = given([C]);
    const out = withdrawEvent({
      units: service.units,
      entries: service.entries,
      eventHash: hash('c'),
      lots: service.lots,
    });
    expect(out.removed).toEqual([PACK1]);
    expect(out.units.size).toBe(0);
  });

  test('a replay keeps the reverts the service decided', () => {
    const service = given([C, decommission('d', [PACK1], MAKER, 'inactive', { location: MAKER })]);
    const entries: CustodyEntry[] = [
      ...service.entries,
      { type: 'DecommissionReverted', epc: PACK1, at: TODAY, eventId: 'id-revert', by: MAKER, location: MAKER },
    ];
    expect(replayUnits(entries, service.lots).units.get(PACK1)?.status).toBe('commissioned');
    expect(
      applyUnitAction(service.unit(PACK1), { type: 'UnitQuarantined', epc: PACK1, at: TODAY, eventId: 'q' }),
    ).toMatchObject({ quarantined: true, quarantine: { eventId: 'q' } });
  });
});
