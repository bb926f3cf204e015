import type { MedicationStatement, Provenance } from 'fhir/r4';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { patientElement, patientOf } from './patient-of';
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
    ['Encounter-f001.json', 'Patient/f001'],
    ['MedicationRequest-medrx0302.json', 'Patient/pat1'],
    ['Procedure-example.json', 'Patient/example'],
    ['DiagnosticReport-ultrasound.json', 'Patient/example'],
    ['Immunization-example.json', 'Patient/example'],
    ['CarePlan-example.json', 'Patient/example'],
    ['CareTeam-example.json', 'Patient/example'],
    ['Goal-example.json', 'Patient/example'],
    ['ServiceRequest-example.json', 'Patient/example'],
    ['Specimen-101.json', 'Patient/example'],
    ['MedicationAdministration-medadminexample03.json', 'Patient/pat1'],
    ['MedicationDispense-meddisp008.json', 'Patient/pat1'],
    ['FamilyMemberHistory-father.json', 'Patient/example'],
    ['ClinicalImpression-example.json', 'Patient/example'],
    ['ImagingStudy-example-xr.json', 'Patient/dicom'],
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

  it('places a Device by its patient (outside the R4 compartment), none without one', () => {
    const device = example('Device-example.json');
    expect(patientOf(device)).toBeUndefined();
    expect(patientOf({ ...device, patient: { reference: 'Patient/p1' } } as StoredResource)).toBe('Patient/p1');
  });

  it('places a Provenance with the one Patient among its targets (R4 compartment: target.where(resolve() is Patient))', () => {
    const provenance = example('Provenance-example.json') as Provenance;
    expect(patientOf(provenance)).toBeUndefined(); // its target is a Procedure: no patient named
    const target = (...references: string[]) => ({
      ...provenance,
      target: references.map((reference) => ({ reference })),
    });
    expect(patientOf(target('Observation/o1', 'Patient/p1', 'Condition/c1'))).toBe('Patient/p1');
    expect(patientOf(target('Patient/p1', 'Patient/p1/_history/2'))).toBe('Patient/p1');
    expect(patientOf(target('Patient/p1', 'Patient/p2'))).toBeUndefined();
  });

  it('names the compartment element of each type', () => {
    expect(patientElement('Immunization')).toBe('Immunization.patient');
    expect(patientElement('Encounter')).toBe('Encounter.subject');
    expect(patientElement('Provenance')).toBe('Provenance.target');
    expect(patientElement('Device')).toBe('Device.patient');
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

  it.each([
    [
      'Encounter-f001.json',
      [
        { param: 'type', system: 'http://snomed.info/sct', code: '270427003' },
        { param: 'status', code: 'finished' },
      ],
      [], // no period: nothing to date it by (a consent's dataPeriod then reads meta.lastUpdated)
    ],
    [
      'Procedure-example.json',
      [
        { param: 'code', system: 'http://snomed.info/sct', code: '80146002' },
        { param: 'status', code: 'completed' },
      ],
      [{ param: 'date', start: '2013-04-05', end: '2013-04-05' }],
    ],
    [
      'Immunization-example.json',
      [
        { param: 'vaccine-code', system: 'urn:oid:1.2.36.1.2001.1005.17', code: 'FLUVAX' },
        { param: 'status', code: 'completed' },
      ],
      [{ param: 'date', start: '2013-01-10', end: '2013-01-10' }],
    ],
    [
      'MedicationRequest-medrx0302.json',
      [{ param: 'status', code: 'active' }],
      [{ param: 'authoredon', start: '2015-01-15', end: '2015-01-15' }],
    ],
  ])('indexes %s', (file, tokens, dates) => {
    expect(searchIndex(example(file))).toEqual({ tokens, dates });
  });

  it('indexes an Encounter by its period', () => {
    const encounter = { ...example('Encounter-f001.json'), period: { start: '2013-12-10T09:00:00+01:00' } };
    expect(searchIndex(encounter as StoredResource).dates).toEqual([
      { param: 'date', start: '2013-12-10T09:00:00+01:00' },
    ]);
  });

  it('indexes DiagnosticReport code and effective date, ImagingStudy modality and start, Device status, a Provenance by its recorded time', () => {
    const report = searchIndex(example('DiagnosticReport-ultrasound.json'));
    expect(report.tokens).toContainEqual({ param: 'code', system: 'http://snomed.info/sct', code: '45036003' });
    expect(report.dates).toEqual([
      { param: 'date', start: '2012-12-01T12:00:00+01:00', end: '2012-12-01T12:00:00+01:00' },
    ]);
    expect(searchIndex(example('ImagingStudy-example-xr.json'))).toEqual({
      tokens: [
        { param: 'modality', system: 'http://dicom.nema.org/resources/ontology/DCM', code: 'DX' },
        { param: 'status', code: 'available' },
      ],
      dates: [{ param: 'started', start: '2017-01-01T11:01:20+03:00', end: '2017-01-01T11:01:20+03:00' }],
    });
    const device = searchIndex({ ...example('Device-example.json'), status: 'active' } as StoredResource);
    expect(device.tokens).toContainEqual({ param: 'status', code: 'active' });
    expect(searchIndex(example('Provenance-example.json')).dates).toEqual([
      { param: 'recorded', start: '2015-06-27T08:39:24+10:00', end: '2015-06-27T08:39:24+10:00' },
    ]);
  });
});
