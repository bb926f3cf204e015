/**
 * FHIR R4 validation of the resources records stores, driven by tables generated from the official R4 package
 * (r4-definitions.generated.ts): cardinality, JSON shape, unknown elements, primitive lexical forms, required
 * bindings, reference targets, and the cheap invariants of invariants.ts. Pure: no I/O, no framework.
 * SPEC: FHIR R4 (4.0.1) §2.6 JSON representation, §2.24 datatypes, §4.1 terminology bindings ("required").
 * What it does not check: docs/adr/0006-fhir-r4-validation.md.
 */
import type {
  AllergyIntolerance,
  CarePlan,
  CareTeam,
  ClinicalImpression,
  Condition,
  Device,
  DiagnosticReport,
  DocumentReference,
  Encounter,
  FamilyMemberHistory,
  Goal,
  ImagingStudy,
  Immunization,
  MedicationAdministration,
  MedicationDispense,
  MedicationRequest,
  MedicationStatement,
  Observation,
  OperationOutcome,
  Patient,
  Procedure,
  Provenance,
  ServiceRequest,
  Specimen,
} from 'fhir/r4';
import { type R4Element, type R4Type } from './definitions';
import { checkInvariants } from './invariants';
import { Issues, isObject } from './outcome';
import { R4 } from './r4-definitions.generated';

export type StoredResource =
  | Patient
  | Observation
  | Condition
  | MedicationStatement
  | AllergyIntolerance
  | DocumentReference
  | Encounter
  | MedicationRequest
  | Procedure
  | DiagnosticReport
  | Immunization
  | CarePlan
  | CareTeam
  | Device
  | Provenance
  | Goal
  | ServiceRequest
  | Specimen
  | MedicationAdministration
  | MedicationDispense
  | FamilyMemberHistory
  | ClinicalImpression
  | ImagingStudy;
export type StoredResourceType = StoredResource['resourceType'];

export type ValidationResult = { ok: true; resource: StoredResource } | { ok: false; outcome: OperationOutcome };

export const STORED_TYPES: readonly StoredResourceType[] = Object.keys(R4.resources) as StoredResourceType[];

// SPEC: FHIR R4 §2.24.0.1 string: "SHALL NOT exceed 1MB (1024*1024 characters) in size".
const MAX_STRING_LENGTH = 1024 * 1024;
// SPEC: FHIR R4 §2.24.0.1 integer: a signed 32-bit integer.
const INTEGER_MIN = -2_147_483_648;
const INTEGER_MAX = 2_147_483_647;

export function isStoredResourceType(type: string): type is StoredResourceType {
  return Object.hasOwn(R4.resources, type);
}

/** Checks `json` as a FHIR R4 resource of one of the stored types; every problem becomes an error issue. */
export function validateResource(json: unknown): ValidationResult {
  const issues = new Issues();
  if (!isObject(json)) {
    issues.add('structure', 'Resource', 'a resource is a JSON object');
  } else if (typeof json.resourceType !== 'string') {
    issues.add('required', 'Resource.resourceType', 'resourceType is required, a string');
  } else if (!isStoredResourceType(json.resourceType)) {
    issues.add('not-supported', 'Resource.resourceType', `resource type '${json.resourceType}' is not supported`);
  } else {
    validateResourceObject(json, json.resourceType, json.resourceType, issues, false);
  }
  if (issues.list.length > 0) return { ok: false, outcome: issues.outcome() };
  return { ok: true, resource: json as StoredResource };
}

function validateResourceObject(
  json: Record<string, unknown>,
  type: StoredResourceType,
  path: string,
  issues: Issues,
  contained: boolean,
): void {
  const definition = R4.resources[type];
  if (!definition) return;
  checkElements(json, definition.elements, path, { root: definition, issues, contained }, true);
  checkInvariants(type, json, path, issues, definition.constraints, contained);
}

interface Context {
  /** The definition of the resource being walked: contentReferences resolve in it. */
  root: R4Type;
  issues: Issues;
  contained: boolean;
}

/** One JSON property an element allows: `valueQuantity` for `value[x]` of type Quantity. */
interface Slot {
  element: R4Element;
  elementName: string;
  type: string;
  /** FHIRPath of the element: `value.ofType(Quantity)` for a choice. */
  fhirPath: string;
}

