import { R4 } from '../domain/r4-definitions.generated';
import { extractR4Definitions } from './extract';
import { readPackageFile } from './package-files';

describe('r4-definitions.generated.ts', () => {
  const fresh = extractR4Definitions(readPackageFile);

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
});
