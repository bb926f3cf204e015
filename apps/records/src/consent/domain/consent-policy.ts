/**
 * Who may do what with a patient's records: the patient's own FHIR R4 Consent resources (scope patient-privacy),
 * evaluated on every request. Pure: the caller supplies the consents, the actor, the clock, the data asked for and
 * any break-glass grant. What records evaluates is exactly what validate-consent.ts accepts; everything else is
 * refused when the consent is written (422 not-supported), never accepted and ignored.
 *
 * SPEC: FHIR R4 Consent.policyRule ("the base computable regulation or policy"), Consent.provision ("an exception
 * to the base policy of this consent"; `type` "not permitted in root rule, required in all nested rules"),
 * Consent.provision.provision ("exceptions to the base rule or subrules"); v3 ActConsentDirective (OPTIN: assent,
 * OPTOUT: dissent); consentaction; consent-data-meaning; v3 ParticipationType; v3 PurposeOfUse. Decisions and
 * HL7's examples read with them: ADR 0007 "Consent semantics".
 *
 * 1. The base rule is the policyRule's: OPTIN / OPTINR permit, OPTOUT / OPTOUTE deny. A base permit reaches
 *    practitioners (the care providers whose terms an opt-in assents to) for `access` only: a related person,
 *    another patient or an org admin, and any correction, needs a provision that says so.
 * 2. The root provision is an exception to the base: without a type it has the opposite one (OPTIN + a provision
 *    naming Practitioner/x denies x; OPTOUT + a provision naming x permits only x). A root type repeating the base
 *    is refused at write time; one stored before that rule is read as written then: the root is the rule, and the
 *    consent says nothing outside it.
 * 3. A provision applies when every criterion it has matches (period, actor, action, purpose, class, data,
 *    dataPeriod); nested provisions are exceptions to their parent. Among applicable siblings, and across
 *    consents, any deny wins whatever the order; across consents an explicit provision outweighs a base rule.
 * 4. `actor.role` is evaluated: IRCP/PRCP (information recipient) name who asks, by their reference or their
 *    organization's. A deny matches its actors whatever the role (a stored role we do not know never opens
 *    anything). A purpose-bound deny also covers a request that declares no purpose.
 * 5. Data criteria compare with the resource asked for (requested-data.ts): `data.meaning` instance (that resource),
 *    related (it and the resources it refers to), dependents (it and the resources that refer to it);
 *    `dataPeriod`: a permit covers data whose whole time lies in the period, a deny covers data whose time touches
 *    it. A question without data (a search before its results are known) lets a data-bound permit through and a
 *    data-bound deny aside: each result is then decided with its own data.
 */
import type { RequestedData } from './requested-data';

export const CONSENT_ACTION_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentaction';
export const CONSENT_SCOPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/consentscope';
export const RESOURCE_TYPE_SYSTEM = 'http://hl7.org/fhir/resource-types';
export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
export const POLICY_RULE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
export const PARTICIPATION_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType';

export type Verdict = 'deny' | 'permit';

/** SPEC: v3 ActConsentDirective: OPTIN(R) a grantor's assent (with restrictions), OPTOUT(E) dissent (exceptions). */
export const BASE_RULES: Readonly<Record<string, Verdict>> = {
  OPTIN: 'permit',
  OPTINR: 'permit',
  OPTOUT: 'deny',
  OPTOUTE: 'deny',
};

/** v3 ParticipationType roles that name who receives the information: the requester. */
export const RECIPIENT_ROLES: readonly string[] = ['IRCP', 'PRCP'];

/** What an actor wants to do, as the consentaction code system names it; the only two records serves. */
export type ConsentAction = 'access' | 'correct';
export const CONSENT_ACTIONS: readonly ConsentAction[] = ['access', 'correct'];

/** SPEC: R4 consent-data-meaning, the meanings records evaluates (`authoredby` is refused). */
export type DataMeaning = 'instance' | 'related' | 'dependents';
export const DATA_MEANINGS: readonly DataMeaning[] = ['instance', 'related', 'dependents'];

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
  type?: Verdict;
  period?: Period;
  actor?: Array<{ role?: CodeableConcept; reference?: { reference?: string } }>;
  action?: CodeableConcept[];
  purpose?: Coding[];
  class?: Coding[];
  dataPeriod?: Period;
  data?: Array<{ meaning?: string; reference?: { reference?: string } }>;
  provision?: ConsentProvision[];
}

/** The part of a FHIR R4 Consent the policy reads. */
export interface ConsentResource {
  resourceType: 'Consent';
  id?: string;
  status: 'draft' | 'proposed' | 'active' | 'rejected' | 'inactive' | 'entered-in-error';
  scope?: CodeableConcept;
  patient?: { reference?: string };
  policyRule?: CodeableConcept;
  provision?: ConsentProvision;
}

