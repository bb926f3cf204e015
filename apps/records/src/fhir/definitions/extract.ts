/**
 * Derives the validator's tables from the official FHIR R4 package (`hl7.fhir.r4.examples`, HL7's own package of
 * the R4 specification: its StructureDefinitions, ValueSets and CodeSystems are the ones the spec publishes). Only
 * what validation needs is kept: cardinality, types, required bindings (expanded), primitive regexes and the
 * invariants' human text. Pure: the caller supplies the package's files (see generate.ts and extract.spec.ts).
 * Decision and limits: docs/adr/0006-fhir-r4-validation.md.
 */
import {
  type R4Definitions,
  type R4Element,
  type R4Primitive,
  type R4SearchParameter,
  type R4Type,
  type R4TypeRef,
  type R4ValuePath,
} from '../domain/definitions';

/**
 * The resource types records stores, and which of R4's search parameters it offers for each (besides `patient`,
 * `_id` and `_lastUpdated`): `code`/`type`, the status, and the clinical date. Patient and the first five clinical
 * types since issue 5; the rest of a clinical record in the R4 Patient compartment since issue 16 item 17 (what a
 * record generator such as Synthea writes for each patient). Device is outside the Patient compartment in R4 but
 * names its patient (`Device.patient`, the device affixed to them).
 */
export const STORED_RESOURCE_SEARCH = {
  Patient: ['birthdate'],
  Observation: ['code', 'status', 'date'],
  Condition: ['code', 'clinical-status', 'onset-date', 'recorded-date'],
  MedicationStatement: ['code', 'status', 'effective'],
  AllergyIntolerance: ['code', 'clinical-status', 'date'],
  DocumentReference: ['type', 'status', 'date'],
  Encounter: ['type', 'status', 'date'],
  MedicationRequest: ['code', 'status', 'authoredon'],
  Procedure: ['code', 'status', 'date'],
  DiagnosticReport: ['code', 'status', 'date'],
  Immunization: ['vaccine-code', 'status', 'date'],
  CarePlan: ['category', 'status', 'date'],
  CareTeam: ['category', 'status', 'date'],
  Device: ['type', 'status'],
  Provenance: ['recorded'],
  Goal: ['category', 'lifecycle-status', 'start-date'],
  ServiceRequest: ['code', 'status', 'authored'],
  Specimen: ['type', 'status', 'collected'],
  MedicationAdministration: ['code', 'status', 'effective-time'],
  MedicationDispense: ['code', 'status', 'whenhandedover'],
  FamilyMemberHistory: ['code', 'status', 'date'],
  ClinicalImpression: ['status', 'date'],
  ImagingStudy: ['modality', 'status', 'started'],
} as const satisfies Record<string, readonly string[]>;

export const STORED_RESOURCE_TYPES = Object.keys(STORED_RESOURCE_SEARCH) as Array<keyof typeof STORED_RESOURCE_SEARCH>;

/** Reads one file of the package by name (e.g. `StructureDefinition-Observation.json`), parsed. */
export type PackageFile = (fileName: string) => unknown;
/** The names of the package's files. */
export type PackageListing = () => readonly string[];

const FHIR_TYPE_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type';
const REGEX_EXTENSION = 'http://hl7.org/fhir/StructureDefinition/regex';
const STRUCTURE_DEFINITION = 'http://hl7.org/fhir/StructureDefinition/';
// SPEC: FHIR R4 §2.24.0.1 (JSON representation of primitives): these are JSON numbers and booleans, the rest strings.
const NUMBER_PRIMITIVES = new Set(['integer', 'decimal', 'positiveInt', 'unsignedInt']);

interface Extension {
  url: string;
  valueUrl?: string;
  valueString?: string;
}
interface SdType {
  code: string;
  extension?: Extension[];
  targetProfile?: string[];
}
interface SdElement {
  path: string;
  min?: number;
  max?: string;
  type?: SdType[];
  contentReference?: string;
  binding?: { strength: string; valueSet?: string };
  constraint?: { key: string; severity: 'error' | 'warning'; human: string }[];
}
interface StructureDefinition {
  resourceType: 'StructureDefinition';
  name: string;
  type: string;
  kind: 'primitive-type' | 'complex-type' | 'resource' | 'logical';
  url: string;
  snapshot: { element: SdElement[] };
}
interface Concept {
  code: string;
  concept?: Concept[];
}
interface CodeSystem {
  resourceType: 'CodeSystem';
  url: string;
  content: string;
  concept?: Concept[];
}
interface ValueSetInclude {
  system?: string;
  concept?: { code: string }[];
  filter?: unknown[];
  valueSet?: string[];
}
interface ValueSet {
  resourceType: 'ValueSet';
  url: string;
  compose?: { include: ValueSetInclude[]; exclude?: ValueSetInclude[] };
}

