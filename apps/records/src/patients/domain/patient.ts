/**
 * The Patient aggregate (pure: no Nest, Prisma or Kafka). Its events hold the FHIR resource, so they are PHI:
 * they stay in this service, encrypted at rest under the patient's own key. What leaves the service is a salted
 * commitment per version (see commitment.ts).
 */

/** A FHIR R4 Patient as received; full FHIR validation is the records issue's (issue 5). */
export type PatientResource = { resourceType: 'Patient' } & Record<string, unknown>;

export type PatientEvent =
  | {
      type: 'PatientRegistered';
      data: { patientId: string; resource: PatientResource; salt: string; commitment: string; at: string };
    }
  | {
      type: 'PatientUpdated';
      data: { patientId: string; resource: PatientResource; salt: string; commitment: string; at: string };
    };

export type PatientState =
  | { status: 'unregistered' }
  | { status: 'registered'; patientId: string; version: number; resource: PatientResource; lastUpdated: string };

export const INITIAL_PATIENT: PatientState = { status: 'unregistered' };

export const PatientErrorCode = {
  ALREADY_REGISTERED: 'RECORDS.PATIENT_ALREADY_REGISTERED',
  NOT_FOUND: 'RECORDS.PATIENT_NOT_FOUND',
  VERSION_MISMATCH: 'RECORDS.VERSION_MISMATCH',
  VERSION_NOT_FOUND: 'RECORDS.VERSION_NOT_FOUND',
} as const;

export type PatientError = { code: (typeof PatientErrorCode)[keyof typeof PatientErrorCode]; message: string };

export type PatientCommand =
  | { kind: 'RegisterPatient'; patientId: string; resource: PatientResource }
  | { kind: 'UpdatePatient'; patientId: string; resource: PatientResource; ifMatchVersion?: number };

/** Injected so that decide() stays pure. */
export interface Commitments {
  /** A fresh salt and the commitment of `resource` under it. */
  commit(resource: PatientResource): { salt: string; commitment: string };
}

export function decide(
  command: PatientCommand,
  state: PatientState,
  now: string,
  commitments: Commitments,
): PatientEvent[] | PatientError {
  switch (command.kind) {
    case 'RegisterPatient': {
      if (state.status === 'registered')
        return { code: PatientErrorCode.ALREADY_REGISTERED, message: `patient ${command.patientId} exists` };
      const resource = withIdentity(command.resource, command.patientId);
      return [
        {
          type: 'PatientRegistered',
          data: { patientId: command.patientId, resource, ...commitments.commit(resource), at: now },
        },
      ];
    }
    case 'UpdatePatient': {
      if (state.status !== 'registered')
        return { code: PatientErrorCode.NOT_FOUND, message: `no patient ${command.patientId}` };
      if (command.ifMatchVersion !== undefined && command.ifMatchVersion !== state.version)
        return {
          code: PatientErrorCode.VERSION_MISMATCH,
          message: `If-Match names version ${command.ifMatchVersion}, the current version is ${state.version}`,
        };
      const resource = withIdentity(command.resource, command.patientId);
      return [
        {
          type: 'PatientUpdated',
          data: { patientId: command.patientId, resource, ...commitments.commit(resource), at: now },
        },
      ];
    }
  }
}

export function evolve(state: PatientState, event: PatientEvent): PatientState {
  switch (event.type) {
    case 'PatientRegistered':
      return {
        status: 'registered',
        patientId: event.data.patientId,
        version: 1,
        resource: event.data.resource,
        lastUpdated: event.data.at,
      };
    case 'PatientUpdated':
      if (state.status !== 'registered') return state;
      return { ...state, version: state.version + 1, resource: event.data.resource, lastUpdated: event.data.at };
  }
}

/** The resource as stored: the server owns `id`; `meta` is derived on read. */
function withIdentity(resource: PatientResource, patientId: string): PatientResource {
  const { meta: _meta, ...rest } = resource;
  return { ...rest, resourceType: 'Patient', id: patientId };
}

/** The stream of one patient. */
export function patientStreamId(patientId: string): string {
  return `Patient-${patientId}`;
}
export const PATIENT_STREAM_TYPE = 'Patient';
