import { RECORDS_RESOURCE_TYPES } from '@medledger/contracts';

/**
 * The resource types records serves: Patient and the types of the patient's record that its public events name
 * (the clinical five, validated by fhir/domain, and the patient's Consents).
 */
export const RESOURCE_TYPES = ['Patient', ...RECORDS_RESOURCE_TYPES] as const;
export type ResourceType = (typeof RESOURCE_TYPES)[number];

/** Each resource is a stream of that type. */
export const RESOURCE_STREAM_TYPES: readonly string[] = RESOURCE_TYPES;

export function isResourceType(type: string): type is ResourceType {
  return (RESOURCE_TYPES as readonly string[]).includes(type);
}

// SPEC: RFC 9562 §4: UUIDs are compared case-insensitively and written in lower case; records keys everything
// (streams, patient keys, indexes) by the lower-case form.
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