function slots(elements: Record<string, R4Element>): Map<string, Slot> {
  const map = new Map<string, Slot>();
  for (const [name, element] of Object.entries(elements)) {
    if (name.endsWith('[x]')) {
      const base = name.slice(0, -3);
      for (const t of element.types) {
        const key = base + t.code.charAt(0).toUpperCase() + t.code.slice(1);
        map.set(key, { element, elementName: name, type: t.code, fhirPath: `${base}.ofType(${t.code})` });
      }
    } else {
      map.set(name, { element, elementName: name, type: element.types[0]?.code ?? 'BackboneElement', fhirPath: name });
    }
  }
  return map;
}

const slotCache = new WeakMap<Record<string, R4Element>, Map<string, Slot>>();
function slotsOf(elements: Record<string, R4Element>): Map<string, Slot> {
  let cached = slotCache.get(elements);
  if (!cached) {
    cached = slots(elements);
    slotCache.set(elements, cached);
  }
  return cached;
}

function checkElements(
  json: Record<string, unknown>,
  elements: Record<string, R4Element>,
  path: string,
  ctx: Context,
  isResource: boolean,
): void {
  const allowed = slotsOf(elements);
  if (Object.keys(json).length === 0) {
    ctx.issues.add('structure', path, 'an element must have a value or children (ele-1): {} is not allowed');
    return;
  }
  const present = new Map<string, string[]>();
  for (const [key, value] of Object.entries(json)) {
    if (isResource && key === 'resourceType') continue;
    const primitiveExtension = key.startsWith('_');
    const slot = allowed.get(primitiveExtension ? key.slice(1) : key);
    if (!slot || (primitiveExtension && !(slot.type in R4.primitives))) {
      ctx.issues.add('structure', `${path}.${key}`, `unknown element '${key}'`);
      continue;
    }
    const keys = present.get(slot.elementName) ?? [];
    if (!keys.includes(slot.fhirPath)) keys.push(slot.fhirPath);
    present.set(slot.elementName, keys);
    if (primitiveExtension) checkPrimitiveExtension(value, slot, `${path}.${slot.fhirPath}`, ctx);
    else checkSlot(value, slot, `${path}.${slot.fhirPath}`, ctx, json[`_${key}`] !== undefined);
  }
  for (const [name, element] of Object.entries(elements)) {
    const keys = present.get(name);
    if (!keys && element.min > 0) {
      ctx.issues.add('required', `${path}.${name.replace('[x]', '')}`, `${name} is required (min ${element.min})`);
    } else if (keys && keys.length > 1) {
      ctx.issues.add(
        'structure',
        `${path}.${name.replace('[x]', '')}`,
        `only one of ${keys.join(', ')} may be present`,
      );
    }
  }
}

function checkSlot(value: unknown, slot: Slot, path: string, ctx: Context, hasExtension: boolean): void {
  const { element } = slot;
  const primitive = slot.type in R4.primitives;
  if (element.max === '*') {
    if (!Array.isArray(value)) {
      ctx.issues.add('structure', path, 'must be a JSON array (max cardinality *)');
      return;
    }
    if (value.length === 0) {
      ctx.issues.add('structure', path, 'an array must not be empty');
      return;
    }
    value.forEach((item, i) => {
      // A primitive array keeps nulls where only the `_` twin has content (SPEC: R4 §2.6.2.2).
      if (item === null && primitive && hasExtension) return;
      checkValue(item, slot, `${path}[${i}]`, ctx);
    });
    return;
  }
  if (Array.isArray(value)) {
    ctx.issues.add('structure', path, 'must not be an array (max cardinality 1)');
    return;
  }
  checkValue(value, slot, path, ctx);
}

function checkValue(value: unknown, slot: Slot, path: string, ctx: Context): void {
  const { element, type } = slot;
  if (value === null || value === undefined) {
    ctx.issues.add('structure', path, 'null is not a value in FHIR JSON');
    return;
  }
  const primitive = R4.primitives[type];
  if (primitive) {
    checkPrimitive(value, type, path, ctx);
    if (element.binding && typeof value === 'string') checkCode(value, element.binding, path, ctx);
    return;
  }
  if (!isObject(value)) {
    ctx.issues.add('structure', path, `must be a JSON object (${type})`);
    return;
  }
  if (element.contentReference) {
    const target = resolvePath(ctx.root.elements, element.contentReference);
    if (target?.children) checkElements(value, target.children, path, ctx, false);
    return;
  }
  if (element.children) {
    checkElements(value, element.children, path, ctx, false);
    return;
  }
  if (type === 'Resource') {
    checkContained(value, path, ctx);
    return;
  }
  const complex = R4.complexTypes[type];
  if (!complex) {
    ctx.issues.add('structure', path, `type ${type} is not known`);
    return;
  }
  checkElements(value, complex.elements, path, ctx, false);
  if (element.binding) checkCoded(value, type, element.binding, path, ctx);
  if (type === 'Reference') checkReferenceTarget(value, slot, path, ctx);
  // SPEC: R4 Extension ext-1: "Must have either extensions or value[x], not both".
  if (type === 'Extension' && 'extension' in value && Object.keys(value).some((k) => k.startsWith('value'))) {
    ctx.issues.add('invariant', path, `ext-1: ${R4.complexTypes.Extension?.constraints['ext-1']?.human ?? ''}`);
  }
}

