import { z } from 'zod';
import { DIAGNOSTICS_TOPIC, PingAnswered, PingSent } from '../diagnostics';
import { Base64Hash, BlockSealedData, LEDGER_BLOCKS_TOPIC, PUBLIC_EVENT_TOPICS } from '../envelope';
import { defineEvent } from './define';

/** v1 of a message that was a bare JSON object carrying its `type`; v2 moved into a CloudEvents envelope. */
const withoutType = (previous: unknown) => {
  const { type: _type, ...data } = previous as Record<string, unknown>;
  return data;
};

// ------------------------------------------------------------------------------------------------ records

/** When records committed it, under the event's own field name. */
function committedAt<K extends string>(field: K, when: string) {
  return { [field]: z.iso.datetime().describe(`when records committed the ${when}`) } as Record<K, z.ZodISODateTime>;
}

/** What anchors one version of a resource: its FHIR versionId and its salted commitment, never the resource. */
function versionFields(what: string) {
  return {
    versionId: z
      .string()
      .regex(/^[1-9]\d*$/)
      .describe(`FHIR meta.versionId of the ${what}`),
    commitment: Base64Hash.describe(
      'base64 SHA-256 over a 32-byte salt and the RFC 8785 JSON of the resource version; the salt stays in records',
    ),
  };
}

/** The data of a records event that anchors one version of a Patient: ids and a commitment, never the resource. */
function patientVersion<K extends 'registeredAt' | 'updatedAt'>(atField: K, what: string, when: string) {
  return z.object({
    patientId: z.uuid().describe('id of the FHIR Patient in records'),
    ...versionFields(what),
    ...committedAt(atField, when),
  });
}

const recordsEvent = {
  topic: PUBLIC_EVENT_TOPICS.records,
  producer: 'records',
  consumers: ['ledger'],
  envelope: 'cloudevents',
} as const;

/** records: a patient was registered. */
export const PatientRegisteredV1 = defineEvent({
  ...recordsEvent,
  type: 'records.PatientRegistered',
  version: 1,
  description: 'A patient was registered in records (FHIR Patient, version 1). Anchors the commitment of that version.',
  schema: patientVersion('registeredAt', 'registered resource', 'registration'),
  example: {
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    versionId: '1',
    commitment: 'hmX4f+Ra6I3Tai/+zehcm+B/HE+a7IdLQOx5xn8k2Bs=',
    registeredAt: '2026-11-24T10:00:00.000Z',
  },
});

/** records: a patient's resource changed (a new FHIR version). */
export const PatientUpdatedV1 = defineEvent({
  ...recordsEvent,
  type: 'records.PatientUpdated',
  version: 1,
  description: 'A new version of a FHIR Patient was committed in records. Anchors the commitment of that version.',
  schema: patientVersion('updatedAt', 'new version', 'update'),
  example: {
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    versionId: '2',
    commitment: 'OWbpyoz88FnJwW3ScqS1HyO1vPfeI8lfQzaxT8w8FHs=',
    updatedAt: '2026-11-24T11:30:00.000Z',
  },
});

/**
 * The clinical resource types records stores besides Patient (R4's Patient compartment of a clinical record, and
 * Device), and the patient's own Consent resources. Types are only ever added: an event names the type it was.
 */
export const RECORDS_RESOURCE_TYPES = [
  'Observation',
  'Condition',
  'MedicationStatement',
  'AllergyIntolerance',
  'DocumentReference',
  'Encounter',
  'MedicationRequest',
  'Procedure',
  'DiagnosticReport',
  'Immunization',
  'CarePlan',
  'CareTeam',
  'Device',
  'Provenance',
  'Goal',
  'ServiceRequest',
  'Specimen',
  'MedicationAdministration',
  'MedicationDispense',
  'FamilyMemberHistory',
  'ClinicalImpression',
  'ImagingStudy',
  'Consent',
] as const;

/** The data of a records event that anchors one version of a patient's resource: ids and a commitment. */
function resourceVersion<K extends 'createdAt' | 'updatedAt'>(atField: K, what: string, when: string) {
  return z.object({
    resourceType: z.enum(RECORDS_RESOURCE_TYPES).describe('FHIR resource type'),
    resourceId: z.uuid().describe('id of the resource in records'),
    patientId: z.uuid().describe('id of the FHIR Patient whose record holds it'),
    ...versionFields(what),
    ...committedAt(atField, when),
  });
}

