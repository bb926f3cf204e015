import type { AuthenticatedActor } from '@medledger/platform';
import type { AuditInteraction } from '../../audit/domain/audit';
import { roleGate } from './roles';

const P = 'p1';
const as = (reference: string, role: AuthenticatedActor['role']): AuthenticatedActor => ({ reference, role });

describe('roleGate (before any consent is read)', () => {
  test.each<[string, AuthenticatedActor, AuditInteraction, string, string]>([
    ['the patient, anything in their record', as('Patient/p1', 'patient'), 'update', 'Observation', 'allow'],
    ['the patient, their consents', as('Patient/p1', 'patient'), 'create', 'Consent', 'allow'],
    ['another patient', as('Patient/p2', 'patient'), 'read', 'Observation', 'consent'],
    ['a practitioner reading', as('Practitioner/a', 'practitioner'), 'read', 'Observation', 'consent'],
    ['a practitioner registering a patient', as('Practitioner/a', 'practitioner'), 'create', 'Patient', 'allow'],
    ['a caregiver registering a patient', as('RelatedPerson/c', 'related-person'), 'create', 'Patient', 'deny'],
    ['a practitioner writing a consent', as('Practitioner/a', 'practitioner'), 'create', 'Consent', 'deny'],
    ['a practitioner reading consents', as('Practitioner/a', 'practitioner'), 'search', 'Consent', 'deny'],
    ['a practitioner claiming break-glass', as('Practitioner/a', 'practitioner'), 'break-glass', 'Patient', 'allow'],
    ['an org admin claiming break-glass', as('Organization/o', 'org-admin'), 'break-glass', 'Patient', 'deny'],
    ['an auditor verifying', as('Practitioner/x', 'auditor'), 'verify', 'Observation', 'allow'],
    ['an auditor reading disclosures', as('Practitioner/x', 'auditor'), 'disclosures', 'AuditEvent', 'allow'],
    ['an auditor reading a resource', as('Practitioner/x', 'auditor'), 'read', 'Observation', 'deny'],
    ['a practitioner reading disclosures', as('Practitioner/a', 'practitioner'), 'disclosures', 'AuditEvent', 'deny'],
  ])('%s', (_name, actor, interaction, type, kind) => {
    expect(roleGate(actor, P, interaction, type).kind).toBe(kind);
  });
});
