import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';

/** The FHIR IssueType codes this module reports (SPEC: R4 ValueSet issue-type). */
export type IssueCode =
  | 'structure'
  | 'required'
  | 'value'
  | 'invariant'
  | 'code-invalid'
  | 'not-supported'
  | 'business-rule';

// An OperationOutcome that lists thousands of issues helps nobody and costs memory on hostile input.
export const MAX_ISSUES = 100;

/** Collects the error issues of one validation, each naming its element with a FHIRPath `expression`. */
export class Issues {
  readonly list: OperationOutcomeIssue[] = [];

  add(code: IssueCode, expression: string, diagnostics: string): void {
    if (this.list.length < MAX_ISSUES)
      this.list.push({ severity: 'error', code, diagnostics, expression: [expression] });
  }

  outcome(): OperationOutcome {
    return { resourceType: 'OperationOutcome', issue: this.list };
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
