import { R4 } from '../domain/r4-definitions.generated';
import { extractR4Definitions } from './extract';
import { listPackageFiles, readPackageFile } from './package-files';

describe('r4-definitions.generated.ts', () => {
  const fresh = extractR4Definitions(readPackageFile, listPackageFiles);

  it('is what the pinned hl7.fhir.r4.examples package defines (else run generate.ts)', () => {
    expect(R4).toEqual(fresh);
  });

  it.each([
    ['Observation', 'status', 'http://hl7.org/fhir/ValueSet/observation-status'],
    ['Condition', 'clinicalStatus', 'http://hl7.org/fhir/ValueSet/condition-clinical'],
    ['AllergyIntolerance', 'criticality', 'http://hl7.org/fhir/ValueSet/allergy-intolerance-criticality'],
    ['DocumentReference', 'docStatus', 'http://hl7.org/fhir/ValueSet/composition-status'],
    ['Patient', 'gender', 'http://hl7.org/fhir/ValueSet/administrative-gender'],
  ])('binds %s.%s to %s, expanded', (type, element, valueSet) => {
    expect(fresh.resources[type]?.elements[element]?.binding).toBe(valueSet);
    expect(Object.values(fresh.valueSets[valueSet] ?? {}).flat().length).toBeGreaterThan(2);
  });

  it('keeps the spec cardinalities the issue names', () => {
    const min = (type: string, element: string) => fresh.resources[type]?.elements[element]?.min;
    expect(min('MedicationStatement', 'medication[x]')).toBe(1);
    expect(min('AllergyIntolerance', 'patient')).toBe(1);
    expect(min('DocumentReference', 'content')).toBe(1);
    expect(Object.values(fresh.resources.Patient?.elements ?? {}).filter((e) => e.min > 0)).toEqual([]);
  });

  it('lists the required value sets it cannot enumerate (not checked)', () => {
    expect(fresh.unexpandedValueSets).toEqual([
      'http://hl7.org/fhir/ValueSet/currencies',
      'http://hl7.org/fhir/ValueSet/mimetypes',
    ]);
  });

  it.each([
    ['Encounter', 'patient', [{ keys: ['subject'], type: 'Reference', target: 'Patient' }]],
    ['Immunization', 'patient', [{ keys: ['patient'], type: 'Reference' }]],
    ['MedicationRequest', 'subject', [{ keys: ['subject'], type: 'Reference' }]],
    ['Provenance', 'patient', [{ keys: ['target'], type: 'Reference', target: 'Patient' }]],
    ['Device', 'patient', [{ keys: ['patient'], type: 'Reference' }]],
  ])("places %s in a patient's record by the compartment's %s parameter", (type, name, paths) => {
    expect(fresh.patientCompartment[type]).toEqual({ name, type: 'reference', paths });
  });

  it('has a compartment parameter for every stored type but Patient', () => {
    expect(Object.keys(fresh.patientCompartment).sort()).toEqual(
      Object.keys(fresh.resources)
        .filter((t) => t !== 'Patient')
        .sort(),
    );
  });

  it('reads where search parameters look from their FHIRPath, choices resolved and unindexable types left out', () => {
    const param = (type: string, name: string) => fresh.searchParameters[type]?.find((p) => p.name === name);
    expect(param('MedicationRequest', 'code')?.paths).toEqual([
      { keys: ['medicationCodeableConcept'], type: 'CodeableConcept' },
    ]);
    // Procedure.performed[x] is dateTime | Period | string | Age | Range: only the first two name a time.
    expect(param('Procedure', 'date')?.paths).toEqual([
      { keys: ['performedDateTime'], type: 'dateTime' },
      { keys: ['performedPeriod'], type: 'Period' },
    ]);
    expect(param('Specimen', 'collected')?.paths).toEqual([
      { keys: ['collection', 'collectedDateTime'], type: 'dateTime' },
      { keys: ['collection', 'collectedPeriod'], type: 'Period' },
    ]);
    expect(param('FamilyMemberHistory', 'code')?.paths).toEqual([
      { keys: ['condition', 'code'], type: 'CodeableConcept' },
    ]);
    expect(param('Immunization', 'vaccine-code')?.type).toBe('token');
  });
});
