/**
 * The shape of the tables the validator runs on. They are generated from the official FHIR R4 package
 * (r4-definitions.generated.ts, by ../definitions/generate.ts), never written by hand.
 */

/** One type an element may take: a FHIR type name (`code`, `CodeableConcept`, `Reference`…). */
export interface R4TypeRef {
  code: string;
  /** For Reference: the resource types it may point to (absent: any). */
  targets?: string[];
}

export interface R4Element {
  min: number;
  max: 1 | '*';
  /** Several for a choice element (`value[x]`). Empty when `contentReference` is set. */
  types: R4TypeRef[];
  /** The value set of a required binding (canonical url, no version). */
  binding?: string;
  /** A backbone element defined elsewhere in the same type: its path without the type (`referenceRange`). */
  contentReference?: string;
  /** The elements of a backbone element. */
  children?: Record<string, R4Element>;
}

export interface R4Type {
  /** Keyed by element name as the snapshot names it (`value[x]` for choices). */
  elements: Record<string, R4Element>;
  /** The invariants of the type and its elements, by key, as the spec states them. */
  constraints: Record<string, { severity: 'error' | 'warning'; human: string }>;
}

export interface R4Primitive {
  json: 'string' | 'number' | 'boolean';
  /** The spec's regex for the value's lexical form (unanchored, as published). */
  regex?: string;
}

/** Where a search parameter's values are in a resource's JSON, from its FHIRPath expression. */
export interface R4ValuePath {
  /** JSON property names from the resource root, choices resolved (`effectiveDateTime`; `reaction`, `substance`). */
  keys: string[];
  /** The FHIR type of the values reached (`dateTime`, `Period`, `CodeableConcept`, `Reference`…). */
  type: string;
  /** A Reference counts only when it points to this type (`.where(resolve() is Patient)`). */
  target?: string;
}

/** One R4 search parameter of a stored type, as records indexes it. */
export interface R4SearchParameter {
  /** Its code (`code`, `date`, `clinical-status`). */
  name: string;
  type: 'token' | 'date' | 'reference';
  paths: R4ValuePath[];
}

export interface R4Definitions {
  fhirVersion: '4.0.1';
  /** The npm package the tables were generated from. */
  source: string;
  resources: Record<string, R4Type>;
  complexTypes: Record<string, R4Type>;
  primitives: Record<string, R4Primitive>;
  /** Required-binding value sets, expanded: url → system → codes. */
  valueSets: Record<string, Record<string, string[]>>;
  /** Required-binding value sets the package cannot enumerate (filters, external code systems): not checked. */
  unexpandedValueSets: string[];
  /** The search parameters records offers for each stored type (SPEC: R4 SearchParameter expressions). */
  searchParameters: Record<string, R4SearchParameter[]>;
  /**
   * For each stored type but Patient, the parameter that names the patient whose record holds it (SPEC: R4
   * CompartmentDefinition patient; Device by its own `patient` parameter).
   */
  patientCompartment: Record<string, R4SearchParameter>;
}
