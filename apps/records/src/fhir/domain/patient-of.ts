import { R4 } from './r4-definitions.generated';
import { type StoredResource } from './validate';

// SPEC: FHIR R4 §2.3.0 a relative literal reference, Type/id[/_history/vid]; id per the `id` datatype.
const RELATIVE_PATIENT = /^Patient\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

/**
 * The patient whose record holds `resource`, as `Patient/<id>`: the Patient itself, else the patient that the
 * element of its Patient-compartment parameter names (SPEC: R4 CompartmentDefinition patient, generated into
 * `R4.patientCompartment`: `subject` for most types, `patient` for AllergyIntolerance, Immunization,
 * FamilyMemberHistory and Device, the Patient among a Provenance's `target`s). Undefined when it names no local
 * Patient (a Group or Device subject, an absolute or contained reference, a Patient without id), or when it names
 * several (a Provenance whose targets are two patients belongs to neither record alone).
 */
export function patientOf(resource: StoredResource): string | undefined {
  if (resource.resourceType === 'Patient') return resource.id === undefined ? undefined : `Patient/${resource.id}`;
  const found = new Set<string>();
  for (const reference of patientReferences(resource)) {
    const id = RELATIVE_PATIENT.exec(reference)?.[1];
    if (id !== undefined) found.add(`Patient/${id}`);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** The FHIRPath of the element that names a resource's patient (`Encounter.subject`), for error messages. */
export function patientElement(resourceType: string): string {
  const keys = R4.patientCompartment[resourceType]?.paths[0]?.keys ?? ['subject'];
  return `${resourceType}.${keys.join('.')}`;
}

function patientReferences(resource: StoredResource): string[] {
  const parameter = R4.patientCompartment[resource.resourceType];
  return (parameter?.paths ?? []).flatMap((path) =>
    valuesAt(resource, path.keys).flatMap((value) =>
      typeof value === 'object' && value !== null && typeof (value as { reference?: unknown }).reference === 'string'
        ? [(value as { reference: string }).reference]
        : [],
    ),
  );
}

/** The values at a chain of JSON properties, arrays flattened at every step (FHIRPath's navigation). */
export function valuesAt(json: unknown, keys: readonly string[]): unknown[] {
  let current: unknown[] = [json];
  for (const key of keys) {
    current = current.flatMap((value) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
      const next = (value as Record<string, unknown>)[key];
      return next === undefined ? [] : Array.isArray(next) ? (next as unknown[]) : [next];
    });
  }
  return current;
}
