import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { searchIndex, type StoredResource } from '../../fhir/domain';
import { criteriaTokens, indexTokens, searchIndexKey, searchToken } from './blind-index';
import { matches, parseSearch, SEARCH_PARAMETERS, type Criterion } from './search-query';

const PSEUDONYM_KEY = Uint8Array.from({ length: 32 }, (_, i) => i); // 00 01 … 1f
const KEY = searchIndexKey(PSEUDONYM_KEY);

describe('records-search-index-v1', () => {
  // Known answers computed apart from this code, with Python's hmac module: the key by RFC 5869 (extract with an
  // empty salt, one expand block), each token as
  // hmac.new(key, (label + json.dumps(value, separators=(',', ':'))).encode(), sha256).digest()[:16].
  it('derives the index key by HKDF-SHA-256 from the pseudonym key', () => {
    expect(Buffer.from(KEY).toString('hex')).toBe('be891e59d147d4928de2b85a1a146ab69ae2554645cfe61568ed735b685f991b');
  });

  test.each([
    [['Observation', 'code', 'code', '8867-4'], 'aff122cc07dbe00481f29efe62fd1bff'],
    [['Observation', 'code', 'system|code', 'http://loinc.org', '8867-4'], '83755a72d0e79366833f23852f4363b6'],
    [['Observation', 'date', 'date'], 'ed312f10c46c2f847b84733735754b56'],
    [['Observation', 'date', 'year', '2013'], '0515a4f2dd1893d8889353b2352f902f'],
  ])('%j → %s', (value, expected) => {
    expect(searchToken(KEY, value).toString('hex')).toBe(expected);
  });

  it('gives another patient (another key) other tokens for the same value', () => {
    const other = searchIndexKey(Uint8Array.from({ length: 32 }, () => 7));
    expect(searchToken(other, ['Observation', 'code', 'code', '8867-4'])).not.toEqual(
      searchToken(KEY, ['Observation', 'code', 'code', '8867-4']),
    );
  });
});

/** Whether the tokens of a resource answer every group of a search's criteria (the index's selection). */
function selected(resourceTokens: readonly Buffer[], groups: ReadonlyArray<readonly Buffer[]>): boolean {
  const held = new Set(resourceTokens.map((t) => t.toString('hex')));
  return groups.every((group) => group.some((t) => held.has(t.toString('hex'))));
}

const FIXTURES = join(__dirname, '../../../test/fixtures/hl7-examples');
const examples = readdirSync(FIXTURES)
  .filter((file) => file.endsWith('.json'))
  .map((file) => JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')) as StoredResource)
  .filter((resource) => SEARCH_PARAMETERS[resource.resourceType] !== undefined);

/** Searches a resource's own values make: each token alone and with its system, each date at several precisions. */
function queriesOf(resource: StoredResource): Array<Record<string, string>> {
  const index = searchIndex(resource);
  const queries: Array<Record<string, string>> = [];
  for (const token of index.tokens) {
    queries.push({ [token.param]: token.code });
    if (token.system !== undefined) queries.push({ [token.param]: `${token.system}|${token.code}` });
    queries.push({ [token.param]: `${token.code}-other,${token.code}` });
  }
  for (const date of index.dates)
    for (const value of [date.start, date.end])
      if (value !== undefined)
        for (const length of [4, 7, 10, value.length])
          for (const prefix of ['', 'eq', 'ne', 'gt', 'lt', 'ge', 'le'])
            queries.push({ [date.param]: `${prefix}${value.slice(0, length)}` });
  return queries;
}

describe('the blind index narrows and never drops a match', () => {
  let checked = 0;

  it('covers HL7 examples of every searchable type', () => {
    expect(new Set(examples.map((r) => r.resourceType)).size).toBeGreaterThan(15);
  });

  test.each(examples.map((resource) => [`${resource.resourceType}/${resource.id}`, resource] as const))(
    '%s: every search it matches selects it',
    (_name, resource) => {
      const tokens = indexTokens(KEY, resource.resourceType, searchIndex(resource));
      for (const query of queriesOf(resource)) {
        const parsed = parseSearch(resource.resourceType, {
          patient: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
          ...query,
        });
        if (!parsed.ok) continue; // a date that is not a FHIR date once cut
        const { criteria } = parsed.query;
        if (!matches(searchIndex(resource), criteria)) continue;
        expect({ query, selected: selected(tokens, criteriaTokens(KEY, resource.resourceType, criteria)) }).toEqual({
          query,
          selected: true,
        });
        checked++;
      }
    },
  );

  it('checked thousands of searches that match', () => {
    expect(checked).toBeGreaterThan(1000);
  });

  it('leaves out what a token, a system, a year or a missing date rules out', () => {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      subject: { reference: 'Patient/6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10' },
      effectiveDateTime: '2013-05-02T10:00:00Z',
    } as unknown as StoredResource;
    const tokens = indexTokens(KEY, 'Observation', searchIndex(observation));
    const select = (...criteria: Criterion[]) => selected(tokens, criteriaTokens(KEY, 'Observation', criteria));
    const token = (param: string, code: string, system?: string): Criterion => ({
      kind: 'token',
      param,
      values: [system === undefined ? { code } : { system, code }],
    });
    const date = (prefix: 'eq' | 'ge', start: string, end: string): Criterion => ({
      kind: 'date',
      param: 'date',
      prefix,
      start: Date.parse(start),
      end: Date.parse(end),
    });
    expect(select(token('code', '8867-4'))).toBe(true);
    expect(select(token('code', '8867-4', 'http://loinc.org'))).toBe(true);
    expect(select(token('code', '8867-4', 'http://snomed.info/sct'))).toBe(false);
    expect(select(token('code', '8310-5'))).toBe(false);
    expect(select(token('status', '8867-4'))).toBe(false); // another parameter's value
    expect(select(token('code', '8867-4'), token('status', 'amended'))).toBe(false); // AND
    expect(select(date('eq', '2013-01-01', '2014-01-01'))).toBe(true);
    expect(select(date('eq', '2014-01-01', '2015-01-01'))).toBe(false);
    expect(select(date('ge', '2020-01-01', '2020-01-02'))).toBe(true); // a range: decided on the decrypted resource
    const undated = { ...observation, effectiveDateTime: undefined } as unknown as StoredResource;
    const none = indexTokens(KEY, 'Observation', searchIndex(undated));
    expect(selected(none, criteriaTokens(KEY, 'Observation', [date('ge', '2020-01-01', '2020-01-02')]))).toBe(false);
    // `_id` and `_lastUpdated` are answered from the clear resource index, not by tokens.
    expect(criteriaTokens(KEY, 'Observation', [{ kind: 'id', values: ['x'] }])).toEqual([]);
  });
});