export interface AccessRequest {
  actor: Actor;
  /** `Patient/<id>` whose data is requested. */
  patient: string;
  action: ConsentAction;
  /** The FHIR resource type requested (Observation, …). */
  resourceType: string;
  /** The resource asked for, when known (absent: a search before its results are known). */
  data?: RequestedData;
  /** v3 PurposeOfUse code the actor declares (TREAT, HPAYMT, …), if any. */
  purpose?: string;
  /** ISO instant: when the request happens. */
  now: string;
}

/**
 * For `data.meaning` related: the local references each resource a consent names makes (`Task/1` → its
 * `basedOn`, `focus`, …), as the caller found them in the patient's record. A resource not there relates to
 * nothing but itself.
 */
export type RelatedData = ReadonlyMap<string, readonly string[]>;

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

const DAY_MS = 86_400_000;
const time = (iso: string | undefined): number | undefined => (iso === undefined ? undefined : Date.parse(iso));

/** A FHIR Period as [start, end): dates without a time cover their whole last day. */
function interval(period: Period): { start: number; end: number } {
  const start = time(period.start) ?? -Infinity;
  const end = time(period.end);
  const endExclusive =
    end === undefined ? Infinity : period.end !== undefined && period.end.length === 10 ? end + DAY_MS : end;
  return { start, end: endExclusive };
}

function inPeriod(period: Period | undefined, now: number): boolean {
  if (!period) return true;
  const { start, end } = interval(period);
  return now >= start && now < end;
}

function codes(concepts: CodeableConcept[] | undefined, system: string): string[] {
  return (concepts ?? []).flatMap((c) => (c.coding ?? []).filter((x) => x.system === system).map((x) => x.code ?? ''));
}

/** The base rule of a consent's policyRule, if records knows it. */
export function baseRule(consent: Pick<ConsentResource, 'policyRule'>): Verdict | undefined {
  const [code] = codes(consent.policyRule ? [consent.policyRule] : [], POLICY_RULE_SYSTEM).filter((c) =>
    Object.hasOwn(BASE_RULES, c),
  );
  return code === undefined ? undefined : BASE_RULES[code];
}

function actorMatches(provision: ConsentProvision, type: Verdict, actor: Actor): boolean {
  return (provision.actor ?? []).some((a) => {
    const reference = a.reference?.reference;
    const named =
      reference === actor.reference || (actor.organization !== undefined && reference === actor.organization);
    // A permit names recipients only; a deny matches whoever it names.
    return (
      named &&
      (type === 'deny' ||
        codes(a.role ? [a.role] : [], PARTICIPATION_TYPE_SYSTEM).some((r) => RECIPIENT_ROLES.includes(r)))
    );
  });
}

function dataMatches(
  provision: ConsentProvision,
  type: Verdict,
  data: RequestedData | undefined,
  related: RelatedData,
): boolean {
  if (!data) return type === 'permit';
  return (provision.data ?? []).some((d) => {
    const named = d.reference?.reference;
    if (named === undefined) return false;
    if (named === data.reference) return true;
    switch (d.meaning) {
      case 'related':
        return related.get(named)?.includes(data.reference) ?? false;
      case 'dependents':
        return data.references.includes(named);
      default:
        return false;
    }
  });
}

function dataInPeriod(period: Period, type: Verdict, data: RequestedData | undefined): boolean {
  if (!data) return type === 'permit';
  const { start, end } = interval(period);
  return type === 'permit'
    ? data.span.start >= start && data.span.end <= end
    : data.span.start < end && data.span.end > start;
}

interface Evaluation {
  request: AccessRequest;
  now: number;
  related: RelatedData;
}

/** Whether a provision's own criteria (not its type) apply to the request. Absent criteria match everything. */
function applies(provision: ConsentProvision, type: Verdict, named: boolean, e: Evaluation): boolean {
  const { request } = e;
  if (!inPeriod(provision.period, e.now)) return false;
  if (provision.actor && provision.actor.length > 0 && !actorMatches(provision, type, request.actor)) return false;
  // A permit nobody on its path names reaches the care providers only (see 1. above).
  if (type === 'permit' && !named && request.actor.role !== 'practitioner') return false;
  if (
    provision.action &&
    provision.action.length > 0 &&
    !codes(provision.action, CONSENT_ACTION_SYSTEM).includes(request.action)
  )
    return false;
  const classes = (provision.class ?? []).filter((c) => c.system === RESOURCE_TYPE_SYSTEM).map((c) => c.code);
  if (provision.class && provision.class.length > 0 && !classes.includes(request.resourceType)) return false;
  const purposes = (provision.purpose ?? []).filter((c) => c.system === PURPOSE_OF_USE_SYSTEM).map((c) => c.code);
  // A request that declares no purpose may be for any: a purpose-bound permit does not cover it, a deny does.
  if (
    provision.purpose &&
    provision.purpose.length > 0 &&
    (request.purpose ? !purposes.includes(request.purpose) : type === 'permit')
  )
    return false;
  if (provision.data && provision.data.length > 0 && !dataMatches(provision, type, request.data, e.related))
    return false;
  if (provision.dataPeriod && !dataInPeriod(provision.dataPeriod, type, request.data)) return false;
  return true;
}

