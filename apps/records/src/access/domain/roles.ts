/**
 * What each role may attempt before any consent is read (pure). The patient's consents then decide for everyone
 * but the patient (consent-policy.ts). SPEC: the records issue's actors: Patient, Practitioner, RelatedPerson,
 * Organization admin, auditor.
 */
import type { AuthenticatedActor } from '@medledger/platform';
import type { AuditInteraction } from '../../audit/domain/audit';

export type RoleVerdict =
  | { kind: 'allow'; basis: 'self' | 'role' }
  | { kind: 'consent' }
  | { kind: 'deny'; reason: string };

/** Interactions that show no PHI: an auditor's work. */
const AUDITOR_INTERACTIONS: readonly AuditInteraction[] = ['verify', 'disclosures'];

/**
 * `patientId` is the record's patient; `resourceType` the type concerned (Consent is the patient's alone: only
 * they read or write their consents, and nobody's consent can grant that).
 */
export function roleGate(
  actor: AuthenticatedActor,
  patientId: string,
  interaction: AuditInteraction,
  resourceType: string,
): RoleVerdict {
  const self = actor.role === 'patient' && actor.reference === `Patient/${patientId}`;
  if (self) return { kind: 'allow', basis: 'self' };
  if (interaction === 'erase')
    return actor.role === 'org-admin'
      ? { kind: 'allow', basis: 'role' }
      : { kind: 'deny', reason: "an erasure is asked by the patient, or carried out by their organization's admin" };
  if (actor.role === 'auditor')
    return AUDITOR_INTERACTIONS.includes(interaction)
      ? { kind: 'allow', basis: 'role' }
      : { kind: 'deny', reason: `an auditor may only ${AUDITOR_INTERACTIONS.join(' and ')}` };
  if (interaction === 'disclosures')
    return { kind: 'deny', reason: 'the accounting of disclosures is for the patient and auditors' };
  if (resourceType === 'Consent') return { kind: 'deny', reason: "a patient's consents are theirs alone" };
  if (resourceType === 'Patient' && interaction === 'create')
    return actor.role === 'practitioner' || actor.role === 'org-admin'
      ? { kind: 'allow', basis: 'role' }
      : { kind: 'deny', reason: 'patients are registered by practitioners and organization admins' };
  if (interaction === 'break-glass')
    return actor.role === 'practitioner'
      ? { kind: 'allow', basis: 'role' }
      : { kind: 'deny', reason: 'only a practitioner may claim emergency access' };
  return { kind: 'consent' };
}
