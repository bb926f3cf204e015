import {
  BUNDLE_MAX_ENTRIES,
  BundleErrorCode,
  fullUrlTargets,
  namingEntry,
  planBundle,
  processingOrder,
  resolveReferences,
  unresolvedReferences,
  type PlannedEntry,
} from './bundle';

const TYPES = ['Patient', 'Observation', 'Condition', 'Consent'];
const P = '0b9f3c8e-8c3a-4c1e-9d55-2f2d1c3b4a10';
const ids = () => {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
};
const post = (type: string, fullUrl?: string, resource: Record<string, unknown> = {}) => ({
  ...(fullUrl && { fullUrl }),
  resource: { resourceType: type, ...resource },
  request: { method: 'POST', url: type },
});
const put = (type: string, id: string, fullUrl?: string, request: Record<string, unknown> = {}) => ({
  ...(fullUrl && { fullUrl }),
  resource: { resourceType: type, id },
  request: { method: 'PUT', url: `${type}/${id}`, ...request },
});
const bundle = (type: string, entry: unknown[]) => ({ resourceType: 'Bundle', type, entry });

function plan(body: unknown): PlannedEntry[] {
  const planned = planBundle(body, TYPES, ids());
  if (!planned.ok) throw new Error(JSON.stringify(planned.refusal));
  return planned.plan.entries;
}
const refusalOf = (entry: PlannedEntry | undefined) => (entry?.kind === 'refused' ? entry.refusal : undefined);

describe('a Bundle read into its writes', () => {
  it('plans a create with a new id and an update at its URL (ids in lower case), with If-Match', () => {
    expect(
      plan(
        bundle('transaction', [post('Observation'), put('Patient', P.toUpperCase(), undefined, { ifMatch: 'W/"3"' })]),
      ),
    ).toEqual([
      {
        index: 0,
        kind: 'create',
        resourceType: 'Observation',
        id: '00000000-0000-4000-8000-000000000001',
        resource: { resourceType: 'Observation' },
      },
      {
        index: 1,
        kind: 'update',
        resourceType: 'Patient',
        id: P,
        resource: { resourceType: 'Patient', id: P.toUpperCase() },
        ifMatchVersion: 3,
      },
    ]);
  });

  test.each([
    ['not a Bundle', { resourceType: 'Patient' }, 400, BundleErrorCode.INVALID_BUNDLE, 'Bundle'],
    ['a collection', bundle('collection', []), 400, BundleErrorCode.INVALID_BUNDLE, 'Bundle.type'],
    ['a document', bundle('document', []), 400, BundleErrorCode.INVALID_BUNDLE, 'Bundle.type'],
    [
      'entry not an array',
      { resourceType: 'Bundle', type: 'batch', entry: {} },
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'Bundle.entry',
    ],
    [
      'too many entries',
      bundle(
        'batch',
        Array.from({ length: BUNDLE_MAX_ENTRIES + 1 }, () => post('Observation')),
      ),
      413,
      BundleErrorCode.TOO_MANY_ENTRIES,
      'Bundle.entry',
    ],
  ])('refuses %s whole', (_name, body, status, code, expression) => {
    const planned = planBundle(body, TYPES, ids());
    expect(planned.ok).toBe(false);
    if (planned.ok) return;
    expect(planned.refusal).toMatchObject({ status, code, outcome: { issue: [{ expression: [expression] }] } });
  });

  it('takes as many entries as the limit allows', () => {
    expect(
      plan(
        bundle(
          'batch',
          Array.from({ length: BUNDLE_MAX_ENTRIES }, () => post('Observation')),
        ),
      ),
    ).toHaveLength(BUNDLE_MAX_ENTRIES);
  });

  test.each([
    ['a Claim', post('Claim'), 404, BundleErrorCode.UNSUPPORTED_TYPE, 'not-supported', 'request.url'],
    [
      'an ExplanationOfBenefit',
      post('ExplanationOfBenefit'),
      404,
      BundleErrorCode.UNSUPPORTED_TYPE,
      'not-supported',
      'request.url',
    ],
    [
      'a GET',
      { request: { method: 'GET', url: `Patient/${P}` } },
      422,
      BundleErrorCode.NOT_SUPPORTED,
      'not-supported',
      'request.method',
    ],
    [
      'a DELETE',
      { request: { method: 'DELETE', url: `Patient/${P}` } },
      422,
      BundleErrorCode.NOT_SUPPORTED,
      'not-supported',
      'request.method',
    ],
    [
      'a conditional create',
      { ...post('Patient'), request: { method: 'POST', url: 'Patient', ifNoneExist: 'identifier=x|1' } },
      422,
      BundleErrorCode.NOT_SUPPORTED,
      'not-supported',
      'request.ifNoneExist',
    ],
    [
      'a conditional update',
      { ...post('Patient'), request: { method: 'PUT', url: 'Patient?identifier=x|1' } },
      422,
      BundleErrorCode.NOT_SUPPORTED,
      'not-supported',
      'request.url',
    ],
    [
      'no request (bdl-3)',
      { resource: { resourceType: 'Patient' } },
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'required',
      'request',
    ],
    [
      'no resource',
      { request: { method: 'POST', url: 'Patient' } },
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'required',
      'resource',
    ],
    [
      'a create at an id',
      { ...post('Patient'), request: { method: 'POST', url: `Patient/${P}` } },
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'invalid',
      'request.url',
    ],
    [
      'an update of a non-UUID id',
      put('Patient', 'example'),
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'invalid',
      'request.url',
    ],
    [
      'a bad ifMatch',
      put('Patient', P, undefined, { ifMatch: 'yesterday' }),
      400,
      BundleErrorCode.INVALID_BUNDLE,
      'invalid',
      'request.ifMatch',
    ],
  ])('refuses %s as one entry, naming its element', (_name, entry, status, code, issue, element) => {
    const [first, second] = plan(bundle('batch', [entry, post('Observation')]));
    expect(refusalOf(first)).toMatchObject({
      status,
      code,
      outcome: { issue: [{ code: issue, expression: [`Bundle.entry[0].${element}`] }] },
    });
    expect(second?.kind).toBe('create');
  });

  it('refuses a second entry with the same fullUrl (bdl-7) and a second write of one resource', () => {
    const entries = plan(
      bundle('transaction', [
        post('Patient', 'urn:uuid:a'),
        post('Observation', 'urn:uuid:a'),
        put('Patient', P),
        put('Patient', P),
      ]),
    );
    expect(entries.map((e) => e.kind)).toEqual(['create', 'refused', 'update', 'refused']);
    expect(refusalOf(entries[1])?.outcome.issue[0]?.expression).toEqual(['Bundle.entry[1].fullUrl']);
    expect(refusalOf(entries[3])?.outcome.issue[0]?.diagnostics).toContain('Bundle.entry[2]');
  });
});

