/**
 * The cheap error-level invariants of the stored types, hand-translated from their FHIRPath (there is no FHIRPath
 * engine here). Each names its key; the message is the spec's own text from the generated definitions.
 * SPEC: FHIR R4 StructureDefinitions (constraint keys dom-*, pat-1, obs-3/6/7, con-1/2/4/5, ait-1/2, mad-1, mdd-1,
 * imm-1, cpl-3, ctm-1, gol-1, prr-1, fhs-1/2).
 * Not translated: con-3 (a warning), dom-6 (a warning), and the datatypes' own invariants but ext-1 (validate.ts).
 */
import { type R4Type } from './definitions';
import { type Issues, isObject } from './outcome';
import { type StoredResourceType } from './validate';

type Json = Record<string, unknown>;

const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_VER_STATUS = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const ALLERGY_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';

export function checkInvariants(
  type: StoredResourceType,
  json: Json,
  path: string,
  issues: Issues,
  constraints: R4Type['constraints'],
  contained: boolean,
): void {
  const fail = (key: string, at: string) =>
    issues.add('invariant', at, `${key}: ${constraints[key]?.human ?? 'invariant failed'}`);

  checkDomainResource(json, path, contained, fail);
  switch (type) {
    case 'Patient':
      items(json.contact).forEach((contact, i) => {
        if (!has(contact, 'name', 'telecom', 'address', 'organization')) fail('pat-1', `${path}.contact[${i}]`);
      });
      return;
    case 'Observation': {
      const value = valueKey(json);
      if (value !== undefined && json.dataAbsentReason !== undefined) fail('obs-6', `${path}.dataAbsentReason`);
      if (value !== undefined) {
        const own = codings(json.code);
        const clash = items(json.component).some((c) => codings(c.code).some((x) => own.some((y) => sameCoding(x, y))));
        if (clash) fail('obs-7', `${path}.value`);
      }
      const checkRanges = (ranges: unknown, at: string) =>
        items(ranges).forEach((range, i) => {
          if (!has(range, 'low', 'high', 'text')) fail('obs-3', `${at}.referenceRange[${i}]`);
        });
      checkRanges(json.referenceRange, path);
      items(json.component).forEach((c, i) => checkRanges(c.referenceRange, `${path}.component[${i}]`));
      return;
    }
    case 'Condition': {
      const abated = Object.keys(json).some((k) => /^_?abatement[A-Z]/.test(k));
      if (abated && !hasCoding(json.clinicalStatus, CONDITION_CLINICAL, ['resolved', 'remission', 'inactive'])) {
        fail('con-4', `${path}.clinicalStatus`);
      }
      if (hasCoding(json.verificationStatus, CONDITION_VER_STATUS, ['entered-in-error']) && json.clinicalStatus) {
        fail('con-5', `${path}.clinicalStatus`);
      }
      items(json.stage).forEach((stage, i) => {
        if (!has(stage, 'summary', 'assessment')) fail('con-1', `${path}.stage[${i}]`);
      });
      items(json.evidence).forEach((evidence, i) => {
        if (!has(evidence, 'code', 'detail')) fail('con-2', `${path}.evidence[${i}]`);
      });
      return;
    }
    case 'AllergyIntolerance': {
      const enteredInError = hasCoding(json.verificationStatus, ALLERGY_VERIFICATION, ['entered-in-error']);
      if (!enteredInError && json.clinicalStatus === undefined) fail('ait-1', `${path}.clinicalStatus`);
      if (enteredInError && json.clinicalStatus !== undefined) fail('ait-2', `${path}.clinicalStatus`);
      return;
    }
    case 'MedicationAdministration':
      items(json.dosage).forEach((dosage) => {
        if (dosage.dose === undefined && !Object.keys(dosage).some((k) => /^rate[A-Z]/.test(k)))
          fail('mad-1', `${path}.dosage`);
      });
      return;
    case 'MedicationDispense':
      if (before(json.whenHandedOver, json.whenPrepared)) fail('mdd-1', `${path}.whenHandedOver`);
      return;
    case 'Immunization':
      items(json.education).forEach((education, i) => {
        if (!has(education, 'documentType', 'reference')) fail('imm-1', `${path}.education[${i}]`);
      });
      return;
    case 'CarePlan':
      items(json.activity).forEach((activity, i) => {
        if (has(activity, 'detail') && has(activity, 'reference')) fail('cpl-3', `${path}.activity[${i}]`);
      });
      return;
    case 'CareTeam':
      items(json.participant).forEach((participant, i) => {
        const member = isObject(participant.member) ? participant.member.reference : undefined;
        const type = typeof member === 'string' ? LITERAL_TYPE.exec(member)?.[1] : undefined;
        // member.resolve(): a literal reference names its type; one records cannot resolve passes, as in FHIRPath.
        if (participant.onBehalfOf !== undefined && type !== undefined && type !== 'Practitioner')
          fail('ctm-1', `${path}.participant[${i}].onBehalfOf`);
      });
      return;
    case 'Goal':
      items(json.target).forEach((target, i) => {
        const detail = Object.keys(target).some((k) => /^detail[A-Z]/.test(k));
        if (detail && target.measure === undefined) fail('gol-1', `${path}.target[${i}]`);
      });
      return;
    case 'ServiceRequest':
      if (json.orderDetail !== undefined && json.code === undefined) fail('prr-1', `${path}.orderDetail`);
      return;
    case 'FamilyMemberHistory': {
      const age = Object.keys(json).some((k) => /^age[A-Z]/.test(k));
      if (age && Object.keys(json).some((k) => /^born[A-Z]/.test(k))) fail('fhs-1', path);
      if (!age && json.estimatedAge !== undefined) fail('fhs-2', `${path}.estimatedAge`);
      return;
    }
    default:
      // The other types have no error invariants of their own in R4; dom-* and ext-1 hold for all.
      return;
  }
}