/** records: a resource was created in a patient's record (an observation, a condition, a consent…). */
export const ResourceCreatedV1 = defineEvent({
  ...recordsEvent,
  type: 'records.ResourceCreated',
  version: 1,
  description:
    "A FHIR resource was created in a patient's record (version 1), a Consent the patient wrote included. Anchors the commitment of that version.",
  schema: resourceVersion('createdAt', 'created resource', 'creation'),
  example: {
    resourceType: 'Observation',
    resourceId: '2b0f6d8e-4c1a-4e5b-9a7d-1f3e5c7a9b20',
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    versionId: '1',
    commitment: 'ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=',
    createdAt: '2026-11-24T10:05:00.000Z',
  },
});

/** records: a resource in a patient's record has a new version (a correction, a revoked consent…). */
export const ResourceUpdatedV1 = defineEvent({
  ...recordsEvent,
  type: 'records.ResourceUpdated',
  version: 1,
  description:
    "A new version of a FHIR resource in a patient's record was committed (a revoked Consent is one). Anchors the commitment of that version.",
  schema: resourceVersion('updatedAt', 'new version', 'update'),
  example: {
    resourceType: 'Consent',
    resourceId: '9c3e1f27-5d6b-4a8c-b1e2-7f4a3c5d6e80',
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    versionId: '2',
    commitment: 'PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0=',
    updatedAt: '2026-11-24T12:00:00.000Z',
  },
});

const FhirReference = z
  .string()
  .regex(/^(Patient|Practitioner|RelatedPerson|Organization|Device)\/[A-Za-z0-9\-.]{1,64}$/);

/** records: a practitioner claimed emergency access to a patient's record (the patient is told by this event). */
export const EmergencyAccessGrantedV1 = defineEvent({
  ...recordsEvent,
  type: 'records.EmergencyAccessGranted',
  version: 1,
  description:
    "A practitioner claimed break-glass access to a patient's record, over the patient's consents, for a short window. It notifies the patient; every access it allows is audited with basis break-glass.",
  schema: z.object({
    grantId: z.uuid().describe('id of the grant'),
    patientId: z.uuid().describe('id of the FHIR Patient'),
    actor: FhirReference.describe('the practitioner, a FHIR reference'),
    grantedAt: z.iso.datetime().describe('when records granted it'),
    until: z.iso.datetime().describe('end of the window'),
    reasonCommitment: Base64Hash.describe(
      'base64 SHA-256 over a 32-byte salt and the stated reason (the reason is free text and stays in records)',
    ),
  }),
  example: {
    grantId: '4d2c6a8e-1b3f-4e5a-8c7d-9e0f1a2b3c40',
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    actor: 'Practitioner/dr-emergency',
    grantedAt: '2026-11-24T03:12:00.000Z',
    until: '2026-11-24T03:27:00.000Z',
    reasonCommitment: 'Ln0sA6lQeuJl7PW1NWiFpTOTogKdJBOUmXJloaJa78Y=',
  },
});