/**
 * The verdict of a provision of type `type` that applies: its type, unless an applicable nested provision (an
 * exception) says otherwise; among nested provisions a deny wins whatever their order. `undefined` when it does
 * not apply.
 */
function evaluate(provision: ConsentProvision, type: Verdict, named: boolean, e: Evaluation): Verdict | undefined {
  const namedHere = named || (provision.actor?.length ?? 0) > 0;
  if (!applies(provision, type, namedHere, e)) return undefined;
  let permitted = false;
  for (const nested of provision.provision ?? []) {
    // R4 requires a type on nested provisions (validated); a stored one without is no exception to anything.
    if (nested.type === undefined) continue;
    const inner = evaluate(nested, nested.type, namedHere, e);
    if (inner === 'deny') return 'deny';
    if (inner === 'permit') permitted = true;
  }
  return permitted ? 'permit' : type;
}

/** What one consent says about a request: an explicit provision's verdict, its base rule's, or nothing. */
function consentVerdict(consent: ConsentResource, e: Evaluation): { verdict: Verdict; explicit: boolean } | undefined {
  const base = baseRule(consent);
  const root = consent.provision;
  if (root) {
    // An untyped root is the exception to the base; a typed one repeating the base is a rule of its own (2. above).
    const type = root.type ?? (base === undefined ? undefined : base === 'permit' ? 'deny' : 'permit');
    if (type !== undefined) {
      const verdict = evaluate(root, type, false, e);
      if (verdict !== undefined) return { verdict, explicit: true };
      if (type === base) return undefined;
    }
  }
  if (base === 'deny') return { verdict: 'deny', explicit: false };
  if (base === 'permit' && e.request.actor.role === 'practitioner' && e.request.action === 'access')
    return { verdict: 'permit', explicit: false };
  return undefined;
}

function isPatientPrivacy(consent: ConsentResource): boolean {
  return codes(consent.scope ? [consent.scope] : [], CONSENT_SCOPE_SYSTEM).includes('patient-privacy');
}

/**
 * Decides one request. The patient may always do anything with their own records; anyone else is denied unless
 * an active patient-privacy Consent of that patient permits it: an explicit deny (a provision) wins over every
 * permit, an explicit permit over any base rule, a base deny over a base permit. A practitioner's break-glass grant
 * permits access (never correction) for its short window, whatever the consents say.
 */
export function decideAccess(
  request: AccessRequest,
  consents: readonly ConsentResource[],
  breakGlass: readonly BreakGlassGrant[] = [],
  related: RelatedData = new Map(),
): AccessDecision {
  const now = Date.parse(request.now);
  if (request.actor.role === 'patient' && request.actor.reference === request.patient)
    return { permit: true, basis: 'self' };

  const e: Evaluation = { request, now, related };
  const first: Partial<Record<'deny' | 'permit' | 'baseDeny' | 'basePermit', { id?: string }>> = {};
  for (const consent of consents) {
    if (consent.status !== 'active' || !isPatientPrivacy(consent)) continue;
    if (consent.patient?.reference !== request.patient) continue;
    const said = consentVerdict(consent, e);
    if (!said) continue;
    const key = said.explicit ? said.verdict : said.verdict === 'deny' ? 'baseDeny' : 'basePermit';
    first[key] ??= consent.id ? { id: consent.id } : {};
  }
  const denied = first.deny ?? (first.permit ? undefined : first.baseDeny);
  const permitted = denied ? undefined : (first.permit ?? first.basePermit);
  if (permitted) return { permit: true, basis: 'consent', ...(permitted.id ? { consentId: permitted.id } : {}) };

  // Emergency access overrides the patient's choices, for reading only and for a short window; the caller
  // flags, audits and anchors it and notifies the patient.
  const grant = breakGlass.find(
    (g) => g.actor === request.actor.reference && g.patient === request.patient && now < Date.parse(g.until),
  );
  if (grant && request.actor.role === 'practitioner' && request.action === 'access')
    return { permit: true, basis: 'break-glass' };

  const what = request.data?.reference ?? request.resourceType;
  if (denied)
    return {
      permit: false,
      basis: 'consent-deny',
      ...(denied.id ? { consentId: denied.id } : {}),
      reason: `Consent/${denied.id ?? '?'} denies ${request.actor.reference} to ${request.action} ${what}`,
    };
  return {
    permit: false,
    basis: 'default-deny',
    reason: `no active consent of ${request.patient} permits ${request.actor.reference} to ${request.action} ${what}`,
  };
}

/** The resources named with meaning `related` in these consents: the caller looks up what each refers to. */
export function relatedDataNamed(consents: readonly ConsentResource[]): string[] {
  const found = new Set<string>();
  const walk = (p: ConsentProvision | undefined): void => {
    if (!p) return;
    for (const d of p.data ?? [])
      if (d.meaning === 'related' && d.reference?.reference) found.add(d.reference.reference);
    p.provision?.forEach(walk);
  };
  consents.filter((c) => c.status === 'active').forEach((c) => walk(c.provision));
  return [...found];
}
