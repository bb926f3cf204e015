/**
 * A FHIR R4 `transaction` or `batch` Bundle read into the writes it asks for (pure: no Nest, SQL or Kafka): each
 * entry's method, type and target id, its place in the processing order, and its resource with every reference to
 * another entry's `urn:uuid:` fullUrl rewritten to the local id that entry gets.
 *
 * SPEC: FHIR R4 http.html §3.1.0.11 (batch/transaction), §3.1.0.11.1 (batch rules), §3.1.0.11.2 (transaction
 * rules), bundle.html (bdl-3 `request` on every entry, bdl-7 unique fullUrls).
 */
import type { OperationOutcome, OperationOutcomeIssue } from 'fhir/r4';
import { MAX_JSON_DEPTH } from '../../fhir/domain';
import { UUID } from '../../resources/domain/resource-types';

/**
 * Entries in one Bundle at most. A transaction is one database transaction and its entries are validated and
 * decided in memory before it starts: 5,000 bounds both (a whole record as generated records export it holds a few
 * hundred to a few thousand resources; the 1,000-resource import of `npm run bench:records` is docs/perf.md's).
 */
export const BUNDLE_MAX_ENTRIES = 5_000;

/**
 * The largest Bundle body accepted at `POST /fhir` (every other route keeps the platform's 1 MB): BUNDLE_MAX_ENTRIES
 * entries of about 3 KB, a generous size for one clinical resource with its request (Synthea's average is under
 * 2 KB). A larger body is 413 `HTTP.PAYLOAD_TOO_LARGE` before any of it is parsed.
 */
export const BUNDLE_BODY_LIMIT = '16mb';

export type BundleType = 'transaction' | 'batch';

export const BundleErrorCode = {
  /** Not a transaction or batch Bundle, or an entry without what R4 requires of it (400). */
  INVALID_BUNDLE: 'RECORDS.INVALID_BUNDLE',
  /** More than BUNDLE_MAX_ENTRIES entries (413). */
  TOO_MANY_ENTRIES: 'RECORDS.BUNDLE_TOO_LARGE',
  /** A well-formed entry asking for what records does not do: GET, DELETE, PATCH, conditional writes (422). */
  NOT_SUPPORTED: 'RECORDS.BUNDLE_NOT_SUPPORTED',
  /** A resource type records does not keep, such as Claim or ExplanationOfBenefit (404, as `POST /fhir/Claim`). */
  UNSUPPORTED_TYPE: 'RECORDS.UNSUPPORTED_TYPE',
  /** A `urn:uuid:` reference that no entry of a transaction resolves, or any in a batch (400). */
  UNRESOLVED_REFERENCE: 'RECORDS.UNRESOLVED_REFERENCE',
} as const;

/** A refusal of one entry (or of the whole Bundle): the HTTP status, a stable code and the OperationOutcome. */
export interface EntryRefusal {
  status: number;
  code: string;
  outcome: OperationOutcome;
}

/** One entry as the service carries it out. `index` is its place in the request Bundle. */
export type PlannedEntry =
  | {
      index: number;
      kind: 'create';
      resourceType: string;
      /** The id records gives it (R4: a create's fullUrl is the source's name for it, never its id here). */
      id: string;
      resource: unknown;
    }
  | {
      index: number;
      kind: 'update';
      resourceType: string;
      id: string;
      resource: unknown;
      /** `request.ifMatch` (`W/"<versionId>"`), as the If-Match header of a single update. */
      ifMatchVersion?: number;
    }
  | { index: number; kind: 'refused'; refusal: EntryRefusal };

export type BundlePlan = { type: BundleType; entries: PlannedEntry[] };

function outcome(code: OperationOutcomeIssue['code'], diagnostics: string, expression: string): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code, diagnostics, expression: [expression] }],
  };
}

