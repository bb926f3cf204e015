/**
 * The audit trail: every read, write, search and denial on a patient's record becomes a FHIR R4 AuditEvent, kept
 * in records under the patient's key, and a public records.AccessAudited event (codes, pseudonyms and a commitment) that the
 * ledger anchors. Pure: building the AuditEvent from an entry.
 * SPEC: FHIR R4 AuditEvent; DICOM audit event types (DCM 110110 Patient Record); FHIR restful-interaction codes.
 */
import type { AuditEvent as FhirAuditEvent } from 'fhir/r4';
import type { ActorRole } from '@medledger/platform';

export type AuditInteraction =
  | 'create'
  | 'read'
  | 'vread'
  | 'history'
  | 'search'
  | 'update'
  | 'verify'
  | 'break-glass'
  | 'disclosures'
  | 'erase';

/** Why an access was allowed (`self`, `consent`, `break-glass`, `role`) or refused (the `-deny` ones). */
export type AuditBasis = 'self' | 'consent' | 'break-glass' | 'role' | 'default-deny' | 'consent-deny' | 'role-deny';

/** What one audited access was: ids and codes only. */
export interface AuditEntry {
  auditEventId: string;
  patientId: string;
  actor: string;
  role: ActorRole;
  interaction: AuditInteraction;
  /** FHIR AuditEvent.outcome: 0 success, 4 minor failure (a refusal), 8 serious failure. */
  outcome: '0' | '4' | '8';
  basis: AuditBasis;
  resourceType?: string;
  resourceId?: string;
  versionId?: string;
  /** v3 PurposeOfUse code the actor declared. */
  purpose?: string;
  /** The Consent that decided it, when one did. */
  consentId?: string;
  /** Why it was refused. */
  reason?: string;
  recorded: string;
  /** The bearer token's id (`jti`): which session of the actor. */
  tokenId?: string;
  /** The organization the actor acted for (the token's `org`): with the actor, the recipient of a disclosure. */
  organization?: string;
  /** The client's network address. */
  clientAddress?: string;
  /** The resources a search returned (ids, in the order returned). */
  returned?: string[];
}

/**
 * What one search asked, kept only inside the AuditEvent, which is encrypted under the patient's key: search values
 * are clinical (`code=…&date=…`), so they stay out of the clear metadata, the projection and the public event.
 */
export interface AuditDetails {
  /** The search's parameters as a query string. */
  query?: string;
}

/** The stored event of one audited access. */
export interface AuditEvent {
  type: 'AccessAudited';
  data: { entry: AuditEntry; auditEvent: FhirAuditEvent; salt: string; commitment: string };
}

// SPEC: FHIR R4 AuditEvent.action: C create, R read/view/print, U update, D delete, E execute (search, operations).
const ACTION: Record<AuditInteraction, FhirAuditEvent['action']> = {
  create: 'C',
  read: 'R',
  vread: 'R',
  history: 'R',
  search: 'E',
  update: 'U',
  verify: 'E',
  'break-glass': 'E',
  disclosures: 'E',
  erase: 'D',
};

const RESTFUL: Partial<Record<AuditInteraction, string>> = {
  create: 'create',
  read: 'read',
  vread: 'vread',
  history: 'history-instance',
  search: 'search-type',
  update: 'update',
};

export function auditStreamId(patientId: string, auditEventId: string): string {
  return `Audit-${patientId}/AuditEvent-${auditEventId}`;
}

/** Where audit events were kept before the service's audit key: in the patient's record, under their key. */
export function legacyAuditStreamId(patientId: string, auditEventId: string): string {
  return `Patient-${patientId}/AuditEvent-${auditEventId}`;
}

/** A search's criteria (clinical values), kept in the patient's record under their key: erased with it. */
export function auditQueryStreamId(patientId: string, auditEventId: string): string {
  return `Patient-${patientId}/AuditQuery-${auditEventId}`;
}

/** The stored event of a search's criteria. */
export interface AuditQueryEvent {
  type: 'AuditQueryRecorded';
  data: { query: string };
}

/** The FHIR R4 AuditEvent of one entry. */
export function toAuditEvent(entry: AuditEntry, source: string, details: AuditDetails = {}): FhirAuditEvent {
  const restful = RESTFUL[entry.interaction];
  const what =
    entry.resourceType && entry.resourceId
      ? `${entry.resourceType}/${entry.resourceId}${entry.versionId ? `/_history/${entry.versionId}` : ''}`
      : undefined;
  return {
    resourceType: 'AuditEvent',
    id: entry.auditEventId,
    type: { system: 'http://dicom.nema.org/resources/ontology/DCM', code: '110110', display: 'Patient Record' },
    subtype: [
      restful
        ? { system: 'http://hl7.org/fhir/restful-interaction', code: restful }
        : { system: 'https://medledger.local/fhir/CodeSystem/operation', code: entry.interaction },
    ],
    action: ACTION[entry.interaction],
    recorded: entry.recorded,
    outcome: entry.outcome,
    outcomeDesc: entry.reason ?? entry.basis,
    ...(entry.purpose || entry.basis === 'break-glass'
      ? {
          purposeOfEvent: [
            {
              coding: [
                {
                  system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
                  code: entry.basis === 'break-glass' ? 'ETREAT' : entry.purpose,
                },
              ],
            },
          ],
        }
      : {}),
    agent: [
      {
        type: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type', code: 'humanuser' }],
        },
        who: { reference: entry.actor },
        ...(entry.tokenId !== undefined && { altId: `jti:${entry.tokenId}` }),
        requestor: true,
        // SPEC: FHIR R4 AuditEvent.agent.network.type 2: an IP address.
        ...(entry.clientAddress !== undefined && { network: { address: entry.clientAddress, type: '2' as const } }),
        ...(entry.basis === 'break-glass'
          ? { policy: ['https://medledger.local/policy/break-glass'] }
          : entry.consentId
            ? { policy: [`Consent/${entry.consentId}`] }
            : {}),
      },
      // The organization the actor acted for: with the actor, who received the data (HIPAA §164.528(b)(2)(ii)).
      ...(entry.organization !== undefined
        ? [
            {
              type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-RoleClass', code: 'PROV' }] },
              who: { reference: entry.organization },
              requestor: false,
            },
          ]
        : []),
    ],
    source: { observer: { display: source }, type: [{ code: '4', display: 'Application Server' }] },
    entity: [
      {
        what: { reference: `Patient/${entry.patientId}` },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '1' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '1' },
      },
      ...(what
        ? [
            {
              what: { reference: what },
              type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2' },
            },
          ]
        : entry.resourceType
          ? [{ type: { system: 'http://hl7.org/fhir/resource-types', code: entry.resourceType } }]
          : []),
      // SPEC: FHIR R4 AuditEvent.entity.query (base64) with object-role 24 (Query), and each resource returned.
      ...(details.query !== undefined
        ? [
            {
              type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2' },
              role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24' },
              query: Buffer.from(details.query, 'utf8').toString('base64'),
            },
          ]
        : []),
      ...(entry.returned ?? []).map((id) => ({
        what: { reference: `${entry.resourceType ?? 'Resource'}/${id}` },
        type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2' },
        role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '4' },
      })),
    ],
  };
}
