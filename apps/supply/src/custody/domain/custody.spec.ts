import {
  applyCustodyEvent,
  applyUnitAction,
  CustodyRefusalCode,
  DetectionCode,
  lotKey,
  lotsTouched,
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