describe('the processing order (R4 §3.1.0.11.2)', () => {
  it('is DELETE, POST, PUT/PATCH, GET/HEAD, each in the Bundle order, unknown methods last', () => {
    expect(processingOrder(['GET', 'PUT', 'POST', 'DELETE', 'POST', 'PATCH', 'HEAD', undefined, 'PUT'])).toEqual([
      3, 2, 4, 1, 5, 8, 0, 6, 7,
    ]);
  });
});

describe('references to other entries', () => {
  const entries = [
    post('Patient', 'urn:uuid:p'),
    post('Observation', 'urn:uuid:o'),
    put('Patient', P, 'urn:uuid:q'),
    post('Condition', 'http://elsewhere/Condition/1'),
  ];
  const planned = plan(bundle('transaction', entries));
  const targets = fullUrlTargets(entries, planned);

  it('map each urn:uuid fullUrl to the local id its entry gets (a create) or names (an update)', () => {
    expect([...targets.entries()]).toEqual([
      ['urn:uuid:p', { reference: 'Patient/00000000-0000-4000-8000-000000000001', index: 0 }],
      ['urn:uuid:o', { reference: 'Observation/00000000-0000-4000-8000-000000000002', index: 1 }],
      ['urn:uuid:q', { reference: `Patient/${P}`, index: 2 }],
    ]);
  });

  it('are rewritten wherever they are, nested and contained, other references kept as written', () => {
    const condition = {
      resourceType: 'Condition',
      subject: { reference: 'urn:uuid:q' },
      evidence: [{ detail: [{ reference: 'urn:uuid:o', display: 'urn:uuid:o' }, { reference: 'Observation/kept' }] }],
      contained: [{ resourceType: 'Observation', hasMember: [{ reference: 'urn:uuid:p' }] }],
      note: [{ text: 'urn:uuid:p' }],
    };
    const { resource, unresolved } = resolveReferences(condition, 'Condition', targets);
    expect(unresolved).toEqual([]);
    expect(resource).toEqual({
      ...condition,
      subject: { reference: `Patient/${P}` },
      evidence: [
        {
          detail: [
            { reference: 'Observation/00000000-0000-4000-8000-000000000002', display: 'urn:uuid:o' },
            { reference: 'Observation/kept' },
          ],
        },
      ],
      contained: [
        { resourceType: 'Observation', hasMember: [{ reference: 'Patient/00000000-0000-4000-8000-000000000001' }] },
      ],
    });
    expect(condition.subject.reference).toBe('urn:uuid:q');
  });

  it('name every urn:uuid no entry resolves; a batch resolves none', () => {
    const observation = {
      resourceType: 'Observation',
      subject: { reference: 'urn:uuid:nobody' },
      hasMember: [{ reference: 'urn:uuid:o' }],
    };
    expect(resolveReferences(observation, 'Observation', targets).unresolved).toEqual([
      'Observation.subject.reference',
    ]);
    const { unresolved } = resolveReferences(observation, 'Observation', new Map());
    expect(unresolved).toEqual(['Observation.subject.reference', 'Observation.hasMember[0].reference']);
    expect(unresolvedReferences(4, unresolved, 'batch')).toMatchObject({
      status: 400,
      code: BundleErrorCode.UNRESOLVED_REFERENCE,
      outcome: { issue: [{ expression: ['Bundle.entry[4]', 'Observation.subject.reference'] }, {}] },
    });
  });
});

describe("a transaction's failure", () => {
  it('names the entry in every issue, before the element', () => {
    const named = namingEntry(2, {
      status: 400,
      code: 'RECORDS.INVALID_RESOURCE',
      outcome: {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'required',
            diagnostics: 'status is required',
            expression: ['Observation.status'],
          },
        ],
      },
    });
    expect(named.outcome.issue).toEqual([
      {
        severity: 'error',
        code: 'required',
        diagnostics: 'Bundle.entry[2]: status is required',
        expression: ['Bundle.entry[2]', 'Observation.status'],
      },
    ]);
  });
});
