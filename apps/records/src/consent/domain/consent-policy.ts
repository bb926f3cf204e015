/**
 * Who may do what with a patient's records: the patient's own FHIR R4 Consent resources (scope patient-privacy),
 * evaluated on every request. Pure: the caller supplies the consents, the actor, the clock and any break-glass
 * grant. SPEC: FHIR R4 Consent (§ "Consent.provision"): the root provision is the base rule, nested provisions
 * are exceptions to it; HL7 consentaction codes; v3 PurposeOfUse codes.
 */

export const CONSENT_ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const RESOURCE_TYPE_SYSTEM = 'http://hl7.org/fhir/resource-types';
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

/** What an actor wants to do, as the consentaction code system names it. */
export type ConsentAction = 'access' | 'disclose' | 'correct';

export type ActorRole = 'patient' | 'practitioner' | 'related-person' | 'org-admin' | 'auditor';

export interface Actor {
  /** FHIR reference of the actor, e.g. `Practitioner/123`. */
  reference: string;
  role: ActorRole;
  /** The organization the actor acts for (`Organization/…`), when any. */
  organization?: string;
}

interface Coding {
  system?: string;
  code?: string;
}
interface CodeableConcept {
  coding?: Coding[];
}
interface Period {
  start?: string;
  end?: string;
}
export interface ConsentProvision {
  type?: 'deny' | 'permit';
  period?: Period;
  actor?: Array<{ role?: CodeableConcept; reference?: { reference?: string } }>;
  action?: CodeableConcept[];
  purpose?: Coding[];
  class?: Coding[];
  provision?: ConsentProvision[];
}

/** The part of a FHIR R4 Consent the policy reads. */
export interface ConsentResource {
  resourceType: 'Consent';
  id?: string;
  status: 'draft' | 'proposed' | 'active' | 'rejected' | 'inactive' | 'entered-in-error';
  scope?: CodeableConcept;
  patient?: { reference?: string };
  provision?: ConsentProvision;
}

export interface AccessRequest {
  actor: Actor;
  /** `Patient/<id>` whose data is requested. */
  patient: string;
  action: ConsentAction;
  /** The FHIR resource type requested (Observation, …). */
  resourceType: string;
  /** v3 PurposeOfUse code the actor declares (TREAT, HPAYMT, …), if any. */
  purpose?: string;
  /** ISO instant: when the request happens. */
  now: string;
}

/** An emergency access a practitioner claimed (break-glass), valid until `until`. */
export interface BreakGlassGrant {
  actor: string;
  patient: string;
  until: string;
  reason: string;
}

export type AccessDecision =
  | { permit: true; basis: 'self' | 'consent' | 'break-glass'; consentId?: string }
  | { permit: false; basis: 'default-deny' | 'consent-deny'; consentId?: string; reason: string };

const time = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

function inPeriod(period: Period | undefined, now: number): boolean {
  if (!period) return true;
  const start = time(period.start);
  const end = time(period.end);
  // FHIR dates without time cover the whole day: an end date of 2026-12-31 includes that day.
  const endInclusive =
    end !== undefined && period.end !== undefined && period.end.length === 10 ? end + 86_400_000 : end;
  return (start === undefined || now >= start) && (endInclusive === undefined || now < endInclusive);
}

function codes(concepts: CodeableConcept[] | undefined, system: string): string[] {
  return (concepts ?? []).flatMap((c) => (c.coding ?? []).filter((x) => x.system === system).map((x) => x.code ?? ''));
}

function actorMatches(provision: ConsentProvision, actor: Actor): boolean {
  if (!provision.actor || provision.actor.length === 0) return true;
  return provision.actor.some((a) => {
    const reference = a.reference?.reference;
    return reference === actor.reference || (actor.organization !== undefined && reference === actor.organization);
  });
}