interface SearchParameter {
  resourceType: 'SearchParameter';
  code: string;
  base?: string[];
  type: string;
  expression?: string;
  experimental?: boolean;
}
interface CompartmentDefinition {
  resourceType: 'CompartmentDefinition';
  code: string;
  resource: { code: string; param?: string[] }[];
}

export function extractR4Definitions(file: PackageFile, list: PackageListing): R4Definitions {
  const byCanonical = <T extends { url: string }>(kind: string, url: string): T | undefined => {
    const bare = url.split('|')[0] ?? url;
    // The package names each conformance resource <Type>-<id>.json, and the spec's canonical urls end in the id.
    const id = bare.slice(bare.lastIndexOf('/') + 1);
    let resource: T;
    try {
      resource = file(`${kind}-${id}.json`) as T;
    } catch {
      return undefined;
    }
    return resource.url === bare ? resource : undefined;
  };
  const structure = (name: string): StructureDefinition => {
    const sd = byCanonical<StructureDefinition>('StructureDefinition', STRUCTURE_DEFINITION + name);
    if (!sd) throw new Error(`no StructureDefinition for ${name} in the package`);
    return sd;
  };

  const resources: Record<string, R4Type> = {};
  const complexTypes: Record<string, R4Type> = {};
  const primitives: Record<string, R4Primitive> = {};
  const bindings = new Set<string>();
  const pending: string[] = [];
  const seen = new Set<string>();
  const need = (typeName: string) => {
    if (!seen.has(typeName)) {
      seen.add(typeName);
      pending.push(typeName);
    }
  };

  const convert = (sd: StructureDefinition): R4Type => {
    const root: R4Type = { elements: {}, constraints: {} };
    const nodes = new Map<string, Record<string, R4Element>>([[sd.type, root.elements]]);
    for (const element of sd.snapshot.element) {
      // Every element's invariants, keyed by their (unique) key; ele-1 (no empty elements) is structural.
      for (const c of element.constraint ?? []) {
        if (c.key !== 'ele-1') root.constraints[c.key] = { severity: c.severity, human: c.human };
      }
      if (element.path === sd.type) continue;
      const cut = element.path.lastIndexOf('.');
      const parent = nodes.get(element.path.slice(0, cut));
      // Children of an element whose max is 0 (profiles such as SimpleQuantity) are gone with it.
      if (!parent || element.max === '0') continue;
      const name = element.path.slice(cut + 1);
      const converted: R4Element = { min: element.min ?? 0, max: element.max === '*' ? '*' : 1, types: [] };
      if (element.contentReference) {
        converted.contentReference = element.contentReference.replace(`#${sd.type}.`, '');
      }
      for (const t of element.type ?? []) {
        const ref: R4TypeRef = { code: typeCode(t, sd, element.path) };
        const targets = (t.targetProfile ?? [])
          .map((p) => p.replace(STRUCTURE_DEFINITION, ''))
          .filter((p) => p !== 'Resource');
        if (targets.length > 0) ref.targets = targets;
        converted.types.push(ref);
        if (ref.code !== 'BackboneElement' && ref.code !== 'Element') need(ref.code);
      }
      if (element.binding?.strength === 'required' && element.binding.valueSet) {
        const url = element.binding.valueSet.split('|')[0] ?? element.binding.valueSet;
        converted.binding = url;
        bindings.add(url);
      }
      const backbone = converted.types.some((t) => t.code === 'BackboneElement' || t.code === 'Element');
      if (backbone && sd.snapshot.element.some((e) => e.path.startsWith(`${element.path}.`))) {
        converted.children = {};
        nodes.set(element.path, converted.children);
      }
      parent[name] = converted;
    }
    return root;
  };

  for (const name of STORED_RESOURCE_TYPES) {
    resources[name] = convert(structure(name));
  }
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (name === 'Resource' || name in resources) continue;
    const sd = structure(name);
    if (sd.kind === 'primitive-type') {
      primitives[name] = primitive(sd);
    } else {
      complexTypes[name] = convert(sd);
    }
  }

  const typeOf = (name: string): R4Type | undefined => resources[name] ?? complexTypes[name];
  const parameters = searchParameters(file, list);
  const parameter = (type: string, code: string): R4SearchParameter => {
    const sp = parameters.get(`${type}.${code}`);
    if (!sp) throw new Error(`no SearchParameter ${code} of ${type} in the package`);
    return { name: code, type: searchType(sp), paths: valuePaths(type, sp, typeOf) };
  };
  const search: R4Definitions['searchParameters'] = {};
  const patientCompartment: R4Definitions['patientCompartment'] = {};
  const compartment = file('CompartmentDefinition-patient.json') as CompartmentDefinition;
  for (const name of STORED_RESOURCE_TYPES) {
    search[name] = STORED_RESOURCE_SEARCH[name].map((code) => parameter(name, code));
    if (name === 'Patient') continue; // the compartment's own resource: a Patient is its own record.
    patientCompartment[name] = parameter(name, compartmentParameter(compartment, name, parameters));
  }

  const valueSets: R4Definitions['valueSets'] = {};
  const unexpandedValueSets: string[] = [];
  for (const url of [...bindings].sort()) {
    const expansion = expand(url, byCanonical);
    if (expansion) valueSets[url] = expansion;
    else unexpandedValueSets.push(url);
  }

  return {
    fhirVersion: '4.0.1',
    source: 'hl7.fhir.r4.examples@4.0.1',
    resources,
    complexTypes: sortKeys(complexTypes),
    primitives: sortKeys(primitives),
    valueSets,
    unexpandedValueSets,
    searchParameters: search,
    patientCompartment,
  };
}

