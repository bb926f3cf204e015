import { ABSENT, decide, evolve, ResourceErrorCode, resourceStreamId, type ResourceEvent } from './resource';

const commitments = { commit: () => ({ salt: 'c2FsdA==', commitment: 'Y29tbWl0bWVudA==' }) };
const NOW = '2026-11-24T10:00:00.000Z';
const obs = { resourceType: 'Observation', status: 'final', meta: { versionId: '9' }, id: 'client-chosen' };
const create = { kind: 'Create', resourceType: 'Observation', id: 'o1', patientId: 'p1', resource: obs } as const;

function run(events: ResourceEvent[]) {
  return events.reduce(evolve, ABSENT);
}

describe('a resource aggregate', () => {
  it('creates version 1 with the server id, without the client meta', () => {
    const events = decide(create, ABSENT, NOW, commitments) as ResourceEvent[];
    expect(events).toEqual([
      {
        type: 'ResourceCreated',
        data: {
          resourceType: 'Observation',
          id: 'o1',
          patientId: 'p1',
          resource: { resourceType: 'Observation', status: 'final', id: 'o1' },
          salt: 'c2FsdA==',
          commitment: 'Y29tbWl0bWVudA==',
          at: NOW,
        },
      },
    ]);
    expect(run(events)).toMatchObject({ status: 'present', version: 1, patientId: 'p1', lastUpdated: NOW });
  });

  it('refuses a second create, an update of nothing, a stale If-Match and a move to another record', () => {
    const state = run(decide(create, ABSENT, NOW, commitments) as ResourceEvent[]);
    expect(decide(create, state, NOW, commitments)).toMatchObject({ code: ResourceErrorCode.ALREADY_EXISTS });
    const update = { ...create, kind: 'Update' } as const;
    expect(decide(update, ABSENT, NOW, commitments)).toMatchObject({ code: ResourceErrorCode.NOT_FOUND });
    expect(decide({ ...update, ifMatchVersion: 2 }, state, NOW, commitments)).toMatchObject({
      code: ResourceErrorCode.VERSION_MISMATCH,
    });
    expect(decide({ ...update, patientId: 'p2' }, state, NOW, commitments)).toMatchObject({
      code: ResourceErrorCode.PATIENT_CHANGED,
    });
    const next = run([
      ...(decide(create, ABSENT, NOW, commitments) as ResourceEvent[]),
      ...(decide({ ...update, ifMatchVersion: 1 }, state, NOW, commitments) as ResourceEvent[]),
    ]);
    expect(next).toMatchObject({ status: 'present', version: 2 });
  });

  it('still reads the Patient events written before every type shared this aggregate', () => {
    const legacy: ResourceEvent = {
      type: 'PatientRegistered',
      data: { patientId: 'p1', resource: { resourceType: 'Patient', id: 'p1' }, salt: 's', commitment: 'c', at: NOW },
    };
    expect(run([legacy])).toMatchObject({ status: 'present', resourceType: 'Patient', id: 'p1', patientId: 'p1' });
  });

  it("keeps every resource in its patient's streams (their key encrypts it)", () => {
    expect(resourceStreamId('Patient', 'p1', 'p1')).toBe('Patient-p1');
    expect(resourceStreamId('Consent', 'c1', 'p1')).toBe('Patient-p1/Consent-c1');
  });
});
