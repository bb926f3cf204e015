import { PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import {
  eventually,
  jsonOf,
  recordTopics,
  startService,
  testAuth,
  uniqueSuffix,
  type RunningService,
  type TopicRecorder,
} from '@medledger/testing';
import { SupplyModule } from '../src/app.module';
import { formatSglnUri, formatSgtinUri, withCheckDigit } from '../src/identifiers/domain';

type Json = Record<string, unknown>;

/**
 * TransformationEvent and AssociationEvent through POST /v1/capture, on real Kafka and PostgreSQL: a maker
 * repackages packs into new ones (the inputs answer decommissioned, the outputs verified, an output's trace names
 * what it was made from), an error declaration undoes the repackaging, a data logger (GIAI) is associated with a
 * pack and shows in its trace; what goes public about them carries no serial, party, location or asset.
 */
describe('supply: repackaging and associations through the API', () => {
  const auth = testAuth('supply');
  let supply: RunningService;
  let published: TopicRecorder;

  beforeAll(async () => {
    supply = await startService('supply', (config) =>
      SupplyModule.forRoot(config, { KEYS_DIR: `.data/test-keys/${uniqueSuffix()}`, ...auth.env }),
    );
    published = await recordTopics([PUBLIC_EVENT_TOPICS.supply]);
  }, 60_000);

  afterAll(async () => {
    await published?.stop();
    await supply?.close();
  });

  const PREFIX = '0614141';
  const MAKER = withCheckDigit(`${PREFIX}00001`);
  const STRANGER = withCheckDigit('091234500004');
  const GTIN = withCheckDigit(`0${PREFIX}33333`);
  const NEW_GTIN = withCheckDigit(`0${PREFIX}44444`);
  const run = uniqueSuffix().slice(0, 6);
  const LOT = `L${run}`;
  const NEW_LOT = `R${run}`;
  const ok = <T>(parsed: { ok: true; value: T } | { ok: false; reason: string }): T => {
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.value;
  };
  const sgtin = (gtin: string, serial: string) => ok(formatSgtinUri({ gtin, serial, companyPrefixLength: 7 }));
  const site = (gln: string) => ok(formatSglnUri({ gln, companyPrefixLength: 7 }));

  const as = (gln: string) => auth.token(`Organization/${gln}`, 'manufacturer', { org: `Organization/${gln}` });
  async function call(gln: string, method: string, path: string, body?: unknown) {
    const response = await fetch(supply.baseUrl + path, {
      method,
      headers: { authorization: `Bearer ${await as(gln)}`, 'content-type': 'application/ld+json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Json };
  }
  let clock = Date.now() - 60 * 60_000;
  const at = (gln: string, fields: Json): Json => ({
    eventTime: new Date((clock += 1000)).toISOString(),
    eventTimeZoneOffset: '+00:00',
    readPoint: { id: site(gln) },
    bizLocation: { id: site(gln) },
    ...fields,
  });
  const capture = (gln: string, ...eventList: Json[]) =>
    call(gln, 'POST', '/v1/capture', {
      '@context': ['https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld'],
      type: 'EPCISDocument',
      schemaVersion: '2.0',
      creationDate: new Date().toISOString(),
      epcisBody: { eventList },
    });
  const commission = (serials: string[]) =>
    at(MAKER, {
      type: 'ObjectEvent',
      epcList: serials.map((s) => sgtin(GTIN, s)),
      action: 'ADD',
      bizStep: 'commissioning',
      disposition: 'active',
      ilmd: { 'cbvmda:lotNumber': LOT, 'cbvmda:itemExpirationDate': '2029-06-30' },
    });
  const verify = async (gtin: string, serial: string) =>
    (
      await fetch(`${supply.baseUrl}/v1/verify?gtin=${gtin}&serial=${encodeURIComponent(serial)}`)
    ).json() as Promise<Json>;
  const trace = async (gtin: string, serial: string) =>
    (await call(MAKER, 'GET', `/v1/units/trace?gtin=${gtin}&serial=${encodeURIComponent(serial)}`)).body;
  const capturedIds = (body: Json) => (body['captured'] as Array<{ eventId: string }>).map((c) => c.eventId);
  /** The public supply.EpcisEventCaptured (or Withdrawn) message of a captured event, as it went out on Kafka. */
  const publicMessage = (eventId: string) =>
    eventually(
      async () =>
        published.messages
          .map((m) => jsonOf(m.message.value) as Json | undefined)
          .find((envelope) => envelope?.['id'] === eventId),
      { timeoutMs: 20_000, intervalMs: 200 },
    );

  const inputs = [`IN-1-${run}`, `IN-2-${run}`];
  const outputs = [`OUT-1-${run}`, `OUT-2-${run}`, `OUT-3-${run}`];
  const TRANSFORMATION_ID = `urn:epc:id:gdti:${PREFIX}.00001.RP${run}`;
  const repackaging = () =>
    at(MAKER, {
      type: 'TransformationEvent',
      inputEPCList: inputs.map((s) => sgtin(GTIN, s)),
      outputEPCList: outputs.map((s) => sgtin(NEW_GTIN, s)),
      transformationID: TRANSFORMATION_ID,
      bizStep: 'repackaging',
      disposition: 'active',
      ilmd: { 'cbvmda:lotNumber': NEW_LOT, 'cbvmda:itemExpirationDate': '2028-12-31' },
    });
  let transformation: Json;
  let transformationEventId: string;

  it('a repackaging consumes its inputs and commissions its outputs; the trace of an output names its inputs', async () => {
    const made = await capture(MAKER, commission(inputs));
    expect([made.status, made.body['detections']]).toEqual([201, []]);
    expect(await verify(GTIN, inputs[0] as string)).toMatchObject({ verified: true });

    transformation = repackaging();
    const repackaged = await capture(MAKER, transformation);
    expect([repackaged.status, repackaged.body['detections']]).toEqual([201, []]);
    [transformationEventId] = capturedIds(repackaged.body) as [string];

    for (const serial of inputs) {
      const answer = await verify(GTIN, serial);
      expect(answer).toMatchObject({
        verified: false,
        reason: 'SUPPLY.VERIFY.DECOMMISSIONED',
        status: 'decommissioned',
        lot: LOT,
      });
      expect(answer['message']).toMatch(/^consumed by a transformation/);
    }
    for (const serial of outputs) {
      expect(await verify(NEW_GTIN, serial)).toMatchObject({
        verified: true,
        status: 'commissioned',
        lot: NEW_LOT,
        expiry: '2028-12-31',
      });
    }

    const output = await trace(NEW_GTIN, outputs[1] as string);
    expect(output).toMatchObject({ owner: MAKER, holder: MAKER, lot: NEW_LOT, status: 'commissioned' });
    const [hash] = (repackaged.body['captured'] as Array<{ eventHash: string }>).map((c) => c.eventHash);
    expect(output['transformedFrom']).toEqual({
      eventHash: hash,
      eventId: transformationEventId,
      transformationId: TRANSFORMATION_ID,
      inputs: inputs.map((s) => sgtin(GTIN, s)),
    });
    expect((output['steps'] as Json[]).map((s) => [s['eventType'], s['bizStep'], s['recorder']])).toEqual([
      ['TransformationEvent', 'repackaging', MAKER],
    ]);
    const input = await trace(GTIN, inputs[0] as string);
    expect(input['decommissionedAs']).toBe('transformed');
    expect((input['steps'] as Json[]).map((s) => s['eventType'])).toEqual(['ObjectEvent', 'TransformationEvent']);

    // Public: the hash, the type, the GTINs of both sides and the outputs' lot; no serial, party, place or ID.
    const envelope = await publicMessage(transformationEventId);
    expect(envelope['type']).toBe('supply.EpcisEventCaptured');
    expect(envelope['data']).toMatchObject({
      eventType: 'TransformationEvent',
      bizStep: 'repackaging',
      gtins: [GTIN, NEW_GTIN],
      lots: [{ gtin: NEW_GTIN, lot: NEW_LOT }],
    });
    const text = JSON.stringify(envelope);
    for (const secret of [...inputs, ...outputs, MAKER, TRANSFORMATION_ID, site(MAKER)])
      expect(text).not.toContain(secret);
  });

  it("flags a second consumption of a consumed pack and a stranger's consumption of a pack it does not hold", async () => {
    const spare = `IN-3-${run}`;
    expect((await capture(MAKER, commission([spare]))).status).toBe(201);
    const again = await capture(
      STRANGER,
      at(STRANGER, {
        type: 'TransformationEvent',
        inputEPCList: [sgtin(GTIN, inputs[0] as string), sgtin(GTIN, spare)],
        outputEPCList: [sgtin(NEW_GTIN, `FAKE-${run}`)],
        bizStep: 'repackaging',
      }),
    );
    expect(again.status).toBe(201);
    expect((again.body['detections'] as Json[]).map((d) => [d['code'], d['epc']])).toEqual([
      ['SUPPLY.AFTER_DECOMMISSION', sgtin(GTIN, inputs[0] as string)],
      ['SUPPLY.TRANSFORMER_NOT_HOLDER', sgtin(GTIN, spare)],
    ]);
    expect(await verify(GTIN, spare)).toMatchObject({ verified: false, reason: 'SUPPLY.VERIFY.DECOMMISSIONED' });
    const [, notHolder] = again.body['detections'] as Array<{ detectionId: string }>;
    const detection = await publicMessage(notHolder?.detectionId as string);
    expect(detection['data']).toMatchObject({ code: 'SUPPLY.TRANSFORMER_NOT_HOLDER', gtin: GTIN });
  });

  it('an AssociationEvent with a GIAI parent is captured and shows in the trace of its child, until DELETE', async () => {
    const pack = `AS-1-${run}`;
    const LOGGER = `urn:epc:id:giai:${PREFIX}.LOGGER-${run}`;
    expect((await capture(MAKER, commission([pack]))).status).toBe(201);
    const association = (action: 'ADD' | 'DELETE') =>
      at(MAKER, {
        type: 'AssociationEvent',
        parentID: LOGGER,
        childEPCs: [sgtin(GTIN, pack)],
        action,
        bizStep: action === 'ADD' ? 'installing' : 'removing',
      });
    const association0 = association('ADD');
    const added = await capture(MAKER, association0);
    expect([added.status, added.body['detections']]).toEqual([201, []]);

    const traced = await trace(GTIN, pack);
    expect(traced).toMatchObject({ status: 'commissioned', owner: MAKER, holder: MAKER });
    const [added0] = added.body['captured'] as Array<{ eventHash: string }>;
    expect(traced['associations']).toEqual([
      { asset: LOGGER, since: association0['eventTime'] as string, eventHash: added0?.eventHash, confirmedAt: null },
    ]);
    expect((traced['steps'] as Json[]).map((s) => [s['eventType'], s['bizStep']])).toEqual([
      ['ObjectEvent', 'commissioning'],
      ['AssociationEvent', 'installing'],
    ]);
    expect(await verify(GTIN, pack)).toMatchObject({ verified: true });
    const envelope = await publicMessage(capturedIds(added.body)[0] as string);
    expect(envelope['data']).toMatchObject({ eventType: 'AssociationEvent', gtins: [GTIN], lots: [] });
    expect(JSON.stringify(envelope)).not.toContain('LOGGER');

    expect((await capture(MAKER, association('DELETE'))).status).toBe(201);
    const after = await trace(GTIN, pack);
    expect(after['associations']).toEqual([]);
    expect((after['steps'] as Json[]).map((s) => s['bizStep'])).toEqual(['commissioning', 'installing', 'removing']);

    // Dissociating everything from the asset is refused: custody needs the packs named.
    const all = await capture(MAKER, { ...association('DELETE'), childEPCs: undefined });
    expect([all.status, (all.body['errors'] as Json[]).map((e) => [e['code'], e['pointer']])]).toEqual([
      422,
      [['SUPPLY.UNSUPPORTED_EVENT', '/epcisBody/eventList/0/childEPCs']],
    ]);
  });

  it('an error declaration withdraws the repackaging: the inputs are active again, the outputs never existed', async () => {
    const declared = await capture(MAKER, {
      ...transformation,
      errorDeclaration: { declarationTime: new Date().toISOString(), reason: 'incorrect_data' },
    });
    expect(declared.status).toBe(201);
    expect((declared.body['captured'] as Json[])[0]).toMatchObject({ withdrawn: true });
    // The first input was consumed again by the stranger's transformation, which still stands; the second is back.
    expect(await verify(GTIN, inputs[1] as string)).toMatchObject({ verified: true, status: 'commissioned' });
    for (const serial of outputs)
      expect(await verify(NEW_GTIN, serial)).toMatchObject({
        verified: false,
        reason: 'SUPPLY.VERIFY.UNKNOWN_SERIAL',
      });
    const input = await trace(GTIN, inputs[1] as string);
    expect(input['decommissionedAs']).toBeNull();
    expect((input['steps'] as Json[]).map((s) => s['eventType'])).toEqual(['ObjectEvent']);
  });
});