/** Every SearchParameter of the package by `<base type>.<code>`. */
function searchParameters(file: PackageFile, list: PackageListing): Map<string, SearchParameter> {
  const byKey = new Map<string, SearchParameter>();
  for (const name of list()) {
    if (!name.startsWith('SearchParameter-') || !name.endsWith('.json')) continue;
    const sp = file(name) as SearchParameter;
    // The experimental ones are the package's examples of SearchParameter (example-reference…), not R4's own.
    if (sp.experimental) continue;
    for (const base of sp.base ?? []) byKey.set(`${base}.${sp.code}`, sp);
  }
  return byKey;
}

/**
 * The search parameter that names the patient whose record holds a resource of `type`: SPEC: R4
 * CompartmentDefinition `patient`: the type's parameters in the compartment, of which `patient` (else `subject`)
 * is the record's patient; the others (performer, recorder, asserter…) name a patient who acted, not the one the
 * data is about. A type outside the compartment (Device) is placed by its own `patient` parameter.
 */
function compartmentParameter(
  compartment: CompartmentDefinition,
  type: string,
  parameters: Map<string, SearchParameter>,
): string {
  const params = compartment.resource.find((r) => r.code === type)?.param ?? [];
  const chosen = ['patient', 'subject'].find((p) => params.includes(p));
  if (chosen) return chosen;
  if (params.length === 0 && parameters.has(`${type}.patient`)) return 'patient';
  throw new Error(`${type}: no parameter of the Patient compartment names its patient (${params.join(', ')})`);
}

function searchType(sp: SearchParameter): R4SearchParameter['type'] {
  if (sp.type === 'token' || sp.type === 'date' || sp.type === 'reference') return sp.type;
  throw new Error(`SearchParameter ${sp.code}: type ${sp.type} is not indexed by records`);
}

// SPEC: R4 §3.1.1.5: what each kind of search parameter indexes. A date parameter over an Age, a Range or a string
// (Procedure.performed[x], Condition.onset[x]…) indexes nothing here: those values name no point in time.
const INDEXED: Record<R4SearchParameter['type'], readonly string[]> = {
  token: ['code', 'Coding', 'CodeableConcept', 'Identifier'],
  date: ['date', 'dateTime', 'instant', 'Period', 'Timing'],
  reference: ['Reference'],
};

// The FHIRPath forms R4's search parameters of the stored types use: `T.a.b`, `(T.a as X)`, `T.a.as(X)`,
// `T.a.where(resolve() is X)`. Anything else fails the generation rather than index something else.
const PATH_EXPRESSION =
  /^\(?(?<type>[A-Z][A-Za-z]+)\.(?<path>[A-Za-z.]+?)(?: as (?<as>\w+)\))?(?:\.as\((?<asFn>\w+)\))?(?:\.where\(resolve\(\) is (?<target>[A-Z]\w+)\))?$/;