/** records: one audited access to a patient's record (read, write, search, or a denial). */
export const AccessAuditedV1 = defineEvent({
  ...recordsEvent,
  type: 'records.AccessAudited',
  version: 1,
  description:
    "An access to a patient's record was audited (a FHIR AuditEvent kept in records): who, what interaction, on which resource, the outcome and on what basis. Ids only; the search parameters and the resources stay in records.",
  schema: z.object({
    auditEventId: z.uuid().describe('id of the AuditEvent in records'),
    patientId: z.uuid().describe('id of the FHIR Patient whose record was accessed'),
    actor: FhirReference.describe('who asked, a FHIR reference'),
    role: z.enum(['patient', 'practitioner', 'related-person', 'org-admin', 'auditor']).describe('their role'),
    interaction: z
      .enum(['create', 'read', 'vread', 'history', 'search', 'update', 'verify', 'break-glass', 'disclosures', 'erase'])
      .describe('the FHIR interaction or operation'),
    outcome: z
      .enum(['0', '4', '8'])
      .describe('FHIR AuditEvent.outcome: 0 success, 4 minor failure (denied), 8 failure'),
    basis: z
      .enum(['self', 'consent', 'break-glass', 'role', 'default-deny', 'consent-deny', 'role-deny'])
      .describe('why it was allowed or refused'),
    resourceType: z.string().optional().describe('the resource type concerned'),
    resourceId: z.uuid().optional().describe('the resource concerned, when one'),
    recorded: z.iso.datetime().describe('AuditEvent.recorded'),
    commitment: Base64Hash.describe(
      'base64 SHA-256 over a 32-byte salt and the RFC 8785 JSON of the AuditEvent; the salt stays in records',
    ),
  }),
  example: {
    auditEventId: '7a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c30',
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    actor: 'Practitioner/dr-house',
    role: 'practitioner',
    interaction: 'read',
    outcome: '0',
    basis: 'consent',
    resourceType: 'Observation',
    resourceId: '2b0f6d8e-4c1a-4e5b-9a7d-1f3e5c7a9b20',
    recorded: '2026-11-24T10:06:00.000Z',
    commitment: 'GKw+c0PwFokMUQ6T+TUmEWnZ4/VlQ2Qpgw+vCTT0+OQ=',
  },
});

/** records: a patient's data was erased (GDPR Art. 17): their key destroyed, their record unreadable. */
export const PatientErasedV1 = defineEvent({
  ...recordsEvent,
  type: 'records.PatientErased',
  version: 1,
  description:
    "A patient's data was erased (GDPR Art. 17): the key that encrypted their record was destroyed, so no version of it can be read again. The events already anchored stay in the ledger (ids and salted commitments, which nobody can open without the destroyed data).",
  schema: z.object({
    patientId: z.uuid().describe('id of the FHIR Patient whose data was erased'),
    requestedBy: FhirReference.describe('who asked for the erasure, a FHIR reference'),
    erasedAt: z.iso.datetime().describe('when records destroyed the key'),
  }),
  example: {
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    requestedBy: 'Patient/6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    erasedAt: '2026-11-24T15:00:00.000Z',
  },
});

// ------------------------------------------------------------------------------------------------ records v2

/*
 * v2 of every records event (issue 16 item 12): no stable id of a patient, an actor or a resource in clear. Each is
 * replaced by the patient's keyed pseudonym of it (HMAC-SHA-256 under a per-patient key that erasure destroys,
 * ADR 0013), so the sealed log cannot be linked to a person once the patient is erased. The CloudEvents `subject`
 * and the Kafka key are the patient's pseudonym too.
 */

/** 16 bytes of HMAC-SHA-256 under the patient's pseudonym key, base64url without padding (22 characters). */
const RecordsPseudonym = z.string().regex(/^[A-Za-z0-9_-]{22}$/);
const V1_CARRIED = 'an event upcast from v1 carries the clear';
const PatientPseudonym = z
  .union([RecordsPseudonym, z.uuid()])
  .describe(`the patient's pseudonym, the same in all their events (${V1_CARRIED} patient id)`);
const ResourcePseudonym = z
  .union([RecordsPseudonym, z.uuid()])
  .describe(`the resource's pseudonym in its patient's events (${V1_CARRIED} resource id)`);
const ActorPseudonym = (who: string) =>
  z
    .union([RecordsPseudonym, FhirReference])
    .describe(`${who}: their pseudonym in this patient's events, another in each patient's (${V1_CARRIED} reference)`);

/**
 * v1 → v2: a clear id moves to the field of its pseudonym. Nothing can pseudonymise what v1 already published (no
 * key is at hand, and the sealed v1 event keeps it anyway): the v2 fields accept the clear ids of upcast events.
 */
function renamed(fields: Readonly<Record<string, string>>) {
  return (previous: unknown) => {
    const data = { ...(previous as Record<string, unknown>) };
    for (const [from, to] of Object.entries(fields)) {
      if (from in data) data[to] = data[from];
      delete data[from];
    }
    return data;
  };
}

