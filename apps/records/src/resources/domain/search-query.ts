/**
 * FHIR R4 search within one patient's record (pure): which parameters each type takes, how a request's parameters
 * parse, and whether a resource matches. Token parameters (`code`, `type`) match `[system|]code`; date parameters
 * take the prefixes eq, ne, gt, lt, ge, le and compare ranges, so `date=2013` matches anything within 2013.
 * SPEC: FHIR R4 §3.1.1.5.7 token, §3.1.1.5.3 date (prefixes, implicit ranges from precision). Dates without a
 * zone are read as UTC.
 */
import { searchParametersOf, STORED_TYPES, type SearchIndex } from '../../fhir/domain';

/**
 * The search parameters of each searchable type, besides `patient`/`subject`: R4's, generated from HL7's
 * SearchParameter definitions (fhir/domain searchParametersOf). A Patient is not searched (a search is within one
 * patient's record: it is read); a Consent only by patient, `_id` and `_lastUpdated`.
 */
export const SEARCH_PARAMETERS: Readonly<Record<string, { tokens: readonly string[]; dates: readonly string[] }>> =
  Object.fromEntries([
    ...STORED_TYPES.filter((type) => type !== 'Patient').map((type) => [
      type,
      searchParametersOf(type) ?? { tokens: [], dates: [] },
    ]),
    ['Consent', { tokens: [], dates: [] }],
  ]) as Record<string, { tokens: readonly string[]; dates: readonly string[] }>;

/**
 * Parameters of every type (SPEC: FHIR R4 §3.1.1.4.1): `_id` (token, the resource's id), `_lastUpdated` (date, its
 * meta.lastUpdated); `_count` and `_offset` page the results (the service's, see PAGE_SIZE).
 */
export const COMMON_PARAMETERS = ['_id', '_lastUpdated', '_count', '_offset'] as const;

type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le';

/** One value of a token parameter: a comma in the request makes several, any of which matches (§3.1.1.4.8). */
export interface TokenValue {
  system?: string;
  code: string;
}

export type Criterion =
  | { kind: 'token'; param: string; values: TokenValue[] }
  | { kind: 'id'; values: string[] }
  | { kind: 'date'; param: string; prefix: Prefix; start: number; end: number };

export interface SearchQuery {
  patientId: string;
  criteria: Criterion[];
}

export type ParsedSearch = { ok: true; query: SearchQuery } | { ok: false; param: string; message: string };

const PATIENT = /^(?:Patient\/)?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i;
const DATE =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;
/** Parameters FHIR defines for every search, accepted and ignored here. */
const IGNORED = new Set(['_format', '_pretty', '_summary', '_count', '_offset']);

/** SPEC: FHIR R4 §3.1.1.4.8: values separated by unescaped commas are ORed; `\,` is a literal comma. */
function orValues(value: string): string[] {
  return value.split(/(?<!\\),/).map((part) => part.replace(/\\,/g, ','));
}

/**
 * The range [start, end) in ms that a FHIR date, dateTime or instant stands for, from its precision: `2013` is the
 * whole year, `2013-05-02T10:30` that minute. Undefined when it is not a FHIR date.
 */
export function dateRange(value: string): { start: number; end: number } | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = mo === undefined ? 0 : Number(mo) - 1;
  const day = d === undefined ? 1 : Number(d);
  const daysInMonth = new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
  if (month > 11 || day < 1 || day > daysInMonth || Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59)
    return undefined;
  const offset =
    zone === undefined || zone === 'Z'
      ? 0
      : (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const start =
    Date.UTC(
      year,
      month,
      day,
      h === undefined ? 0 : Number(h),
      mi === undefined ? 0 : Number(mi),
      s === undefined ? 0 : Number(s),
      frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0')),
    ) -
    offset * 60_000;
  if (Number.isNaN(start)) return undefined;
  let end: number;
  if (mo === undefined) end = Date.UTC(year + 1, 0, 1);
  else if (d === undefined) end = Date.UTC(year, month + 1, 1);
  else if (h === undefined) end = Date.UTC(year, month, day + 1);
  else if (s === undefined) end = start + 60_000;
  else if (frac === undefined) end = start + 1_000;
  else end = start + 1;
  return { start, end };
}

