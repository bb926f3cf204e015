import { searchIndex, STORED_TYPES } from '../../fhir/domain';
import { RESOURCE_TYPES } from './resource-types';
import { dateRange, matches, parseSearch, SEARCH_PARAMETERS } from './search-query';

describe('the types served', () => {
  it('are the stored types of the generated tables and Consent, each searchable but Patient', () => {
    // The routes take libs/contracts' list (its events name the type); fhir/domain validates the generated one.
    expect([...RESOURCE_TYPES].sort()).toEqual([...STORED_TYPES, 'Consent'].sort());
    expect(Object.keys(SEARCH_PARAMETERS).sort()).toEqual(RESOURCE_TYPES.filter((t) => t !== 'Patient').sort());
  });

  it('offers the R4 parameters the issue names for the new types', () => {
    expect(SEARCH_PARAMETERS.Encounter).toEqual({ tokens: ['type', 'status'], dates: ['date'] });
    expect(SEARCH_PARAMETERS.Procedure).toEqual({ tokens: ['code', 'status'], dates: ['date'] });
    expect(SEARCH_PARAMETERS.MedicationRequest).toEqual({ tokens: ['code', 'status'], dates: ['authoredon'] });
    expect(SEARCH_PARAMETERS.Immunization).toEqual({ tokens: ['vaccine-code', 'status'], dates: ['date'] });
    expect(SEARCH_PARAMETERS.DiagnosticReport).toEqual({ tokens: ['code', 'status'], dates: ['date'] });
  });
});

const P = '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10';

describe('dateRange (the range a FHIR date stands for, from its precision)', () => {
  test.each([
    ['2013', '2013-01-01T00:00:00.000Z', '2014-01-01T00:00:00.000Z'],
    ['2013-02', '2013-02-01T00:00:00.000Z', '2013-03-01T00:00:00.000Z'],
    ['2013-12-31', '2013-12-31T00:00:00.000Z', '2014-01-01T00:00:00.000Z'],
    ['2013-05-02T10:30Z', '2013-05-02T10:30:00.000Z', '2013-05-02T10:31:00.000Z'],
    ['2013-05-02T10:30:15+02:00', '2013-05-02T08:30:15.000Z', '2013-05-02T08:30:16.000Z'],
    ['2013-05-02T10:30:15.25Z', '2013-05-02T10:30:15.250Z', '2013-05-02T10:30:15.251Z'],
  ])('%s → [%s, %s)', (value, start, end) => {
    const range = dateRange(value);
    expect(range && [new Date(range.start).toISOString(), new Date(range.end).toISOString()]).toEqual([start, end]);
  });

  test.each(['13', '2013-13', '2013-02-30x', 'yesterday', ''])('refuses %j', (value) => {
    expect(dateRange(value)).toBeUndefined();
  });
});

describe('parseSearch', () => {
  test.each<[string, Record<string, unknown>, string]>([
    ['no patient', { code: '1' }, 'patient'],
    ['a malformed patient', { patient: 'Patient/alice' }, 'patient'],
    ['two patients', { patient: P, subject: 'Patient/0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a' }, 'subject'],
    ['an unknown parameter', { patient: P, colour: 'red' }, 'colour'],
    ['an empty code', { patient: P, code: 'http://loinc.org|' }, 'code'],
    ['a malformed date', { patient: P, date: 'ge2013/01/01' }, 'date'],
    ['a parameter of another type', { patient: P, 'onset-date': '2013' }, 'onset-date'],
  ])('refuses %s, naming the parameter', (_name, params, param) => {
    expect(parseSearch('Observation', params)).toMatchObject({ ok: false, param });
  });

  it('refuses a type that is not searchable', () => {
    expect(parseSearch('Patient', { patient: P })).toMatchObject({ ok: false });
  });

  it('reads tokens with and without a system, repeated parameters and date prefixes', () => {
    expect(
      parseSearch('Observation', {
        subject: `Patient/${P}`,
        code: ['http://loinc.org|8867-4', '8867-4'],
        date: 'ge2013',
      }),
    ).toEqual({
      ok: true,
      query: {
        patientId: P,
        criteria: [
          { kind: 'token', param: 'code', values: [{ system: 'http://loinc.org', code: '8867-4' }] },
          { kind: 'token', param: 'code', values: [{ code: '8867-4' }] },
          { kind: 'date', param: 'date', prefix: 'ge', start: Date.UTC(2013, 0, 1), end: Date.UTC(2014, 0, 1) },
        ],
      },
    });
  });
});