function refusal(
  status: number,
  code: string,
  issue: OperationOutcomeIssue['code'],
  diagnostics: string,
  expression: string,
): EntryRefusal {
  return { status, code, outcome: outcome(issue, diagnostics, expression) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const METHOD_ORDER: Readonly<Record<string, number>> = { DELETE: 0, POST: 1, PUT: 2, PATCH: 2, GET: 3, HEAD: 3 };

/**
 * The order entries are processed in: DELETE, then POST, then PUT and PATCH, then GET and HEAD, each group in the
 * Bundle's order. SPEC: R4 §3.1.0.11.2 (transactions; §3.1.0.11.1: batches "in the same order"). Unknown methods
 * last (they are refused anyway). The response lists the entries in the request's order.
 */
export function processingOrder(methods: ReadonlyArray<string | undefined>): number[] {
  const rank = (method: string | undefined) => METHOD_ORDER[method ?? ''] ?? 4;
  return methods
    .map((method, index) => ({ index, rank: rank(method) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .map((e) => e.index);
}

/** `W/"3"` (or `"3"`, `3`) → 3; undefined when it is no version. */
function versionOf(ifMatch: string): number | undefined {
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(ifMatch.trim());
  return match ? Number(match[1]) : undefined;
}

/**
 * Reads a Bundle into its plan, or refuses it whole (not a transaction/batch Bundle, too many entries). An entry
 * records cannot carry out is planned as `refused` (a batch answers it alone; a transaction fails on it). `types`:
 * the resource types records keeps; `newId`: the id of each created resource (injected: this stays pure).
 */
export function planBundle(
  body: unknown,
  types: readonly string[],
  newId: () => string,
): { ok: true; plan: BundlePlan } | { ok: false; refusal: EntryRefusal } {
  if (!isObject(body) || body['resourceType'] !== 'Bundle')
    return {
      ok: false,
      refusal: refusal(400, BundleErrorCode.INVALID_BUNDLE, 'invalid', 'the base accepts a Bundle only', 'Bundle'),
    };
  const type = body['type'];
  if (type !== 'transaction' && type !== 'batch')
    return {
      ok: false,
      refusal: refusal(
        400,
        BundleErrorCode.INVALID_BUNDLE,
        'invalid',
        `a Bundle of type transaction or batch is processed here, not ${JSON.stringify(type)}`,
        'Bundle.type',
      ),
    };
  const raw = body['entry'] ?? [];
  if (!Array.isArray(raw))
    return {
      ok: false,
      refusal: refusal(400, BundleErrorCode.INVALID_BUNDLE, 'structure', 'entry must be an array', 'Bundle.entry'),
    };
  if (raw.length > BUNDLE_MAX_ENTRIES)
    return {
      ok: false,
      refusal: refusal(
        413,
        BundleErrorCode.TOO_MANY_ENTRIES,
        'too-costly',
        `a Bundle holds at most ${BUNDLE_MAX_ENTRIES} entries; this one has ${raw.length}: split it`,
        'Bundle.entry',
      ),
    };

  const entries: PlannedEntry[] = raw.map((entry: unknown, index) => planEntry(entry, index, types, newId));
  const seen = new Map<string, number>();
  const targets = new Map<string, number>();
  for (const [index, entry] of raw.entries()) {
    const planned = entries[index] as PlannedEntry;
    const fullUrl = isObject(entry) ? entry['fullUrl'] : undefined;
    // SPEC: bdl-7: fullUrl must be unique in a bundle (versions of one resource aside, which only a history has).
    if (typeof fullUrl === 'string') {
      const first = seen.get(fullUrl);
      if (first !== undefined && planned.kind !== 'refused')
        entries[index] = {
          index,
          kind: 'refused',
          refusal: refusal(
            400,
            BundleErrorCode.INVALID_BUNDLE,
            'invalid',
            `fullUrl ${fullUrl} is also Bundle.entry[${first}]'s (bdl-7)`,
            `Bundle.entry[${index}].fullUrl`,
          ),
        };
      else seen.set(fullUrl, index);
    }
    // SPEC: R4 §3.1.0.11.2: "If any resource identities overlap in steps 1-3, then the transaction SHALL fail".
    const now = entries[index] as PlannedEntry;
    if (now.kind === 'update') {
      const target = `${now.resourceType}/${now.id}`;
      const first = targets.get(target);
      if (first !== undefined)
        entries[index] = {
          index,
          kind: 'refused',
          refusal: refusal(
            400,
            BundleErrorCode.INVALID_BUNDLE,
            'invalid',
            `${target} is also written by Bundle.entry[${first}]: one Bundle changes a resource once`,
            `Bundle.entry[${index}].request.url`,
          ),
        };
      else targets.set(target, index);
    }
  }
  return { ok: true, plan: { type, entries } };
}

function planEntry(entry: unknown, index: number, types: readonly string[], newId: () => string): PlannedEntry {
  const at = `Bundle.entry[${index}]`;
  const refuse = (...args: Parameters<typeof refusal>): PlannedEntry => ({
    index,
    kind: 'refused',
    refusal: refusal(...args),
  });
  if (!isObject(entry)) return refuse(400, BundleErrorCode.INVALID_BUNDLE, 'structure', 'an entry is an object', at);
  const request = entry['request'];
  // SPEC: bdl-3: entry.request is mandatory in a batch or transaction.
  if (!isObject(request) || typeof request['method'] !== 'string' || typeof request['url'] !== 'string')
    return refuse(
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'required',
      'every entry of a transaction or batch has request.method and request.url (bdl-3)',
      `${at}.request`,
    );
  const method = request['method'];
  const url = request['url'];
  if (method !== 'POST' && method !== 'PUT')
    return refuse(
      422,
      BundleErrorCode.NOT_SUPPORTED,
      'not-supported',
      `records imports resources: POST (create) and PUT (update) entries; ${method} is not supported in a Bundle`,
      `${at}.request.method`,
    );
  for (const conditional of ['ifNoneExist', 'ifNoneMatch', 'ifModifiedSince'] as const)
    if (request[conditional] !== undefined)
      return refuse(
        422,
        BundleErrorCode.NOT_SUPPORTED,
        'not-supported',
        `conditional interactions (${conditional}) are not supported: records does not search across records`,
        `${at}.request.${conditional}`,
      );
  if (url.includes('?'))
    return refuse(
      422,
      BundleErrorCode.NOT_SUPPORTED,
      'not-supported',
      'conditional interactions (a request.url with search parameters) are not supported',
      `${at}.request.url`,
    );
  // Relative to the base, as R4 writes them (`Observation`, `Observation/<id>`); a leading slash is tolerated.
  const parts = url.replace(/^\//, '').split('/');
  const [resourceType = '', id, ...rest] = parts;
  const shape = method === 'POST' ? parts.length === 1 : parts.length === 2 && rest.length === 0;
  if (!shape || !/^[A-Z][A-Za-z]{1,63}$/.test(resourceType))
    return refuse(
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'invalid',
      method === 'POST'
        ? 'a create names the type: request.url <Type>'
        : 'an update names the resource: request.url <Type>/<id>',
      `${at}.request.url`,
    );
  if (!types.includes(resourceType))
    return refuse(
      404,
      BundleErrorCode.UNSUPPORTED_TYPE,
      'not-supported',
      `records keeps ${types.join(', ')}; ${resourceType} is not supported`,
      `${at}.request.url`,
    );
  const resource = entry['resource'];
  if (!isObject(resource))
    return refuse(
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'required',
      `a ${method} entry carries its resource`,
      `${at}.resource`,
    );
  if (method === 'POST') return { index, kind: 'create', resourceType, id: newId(), resource };
  if (id === undefined || !UUID.test(id))
    return refuse(
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'invalid',
      `records' ids are UUIDs: no ${resourceType}/${id ?? ''} here`,
      `${at}.request.url`,
    );
  const ifMatch = request['ifMatch'];
  const ifMatchVersion = typeof ifMatch === 'string' ? versionOf(ifMatch) : undefined;
  if (ifMatch !== undefined && ifMatchVersion === undefined)
    return refuse(
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'invalid',
      'ifMatch is W/"<versionId>"',
      `${at}.request.ifMatch`,
    );
  return {
    index,
    kind: 'update',
    resourceType,
    id: id.toLowerCase(),
    resource,
    ...(ifMatchVersion !== undefined && { ifMatchVersion }),
  };
}

/**
 * Where each entry's `urn:uuid:` fullUrl now points: `<Type>/<id>` of the resource records creates or updates.
 * SPEC: R4 §3.1.0.11.2: a create's fullUrl is replaced by the id the server assigns; an update's maps to the local
 * resource its request.url names.
 */
export function fullUrlTargets(
  rawEntries: readonly unknown[],
  plan: readonly PlannedEntry[],
): Map<string, { reference: string; index: number }> {
  const targets = new Map<string, { reference: string; index: number }>();
  for (const entry of plan) {
    if (entry.kind === 'refused') continue;
    const fullUrl = (rawEntries[entry.index] as Record<string, unknown>)['fullUrl'];
    if (typeof fullUrl === 'string' && fullUrl.startsWith('urn:uuid:'))
      targets.set(fullUrl, { reference: `${entry.resourceType}/${entry.id}`, index: entry.index });
  }
  return targets;
}

/**
 * The resource with every `reference` (at any depth, contained resources included) that names a key of `targets`
 * rewritten to its value, and the paths of the `urn:uuid:` references left unresolved. References to anything else
 * are left as written. Pure: returns a copy.
 *
 * SPEC: R4 §3.1.0.11.2: "it SHALL also update any references to that resource in the same bundle as they are
 * processed". Only Reference.reference is rewritten: uri elements and narrative links keep what they say (records
 * reads no resource through them).
 */
export function resolveReferences(
  resource: unknown,
  root: string,
  targets: ReadonlyMap<string, { reference: string }>,
): { resource: unknown; unresolved: string[] } {
  const unresolved: string[] = [];
  const walk = (value: unknown, key: string, path: string, depth: number): unknown => {
    // Deeper than the validator accepts: copied as it is, and refused by validation (RECORDS.TOO_DEEP) after.
    if (depth > MAX_JSON_DEPTH) return value;
    if (typeof value === 'string') {
      if (key !== 'reference' || !value.startsWith('urn:uuid:')) return value;
      const target = targets.get(value);
      if (target) return target.reference;
      unresolved.push(path);
      return value;
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, key, `${path}[${i}]`, depth + 1));
    if (isObject(value))
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, k, `${path}.${k}`, depth + 1)]));
    return value;
  };
  return { resource: walk(resource, '', root, 0), unresolved };
}

/** The refusal of an entry whose `urn:uuid:` references no entry resolves (every one, in a batch). */
export function unresolvedReferences(index: number, paths: readonly string[], type: BundleType): EntryRefusal {
  return {
    status: 400,
    code: BundleErrorCode.UNRESOLVED_REFERENCE,
    outcome: {
      resourceType: 'OperationOutcome',
      issue: paths.map((path) => ({
        severity: 'error',
        code: 'not-found',
        diagnostics:
          type === 'batch'
            ? 'a batch resolves no urn:uuid reference: its entries are independent (R4 §3.1.0.11.1); use a transaction'
            : 'no entry of this transaction has this urn:uuid fullUrl',
        expression: [`Bundle.entry[${index}]`, path],
      })),
    },
  };
}

/** An entry's refusal as the whole transaction's answer: the same status and issues, each naming the entry. */
export function namingEntry(index: number, refused: EntryRefusal): EntryRefusal {
  const at = `Bundle.entry[${index}]`;
  return {
    ...refused,
    outcome: {
      ...refused.outcome,
      issue: refused.outcome.issue.map((issue) => ({
        ...issue,
        diagnostics: `${at}: ${issue.diagnostics ?? issue.code}`,
        expression: [at, ...(issue.expression ?? []).filter((e) => e !== at)],
      })),
    },
  };
}