/** Parses the query string of `GET /fhir/<type>?…`; `patient` (or `subject`) is required. */
export function parseSearch(resourceType: string, params: Readonly<Record<string, unknown>>): ParsedSearch {
  const known = SEARCH_PARAMETERS[resourceType];
  if (!known) return { ok: false, param: '_type', message: `${resourceType} is not searchable here` };
  let patientId: string | undefined;
  const criteria: Criterion[] = [];
  for (const [param, raw] of Object.entries(params)) {
    if (IGNORED.has(param)) continue;
    const values = Array.isArray(raw) ? raw : [raw];
    for (const value of values) {
      if (typeof value !== 'string') return { ok: false, param, message: `${param} must be a string` };
      if (param === 'patient' || param === 'subject') {
        const id = PATIENT.exec(value)?.[1];
        if (!id) return { ok: false, param, message: `${param} must be Patient/<id> or <id>` };
        if (patientId !== undefined && patientId !== id.toLowerCase())
          return { ok: false, param, message: 'one patient per search' };
        patientId = id.toLowerCase();
      } else if (known.tokens.includes(param)) {
        const alternatives: TokenValue[] = [];
        for (const one of orValues(value)) {
          const bar = one.indexOf('|');
          const code = bar === -1 ? one : one.slice(bar + 1);
          if (code.length === 0) return { ok: false, param, message: `${param} must be [system|]code[,…]` };
          alternatives.push(bar === -1 ? { code } : { system: one.slice(0, bar), code });
        }
        criteria.push({ kind: 'token', param, values: alternatives });
      } else if (param === '_id') {
        const ids = orValues(value).map((id) => id.toLowerCase());
        if (ids.some((id) => !/^[0-9a-f-]{36}$/.test(id))) return { ok: false, param, message: '_id must be ids[,…]' };
        criteria.push({ kind: 'id', values: ids });
      } else if (known.dates.includes(param) || param === '_lastUpdated') {
        const prefix = (/^(eq|ne|gt|lt|ge|le)/.exec(value)?.[1] ?? 'eq') as Prefix;
        const range = dateRange(value.replace(/^(eq|ne|gt|lt|ge|le)/, ''));
        if (!range) return { ok: false, param, message: `${param} must be [eq|ne|gt|lt|ge|le]<FHIR date>` };
        criteria.push({ kind: 'date', param, prefix, ...range });
      } else {
        return {
          ok: false,
          param,
          message: `unknown search parameter for ${resourceType}; known: patient, ${[...known.tokens, ...known.dates, ...COMMON_PARAMETERS].join(', ')}`,
        };
      }
    }
  }
  if (patientId === undefined)
    return { ok: false, param: 'patient', message: 'a search names its patient: patient=Patient/<id>' };
  return { ok: true, query: { patientId, criteria } };
}

function rangeOf(start: string | undefined, end: string | undefined): { start: number; end: number } {
  return {
    start: start === undefined ? -Infinity : (dateRange(start)?.start ?? -Infinity),
    end: end === undefined ? Infinity : (dateRange(end)?.end ?? Infinity),
  };
}

function dateMatches(criterion: Extract<Criterion, { kind: 'date' }>, target: { start: number; end: number }): boolean {
  switch (criterion.prefix) {
    case 'eq':
      return target.start >= criterion.start && target.end <= criterion.end;
    case 'ne':
      return !(target.start >= criterion.start && target.end <= criterion.end);
    case 'gt':
      return target.end > criterion.end;
    case 'lt':
      return target.start < criterion.start;
    case 'ge':
      return target.end > criterion.start;
    case 'le':
      return target.start < criterion.end;
  }
}

/**
 * Whether a resource with this index (and this id and meta.lastUpdated) matches every criterion: a parameter
 * repeated must match each time (AND), the comma-separated values of one must match once (OR).
 */
export function matches(
  index: SearchIndex,
  criteria: readonly Criterion[],
  meta: { id: string; lastUpdated: string } = { id: '', lastUpdated: '' },
): boolean {
  return criteria.every((c) => {
    switch (c.kind) {
      case 'token':
        return c.values.some((v) =>
          index.tokens.some(
            (t) => t.param === c.param && t.code === v.code && (v.system === undefined || t.system === v.system),
          ),
        );
      case 'id':
        return c.values.includes(meta.id);
      case 'date':
        return c.param === '_lastUpdated'
          ? dateMatches(c, rangeOf(meta.lastUpdated, meta.lastUpdated))
          : index.dates.some((d) => d.param === c.param && dateMatches(c, rangeOf(d.start, d.end)));
    }
  });
}
