/**
 * What a Consent's data criteria (`provision.data`, `provision.dataPeriod`) compare against: one resource of the
 * record, described from its own content. Pure.
 *
 * Decisions (ADR 0007, "Consent semantics"):
 * - A resource's identity is its local reference `<type>/<id>`; the references it makes are every local
 *   `<type>/<id>` reference anywhere in it (subject, basedOn, hasMember, performer, …), contained resources aside.
 *   `related` of a resource that refers to its patient therefore covers the Patient resource too, as R4 says.
 * - Its time, for `dataPeriod`, is its clinically relevant time as R4's search parameters index it (Observation
 *   `effective[x]`, Condition onset and recordedDate, MedicationStatement `effective[x]`, AllergyIntolerance
 *   recordedDate, DocumentReference `date`; fhir/domain searchIndex): the span from the earliest to the latest of
 *   them, each partial date covering its whole year, month or day, a period without an end reaching on. A
 *   resource with none of them (a Patient, whose birthDate says nothing about when the data was made, or an
 *   Observation without effective[x]) is dated by `meta.lastUpdated`, the time records stored that version.
 *   SPEC: R4 Consent.provision.dataPeriod "Clinical or Operational Relevant period of time that bounds the data
 *   controlled by this rule".
 */
import { isStoredResourceType, searchIndex, type StoredResource } from '../../fhir/domain';

export interface RequestedData {
  /** `Observation/<id>`. */
  reference: string;
  /** The local references the resource makes, for `data.meaning` `dependents`. */
  references: readonly string[];
  /** When the data is about: epoch ms, start inclusive, end exclusive. */
  span: TimeSpan;
}

export interface TimeSpan {
  start: number;
  end: number;
}

/** A local, relative FHIR reference (`Observation/123`); absolute, contained and logical references are not. */
export const LOCAL_REFERENCE = /^[A-Z][A-Za-z]{1,63}\/[A-Za-z0-9\-.]{1,64}$/;

// SPEC: R4 date/dateTime/instant; a zone-less dateTime is read as UTC (R4 leaves its zone unknown).
const PARTIAL = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** The interval a FHIR date, dateTime or instant covers at its precision (`2015` is the whole of 2015). */
export function timeSpan(value: string): TimeSpan | undefined {
  const m = PARTIAL.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h] = m;
  const year = Number(y);
  if (mo === undefined) return { start: Date.UTC(year, 0, 1), end: Date.UTC(year + 1, 0, 1) };
  const month = Number(mo) - 1;
  if (d === undefined) return { start: Date.UTC(year, month, 1), end: Date.UTC(year, month + 1, 1) };
  const day = Number(d);
  if (h === undefined) return { start: Date.UTC(year, month, day), end: Date.UTC(year, month, day + 1) };
  const at = Date.parse(m[8] === undefined ? `${value}Z` : value);
  return Number.isNaN(at) ? undefined : { start: at, end: at + 1 };
}

/** Every local reference in a resource (any depth). */
export function referencesIn(resource: unknown): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, key: string): void => {
    if (typeof value === 'string') {
      if (key === 'reference' && LOCAL_REFERENCE.test(value)) found.add(value);
    } else if (Array.isArray(value)) value.forEach((v) => walk(v, key));
    else if (typeof value === 'object' && value !== null)
      for (const [k, v] of Object.entries(value)) if (k !== 'contained') walk(v, k);
  };
  walk(resource, '');
  return [...found];
}

/** Describes the current (or a past) version of a stored resource for the consent policy. */
export function describeData(
  resource: { resourceType: string } & Record<string, unknown>,
  id: string,
  lastUpdated: string,
): RequestedData {
  const spans = clinicalDates(resource).flatMap((d) => {
    const start = d.start === undefined ? undefined : timeSpan(d.start)?.start;
    const end = d.end === undefined ? undefined : timeSpan(d.end)?.end;
    if (start === undefined && end === undefined) return [];
    // An open-ended period (an onset with no end: still going) is unbounded on that side, so a permit of a data
    // period never covers it and a deny of one always does.
    return [{ start: start ?? -Infinity, end: end ?? Infinity }];
  });
  const fallback = timeSpan(lastUpdated) ?? { start: 0, end: 1 };
  return {
    reference: `${resource.resourceType}/${id}`,
    references: referencesIn(resource),
    span:
      spans.length === 0
        ? fallback
        : { start: Math.min(...spans.map((s) => s.start)), end: Math.max(...spans.map((s) => s.end)) },
  };
}

function clinicalDates(resource: { resourceType: string }): Array<{ start?: string; end?: string }> {
  if (!isStoredResourceType(resource.resourceType)) return [];
  return searchIndex(resource as StoredResource).dates.filter((d) => d.param !== 'birthdate');
}