const PSEUDONYMOUS =
  " Ids are the patient's keyed pseudonyms (HMAC-SHA-256, 22 base64url characters; ADR 0013): nobody can recompute them once the patient is erased. CloudEvents subject and Kafka key: the patient's pseudonym.";

function patientVersionV2<K extends 'registeredAt' | 'updatedAt'>(atField: K, what: string, when: string) {
  return z.object({ patient: PatientPseudonym, ...versionFields(what), ...committedAt(atField, when) });
}

export const PatientRegisteredV2 = defineEvent({
  ...recordsEvent,
  type: 'records.PatientRegistered',
  version: 2,
  description: `${PatientRegisteredV1.description}${PSEUDONYMOUS} aggregateid: the patient's pseudonym.`,
  schema: patientVersionV2('registeredAt', 'registered resource', 'registration'),
  example: {
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    versionId: '1',
    commitment: 'hmX4f+Ra6I3Tai/+zehcm+B/HE+a7IdLQOx5xn8k2Bs=',
    registeredAt: '2026-12-02T10:00:00.000Z',
  },
  upcast: renamed({ patientId: 'patient' }),
});

export const PatientUpdatedV2 = defineEvent({
  ...recordsEvent,
  type: 'records.PatientUpdated',
  version: 2,
  description: `${PatientUpdatedV1.description}${PSEUDONYMOUS} aggregateid: the patient's pseudonym.`,
  schema: patientVersionV2('updatedAt', 'new version', 'update'),
  example: {
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    versionId: '2',
    commitment: 'OWbpyoz88FnJwW3ScqS1HyO1vPfeI8lfQzaxT8w8FHs=',
    updatedAt: '2026-12-02T11:30:00.000Z',
  },
  upcast: renamed({ patientId: 'patient' }),
});

function resourceVersionV2<K extends 'createdAt' | 'updatedAt'>(atField: K, what: string, when: string) {
  return z.object({
    resourceType: z.enum(RECORDS_RESOURCE_TYPES).describe('FHIR resource type'),
    resource: ResourcePseudonym,
    patient: PatientPseudonym,
    ...versionFields(what),
    ...committedAt(atField, when),
  });
}

export const ResourceCreatedV2 = defineEvent({
  ...recordsEvent,
  type: 'records.ResourceCreated',
  version: 2,
  description: `${ResourceCreatedV1.description}${PSEUDONYMOUS} aggregateid: the resource's pseudonym.`,
  schema: resourceVersionV2('createdAt', 'created resource', 'creation'),
  example: {
    resourceType: 'Observation',
    resource: '4SRQ_xfLiTa95nxKa0WEoA',
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    versionId: '1',
    commitment: 'ypeBEsobvcr6wjGzmiPcTaeG7/gUfE5yuYB3ha/uSLs=',
    createdAt: '2026-12-02T10:05:00.000Z',
  },
  upcast: renamed({ resourceId: 'resource', patientId: 'patient' }),
});

export const ResourceUpdatedV2 = defineEvent({
  ...recordsEvent,
  type: 'records.ResourceUpdated',
  version: 2,
  description: `${ResourceUpdatedV1.description}${PSEUDONYMOUS} aggregateid: the resource's pseudonym.`,
  schema: resourceVersionV2('updatedAt', 'new version', 'update'),
  example: {
    resourceType: 'Consent',
    resource: 'n3Eh6fiex1kGDCaYWNNpIA',
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    versionId: '2',
    commitment: 'PiPoFgA5WUoziU9lZOGxNIu9egCI1CxKy3PurtWcAJ0=',
    updatedAt: '2026-12-02T12:00:00.000Z',
  },
  upcast: renamed({ resourceId: 'resource', patientId: 'patient' }),
});

