/**
 * FHIR R4 validation of the Consent resources patients write, for the elements the consent policy reads (the
 * six record types are validated from HL7's tables in fhir/domain; Consent is checked here by hand, ADR 0006).
 * SPEC: FHIR R4 Consent: status 1..1 (required binding consent-state-codes), scope 1..1, category 1..*,
 * provision.actor.role 1..1 and .reference 1..1, provision.type "not permitted in root rule, required in all nested
 * rules", provision.data.meaning 1..1 (required binding consent-data-meaning) and .reference 1..1, invariants ppc-1
 * (policy or policyRule) and ppc-2 (a privacy consent names its patient). medledger's own rules: scope
 * patient-privacy, patient a local Patient reference.
 *
 * Every element of a provision is either evaluated by consent-policy.ts or refused here with a `not-supported`
 * issue naming it (answered 422), so nothing a patient writes is accepted and then ignored: `securityLabel`,
 * `code`, `modifierExtension`, data meaning `authoredby`, actor roles other than the information recipients, actors
 * records cannot match with who asks (a Group, CareTeam, PractitionerRole or absolute reference), the
 * actions `collect`, `use` and `disclose` (records has no interaction that collects, uses or passes data on: a read
 * is `access`, a write `correct`), codes of other systems in `action`, `class`, `purpose`, and a policyRule that is
 * not one of the base rules records knows (OPTIN, OPTINR, OPTOUT, OPTOUTE). A root `type` repeating the base rule is
 * refused (`business-rule`): R4 does not allow a type there, and the exception it would make changes nothing.
 */
import type { OperationOutcome } from 'fhir/r4';
import { Issues, isObject } from '../../fhir/domain/outcome';
import {
  BASE_RULES,
  baseRule,
  CONSENT_ACTION_SYSTEM,
  CONSENT_ACTIONS,
  CONSENT_SCOPE_SYSTEM,
  DATA_MEANINGS,
  PARTICIPATION_TYPE_SYSTEM,
  POLICY_RULE_SYSTEM,
  PURPOSE_OF_USE_SYSTEM,
  RECIPIENT_ROLES,
  RESOURCE_TYPE_SYSTEM,
  type ConsentResource,
} from './consent-policy';
import { LOCAL_REFERENCE } from './requested-data';

