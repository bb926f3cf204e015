import { describeData, referencesIn, timeSpan } from './requested-data';

describe('what consent data criteria compare with', () => {
  test.each<[string, string, string]>([
    ['2015', '2015-01-01T00:00:00.000Z', '2016-01-01T00:00:00.000Z'],
    ['2015-02', '2015-02-01T00:00:00.000Z', '2015-03-01T00:00:00.000Z'],
    ['2015-12-31', '2015-12-31T00:00:00.000Z', '2016-01-01T00:00:00.000Z'],
    ['2015-02-07T13:28:17+01:00', '2015-02-07T12:28:17.000Z', '2015-02-07T12:28:17.001Z'],
  ])('%s covers [%s, %s)', (value, start, end) => {
    expect(timeSpan(value)).toEqual({ start: Date.parse(start), end: Date.parse(end) });
  });

  it('finds every local reference, not contained, absolute or logical ones', () => {
    expect(
      referencesIn({
        subject: { reference: 'Patient/p1' },
        basedOn: [{ reference: 'ServiceRequest/sr-1' }],
        performer: [{ reference: '#contained' }, { reference: 'https://elsewhere/Practitioner/1' }],
        hasMember: [{ reference: 'Observation/o2' }, { identifier: { value: 'x' } }],
        contained: [{ resourceType: 'Practitioner', id: 'c', managingOrganization: { reference: 'Organization/o' } }],
      }).sort(),
    ).toEqual(['Observation/o2', 'Patient/p1', 'ServiceRequest/sr-1']);
  });

  it("dates an Observation by its effective time, at that time's precision", () => {
    const described = describeData(
      { resourceType: 'Observation', status: 'final', effectiveDateTime: '2015-01' },
      'o1',
      '2026-11-24T12:00:00Z',
    );
    expect(described).toMatchObject({
      reference: 'Observation/o1',
      span: { start: Date.parse('2015-01-01'), end: Date.parse('2015-02-01') },
    });
  });

  test.each<[string, Record<string, unknown>, string, string]>([
    [
      'an Encounter by its period',
      { resourceType: 'Encounter', period: { start: '2026-11-02', end: '2026-11-04' } },
      '2026-11-02',
      '2026-11-05',
    ],
    [
      'an Immunization by its occurrence',
      { resourceType: 'Immunization', occurrenceDateTime: '2026-11' },
      '2026-11-01',
      '2026-12-01',
    ],
    [
      'a MedicationRequest by when it was authored',
      { resourceType: 'MedicationRequest', authoredOn: '2026' },
      '2026-01-01',
      '2027-01-01',
    ],
    [
      'a Procedure by when it was performed',
      { resourceType: 'Procedure', performedDateTime: '2026-11-02' },
      '2026-11-02',
      '2026-11-03',
    ],
    [
      'a Provenance by when it was recorded',
      { resourceType: 'Provenance', recorded: '2026-11-02T10:00:00Z' },
      '2026-11-02T10:00:00Z',
      '2026-11-02T10:00:00.001Z',
    ],
    [
      'a Device, which has no clinical time, by meta.lastUpdated',
      { resourceType: 'Device' },
      '2026-11-24T12:00:00Z',
      '2026-11-24T12:00:00.001Z',
    ],
  ])('dates %s', (_what, resource, start, end) => {
    const described = describeData(resource as { resourceType: string }, 'x1', '2026-11-24T12:00:00Z');
    expect(described.span).toEqual({ start: Date.parse(start), end: Date.parse(end) });
  });

  it('spans a Condition from its onset to its recording', () => {
    const described = describeData(
      { resourceType: 'Condition', onsetDateTime: '2010-05-01', recordedDate: '2015-03-02' },
      'c1',
      '2026-11-24T12:00:00Z',
    );
    expect(described.span).toEqual({ start: Date.parse('2010-05-01'), end: Date.parse('2015-03-03') });
  });

  it('reaches on from an onset with no end (a condition still going)', () => {
    const described = describeData(
      { resourceType: 'Condition', onsetPeriod: { start: '2010-05-01' } },
      'c2',
      '2026-11-24T12:00:00Z',
    );
    expect(described.span).toEqual({ start: Date.parse('2010-05-01'), end: Infinity });
  });

  it('dates a resource without a clinical time (a Patient) by when records stored it', () => {
    const described = describeData({ resourceType: 'Patient', birthDate: '1980-02-29' }, 'p1', '2026-11-24T12:00:00Z');
    expect(described.span).toEqual({
      start: Date.parse('2026-11-24T12:00:00Z'),
      end: Date.parse('2026-11-24T12:00:00Z') + 1,
    });
  });
});