/** Whether a provision's own criteria (not its type) apply to the request. Absent criteria match everything. */
function applies(provision: ConsentProvision, request: AccessRequest, now: number): boolean {
  if (!inPeriod(provision.period, now)) return false;
  if (!actorMatches(provision, request.actor)) return false;
  const actions = codes(provision.action, CONSENT_ACTION_SYSTEM);
  if (provision.action && provision.action.length > 0 && !actions.includes(request.action)) return false;
  const classes = (provision.class ?? []).filter((c) => c.system === RESOURCE_TYPE_SYSTEM).map((c) => c.code);
  if (provision.class && provision.class.length > 0 && !classes.includes(request.resourceType)) return false;
  const purposes = (provision.purpose ?? []).filter((c) => c.system === PURPOSE_OF_USE_SYSTEM).map((c) => c.code);
  if (provision.purpose && provision.purpose.length > 0 && (!request.purpose || !purposes.includes(request.purpose)))
    return false;
  return true;
}

/**
 * The verdict of one Consent: its root provision's type when it applies, overridden by the deepest nested
 * provision that applies (an exception to its parent). `undefined` when the consent says nothing about it.
 */
function evaluate(provision: ConsentProvision, request: AccessRequest, now: number): 'permit' | 'deny' | undefined {
  if (!applies(provision, request, now)) return undefined;
  let verdict = provision.type;
  for (const nested of provision.provision ?? []) {
    const inner = evaluate(nested, request, now);
    if (inner !== undefined) verdict = inner;
  }
  return verdict;
}

function isPatientPrivacy(consent: ConsentResource): boolean {
  return codes(consent.scope ? [consent.scope] : [], CONSENT_SCOPE_SYSTEM).includes('patient-privacy');
}

/**
 * Decides one request. The patient may always do anything with their own records; anyone else is denied unless
 * an active patient-privacy Consent of that patient permits it, and any applicable deny wins over every permit
 * (the most restrictive reading). A practitioner's break-glass grant permits access (never correction or
 * disclosure) for its short window, whatever the consents say.
 */
export function decideAccess(
  request: AccessRequest,
  consents: readonly ConsentResource[],
  breakGlass: readonly BreakGlassGrant[] = [],
): AccessDecision {
  const now = Date.parse(request.now);
  if (request.actor.role === 'patient' && request.actor.reference === request.patient)
    return { permit: true, basis: 'self' };

  let permitted: { id?: string } | undefined;
  let denied: { id?: string } | undefined;
  for (const consent of consents) {
    if (consent.status !== 'active' || !isPatientPrivacy(consent)) continue;
    if (consent.patient?.reference !== request.patient || !consent.provision) continue;
    const verdict = evaluate(consent.provision, request, now);
    if (verdict === 'deny') denied ??= { ...(consent.id ? { id: consent.id } : {}) };
    if (verdict === 'permit') permitted ??= { ...(consent.id ? { id: consent.id } : {}) };
  }
  if (permitted && !denied)
    return { permit: true, basis: 'consent', ...(permitted.id ? { consentId: permitted.id } : {}) };

  // Emergency access overrides the patient's choices, for reading only and for a short window; the caller
  // flags, audits and anchors it and notifies the patient.
  const grant = breakGlass.find(
    (g) => g.actor === request.actor.reference && g.patient === request.patient && now < Date.parse(g.until),
  );
  if (grant && request.actor.role === 'practitioner' && request.action === 'access')
    return { permit: true, basis: 'break-glass' };

  if (denied)
    return {
      permit: false,
      basis: 'consent-deny',
      ...(denied.id ? { consentId: denied.id } : {}),
      reason: `Consent/${denied.id ?? '?'} denies ${request.actor.reference} to ${request.action} ${request.resourceType}`,
    };
  return {
    permit: false,
    basis: 'default-deny',
    reason: `no active consent of ${request.patient} permits ${request.actor.reference} to ${request.action} ${request.resourceType}`,
  };
}