const STATUS = ['draft', 'proposed', 'active', 'rejected', 'inactive', 'entered-in-error'];
const PROVISION_TYPE = ['deny', 'permit'];
// SPEC: R4 consent-data-meaning (required binding).
const DATA_MEANING_CODES = ['instance', 'related', 'dependents', 'authoredby'];
const PATIENT_REFERENCE = /^Patient\/[A-Za-z0-9\-.]{1,64}$/;
/** What a bearer token's `sub` can be (ADR 0005): the only actors records can tell are the one asking. */
const ACTOR_REFERENCE = /^(Patient|Practitioner|RelatedPerson|Organization|Device)\/[A-Za-z0-9\-.]{1,64}$/;
// SPEC: R4 dateTime: YYYY, YYYY-MM, YYYY-MM-DD or a full instant with a zone.
const DATE_TIME =
  /^([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?$/;
/** Nesting deeper than this is no policy a person wrote; it bounds the walk on hostile input. */
const MAX_PROVISION_DEPTH = 8;
/** The elements of R4 Consent.provision: each evaluated, or refused as not supported. */
const PROVISION_ELEMENTS = new Set([
  'id',
  'extension',
  'modifierExtension',
  'type',
  'period',
  'actor',
  'action',
  'securityLabel',
  'purpose',
  'class',
  'code',
  'dataPeriod',
  'data',
  'provision',
]);
/** Provision elements records does not evaluate, and why. */
const NOT_EVALUATED: Record<string, string> = {
  securityLabel: 'records keeps no security labels on resources to compare with; write class, data or dataPeriod',
  code: 'records does not match codes inside resources; write class (a resource type), data or dataPeriod',
  modifierExtension: 'records understands no modifier extension, and may not ignore one',
};

/**
 * `status` 422 when the consent is well-formed R4 that records will not evaluate (every issue `not-supported` or
 * `business-rule`: FHIR's "Unprocessable Entity"), 400 when it is not valid R4.
 */
export type ConsentValidation =
  | { ok: true; consent: ConsentResource }
  | { ok: false; status: 400 | 422; outcome: OperationOutcome };

const UNPROCESSABLE: readonly unknown[] = ['not-supported', 'business-rule'];

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

function checkProvision(
  value: unknown,
  path: string,
  issues: Issues,
  depth: number,
  base: 'deny' | 'permit' | undefined,
): void {
  if (!isObject(value)) return issues.add('structure', path, 'a provision is a JSON object');
  if (depth > MAX_PROVISION_DEPTH)
    return issues.add('structure', path, `provisions nest at most ${MAX_PROVISION_DEPTH} deep`);
  for (const name of Object.keys(value)) {
    if (!PROVISION_ELEMENTS.has(name)) issues.add('structure', `${path}.${name}`, `Consent.provision has no ${name}`);
    else if (NOT_EVALUATED[name] !== undefined) issues.add('not-supported', `${path}.${name}`, NOT_EVALUATED[name]);
  }
  const type = value['type'];
  if (type !== undefined && !PROVISION_TYPE.includes(type as string))
    issues.add('code-invalid', `${path}.type`, `type must be one of ${PROVISION_TYPE.join(', ')}`);
  else if (depth > 1 && type === undefined)
    issues.add('required', `${path}.type`, 'a nested provision says whether it permits or denies (R4: required)');
  else if (depth === 1 && type !== undefined && type === base)
    issues.add(
      'business-rule',
      `${path}.type`,
      `the root provision is an exception to the policyRule, whose base rule is already ${base}: leave type out ` +
        `(the exception then ${base === 'permit' ? 'denies' : 'permits'}), or choose the policyRule you mean ` +
        `(${base === 'permit' ? 'OPTOUT: nothing is shared but what the provisions permit' : 'OPTIN'})`,
    );
  checkPeriod(value['period'], `${path}.period`, issues);
  checkPeriod(value['dataPeriod'], `${path}.dataPeriod`, issues);
  for (const [name, check] of [
    ['actor', checkActor],
    ['action', checkAction],
    ['purpose', checkCodingOf(PURPOSE_OF_USE_SYSTEM, 'a v3 PurposeOfUse code')],
    ['class', checkCodingOf(RESOURCE_TYPE_SYSTEM, 'a FHIR resource type')],
    ['data', checkData],
  ] as const) {
    const list = value[name];
    if (list === undefined) continue;
    if (!Array.isArray(list)) issues.add('structure', `${path}.${name}`, `${name} is an array`);
    else list.forEach((item, i) => check(item, `${path}.${name}[${i}]`, issues));
  }
  const nested = value['provision'];
  if (nested !== undefined) {
    if (!Array.isArray(nested)) issues.add('structure', `${path}.provision`, 'provision is an array');
    else nested.forEach((p, i) => checkProvision(p, `${path}.provision[${i}]`, issues, depth + 1, base));
  }
}

function checkActor(value: unknown, path: string, issues: Issues): void {
  if (!isObject(value)) return issues.add('structure', path, 'an actor is a JSON object');
  refuseModifiers(value, path, issues);
  if (value['role'] === undefined) issues.add('required', `${path}.role`, 'actor.role is required');
  else {
    checkConcept(value['role'], `${path}.role`, issues);
    const roles = codings(value['role']).filter((c) => c.system === PARTICIPATION_TYPE_SYSTEM);
    if (!roles.some((c) => RECIPIENT_ROLES.includes(c.code as string)))
      issues.add(
        'not-supported',
        `${path}.role`,
        `records evaluates the recipient roles ${RECIPIENT_ROLES.join(', ')} (${PARTICIPATION_TYPE_SYSTEM}): the ` +
          'actor is who asks for the data (an author or custodian role would be about the data, which records ' +
          'cannot tell)',
      );
  }
  const reference = value['reference'];
  if (!isObject(reference) || typeof reference['reference'] !== 'string')
    issues.add('required', `${path}.reference`, 'actor.reference is required, a Reference with a reference');
  else if (!ACTOR_REFERENCE.test(reference['reference']))
    issues.add(
      'not-supported',
      `${path}.reference`,
      'records matches an actor with who asks (a token names a Patient, Practitioner, RelatedPerson, Organization ' +
        'or Device by a local reference); a group, care team, role or absolute reference it cannot resolve',
    );
}

function checkAction(value: unknown, path: string, issues: Issues): void {
  checkConcept(value, path, issues);
  const known = codings(value).filter((c) => c.system === CONSENT_ACTION_SYSTEM);
  if (known.length === 0 || !known.every((c) => (CONSENT_ACTIONS as readonly unknown[]).includes(c.code)))
    issues.add(
      'not-supported',
      path,
      `records evaluates the actions ${CONSENT_ACTIONS.join(' and ')} (${CONSENT_ACTION_SYSTEM}): a read is access, ` +
        'a write correct; nothing records does collects, uses or discloses data onwards',
    );
}

function checkCodingOf(system: string, what: string) {
  return (value: unknown, path: string, issues: Issues): void => {
    checkCoding(value, path, issues);
    if (isObject(value) && (value['system'] !== system || typeof value['code'] !== 'string'))
      issues.add('not-supported', path, `records evaluates ${what} here: system ${system} and a code`);
  };
}

function checkData(value: unknown, path: string, issues: Issues): void {
  if (!isObject(value)) return issues.add('structure', path, 'data is a JSON object');
  refuseModifiers(value, path, issues);
  const meaning = value['meaning'];
  if (meaning === undefined) issues.add('required', `${path}.meaning`, 'data.meaning is required');
  else if (!DATA_MEANING_CODES.includes(meaning as string))
    issues.add('code-invalid', `${path}.meaning`, `meaning must be one of ${DATA_MEANING_CODES.join(', ')}`);
  else if (!(DATA_MEANINGS as readonly unknown[]).includes(meaning))
    issues.add(
      'not-supported',
      `${path}.meaning`,
      `records evaluates the meanings ${DATA_MEANINGS.join(', ')}: who authored a resource is not recorded in it ` +
        'reliably enough to decide on',
    );
  const reference = value['reference'];
  if (!isObject(reference) || typeof reference['reference'] !== 'string')
    issues.add('required', `${path}.reference`, 'data.reference is required, a Reference with a reference');
  else if (!LOCAL_REFERENCE.test(reference['reference']))
    issues.add('value', `${path}.reference.reference`, 'data names a resource of the record: <type>/<id>');
}

/** A modifier extension changes what its element means: one records does not understand cannot be ignored. */
function refuseModifiers(value: Record<string, unknown>, path: string, issues: Issues): void {
  if (value['modifierExtension'] !== undefined)
    issues.add('not-supported', `${path}.modifierExtension`, NOT_EVALUATED['modifierExtension'] as string);
}

function checkCoding(value: unknown, path: string, issues: Issues): void {
  if (!isObject(value) || (value['code'] !== undefined && typeof value['code'] !== 'string'))
    issues.add('structure', path, 'a Coding is a JSON object whose code is a string');
}

function checkPolicyRule(json: Record<string, unknown>, issues: Issues): void {
  const rule = json['policyRule'];
  if (rule === undefined) {
    if (json['policy'] !== undefined)
      issues.add(
        'not-supported',
        'Consent.policyRule',
        `records takes the base rule from policyRule (${Object.keys(BASE_RULES).join(', ')}), not from a ` +
          'policy document',
      );
    return;
  }
  checkConcept(rule, 'Consent.policyRule', issues);
  if (isObject(rule) && baseRule({ policyRule: rule }) === undefined)
    issues.add(
      'not-supported',
      'Consent.policyRule',
      `records evaluates the base rules ${Object.keys(BASE_RULES).join(', ')} (${POLICY_RULE_SYSTEM})`,
    );
}

/** Checks `json` as a Consent a patient may write. */
export function validateConsent(json: unknown): ConsentValidation {
  const issues = new Issues();
  if (!isObject(json) || json['resourceType'] !== 'Consent') {
    issues.add('structure', 'Consent', 'a Consent is a JSON object with "resourceType": "Consent"');
    return { ok: false, status: 400, outcome: issues.outcome() };
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
  else checkPolicyRule(json, issues);
  if (json['modifierExtension'] !== undefined)
    issues.add('not-supported', 'Consent.modifierExtension', NOT_EVALUATED['modifierExtension'] as string);
  const base = isObject(json['policyRule']) ? baseRule({ policyRule: json['policyRule'] }) : undefined;
  if (json['provision'] !== undefined) checkProvision(json['provision'], 'Consent.provision', issues, 1, base);
  if (issues.list.length > 0)
    return {
      ok: false,
      status: issues.list.every((i) => UNPROCESSABLE.includes(i.code)) ? 422 : 400,
      outcome: issues.outcome(),
    };
  return { ok: true, consent: json as unknown as ConsentResource };
}
