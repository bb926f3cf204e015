/**
 * What the FHIR R4 search parameters records offers index for each stored type, so a search (and a consent's
 * `dataPeriod`) can compare against them. The parameters and where their values are come from R4's
 * SearchParameter definitions, generated into `R4.searchParameters` (../definitions/extract.ts chooses which:
 * `code`/`type`, the status, the clinical date). Tokens: a `code` (a status, without system), a Coding, each
 * Coding of a CodeableConcept, an Identifier. Dates: a date, dateTime or instant as a point, a Period as its
 * bounds, a Timing as the span of its event times. Date values are kept as FHIR wrote them; turning partial dates
 * into ranges is the store's.
 */
import type { CodeableConcept, Coding, Identifier, Period, Timing } from 'fhir/r4';
import { type R4SearchParameter } from './definitions';
import { valuesAt } from './patient-of';
import { R4 } from './r4-definitions.generated';
import { type StoredResource } from './validate';

export interface SearchToken {
  /** The search parameter (`code`, `type`). */
  param: string;
  system?: string;
  code: string;
}

export interface SearchDate {
  /** The search parameter (`date`, `onset-date`, `effective`, `birthdate`…). */
  param: string;
  /** Inclusive start and end as FHIR date/dateTime/instant strings; equal for a single point in time. */
  start?: string;
  end?: string;
}

export interface SearchIndex {
  tokens: SearchToken[];
  dates: SearchDate[];
}

/** The token and date parameters records offers for a stored type, by name (the reference ones aside). */
export function searchParametersOf(resourceType: string): { tokens: string[]; dates: string[] } | undefined {
  const parameters = R4.searchParameters[resourceType];
  if (!parameters) return undefined;
  const named = (type: R4SearchParameter['type']) => parameters.filter((p) => p.type === type).map((p) => p.name);
  return { tokens: named('token'), dates: named('date') };
}

export function searchIndex(resource: StoredResource): SearchIndex {
  const index: SearchIndex = { tokens: [], dates: [] };
  for (const parameter of R4.searchParameters[resource.resourceType] ?? []) {
    for (const path of parameter.paths) {
      for (const value of valuesAt(resource, path.keys)) {
        if (parameter.type === 'token') index.tokens.push(...tokens(parameter.name, path.type, value));
        else if (parameter.type === 'date') index.dates.push(...moment(parameter.name, path.type, value));
      }
    }
  }
  return index;
}

function tokens(param: string, type: string, value: unknown): SearchToken[] {
  const token = (system: string | undefined, code: string | undefined): SearchToken[] =>
    code === undefined ? [] : [system === undefined ? { param, code } : { param, system, code }];
  switch (type) {
    case 'code':
      return typeof value === 'string' ? token(undefined, value) : [];
    case 'Coding':
      return token((value as Coding).system, (value as Coding).code);
    case 'CodeableConcept':
      return ((value as CodeableConcept).coding ?? []).flatMap((c) => token(c.system, c.code));
    case 'Identifier':
      return token((value as Identifier).system, (value as Identifier).value);
    default:
      return [];
  }
}

function moment(param: string, type: string, value: unknown): SearchDate[] {
  switch (type) {
    case 'date':
    case 'dateTime':
    case 'instant':
      return typeof value === 'string' ? [{ param, start: value, end: value }] : [];
    case 'Period': {
      const period = value as Period;
      if (period.start === undefined && period.end === undefined) return [];
      return [{ param, ...(period.start && { start: period.start }), ...(period.end && { end: period.end }) }];
    }
    case 'Timing': {
      // SPEC: a Timing indexes as the span of its event times.
      const events = [...((value as Timing).event ?? [])].sort();
      return events.length > 0 ? [{ param, start: events[0], end: events[events.length - 1] }] : [];
    }
    default:
      return [];
  }
}
