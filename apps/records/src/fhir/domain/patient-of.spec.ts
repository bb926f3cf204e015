import type { MedicationStatement } from 'fhir/r4';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { patientOf } from './patient-of';
import { searchIndex } from './search';
import { type StoredResource, validateResource } from './validate';

function example(file: string): StoredResource {
  const result = validateResource(
    JSON.parse(readFileSync(join(__dirname, '../../../test/fixtures/hl7-examples', file), 'utf8')),
  );
  if (!result.ok) throw new Error(`${file} is not valid`);
  return result.resource;
}

describe('patientOf', () => {
  it.each([
    ['Patient-example.json', 'Patient/example'],
    ['Observation-example.json', 'Patient/example'],
    ['Condition-example.json', 'Patient/example'],
    ['MedicationStatement-example001.json', 'Patient/pat1'],
    ['AllergyIntolerance-example.json', 'Patient/example'],
    ['DocumentReference-example.json', 'Patient/xcda'],
  ])('%s belongs to %s', (file, patient) => {
    expect(patientOf(example(file))).toBe(patient);
  });

  it.each([
    ['a Group subject', 'Group/g1'],
    ['an absolute reference', 'https://elsewhere.org/fhir/Patient/p1'],
    ['a contained reference', '#p1'],
  ])('names no patient for %s', (_name, reference) => {
    expect(
      patientOf({ resourceType: 'Observation', status: 'final', code: {}, subject: { reference } }),
    ).toBeUndefined();
  });

  it('drops the version of a versioned reference', () => {
    const resource = { resourceType: 'Condition', subject: { reference: 'Patient/p1/_history/3' } } as const;
    expect(patientOf(resource)).toBe('Patient/p1');
  });
});

describe('searchIndex', () => {
  it('indexes Observation code and date (effective[x])', () => {
    expect(searchIndex(example('Observation-example.json'))).toEqual({
      tokens: [
        { param: 'code', system: 'http://loinc.org', code: '29463-7' },
        { param: 'code', system: 'http://loinc.org', code: '3141-9' },
        { param: 'code', system: 'http://snomed.info/sct', code: '27113001' },
        { param: 'code', system: 'http://acme.org/devices/clinical-codes', code: 'body-weight' },
        { param: 'status', code: 'final' },
      ],
      dates: [{ param: 'date', start: '2016-03-28', end: '2016-03-28' }],
    });
  });

  it('indexes Condition code, onset-date and recorded-date', () => {
    const index = searchIndex(example('Condition-f201.json'));
    expect(index.tokens).toContainEqual({ param: 'code', system: 'http://snomed.info/sct', code: '386661006' });
    expect(index.tokens).toContainEqual({
      param: 'clinical-status',
      system: 'http://terminology.hl7.org/CodeSystem/condition-clinical',
      code: 'resolved',
    });
    expect(index.dates).toEqual([
      { param: 'onset-date', start: '2013-04-02', end: '2013-04-02' },
      { param: 'recorded-date', start: '2013-04-04', end: '2013-04-04' },
    ]);
  });

  it('indexes a period as its start and end', () => {
    const statement: MedicationStatement = {
      resourceType: 'MedicationStatement',
      status: 'active',
      medicationCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '387458008' }] },
      subject: { reference: 'Patient/p1' },
      effectivePeriod: { start: '2015-01-23' },
    };
    expect(searchIndex(statement)).toEqual({
      tokens: [
        { param: 'code', system: 'http://snomed.info/sct', code: '387458008' },
        { param: 'status', code: 'active' },
      ],
      dates: [{ param: 'effective', start: '2015-01-23' }],
    });
  });

  it('indexes AllergyIntolerance code and reaction substance', () => {
    const tokens = searchIndex(example('AllergyIntolerance-example.json')).tokens;
    expect(tokens).toContainEqual({ param: 'code', system: 'http://snomed.info/sct', code: '227493005' });
    expect(tokens).toContainEqual({
      param: 'code',
      system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
      code: '1160593',
    });
  });

  it('indexes DocumentReference type and date, Patient birthdate', () => {
    expect(searchIndex(example('DocumentReference-example.json'))).toEqual({
      tokens: [
        { param: 'type', system: 'http://loinc.org', code: '34108-1' },
        { param: 'status', code: 'current' },
      ],
      dates: [{ param: 'date', start: '2005-12-24T09:43:41+11:00', end: '2005-12-24T09:43:41+11:00' }],
    });
    expect(searchIndex(example('Patient-example.json')).dates).toEqual([
      { param: 'birthdate', start: '1974-12-25', end: '1974-12-25' },
    ]);
  });
});
