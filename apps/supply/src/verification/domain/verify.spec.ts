import { applyCustodyEvent, type CustodyEvent, type UnitState } from '../../custody/domain/custody';
import { VerifyReason, verifyPack } from './verify';

const MAKER = '4012345000009';
const GTIN = '04012345123456';
const NEW_GTIN = '04012345543216';
const PACK = 'urn:epc:id:sgtin:4012345.012345.S1';
const NEW_PACK = 'urn:epc:id:sgtin:4012345.054321.R1';
const TODAY = '2026-06-01';

const base = { recorder: MAKER, eventTime: '2026-05-01T10:00:00.000Z', location: MAKER };
const commissioning: CustodyEvent = {
  ...base,
  eventHash: 'ni:///sha-256;c?ver=CBV2.0',
  eventId: 'id-c',
  type: 'ObjectEvent',
  action: 'ADD',
  bizStep: 'commissioning',
  epcs: [PACK],
  lot: 'L1',
  expiry: '2027-12-31',
};
const repackaging: CustodyEvent = {
  ...base,
  eventHash: 'ni:///sha-256;t?ver=CBV2.0',
  eventId: 'id-t',
  type: 'TransformationEvent',
  bizStep: 'repackaging',
  eventTime: '2026-05-20T10:00:00.000Z',
  epcs: [PACK],
  outputs: [NEW_PACK],
  lot: 'R1',
  expiry: '2027-06-30',
};

function after(...events: CustodyEvent[]): Map<string, UnitState> {
  let units = new Map<string, UnitState>();
  for (const event of events) units = applyCustodyEvent({ event, units, lots: new Map(), today: TODAY }).units;
  return units;
}

describe('verification after a transformation', () => {
  const units = after(commissioning, repackaging);

  it('an input pack answers decommissioned, and says it was consumed by a transformation', () => {
    const answer = verifyPack({ gtin: GTIN, serial: 'S1' }, units.get(PACK), undefined, TODAY);
    expect(answer).toMatchObject({ verified: false, reason: VerifyReason.DECOMMISSIONED, status: 'decommissioned' });
    expect(answer.message).toBe(
      'consumed by a transformation (repackaging, relabelling, kitting or compounding) on 2026-05-20T10:00:00.000Z',
    );
  });

  it('an output pack is verified with the lot and expiry the transformation gave it', () => {
    const query = { gtin: NEW_GTIN, serial: 'R1', lot: 'R1', expiry: '2027-06-30' };
    expect(verifyPack(query, units.get(NEW_PACK), undefined, TODAY)).toMatchObject({
      verified: true,
      lot: 'R1',
      expiry: '2027-06-30',
      status: 'commissioned',
    });
    // The input's lot on the new pack is a mismatch: the output is its own product.
    expect(verifyPack({ ...query, lot: 'L1' }, units.get(NEW_PACK), undefined, TODAY)).toMatchObject({
      verified: false,
      reason: VerifyReason.LOT_MISMATCH,
    });
  });

  it('a pack decommissioned otherwise keeps its disposition in the answer', () => {
    const destroyed = after(commissioning, {
      ...base,
      eventHash: 'ni:///sha-256;d?ver=CBV2.0',
      eventId: 'id-d',
      type: 'ObjectEvent',
      action: 'DELETE',
      bizStep: 'destroying',
      disposition: 'destroyed',
      epcs: [PACK],
    });
    expect(verifyPack({ gtin: GTIN, serial: 'S1' }, destroyed.get(PACK), undefined, TODAY).message).toBe(
      'decommissioned (destroyed) on 2026-05-01T10:00:00.000Z',
    );
  });
});
