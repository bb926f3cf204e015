/**
 * What the FHIR R4 search parameters `code` and `date` (and their per-type equivalents) index for each stored
 * type, so a store can persist them beside the encrypted resource. SPEC: FHIR R4 SearchParameter definitions:
 * Observation code/date (Observation.code, Observation.effective), Condition code/onset-date/recorded-date,
 * MedicationStatement code/effective (medication as CodeableConcept), AllergyIntolerance code/date
 * (code | reaction.substance, recordedDate), DocumentReference type/date (DocumentReference.type, .date),
 * Patient birthdate; `status` (Observation, MedicationStatement, DocumentReference: a code) and `clinical-status`
 * (Condition, AllergyIntolerance: a CodeableConcept). Date values are kept as FHIR wrote them; turning partial dates into ranges is the store's.
 */
import type { CodeableConcept, Period, Timing } from 'fhir/r4';
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

export function searchIndex(resource: StoredResource): SearchIndex {
  switch (resource.resourceType) {
    case 'Observation':
      return {
        tokens: [...tokens('code', resource.code), ...status('status', resource.status)],
        dates: moment(
          'date',
          resource.effectiveDateTime ?? resource.effectiveInstant,
          resource.effectivePeriod,
          resource.effectiveTiming,
        ),
      };
    case 'Condition':
      return {
        tokens: [...tokens('code', resource.code), ...tokens('clinical-status', resource.clinicalStatus)],
        dates: [
          ...moment('onset-date', resource.onsetDateTime, resource.onsetPeriod),
          ...moment('recorded-date', resource.recordedDate),
        ],
      };
    case 'MedicationStatement':
      return {
        tokens: [...tokens('code', resource.medicationCodeableConcept), ...status('status', resource.status)],
        dates: moment('effective', resource.effectiveDateTime, resource.effectivePeriod),
      };
    case 'AllergyIntolerance':
      return {
        tokens: [
          ...tokens('code', resource.code),
          ...(resource.reaction ?? []).flatMap((r) => tokens('code', r.substance)),
          ...tokens('clinical-status', resource.clinicalStatus),
        ],
        dates: moment('date', resource.recordedDate),
      };
    case 'DocumentReference':
      return {
        tokens: [...tokens('type', resource.type), ...status('status', resource.status)],
        dates: moment('date', resource.date),
      };
    case 'Patient':
      return { tokens: [], dates: moment('birthdate', resource.birthDate) };
  }
}

/** A `code` element (Observation.status…) as a token without system. */
function status(param: string, code: string | undefined): SearchToken[] {
  return code === undefined ? [] : [{ param, code }];
}

function tokens(param: string, concept: CodeableConcept | undefined): SearchToken[] {
  return (concept?.coding ?? []).flatMap((c) =>
    c.code === undefined
      ? []
      : [c.system === undefined ? { param, code: c.code } : { param, system: c.system, code: c.code }],
  );
}

function moment(param: string, point?: string, period?: Period, timing?: Timing): SearchDate[] {
  if (point !== undefined) return [{ param, start: point, end: point }];
  if (period && (period.start !== undefined || period.end !== undefined)) {
    return [{ param, ...(period.start && { start: period.start }), ...(period.end && { end: period.end }) }];
  }
  // SPEC: a Timing indexes as the span of its event times.
  const events = [...(timing?.event ?? [])].sort();
  if (events.length > 0) return [{ param, start: events[0], end: events[events.length - 1] }];
  return [];
}