function checkPrimitive(value: unknown, type: string, path: string, ctx: Context): void {
  const primitive = R4.primitives[type];
  if (!primitive) return;
  if (typeof value !== primitive.json) {
    ctx.issues.add('structure', path, `a ${type} is a JSON ${primitive.json}`);
    return;
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) ctx.issues.add('value', path, `not a valid ${type}`);
    else if (type !== 'decimal' && (!Number.isInteger(value) || value < INTEGER_MIN || value > INTEGER_MAX)) {
      ctx.issues.add('value', path, `${value} is not a valid ${type}`);
    } else if (!matches(type, String(value))) ctx.issues.add('value', path, `${value} is not a valid ${type}`);
    return;
  }
  if (typeof value !== 'string') return;
  if (value.length > MAX_STRING_LENGTH) {
    ctx.issues.add('value', path, `a ${type} must not exceed ${MAX_STRING_LENGTH} characters`);
    return;
  }
  if (value.trim() === '' && type !== 'xhtml') {
    ctx.issues.add('value', path, `a ${type} must not be empty`);
    return;
  }
  if (type === 'xhtml') {
    // SPEC: R4 Narrative.div: XHTML whose root is a <div>; full XHTML rules (txt-1, txt-2) are not checked.
    if (!/^\s*<div[\s>]/.test(value)) ctx.issues.add('value', path, 'narrative must be XHTML with a <div> root');
    return;
  }
  if (!matches(type, value)) ctx.issues.add('value', path, `'${shorten(value)}' is not a valid ${type}`);
}

const regexCache = new Map<string, RegExp | null>();
function matches(type: string, value: string): boolean {
  if (type === 'base64Binary') return isBase64(value);
  let regex = regexCache.get(type);
  if (regex === undefined) {
    const source = R4.primitives[type]?.regex;
    regex = source === undefined ? null : new RegExp(`^(?:${javaWhitespace(source)})$`);
    regexCache.set(type, regex);
  }
  return regex === null || regex.test(value);
}

// SPEC: the R4 regexes are Java's (the HL7 validator's): \s is [ \t\n\x0B\f\r] only. JavaScript's \s also takes
// Unicode spaces, so a string with a no-break space (HL7's DiagnosticReport-gingival-mass) would fail `[ \r\n\t\S]+`.
const JAVA_SPACE = ' \\t\\n\\x0B\\f\\r';

/** A spec regex with \s and \S as Java reads them (in a character class, \S becomes an alternative). */
export function javaWhitespace(source: string): string {
  return source.replace(
    /\[(\^?)((?:\\.|[^\]\\])*)\]|\\[sS]|\\./g,
    (token, negated: string | undefined, body?: string) => {
      if (token === '\\s') return `[${JAVA_SPACE}]`;
      if (token === '\\S') return `[^${JAVA_SPACE}]`;
      if (body === undefined) return token;
      const spaced = body.replace(/\\s/g, JAVA_SPACE);
      if (!spaced.includes('\\S')) return `[${negated ?? ''}${spaced}]`;
      if (negated) throw new Error(`unsupported regex class ${token}`);
      return `(?:[${spaced.replace(/\\S/g, '')}]|[^${JAVA_SPACE}])`;
    },
  );
}

/**
 * base64Binary without the spec's regex `(\s*([0-9a-zA-Z\+/=]){4}\s*)+`: its nested quantifiers backtrack
 * exponentially on a long invalid attachment (ReDoS). Same language, checked in linear time.
 */
function isBase64(value: string): boolean {
  const compact = value.replace(/\s+/g, '');
  return compact.length % 4 === 0 && /^[0-9a-zA-Z+/=]*$/.test(compact);
}