// SPEC: R4 §2.3.0 a literal reference names its target's type: [base/]Type/id.
const LITERAL_TYPE = /^(?:https?:\/\/\S+\/)?([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/\S+)?$/;

/**
 * Whether dateTime `a` is before `b`, as FHIRPath's `<` compares them: only when both are at the same precision
 * (dates) or both are full times with a zone (instants); otherwise the comparison is empty and the invariant holds.
 */
function before(a: unknown, b: unknown): boolean {
  if (typeof a !== 'string' || typeof b !== 'string') return false;
  const zoned = /T.*(Z|[+-]\d{2}:\d{2})$/;
  if (zoned.test(a) && zoned.test(b)) return Date.parse(a) < Date.parse(b);
  return !a.includes('T') && !b.includes('T') && a.length === b.length && a < b;
}

/** dom-2, dom-3, dom-4, dom-5: the rules for contained resources. */
function checkDomainResource(json: Json, path: string, contained: boolean, fail: (key: string, at: string) => void) {
  if (contained) {
    if (json.contained !== undefined) fail('dom-2', `${path}.contained`);
    return;
  }
  const containedResources = items(json.contained);
  if (containedResources.length === 0) return;
  // SPEC: dom-3 looks for '#id' in `%resource.descendants()`, the other contained resources included (HL7's
  // CarePlan-f202 refers to three contained Medications only from a fourth one's ingredients).
  const references = new Set<string>();
  collectReferences(json, references, 0);
  containedResources.forEach((resource) => collectReferences(resource, references, 0));
  containedResources.forEach((resource, i) => {
    const at = `${path}.contained[${i}]`;
    if (resource.contained !== undefined) fail('dom-2', `${at}.contained`);
    const meta = isObject(resource.meta) ? resource.meta : {};
    if (meta.versionId !== undefined || meta.lastUpdated !== undefined) fail('dom-4', `${at}.meta`);
    if (meta.security !== undefined) fail('dom-5', `${at}.meta.security`);
    const referenced = typeof resource.id === 'string' && references.has(`#${resource.id}`);
    // The other way round (the contained resource refers to its container with '#') satisfies dom-3 too.
    const refersBack = new Set<string>();
    collectReferences(resource, refersBack, 0);
    if (!referenced && !refersBack.has('#')) fail('dom-3', at);
  });
}

// The walk for '#id' references stops here: FHIR resources are nowhere near as deep, hostile JSON can be.
const MAX_DEPTH = 64;

function collectReferences(value: unknown, into: Set<string>, depth: number): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    value.forEach((v) => collectReferences(v, into, depth + 1));
  } else if (isObject(value)) {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'contained') continue;
      // dom-3 counts Reference.reference and any canonical or uri pointing at '#id'.
      if (typeof v === 'string' && v.startsWith('#')) into.add(v);
      else if (key !== 'reference') collectReferences(v, into, depth + 1);
    }
  }
}

function items(value: unknown): Json[] {
  return Array.isArray(value) ? value.filter(isObject) : isObject(value) ? [value] : [];
}

function has(json: Json, ...names: string[]): boolean {
  return names.some((n) => json[n] !== undefined);
}

function valueKey(json: Json): string | undefined {
  return Object.keys(json).find((k) => /^value[A-Z]/.test(k));
}

function codings(concept: unknown): Json[] {
  return isObject(concept) ? items(concept.coding) : [];
}

function sameCoding(a: Json, b: Json): boolean {
  return a.code !== undefined && a.code === b.code && a.system === b.system;
}

function hasCoding(concept: unknown, system: string, codes: string[]): boolean {
  return codings(concept).some((c) => c.system === system && typeof c.code === 'string' && codes.includes(c.code));
}