/** The JSON property chains a search parameter's expression reaches in a resource of `type`, with their types. */
function valuePaths(type: string, sp: SearchParameter, typeOf: (name: string) => R4Type | undefined): R4ValuePath[] {
  const paths: R4ValuePath[] = [];
  for (const part of (sp.expression ?? '').split(' | ')) {
    const m = PATH_EXPRESSION.exec(part.trim());
    if (!m?.groups) throw new Error(`SearchParameter ${sp.code}: cannot read '${part}'`);
    const { type: root, path = '', as, asFn, target } = m.groups;
    if (root !== type) continue;
    const only = as ?? asFn;
    const names = path.split('.');
    let elements = typeOf(type)?.elements;
    const keys: string[] = [];
    for (const [i, name] of names.entries()) {
      const last = i === names.length - 1;
      const element = elements?.[name] ?? elements?.[`${name}[x]`];
      if (!element) throw new Error(`SearchParameter ${sp.code}: ${type}.${path} is not an element`);
      if (!last) {
        keys.push(name);
        const next = element.types[0]?.code;
        elements = element.children ?? (next === undefined ? undefined : typeOf(next)?.elements);
        continue;
      }
      const choice = !(name in (elements ?? {}));
      for (const t of element.types) {
        if (only !== undefined && t.code !== only) continue;
        if (!INDEXED[searchType(sp)].includes(t.code)) continue;
        const key = choice ? name + t.code.charAt(0).toUpperCase() + t.code.slice(1) : name;
        paths.push({ keys: [...keys, key], type: t.code, ...(target !== undefined && { target }) });
      }
    }
  }
  if (paths.length === 0) throw new Error(`SearchParameter ${sp.code} reaches nothing indexable in ${type}`);
  return paths;
}

function typeCode(t: SdType, sd: StructureDefinition, path: string): string {
  // SPEC: FHIR R4 §2.6.1: Resource.id is an `id`; the R4 snapshots give it as System.String with fhir-type string.
  if (sd.kind === 'resource' && path === `${sd.type}.id`) return 'id';
  if (t.code.startsWith('http://hl7.org/fhirpath/System.')) {
    return t.extension?.find((e) => e.url === FHIR_TYPE_EXTENSION)?.valueUrl ?? 'string';
  }
  return t.code;
}

function primitive(sd: StructureDefinition): R4Primitive {
  const value = sd.snapshot.element.find((e) => e.path === `${sd.type}.value`);
  const regex = value?.type?.[0]?.extension?.find((e) => e.url === REGEX_EXTENSION)?.valueString;
  const json = sd.type === 'boolean' ? 'boolean' : NUMBER_PRIMITIVES.has(sd.type) ? 'number' : 'string';
  return regex === undefined ? { json } : { json, regex };
}

/** Codes of a value set by system, or undefined when it cannot be enumerated from the package (filters, external systems). */
function expand(
  url: string,
  byCanonical: <T extends { url: string }>(kind: string, url: string) => T | undefined,
): Record<string, string[]> | undefined {
  const vs = byCanonical<ValueSet>('ValueSet', url);
  if (!vs?.compose) return undefined;
  const codes: Record<string, Set<string>> = {};
  const add = (system: string, code: string) => (codes[system] ??= new Set()).add(code);
  for (const include of vs.compose.include) {
    const system = include.system;
    if (include.filter?.length || !system) return undefined;
    for (const nested of include.valueSet ?? []) {
      const inner = expand(nested, byCanonical);
      if (!inner) return undefined;
      for (const [system, list] of Object.entries(inner)) list.forEach((c) => add(system, c));
    }
    if (include.concept) {
      include.concept.forEach((c) => add(system, c.code));
      continue;
    }
    const cs = byCanonical<CodeSystem>('CodeSystem', system);
    if (!cs || cs.content !== 'complete' || !cs.concept) return undefined;
    const walk = (concepts: Concept[]) =>
      concepts.forEach((c) => {
        add(system, c.code);
        walk(c.concept ?? []);
      });
    walk(cs.concept);
  }
  if (vs.compose.exclude?.length) return undefined;
  return Object.fromEntries(Object.entries(codes).map(([system, set]) => [system, [...set]]));
}

function sortKeys<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
}
