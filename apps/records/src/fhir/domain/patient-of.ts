import { type StoredResource } from './validate';

// SPEC: FHIR R4 §2.3.0 a relative literal reference, Type/id[/_history/vid]; id per the `id` datatype.
const RELATIVE_PATIENT = /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * The patient whose record holds `resource`, as `Patient/<id>`: the Patient itself, else the element that the
 * Patient compartment names (SPEC: R4 CompartmentDefinition patient: Observation/Condition/MedicationStatement/
 * DocumentReference.subject, AllergyIntolerance.patient). Undefined when it names no local Patient (a Group or
 * Device subject, an absolute or contained reference, a Patient without id).
 */
export function patientOf(resource: StoredResource): string | undefined {
  switch (resource.resourceType) {
    case 'Patient':
      return resource.id === undefined ? undefined : `Patient/${resource.id}`;
    case 'AllergyIntolerance':
      return relativePatient(resource.patient.reference);
    case 'Observation':
    case 'Condition':
    case 'MedicationStatement':
    case 'DocumentReference':
      return relativePatient(resource.subject?.reference);
  }
}

function relativePatient(reference: string | undefined): string | undefined {
  const id = reference === undefined ? undefined : RELATIVE_PATIENT.exec(reference)?.[1];
  return id === undefined ? undefined : `Patient/${id}`;
}