function checkPrimitiveExtension(value: unknown, slot: Slot, path: string, ctx: Context): void {
  const items = Array.isArray(value) ? value : [value];
  if (Array.isArray(value) !== (slot.element.max === '*')) {
    ctx.issues.add('structure', path, `_${slot.fhirPath} must match the cardinality of its value`);
    return;
  }
  items.forEach((item, i) => {
    if (item === null && Array.isArray(value)) return;
    const itemPath = Array.isArray(value) ? `${path}[${i}]` : path;
    if (!isObject(item)) {
      ctx.issues.add('structure', itemPath, 'the extensions of a primitive are a JSON object');
      return;
    }
    const extension: Slot = {
      element: { min: 0, max: '*', types: [{ code: 'Extension' }] },
      elementName: 'extension',
      type: 'Extension',
      fhirPath: 'extension',
    };
    for (const [key, v] of Object.entries(item)) {
      if (key === 'id') checkPrimitive(v, 'string', `${itemPath}.id`, ctx);
      else if (key === 'extension') checkSlot(v, extension, `${itemPath}.extension`, ctx, false);
      else ctx.issues.add('structure', `${itemPath}.${key}`, `unknown element '${key}'`);
    }
  });
}

function checkCode(code: string, valueSetUrl: string, path: string, ctx: Context): void {
  const valueSet = R4.valueSets[valueSetUrl];
  if (!valueSet) return;
  if (!Object.values(valueSet).some((codes) => codes.includes(code))) {
    ctx.issues.add(
      'code-invalid',
      path,
      `'${shorten(code)}' is not in the required value set ${describe(valueSetUrl)}`,
    );
  }
}

/** A required binding on a Coding or CodeableConcept: one coding must come from the value set. */
function checkCoded(value: Record<string, unknown>, type: string, valueSetUrl: string, path: string, ctx: Context) {
  const valueSet = R4.valueSets[valueSetUrl];
  if (!valueSet) return;
  const codings = type === 'Coding' ? [value] : Array.isArray(value.coding) ? (value.coding as unknown[]) : [];
  const inSet = codings.some(
    (c) =>
      isObject(c) &&
      typeof c.system === 'string' &&
      typeof c.code === 'string' &&
      (valueSet[c.system]?.includes(c.code) ?? false),
  );
  if (!inSet) {
    ctx.issues.add('code-invalid', path, `no coding from the required value set ${describe(valueSetUrl)}`);
  }
}

function describe(valueSetUrl: string): string {
  const valueSet = R4.valueSets[valueSetUrl] ?? {};
  const entries = Object.entries(valueSet);
  const count = entries.reduce((n, [, codes]) => n + codes.length, 0);
  // Short value sets (statuses, genders) are worth listing; long ones would drown the message.
  if (count > 12) return valueSetUrl;
  return `${valueSetUrl} (${entries.map(([system, codes]) => `${system}: ${codes.join(' | ')}`).join('; ')})`;
}

// SPEC: R4 §2.3.0 (Resource references): a literal reference [base/]Type/id[/_history/vid].
const LITERAL_REFERENCE =
  /^(?:https?:\/\/\S+\/)?([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

function checkReferenceTarget(value: Record<string, unknown>, slot: Slot, path: string, ctx: Context): void {
  const targets = slot.element.types.find((t) => t.code === 'Reference')?.targets;
  if (!targets || typeof value.reference !== 'string') return;
  const type = LITERAL_REFERENCE.exec(value.reference)?.[1];
  if (type !== undefined && !targets.includes(type)) {
    ctx.issues.add('value', `${path}.reference`, `must refer to ${targets.join(' | ')}, not ${type}`);
  }
}

function checkContained(value: Record<string, unknown>, path: string, ctx: Context): void {
  if (ctx.contained) {
    return; // dom-2 (no nested contained resources) is reported by the invariants of the container.
  }
  const type = value.resourceType;
  if (typeof type !== 'string' || !/^[A-Z][A-Za-z]+$/.test(type)) {
    ctx.issues.add('required', `${path}.resourceType`, 'a contained resource needs a resourceType');
    return;
  }
  // A contained resource of a stored type is validated in full; others (Medication, Practitioner…) only by shape.
  if (isStoredResourceType(type)) validateResourceObject(value, type, path, ctx.issues, true);
}

function resolvePath(elements: Record<string, R4Element>, path: string): R4Element | undefined {
  let current: R4Element | undefined;
  let scope: Record<string, R4Element> | undefined = elements;
  for (const name of path.split('.')) {
    current = scope?.[name];
    scope = current?.children;
  }
  return current;
}

function shorten(value: string): string {
  return value.length > 64 ? `${value.slice(0, 61)}...` : value;
}
