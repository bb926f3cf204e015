import { isStoredResourceType } from '../../fhir/domain';

/** The resource types records serves: the six of the patient's record (fhir/domain validates them) and Consent. */
export const RESOURCE_TYPES = [
  'Patient',
  'Observation',
  'Condition',
  'MedicationStatement',
  'AllergyIntolerance',
  'DocumentReference',
  'Consent',
] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Each resource is a stream of that type. */
export const RESOURCE_STREAM_TYPES: readonly string[] = RESOURCE_TYPES;

export function isResourceType(type: string): type is ResourceType {
  return (RESOURCE_TYPES as readonly string[]).includes(type) && (type === 'Consent' || isStoredResourceType(type));
}
