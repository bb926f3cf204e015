import { CloudEvent } from 'cloudevents';
import { DiagnosticsMessage, type PingAnswered, type PingSent } from '../diagnostics';
import { z } from 'zod';
import { BlockSealedMessage, UnsignedEnvelope, type BlockSealedData } from '../envelope';
import { blockSealedEnvelope, diagnosticsEnvelope } from './messages';
import { CatalogueFailure, createEnvelope, EVENT_CATALOGUE, EventCatalogue } from './catalogue';
import { dataschemaOf, defineEvent, parseDataschema } from './define';

/** A fixture catalogue with a breaking change (v1 → v2 renames a field, v3 splits another): the upcaster path. */
const v1 = defineEvent({
  type: 'trials.ParticipantEnrolled',
  version: 1,
  topic: 'test.trials.events',
  producer: 'trials',
  consumers: ['ledger'],
  envelope: 'cloudevents',
  description: 'fixture v1',
  schema: z.object({ participant: z.string(), arm: z.string() }),
  example: { participant: 'p-1', arm: 'A' },
});
const v2 = defineEvent({
  type: 'trials.ParticipantEnrolled',
  version: 2,
  topic: 'test.trials.events',
  producer: 'trials',
  consumers: ['ledger'],
  envelope: 'cloudevents',
  description: 'fixture v2: participant → participantId',
  schema: z.object({ participantId: z.string(), arm: z.string() }),
  example: { participantId: 'p-1', arm: 'A' },
  upcast: (previous) => {
    const { participant, ...rest } = previous as { participant: string; arm: string };
    return { participantId: participant, ...rest };
  },
});
const v3 = defineEvent({
  type: 'trials.ParticipantEnrolled',
  version: 3,
  topic: 'test.trials.events',
  producer: 'trials',
  consumers: ['ledger'],
  envelope: 'cloudevents',
  description: 'fixture v3: arm → armId + blinded',
  schema: z.object({ participantId: z.string(), armId: z.string(), blinded: z.boolean() }),
  example: { participantId: 'p-1', armId: 'A', blinded: true },
  upcast: (previous) => {
    const { arm, ...rest } = previous as { participantId: string; arm: string };
    return { ...rest, armId: arm, blinded: true };
  },
});
const fixture = new EventCatalogue([v1, v2, v3]);

describe('event catalogue', () => {
  it('upcasts every kept version step by step to the latest', () => {
    for (const definition of [v1, v2, v3]) {
      const parsed = fixture.parseData(
        definition.type,
        dataschemaOf(definition.type, definition.version),
        definition.example,
      );
      expect(parsed).toEqual({
        ok: true,
        type: definition.type,
        version: 3,
        fromVersion: definition.version,
        data: v3.example,
      });
    }
  });

  it('reads data without dataschema as version 1', () => {
    expect(fixture.parseData(v1.type, undefined, v1.example)).toMatchObject({ ok: true, fromVersion: 1 });
  });

  test.each([
    ['an unknown type', 'trials.Nothing', undefined, {}, CatalogueFailure.UNKNOWN_EVENT_TYPE],
    ['an unknown version', v1.type, dataschemaOf(v1.type, 9), v1.example, CatalogueFailure.UNKNOWN_EVENT_VERSION],
    [
      'a dataschema of another type',
      v1.type,
      dataschemaOf('records.PatientRegistered', 1),
      v1.example,
      CatalogueFailure.UNKNOWN_EVENT_VERSION,
    ],
    ['a garbage dataschema', v1.type, 'https://example.org/schema', v1.example, CatalogueFailure.UNKNOWN_EVENT_VERSION],
    ['data of the wrong version', v1.type, dataschemaOf(v1.type, 1), v2.example, CatalogueFailure.SCHEMA_MISMATCH],
    ['not an object', v1.type, dataschemaOf(v1.type, 2), 'text', CatalogueFailure.SCHEMA_MISMATCH],
  ])('refuses %s with a stable code', (_name, type, dataschema, data, code) => {
    expect(fixture.parseData(type, dataschema, data)).toMatchObject({ ok: false, code });
  });

  it('refuses a version without upcaster, and a gap in the versions', () => {
    expect(() => defineEvent({ ...v2, upcast: undefined })).toThrow(/upcaster/);
    expect(() => new EventCatalogue([v1, v3])).toThrow(/version 2 is missing/);
    expect(() => defineEvent({ ...v1, example: { participant: 1 } as never })).toThrow(/example/);
  });

  it('round-trips dataschema', () => {
    expect(parseDataschema(dataschemaOf('records.PatientRegistered', 12))).toEqual({
      type: 'records.PatientRegistered',
      version: 12,
    });
  });
});

describe('createEnvelope', () => {
  const input = {
    type: 'records.PatientRegistered',
    id: '0c9b1f0e-8d62-4a59-9f3c-3c2b7e1d9a01',
    time: '2026-11-24T10:00:00.000Z',
    subject: '7N5_cthSMeR8o-AMHqqfFA',
    aggregateId: '7N5_cthSMeR8o-AMHqqfFA',
    aggregateVersion: 1,
    data: EVENT_CATALOGUE.latest('records.PatientRegistered')?.example as Record<string, unknown>,
  };

  it('builds a CloudEvents 1.0 envelope at the latest version', () => {
    const envelope = createEnvelope(input);
    expect(UnsignedEnvelope.safeParse(envelope).success).toBe(true);
    expect(envelope).toMatchObject({
      specversion: '1.0',
      source: '/medledger/records',
      dataschema: 'urn:medledger:event:records.PatientRegistered:2',
      datacontenttype: 'application/json',
      aggregateid: input.aggregateId,
      aggregateversion: 1,
    });
    expect('correlationid' in envelope).toBe(false);
  });

  it('refuses data that does not match the schema, unknown types and invalid attributes', () => {
    expect(() => createEnvelope({ ...input, data: { patientId: 'x' } })).toThrow(/SCHEMA_MISMATCH/);
    expect(() => createEnvelope({ ...input, type: 'records.Nothing' })).toThrow(/UNKNOWN_EVENT_TYPE/);
    expect(() => createEnvelope({ ...input, id: '' })).toThrow();
    expect(() => createEnvelope({ ...input, time: 'yesterday' })).toThrow();
    const plain = defineEvent({ ...v1, type: 'trials.LegacyNoticed', envelope: 'plain' });
    expect(() =>
      createEnvelope({ ...input, type: plain.type, data: plain.example }, new EventCatalogue([plain])),
    ).toThrow(/not a CloudEvents event/);
  });
});