export const EmergencyAccessGrantedV2 = defineEvent({
  ...recordsEvent,
  type: 'records.EmergencyAccessGranted',
  version: 2,
  description: `${EmergencyAccessGrantedV1.description}${PSEUDONYMOUS} aggregateid: the grant id (one event per grant).`,
  schema: z.object({
    grantId: z.uuid().describe('id of the grant (in this event only)'),
    patient: PatientPseudonym,
    actor: ActorPseudonym('the practitioner'),
    grantedAt: EmergencyAccessGrantedV1.schema.shape.grantedAt,
    until: EmergencyAccessGrantedV1.schema.shape.until,
    reasonCommitment: EmergencyAccessGrantedV1.schema.shape.reasonCommitment,
  }),
  example: {
    grantId: '4d2c6a8e-1b3f-4e5a-8c7d-9e0f1a2b3c40',
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    actor: 'qKzjc-3d8IfGlGNLzqkI1Q',
    grantedAt: '2026-12-02T03:12:00.000Z',
    until: '2026-12-02T03:27:00.000Z',
    reasonCommitment: 'Ln0sA6lQeuJl7PW1NWiFpTOTogKdJBOUmXJloaJa78Y=',
  },
  upcast: renamed({ patientId: 'patient' }),
});

export const AccessAuditedV2 = defineEvent({
  ...recordsEvent,
  type: 'records.AccessAudited',
  version: 2,
  description: `An access to a patient's record was audited (a FHIR AuditEvent kept in records): who, what interaction, on which resource, the outcome and on what basis; the search parameters and the resources stay in records.${PSEUDONYMOUS} aggregateid: the AuditEvent id (one event per AuditEvent).`,
  schema: z.object({
    auditEventId: z.uuid().describe('id of the AuditEvent in records (in this event only)'),
    patient: PatientPseudonym,
    actor: ActorPseudonym('who asked'),
    role: AccessAuditedV1.schema.shape.role,
    interaction: AccessAuditedV1.schema.shape.interaction,
    outcome: AccessAuditedV1.schema.shape.outcome,
    basis: AccessAuditedV1.schema.shape.basis,
    resourceType: AccessAuditedV1.schema.shape.resourceType,
    resource: ResourcePseudonym.optional(),
    recorded: AccessAuditedV1.schema.shape.recorded,
    commitment: AccessAuditedV1.schema.shape.commitment,
  }),
  example: {
    auditEventId: '7a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c30',
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    actor: 'm-E_jepg6wf1YoQzFWdisA',
    role: 'practitioner',
    interaction: 'read',
    outcome: '0',
    basis: 'consent',
    resourceType: 'Observation',
    resource: '4SRQ_xfLiTa95nxKa0WEoA',
    recorded: '2026-12-02T10:06:00.000Z',
    commitment: 'GKw+c0PwFokMUQ6T+TUmEWnZ4/VlQ2Qpgw+vCTT0+OQ=',
  },
  upcast: renamed({ patientId: 'patient', resourceId: 'resource' }),
});

export const PatientErasedV2 = defineEvent({
  ...recordsEvent,
  type: 'records.PatientErased',
  version: 2,
  description: `${PatientErasedV1.description} The pseudonym key is destroyed in the same transaction: the pseudonyms of this event and of every earlier one of the patient can no longer be recomputed by anyone, records included.${PSEUDONYMOUS} aggregateid: the patient's pseudonym.`,
  schema: z.object({
    patient: PatientPseudonym,
    requestedBy: ActorPseudonym('who asked for the erasure'),
    erasedAt: z.iso.datetime().describe('when records destroyed the keys'),
  }),
  example: {
    patient: '7N5_cthSMeR8o-AMHqqfFA',
    requestedBy: '5Iuo2SUVY2NtGgKzWeSMrw',
    erasedAt: '2026-12-02T15:00:00.000Z',
  },
  upcast: renamed({ patientId: 'patient' }),
});

// ------------------------------------------------------------------------------------------------ ledger