describe('the parameters of every type, comma-OR and status', () => {
  const index = (status: string, code: string) =>
    searchIndex({
      resourceType: 'Observation',
      status: status as 'final',
      code: { coding: [{ system: 'http://loinc.org', code }] },
      effectiveDateTime: '2026-01-05',
    });
  const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
  const meta = { id: ID, lastUpdated: '2026-12-02T10:00:00.000Z' };
  const match = (params: Record<string, unknown>, status = 'final', code = '8867-4') => {
    const parsed = parseSearch('Observation', { patient: P, ...params });
    if (!parsed.ok) throw new Error(parsed.message);
    return matches(index(status, code), parsed.query.criteria, meta);
  };

  it.each<[string, Record<string, unknown>, boolean]>([
    ['code=a,b: either', { code: '8310-5,8867-4' }, true],
    ['code=a,b: neither', { code: '8310-5,1234-5' }, false],
    ['code with a system among the alternatives', { code: '1234-5,http://loinc.org|8867-4' }, true],
    ['code repeated: both must match', { code: ['8867-4', '8310-5'] }, false],
    ['status', { status: 'final' }, true],
    ['status=a,b', { status: 'amended,preliminary' }, false],
    ['_id', { _id: ID }, true],
    ['_id, upper case, among others', { _id: `11111111-1111-4111-8111-111111111111,${ID.toUpperCase()}` }, true],
    ['_id of another', { _id: '11111111-1111-4111-8111-111111111111' }, false],
    ['_lastUpdated=ge2026-12', { _lastUpdated: 'ge2026-12' }, true],
    ['_lastUpdated=lt2026-12-02', { _lastUpdated: 'lt2026-12-02' }, false],
    ['_count and _offset are paging, not criteria', { _count: '10', _offset: '20' }, true],
  ])('%s', (_name, params, expected) => {
    expect(match(params)).toBe(expected);
  });

  it('reads an escaped comma as part of a value', () => {
    const parsed = parseSearch('Observation', { patient: P, code: 'a\\,b,c' });
    expect(parsed.ok && parsed.query.criteria).toEqual([
      { kind: 'token', param: 'code', values: [{ code: 'a,b' }, { code: 'c' }] },
    ]);
  });

  it("refuses an _id that is not one of records' ids", () => {
    expect(parseSearch('Observation', { patient: P, _id: 'example' })).toMatchObject({ ok: false, param: '_id' });
  });
});

describe('matches', () => {
  const observation = (effective: Record<string, unknown>) =>
    searchIndex({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      ...effective,
    });
  const criteria = (params: Record<string, unknown>) => {
    const parsed = parseSearch('Observation', { patient: P, ...params });
    if (!parsed.ok) throw new Error(parsed.message);
    return parsed.query.criteria;
  };
  const at = observation({ effectiveDateTime: '2013-05-02T10:30:00Z' });
  const span = observation({ effectivePeriod: { start: '2013-12-20', end: '2014-01-10' } });
  const open = observation({ effectivePeriod: { start: '2013-12-20' } });

  test.each<[string, ReturnType<typeof observation>, Record<string, unknown>, boolean]>([
    ['the code', at, { code: '8867-4' }, true],
    ['the code in its system', at, { code: 'http://loinc.org|8867-4' }, true],
    ['the code in another system', at, { code: 'http://snomed.info/sct|8867-4' }, false],
    ['another code', at, { code: '1234-5' }, false],
    ['a point within the year (eq)', at, { date: '2013' }, true],
    ['a point outside the day (eq)', at, { date: '2013-05-03' }, false],
    ['a point, ne another year', at, { date: 'ne2014' }, true],
    ['a point after (gt)', at, { date: 'gt2013-05-01' }, true],
    ['a point before (lt)', at, { date: 'lt2013-05-01' }, false],
    ['a period overlapping the year (ge)', span, { date: 'ge2014' }, true],
    ['a period not within the year (eq)', span, { date: '2013' }, false],
    ['a period starting before (le)', span, { date: 'le2013-12-21' }, true],
    ['an open period, after anything later (gt)', open, { date: 'gt2030' }, true],
    ['an open period, not before its start (lt)', open, { date: 'lt2013-12-01' }, false],
    ['code and date together', at, { code: '8867-4', date: 'ge2014' }, false],
  ])('%s', (_name, index, params, expected) => {
    expect(matches(index, criteria(params))).toBe(expected);
  });
});
