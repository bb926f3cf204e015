/**
 * One FHIR resource in a patient's record, as an aggregate (pure: no Nest, SQL or Kafka): a Patient, a clinical
 * resource of the patient's compartment, or a Consent the patient wrote. Its events hold the resource, so they are
 * PHI: they stay in this service, encrypted under the patient's own key. What leaves the service is a salted
 * commitment per version (commitment.ts).
 */

/** A FHIR R4 resource as received (validated by fhir/domain before it gets here). */
export type FhirResource = { resourceType: string } & Record<string, unknown>;

export type ResourceVersionData = {
  resourceType: string;
  id: string;
  /** The patient whose record holds it (its own id for a Patient); fixed at creation. */
  patientId: string;
  resource: FhirResource;
  /** The commitment's salt (base64): secret, so it lives here, inside the encrypted event. */
  salt: string;
  commitment: string;
  at: string;
};

/**
 * `PatientRegistered`/`PatientUpdated` are what Patient streams held before every type shared this aggregate
 * (their data lacks resourceType and id); they are still read.
 */
export type ResourceEvent =
  | { type: 'ResourceCreated' | 'ResourceUpdated'; data: ResourceVersionData }
  | {
      type: 'PatientRegistered' | 'PatientUpdated';
      data: Omit<ResourceVersionData, 'resourceType' | 'id'>;
    };

export type ResourceState =
  | { status: 'absent' }
  | {
      status: 'present';
      resourceType: string;
      id: string;
      patientId: string;
      version: number;
      resource: FhirResource;
      lastUpdated: string;
    };

export const ABSENT: ResourceState = { status: 'absent' };

export const ResourceErrorCode = {
  ALREADY_EXISTS: 'RECORDS.RESOURCE_EXISTS',
  NOT_FOUND: 'RECORDS.RESOURCE_NOT_FOUND',
  VERSION_MISMATCH: 'RECORDS.VERSION_MISMATCH',
  VERSION_NOT_FOUND: 'RECORDS.VERSION_NOT_FOUND',
  PATIENT_CHANGED: 'RECORDS.PATIENT_CHANGED',
} as const;

export type ResourceError = { code: (typeof ResourceErrorCode)[keyof typeof ResourceErrorCode]; message: string };

export type ResourceCommand =
  | { kind: 'Create'; resourceType: string; id: string; patientId: string; resource: FhirResource }
  | {
      kind: 'Update';
      resourceType: string;
      id: string;
      patientId: string;
      resource: FhirResource;
      ifMatchVersion?: number;
    };

/** Injected so that decide() stays pure. */
export interface Commitments {
  /** A fresh salt and the commitment of `resource` under it. */
  commit(resource: FhirResource): { salt: string; commitment: string };
}

export function decide(
  command: ResourceCommand,
  state: ResourceState,
  now: string,
  commitments: Commitments,
): ResourceEvent[] | ResourceError {
  const { resourceType, id, patientId } = command;
  if (command.kind === 'Create' && state.status === 'present')
    return { code: ResourceErrorCode.ALREADY_EXISTS, message: `${resourceType}/${id} exists` };
  if (command.kind === 'Update') {
    if (state.status !== 'present') return { code: ResourceErrorCode.NOT_FOUND, message: `no ${resourceType}/${id}` };
    if (command.ifMatchVersion !== undefined && command.ifMatchVersion !== state.version)
      return {
        code: ResourceErrorCode.VERSION_MISMATCH,
        message: `If-Match names version ${command.ifMatchVersion}, the current version is ${state.version}`,
      };
    if (state.patientId !== patientId)
      return {
        code: ResourceErrorCode.PATIENT_CHANGED,
        message: `${resourceType}/${id} is in the record of Patient/${state.patientId}; a resource cannot move to another patient's record (create a new one)`,
      };
  }
  const resource = withIdentity(command.resource, resourceType, id);
  return [
    {
      type: command.kind === 'Create' ? 'ResourceCreated' : 'ResourceUpdated',
      data: { resourceType, id, patientId, resource, ...commitments.commit(resource), at: now },
    },
  ];
}

export function evolve(state: ResourceState, event: ResourceEvent): ResourceState {
  const { data } = event;
  const resourceType = 'resourceType' in data ? data.resourceType : 'Patient';
  const id = 'id' in data ? data.id : data.patientId;
  const version = state.status === 'present' ? state.version + 1 : 1;
  return {
    status: 'present',
    resourceType,
    id,
    patientId: data.patientId,
    version,
    resource: data.resource,
    lastUpdated: data.at,
  };
}

/**
 * The resource as stored: the server owns `id` and `meta.versionId` / `meta.lastUpdated` (derived on read); what
 * the client says of the resource in `meta` (its security labels, tags, profiles and source) is kept as written.
 * SPEC: FHIR R4 §2.1.0 Resource.meta; §3.1.0.8 (update: the server sets versionId and lastUpdated).
 */
function withIdentity(resource: FhirResource, resourceType: string, id: string): FhirResource {
  const { meta, ...rest } = resource;
  const { versionId: _versionId, lastUpdated: _lastUpdated, ...kept } = (meta ?? {}) as Record<string, unknown>;
  return { ...rest, resourceType, id, ...(Object.keys(kept).length > 0 && { meta: kept }) };
}

/**
 * The stream of one resource. A Patient's is `Patient-<id>`; every other resource lives under its patient's,
 * `Patient-<patientId>/<Type>-<id>`, so the part before `/` names whose key encrypts it (infra/patient-keys.ts).
 */
export function resourceStreamId(resourceType: string, id: string, patientId: string): string {
  return resourceType === 'Patient' ? `Patient-${id}` : `Patient-${patientId}/${resourceType}-${id}`;
}