describe('records v2: pseudonyms instead of ids (ADR 0013)', () => {
  const records = EVENT_CATALOGUE.types().filter((type) => type.startsWith('records.'));

  it.each(records)('%s v1 reads as v2, with the clear ids v1 published in the pseudonym fields', (type) => {
    const v1 = EVENT_CATALOGUE.get(type, 1)?.example as Record<string, unknown>;
    const parsed = EVENT_CATALOGUE.parseData(type, dataschemaOf(type, 1), v1);
    expect(parsed).toMatchObject({ ok: true, version: 2, fromVersion: 1 });
    const data = (parsed as { data: Record<string, unknown> }).data;
    expect(data['patient']).toBe(v1['patientId']);
    expect('patientId' in data || 'resourceId' in data).toBe(false);
    if ('resourceId' in v1) expect(data['resource']).toBe(v1['resourceId']);
  });

  it.each(records)('%s v2 carries no uuid but its own event-only id, and no FHIR reference', (type) => {
    const example = JSON.stringify(EVENT_CATALOGUE.get(type, 2)?.example);
    const uuids = example.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [];
    expect(uuids.length).toBeLessThanOrEqual(1); // auditEventId or grantId: one event each
    expect(example).not.toMatch(/(Patient|Practitioner|Organization)\//);
  });

  it('refuses a pseudonym of another shape', () => {
    const example = EVENT_CATALOGUE.get('records.PatientRegistered', 2)?.example as Record<string, unknown>;
    const dataschema = dataschemaOf('records.PatientRegistered', 2);
    for (const patient of ['7N5_cthSMeR8o-AMHqqfF', '7N5_cthSMeR8o-AMHqqfFA=', '7N5+cthSMeR8o-AMHqqfFA', 'Patient/x'])
      expect(EVENT_CATALOGUE.parseData('records.PatientRegistered', dataschema, { ...example, patient })).toMatchObject(
        {
          ok: false,
          code: CatalogueFailure.SCHEMA_MISMATCH,
        },
      );
  });
});

describe('ledger.BlockSealed', () => {
  const data = EVENT_CATALOGUE.latest('ledger.BlockSealed')?.example as BlockSealedData;

  it('v2 is a CloudEvents envelope with the catalogue dataschema, derived id, and the block as data', () => {
    const envelope = blockSealedEnvelope(data, 'medledger.local/ledger', '2026-11-24T10:00:00.000Z');
    expect(() => new CloudEvent(envelope, true)).not.toThrow();
    expect(envelope.dataschema).toBe(dataschemaOf('ledger.BlockSealed', 2));
    expect(envelope).toMatchObject({ id: 'block-12-496aca80e4d8f29f', aggregateversion: 12, data });
    expect(blockSealedEnvelope(data, 'medledger.local/ledger', '2026-11-24T10:00:09.000Z').id).toBe(envelope.id);
  });

  it('reads both versions from the topic as the same data', () => {
    const v2 = blockSealedEnvelope(data, 'medledger.local/ledger', '2026-11-24T10:00:00.000Z');
    const v1 = EVENT_CATALOGUE.get('ledger.BlockSealed', 1)?.example;
    expect(BlockSealedMessage.parse(JSON.parse(JSON.stringify(v2)))).toEqual(data);
    expect(BlockSealedMessage.parse(v1)).toEqual(data);
    expect(BlockSealedMessage.safeParse({ ...v2, dataschema: dataschemaOf('ledger.BlockSealed', 1) }).success).toBe(
      false,
    );
  });
});

describe('diagnostics', () => {
  it('v2 envelopes carry the catalogue dataschema and read back as the event; v1 bare messages still read', () => {
    const ping = {
      type: 'diagnostics.PingSent' as const,
      ...(EVENT_CATALOGUE.get('diagnostics.PingSent', 2)?.example as object),
    } as PingSent;
    const envelope = diagnosticsEnvelope(ping, 'trials', '5b0c7a4e-2f1d-4e7a-9c3b-1a2b3c4d5e6f');
    expect(() => new CloudEvent(envelope, true)).not.toThrow();
    expect(envelope).toMatchObject({
      source: '/medledger/trials',
      dataschema: dataschemaOf('diagnostics.PingSent', 2),
    });
    const answer = {
      type: 'diagnostics.PingAnswered' as const,
      ...(EVENT_CATALOGUE.get('diagnostics.PingAnswered', 2)?.example as object),
    } as PingAnswered;
    expect(diagnosticsEnvelope(answer, 'ledger', '6b0c7a4e-2f1d-4e7a-9c3b-1a2b3c4d5e6f').dataschema).toBe(
      dataschemaOf('diagnostics.PingAnswered', 2),
    );
    expect(DiagnosticsMessage.parse(JSON.parse(JSON.stringify(envelope)))).toEqual(ping);
    expect(DiagnosticsMessage.parse(EVENT_CATALOGUE.get('diagnostics.PingSent', 1)?.example)).toEqual(ping);
  });
});
