import {
  eventually,
  startSealedService,
  testAuth,
  uniqueSuffix,
  type SealedService,
  type RunningService,
} from '@medledger/testing';
import { SupplyModule } from '../src/app.module';
import { formatSglnUri, formatSgtinUri, withCheckDigit } from '../src/identifiers/domain';

/**
 * A supply chain through the supply API with the real ledger on real Kafka and PostgreSQL: a maker commissions
 * and packs, a wholesaler ships, a pharmacy receives and dispenses; a copied serial is caught at the pharmacy with
 * its evidence and receipts; a lot is recalled; bad documents are refused per event; a replay is a no-op.
 */
describe('supply: a chain of custody end to end', () => {
  const auth = testAuth('supply');
  let supply: RunningService;
  let sealed: SealedService;

  beforeAll(async () => {
    sealed = await startSealedService('supply', (config, env) => SupplyModule.forRoot(config, { ...env, ...auth.env }));
    supply = sealed.service;
  }, 120_000);

  afterAll(async () => {
    await sealed?.stop();
  });

  // GS1 company prefixes (7 digits) and the parties' GLNs (prefix + location reference + check digit).
  const MAKER_PREFIX = '0614141';
  const gln = (prefix: string, location: string) => withCheckDigit(`${prefix}${location}`);
  const MAKER = gln(MAKER_PREFIX, '00001');
  const WHOLESALER = gln('0712345', '00002');
  const PHARMACY = gln('0812345', '00003');
  const COUNTERFEITER = gln('0912345', '00004');
  const sgln = (party: string) => {
    const uri = formatSglnUri({ gln: party, companyPrefixLength: 7 });
    if (!uri.ok) throw new Error(uri.reason);
    return uri.value;
  };
  const GTIN = withCheckDigit(`0${MAKER_PREFIX}12345`);
  const LOT = `L${uniqueSuffix().slice(0, 6)}`;
  const serials = ['S-1001', 'S-1002', 'S-1003'].map((s) => `${s}-${uniqueSuffix().slice(0, 4)}`);
  const sgtin = (serial: string) => {
    const uri = formatSgtinUri({ gtin: GTIN, serial, companyPrefixLength: 7 });
    if (!uri.ok) throw new Error(uri.reason);
    return uri.value;
  };
  const CASE = `urn:epc:id:sscc:${MAKER_PREFIX}.${String(Date.now()).slice(-10)}`;

  type Party = { gln: string; role: 'manufacturer' | 'wholesaler' | 'dispenser' | 'regulator' };
  const as = (party: Party) =>
    auth.token(`Organization/${party.gln}`, party.role, { org: `Organization/${party.gln}` });
  const M: Party = { gln: MAKER, role: 'manufacturer' };
  const W: Party = { gln: WHOLESALER, role: 'wholesaler' };
  const P: Party = { gln: PHARMACY, role: 'dispenser' };
  const C: Party = { gln: COUNTERFEITER, role: 'dispenser' };
  const REGULATOR = () => auth.token('Organization/fda', 'regulator');

  async function call(token: string, method: string, path: string, body?: unknown) {
    const response = await fetch(supply.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/ld+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }
  let clock = Date.now() - 60 * 60_000;
  const event = (fields: Record<string, unknown>, at: string) => ({
    type: 'ObjectEvent',
    eventTime: new Date((clock += 1000)).toISOString(),
    eventTimeZoneOffset: '+00:00',
    readPoint: { id: sgln(at) },
    bizLocation: { id: sgln(at) },
    ...fields,
  });
  const documentOf = (...events: unknown[]) => ({
    '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: new Date().toISOString(),
    epcisBody: { eventList: events },
  });
  const parties = (list: 'sourceList' | 'destinationList', party: string) => ({
    [list]: [
      { type: 'owning_party', [list === 'sourceList' ? 'source' : 'destination']: sgln(party) },
      { type: 'possessing_party', [list === 'sourceList' ? 'source' : 'destination']: sgln(party) },
    ],
  });
  const capture = async (party: Party, ...events: unknown[]) =>
    call(await as(party), 'POST', '/v1/capture', documentOf(...events));
  const verify = async (serial: string) =>
    (await fetch(`${supply.baseUrl}/v1/verify?gtin=${GTIN}&serial=${encodeURIComponent(serial)}`)).json() as Promise<
      Record<string, unknown>
    >;

  it('tracks packs from maker to patient, catches a copied serial with its evidence, recalls a lot', async () => {
    const commissioning = event(
      {
        epcList: serials.map(sgtin),
        action: 'ADD',
        bizStep: 'commissioning',
        disposition: 'active',
        ilmd: { 'cbvmda:lotNumber': LOT, 'cbvmda:itemExpirationDate': '2029-06-30' },
      },
      MAKER,
    );
    const packing = {
      type: 'AggregationEvent',
      eventTime: new Date((clock += 1000)).toISOString(),
      eventTimeZoneOffset: '+00:00',
      parentID: CASE,
      childEPCs: serials.map(sgtin),
      action: 'ADD',
      bizStep: 'packing',
      disposition: 'in_progress',
      readPoint: { id: sgln(MAKER) },
      bizLocation: { id: sgln(MAKER) },
    };
    const made = await capture(M, commissioning, packing);
    expect(made.status).toBe(201);
    expect(made.body['detections']).toEqual([]);
    // The same document again: every event a no-op answered with the original.
    const again = await capture(M, commissioning, packing);
    expect((again.body['captured'] as Array<{ replay: boolean; eventId: string }>).map((c) => c.replay)).toEqual([
      true,
      true,
    ]);
    expect((again.body['captured'] as Array<{ eventId: string }>)[0]?.eventId).toBe(
      (made.body['captured'] as Array<{ eventId: string }>)[0]?.eventId,
    );

    // Maker ships the case to the wholesaler, who receives it and ships it to the pharmacy.
    const ship = (from: string, to: string) =>
      event(
        {
          epcList: [CASE],
          action: 'OBSERVE',
          bizStep: 'shipping',
          disposition: 'in_transit',
          ...parties('sourceList', from),
          ...parties('destinationList', to),
        },
        from,
      );
    const receive = (from: string, to: string) =>
      event(
        {
          epcList: [CASE],
          action: 'OBSERVE',
          bizStep: 'receiving',
          disposition: 'in_progress',
          ...parties('sourceList', from),
          ...parties('destinationList', to),
        },
        to,
      );
    expect((await capture(M, ship(MAKER, WHOLESALER))).status).toBe(201);
    expect((await capture(W, receive(MAKER, WHOLESALER))).body['detections']).toEqual([]);
    expect((await capture(W, ship(WHOLESALER, PHARMACY))).body['detections']).toEqual([]);
    expect((await capture(P, receive(WHOLESALER, PHARMACY))).body['detections']).toEqual([]);
    expect(await verify(serials[0] as string)).toMatchObject({ verified: true, lot: LOT, expiry: '2029-06-30' });

    // The pharmacy dispenses the first pack; then a copy of its serial turns up there and is dispensed again.
    const dispense = (serial: string) =>
      event({ epcList: [sgtin(serial)], action: 'OBSERVE', bizStep: 'dispensing', disposition: 'dispensed' }, PHARMACY);
    const dispensed = await capture(P, dispense(serials[0] as string));
    expect(dispensed.body['detections']).toEqual([]);
    expect(await verify(serials[0] as string)).toMatchObject({ verified: false, reason: 'SUPPLY.VERIFY.DISPENSED' });
    const copy = await capture(P, dispense(serials[0] as string));
    const [detection] = copy.body['detections'] as Array<{
      code: string;
      detectionId: string;
      evidence: Array<{ eventId: string; role: string }>;
    }>;
    expect(detection?.code).toBe('SUPPLY.DISPENSED_TWICE');
    expect(detection?.evidence.map((e) => e.role)).toEqual(['this', 'conflicting']);
    expect(detection?.evidence[1]?.eventId).toBe(
      (dispensed.body['captured'] as Array<{ eventId: string }>)[0]?.eventId,
    );
    // A counterfeiter commissioning a copied serial, and shipping packs it does not hold: flagged, not refused.
    const forged = await capture(
      C,
      event(
        { epcList: [sgtin(serials[1] as string)], action: 'ADD', bizStep: 'commissioning', disposition: 'active' },
        COUNTERFEITER,
      ),
    );
    expect((forged.body['detections'] as Array<{ code: string }>).map((d) => d.code)).toEqual([
      'SUPPLY.DUPLICATE_COMMISSION',
    ]);

    // Bad input: refused per event with index and JSON pointer; nothing of the document is kept.
    const schema = await call(
      await as(M),
      'POST',
      '/v1/capture',
      documentOf(commissioning, { ...packing, action: 'MOVE' }),
    );
    expect([schema.status, schema.body['code']]).toEqual([400, 'SUPPLY.INVALID_DOCUMENT']);
    const schemaErrors = schema.body['errors'] as Array<{ eventIndex?: number; pointer: string }>;
    expect(schemaErrors.some((e) => e.eventIndex === 1 && e.pointer.startsWith('/epcisBody/eventList/1'))).toBe(true);
    const elsewhere = await capture(
      W,
      event({ epcList: [sgtin(serials[2] as string)], action: 'OBSERVE', bizStep: 'inspecting' }, PHARMACY),
    );
    expect([elsewhere.status, (elsewhere.body['errors'] as Array<{ code: string }>)[0]?.code]).toEqual([
      422,
      'SUPPLY.NOT_YOUR_LOCATION',
    ]);
    const future = await capture(P, {
      ...dispense(serials[2] as string),
      eventTime: new Date(Date.now() + 86_400_000).toISOString(),
    });
    expect((future.body['errors'] as Array<{ code: string }>)[0]?.code).toBe('SUPPLY.EVENT_IN_FUTURE');
    expect(await verify(serials[2] as string)).toMatchObject({ verified: true });
    const unknown = await fetch(`${supply.baseUrl}/v1/verify?gtin=${GTIN}&serial=NOPE`);
    expect(await unknown.json()).toMatchObject({ verified: false, reason: 'SUPPLY.VERIFY.UNKNOWN_SERIAL' });
    const badDigit = await fetch(
      `${supply.baseUrl}/v1/verify?gtin=${GTIN.slice(0, 13)}${(Number(GTIN[13]) + 1) % 10}&serial=x`,
    );
    expect([badDigit.status, ((await badDigit.json()) as { code: string }).code]).toEqual([
      400,
      'SUPPLY.BAD_CHECK_DIGIT',
    ]);

    // The trace: the regulator sees every step with its ledger receipt; a stranger sees nothing.
    const trace = await eventually(
      async () => {
        const body = (
          await call(
            await REGULATOR(),
            'GET',
            `/v1/units/trace?gtin=${GTIN}&serial=${encodeURIComponent(serials[0] as string)}`,
          )
        ).body;
        const steps = body['steps'] as Array<{ receipt: { sealed: boolean } }>;
        return steps.every((s) => s.receipt.sealed) ? body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect((trace['steps'] as Array<{ bizStep: string }>).map((s) => s.bizStep)).toEqual([
      'commissioning',
      'packing',
      'shipping',
      'receiving',
      'shipping',
      'receiving',
      'dispensing',
      'dispensing',
    ]);
    expect((trace['detections'] as Array<{ code: string }>).map((d) => d.code)).toEqual(['SUPPLY.DISPENSED_TWICE']);
    expect(
      (
        await call(
          await as(C),
          'GET',
          `/v1/units/trace?gtin=${GTIN}&serial=${encodeURIComponent(serials[2] as string)}`,
        )
      ).status,
    ).toBe(403);
    const receipt = await call(await REGULATOR(), 'GET', `/v1/events/${detection?.detectionId}/receipt`);
    expect(receipt.status).toBe(200);
    expect((receipt.body['event'] as { type: string }).type).toBe('supply.SuspectProductDetected');

    // Illegitimate product notified within 24 hours; then the lot is recalled by its maker (not by another party).
    const notified = await call(await as(P), 'POST', '/v1/notifications', {
      gtin: GTIN,
      lot: LOT,
      detectionIds: [detection?.detectionId],
    });
    expect(notified.status).toBe(201);
    expect(Date.parse(String(notified.body['deadline'])) - Date.parse(String(notified.body['determinedAt']))).toBe(
      86_400_000,
    );
    expect((await call(await as(W), 'POST', `/v1/lots/${GTIN}/${LOT}/recall`, { reason: 'sterility' })).status).toBe(
      403,
    );
    expect((await call(await as(M), 'POST', `/v1/lots/${GTIN}/${LOT}/recall`, { reason: 'sterility' })).status).toBe(
      201,
    );
    expect(await verify(serials[2] as string)).toMatchObject({ verified: false, reason: 'SUPPLY.VERIFY.RECALLED' });
    const lotTrace = await call(await REGULATOR(), 'GET', `/v1/lots/${GTIN}/${LOT}/trace`);
    expect(lotTrace.status).toBe(200);
    expect(lotTrace.body).toMatchObject({ gtin: GTIN, lot: LOT });
    expect(Date.parse(String((lotTrace.body['recalled'] as { at?: string } | null)?.at))).not.toBeNaN();
    // A lot or GTIN that is no GS1 key is refused before any query (a NUL reached PostgreSQL and answered 500);
    // a NUL in any URL is refused by the platform before the route.
    const notCset82 = await call(await REGULATOR(), 'GET', `/v1/lots/${GTIN}/${encodeURIComponent('L 1')}/trace`);
    expect([notCset82.status, notCset82.body['code']]).toEqual([400, 'SUPPLY.BAD_LOT']);
    const nul = await call(await REGULATOR(), 'GET', `/v1/lots/${GTIN}/${encodeURIComponent('L\u0000')}/trace`);
    expect([nul.status, nul.body['code']]).toEqual([400, 'HTTP.NUL_IN_URL']);
    const wrongCheckDigit = `${GTIN.slice(0, -1)}${(Number(GTIN.slice(-1)) + 1) % 10}`;
    const badGtin = await call(await as(M), 'POST', `/v1/lots/${wrongCheckDigit}/${LOT}/recall`, { reason: 'x' });
    expect([badGtin.status, badGtin.body['code']]).toEqual([400, 'SUPPLY.BAD_CHECK_DIGIT']);
    const afterRecall = await capture(P, dispense(serials[2] as string));
    expect((afterRecall.body['detections'] as Array<{ code: string }>).map((d) => d.code)).toContain('SUPPLY.RECALLED');

    // A mistaken destruction corrected by an error declaration: the event is withdrawn from custody, anchored.
    const spare = `S-9-${uniqueSuffix().slice(0, 4)}`;
    const commissionSpare = event(
      {
        epcList: [sgtin(spare)],
        action: 'ADD',
        bizStep: 'commissioning',
        disposition: 'active',
        ilmd: { 'cbvmda:lotNumber': `${LOT}B`, 'cbvmda:itemExpirationDate': '2029-06-30' },
      },
      MAKER,
    );
    const destroy = event(
      { epcList: [sgtin(spare)], action: 'DELETE', bizStep: 'destroying', disposition: 'destroyed' },
      MAKER,
    );
    expect((await capture(M, commissionSpare, destroy)).status).toBe(201);
    expect(await verify(spare)).toMatchObject({ verified: false, reason: 'SUPPLY.VERIFY.DECOMMISSIONED' });
    const declaration = {
      ...destroy,
      errorDeclaration: { declarationTime: new Date().toISOString(), reason: 'incorrect_data' },
    };
    const corrected = await capture(M, declaration);
    expect(corrected.status).toBe(201);
    const [withdrawal] = corrected.body['captured'] as Array<{ eventId: string; withdrawn?: boolean }>;
    expect(withdrawal?.withdrawn).toBe(true);
    expect(await verify(spare)).toMatchObject({ verified: true });
    const anchored = await eventually(
      async () => {
        const r = await call(await REGULATOR(), 'GET', `/v1/events/${withdrawal?.eventId}/receipt`);
        return r.status === 200 ? r.body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300 },
    );
    expect((anchored['event'] as { type: string }).type).toBe('supply.EpcisEventWithdrawn');
    expect((await capture(M, declaration)).body['captured']).toEqual([expect.objectContaining({ replay: true })]);

    // Quarantine by the holder.
    expect((await call(await as(W), 'POST', '/v1/units/quarantine', { gtin: GTIN, serial: serials[1] })).status).toBe(
      403,
    );
    expect((await call(await as(P), 'POST', '/v1/units/quarantine', { gtin: GTIN, serial: serials[1] })).status).toBe(
      201,
    );
  }, 180_000);
});