const blockSealedData = BlockSealedData.extend({
  height: BlockSealedData.shape.height.describe('block height (0 = first block)'),
  treeSize: BlockSealedData.shape.treeSize.describe('leaves in the log after this block'),
  root: BlockSealedData.shape.root.describe('RFC 6962 root of the log at treeSize'),
  blockHash: BlockSealedData.shape.blockHash.describe(
    'SHA-256 of the signed block header (docs/design/ledger-format.md)',
  ),
  checkpoint: BlockSealedData.shape.checkpoint.describe('C2SP signed note of the checkpoint at treeSize'),
  events: BlockSealedData.shape.events.describe('each sealed event id with its leaf index'),
});
const blockSealedExample: z.infer<typeof blockSealedData> = {
  height: 12,
  treeSize: 1_843,
  root: 'SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=',
  blockHash: 'SWrKgOTY8p+46M2BbDr7SNPxA5cLOi7hYAwIymcybe4=',
  checkpoint:
    'medledger.local/ledger\n1843\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n\n— medledger.local/ledger AAAAAA==\n',
  events: [{ eventId: '8d3f9c0e-7b1a-4c52-a0e1-5d2b7c4f9a10', index: 1842 }],
};
const blockSealed = {
  type: 'ledger.BlockSealed',
  topic: LEDGER_BLOCKS_TOPIC,
  producer: 'ledger',
  consumers: ['records', 'trials', 'supply'],
} as const;
const BLOCK_SEALED_DESCRIPTION =
  'The ledger sealed a block: its height, the tree after it, its signed checkpoint, and the leaf index of every event in it (producers keep receipts from it).';

/** ledger: a block was sealed; v1 was a bare JSON message on its topic (superseded by v2). */
export const BlockSealedV1 = defineEvent({
  ...blockSealed,
  version: 1,
  envelope: 'plain',
  description: BLOCK_SEALED_DESCRIPTION,
  schema: z.object({ type: z.literal('ledger.BlockSealed') }).extend(blockSealedData.shape),
  example: { type: 'ledger.BlockSealed', ...blockSealedExample },
});

/** ledger: a block was sealed; v2 travels in a CloudEvents envelope. */
export const BlockSealedV2 = defineEvent({
  ...blockSealed,
  version: 2,
  envelope: 'cloudevents',
  description: `${BLOCK_SEALED_DESCRIPTION} CloudEvents id \`block-<height>-<first 8 bytes of the block hash, hex>\`, aggregateid the log origin, aggregateversion the height.`,
  schema: blockSealedData,
  example: blockSealedExample,
  upcast: withoutType,
});

// ------------------------------------------------------------------------------------------------ diagnostics

const diagnostics = { topic: DIAGNOSTICS_TOPIC, consumers: ['ledger', 'records', 'trials', 'supply'] } as const;
const pingSentExample = {
  pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
  origin: 'records',
  sentAt: '2026-11-23T10:00:00.000Z',
} as const;
const pingAnsweredExample = {
  pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
  origin: 'records',
  answeredBy: 'ledger',
  receivedAt: '2026-11-23T10:00:00.012Z',
  answeredAt: '2026-11-23T10:00:00.015Z',
} as const;

export const PingSentV1 = defineEvent({
  ...diagnostics,
  type: 'diagnostics.PingSent',
  version: 1,
  producer: 'records',
  envelope: 'plain',
  description:
    'A service asks every other service to answer over Kafka (any service may send it; records is listed as one).',
  schema: PingSent,
  example: { type: 'diagnostics.PingSent', ...pingSentExample },
});

export const PingAnsweredV1 = defineEvent({
  ...diagnostics,
  type: 'diagnostics.PingAnswered',
  version: 1,
  producer: 'ledger',
  envelope: 'plain',
  description: 'A service answers a ping (every service answers; the ledger is listed as one).',
  schema: PingAnswered,
  example: { type: 'diagnostics.PingAnswered', ...pingAnsweredExample },
});

export const PingSentV2 = defineEvent({
  ...diagnostics,
  type: 'diagnostics.PingSent',
  version: 2,
  producer: 'records',
  envelope: 'cloudevents',
  description:
    'A service asks every other service to answer over Kafka (any service sends it, from its own source; records is listed as one). CloudEvents aggregateid: the ping id.',
  schema: PingSent.omit({ type: true }),
  example: pingSentExample,
  upcast: withoutType,
});

export const PingAnsweredV2 = defineEvent({
  ...diagnostics,
  type: 'diagnostics.PingAnswered',
  version: 2,
  producer: 'ledger',
  envelope: 'cloudevents',
  description:
    'A service answers a ping (every service answers; the ledger is listed as one). CloudEvents aggregateid: the ping id.',
  schema: PingAnswered.omit({ type: true }),
  example: pingAnsweredExample,
  upcast: withoutType,
});
