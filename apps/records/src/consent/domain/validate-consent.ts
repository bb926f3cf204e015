/**
 * FHIR R4 validation of the Consent resources patients write, for the elements the consent policy reads (the
 * six record types are validated from HL7's tables in fhir/domain; Consent is checked here by hand, ADR 0006).
 * SPEC: FHIR R4 Consent: status 1..1 (required binding consent-state-codes), scope 1..1, category 1..*,
 * provision.actor.role 1..1 and .reference 1..1, invariants ppc-1 (policy or policyRule) and ppc-2 (a privacy
 * consent names its patient). medledger's own rules: scope patient-privacy, patient a local Patient reference.
 */
import type { OperationOutcome } from 'fhir/r4';
import { Issues, isObject } from '../../fhir/domain/outcome';
import { CONSENT_SCOPE_SYSTEM, type ConsentResource } from './consent-policy';

const STATUS = ['draft', 'proposed', 'active', 'rejected', 'inactive', 'entered-in-error'];
const PROVISION_TYPE = ['deny', 'permit'];
const PATIENT_REFERENCE = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
// SPEC: R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD or a full instant with a zone.
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
/** Nesting deeper than this is no policy a person wrote; it bounds the walk on hostile input. */
const MAX_PROVISION_DEPTH = 8;

export type ConsentValidation = { ok: true; consent: ConsentResource } | { ok: false; outcome: OperationOutcome };

function codings(value: unknown): Array<{ system?: unknown; code?: unknown }> {
  return isObject(value) && Array.isArray(value['coding']) ? (value['coding'] as Array<Record<string, unknown>>) : [];
}

function checkConcept(value: unknown, path: string, issues: Issues): void {
  if (!isObject(value)) issues.add('structure', path, 'a CodeableConcept is a JSON object');
  else if (value['coding'] !== undefined && !Array.isArray(value['coding']))
    issues.add('structure', `${path}.coding`, 'coding is an array');
}

function checkPeriod(value: unknown, path: string, issues: Issues): void {
  if (value === undefined) return;
  if (!isObject(value)) return issues.add('structure', path, 'a Period is a JSON object');
  for (const end of ['start', 'end'] as const) {
    const at = value[end];
    if (at !== undefined && (typeof at !== 'string' || !DATE_TIME.test(at)))
      issues.add('value', `${path}.${end}`, `${end} must be a FHIR dateTime`);
  }
  // SPEC: R4 per-1: start SHALL have a lower value than end.
  if (typeof value['start'] === 'string' && typeof value['end'] === 'string' && value['start'] > value['end'])
    issues.add('invariant', path, 'per-1: start must not be after end');
}

function checkProvision(value: unknown, path: string, issues: Issues, depth: number): void {
  if (!isObject(value)) return issues.add('structure', path, 'a provision is a JSON object');
  if (depth > MAX_PROVISION_DEPTH)
    return issues.add('structure', path, `provisions nest at most ${MAX_PROVISION_DEPTH} deep`);
  if (value['type'] !== undefined && !PROVISION_TYPE.includes(value['type'] as string))
    issues.add('code-invalid', `${path}.type`, `type must be one of ${PROVISION_TYPE.join(', ')}`);
  checkPeriod(value['period'], `${path}.period`, issues);
  for (const [name, check] of [
    ['actor', checkActor],
    ['action', checkConcept],
    ['purpose', checkCoding],
    ['class', checkCoding],
  ] as const) {
    const list = value[name];
    if (list === undefined) continue;
    if (!Array.isArray(list)) issues.add('structure', `${path}.${name}`, `${name} is an array`);
    else list.forEach((item, i) => check(item, `${path}.${name}[${i}]`, issues));
  }
  const nested = value['provision'];
  if (nested !== undefined) {
    if (!Array.isArray(nested)) issues.add('structure', `${path}.provision`, 'provision is an array');
    else nested.forEach((p, i) => checkProvision(p, `${path}.provision[${i}]`, issues, depth + 1));
  }
}

function checkActor(value: unknown, path: string, issues: Issues): void {
  if (!isObject(value)) return issues.add('structure', path, 'an actor is a JSON object');
  if (value['role'] === undefined) issues.add('required', `${path}.role`, 'actor.role is required');
  else checkConcept(value['role'], `${path}.role`, issues);
  const reference = value['reference'];
  if (!isObject(reference) || typeof reference['reference'] !== 'string')
    issues.add('required', `${path}.reference`, 'actor.reference is required, a Reference with a reference');
}

function checkCoding(value: unknown, path: string, issues: Issues): void {
  if (!isObject(value) || (value['code'] !== undefined && typeof value['code'] !== 'string'))
    issues.add('structure', path, 'a Coding is a JSON object whose code is a string');
}

/** Checks `json` as a Consent a patient may write. */
export function validateConsent(json: unknown): ConsentValidation {
  const issues = new Issues();
  if (!isObject(json) || json['resourceType'] !== 'Consent') {
    issues.add('structure', 'Consent', 'a Consent is a JSON object with "resourceType": "Consent"');
    return { ok: false, outcome: issues.outcome() };
  }
  if (typeof json['status'] !== 'string' || !STATUS.includes(json['status']))
    issues.add(
      json['status'] === undefined ? 'required' : 'code-invalid',
      'Consent.status',
      `status is required, one of ${STATUS.join(', ')}`,
    );
  if (json['scope'] === undefined) issues.add('required', 'Consent.scope', 'scope is required');
  else if (!codings(json['scope']).some((c) => c.system === CONSENT_SCOPE_SYSTEM && c.code === 'patient-privacy'))
    issues.add(
      'not-supported',
      'Consent.scope',
      `records keeps privacy consents: scope ${CONSENT_SCOPE_SYSTEM}#patient-privacy`,
    );
  const category = json['category'];
  if (!Array.isArray(category) || category.length === 0)
    issues.add('required', 'Consent.category', 'category is required (1..*)');
  else category.forEach((c, i) => checkConcept(c, `Consent.category[${i}]`, issues));
  const patient = json['patient'];
  if (!isObject(patient) || typeof patient['reference'] !== 'string')
    issues.add('required', 'Consent.patient', 'ppc-2: a privacy consent names its patient (patient.reference)');
  else if (!PATIENT_REFERENCE.test(patient['reference']))
    issues.add('value', 'Consent.patient.reference', 'patient must be a local reference, Patient/<id>');
  if (json['dateTime'] !== undefined && (typeof json['dateTime'] !== 'string' || !DATE_TIME.test(json['dateTime'])))
    issues.add('value', 'Consent.dateTime', 'dateTime must be a FHIR dateTime');
  if (json['policy'] === undefined && json['policyRule'] === undefined)
    issues.add('invariant', 'Consent', 'ppc-1: either a policy or a policyRule is required');
  if (json['provision'] !== undefined) checkProvision(json['provision'], 'Consent.provision', issues, 1);
  if (issues.list.length > 0) return { ok: false, outcome: issues.outcome() };
  return { ok: true, consent: json as unknown as ConsentResource };
}
