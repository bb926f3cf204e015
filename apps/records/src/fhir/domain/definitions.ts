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
}
