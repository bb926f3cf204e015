/**
 * The keyed blind index of a patient's record (issue 16 item 11, ADR 0016): what a search needs to find its
 * candidates without decrypting every resource of the type. Each current resource version stores, in the clear
 * table `search_index`, the HMAC tokens of its searchable values; a search computes the tokens of its criteria under
 * the same key and decrypts only the resources whose tokens answer them. Without the patient's index key nobody
 * can tell which value a token stands for, nor compute the token of a guessed value: the key is derived from the
 * patient's pseudonym key, and erasure destroys that key (ADR 0013), so the tokens of an erased record are
 * unlinkable (and erasure deletes them besides).
 *
 * SPEC: records-search-index-v1.
 *   key   = HKDF-SHA-256(IKM = the patient's pseudonym key, salt = empty, info = "medledger/records-search-index/v1",
 *           L = 32) (RFC 5869): a key of its own, so that the pseudonym key itself is used by one construction only.
 *   token = HMAC-SHA-256(key, "medledger/records-search-token/v1/" ‖ UTF-8(JSON.stringify(value)))[0..16) (RFC 2104),
 *   value ∈ [type, param, "code", code] (a token parameter's code whatever its system),
 *           [type, param, "system|code", system, code] (with its system),
 *           [type, param, "date"] (the resource has a value for a date parameter),
 *           [type, param, "year", YYYY] (a date value whose start is in that UTC year).
 *   JSON of an array of strings is unambiguous, so no two values share an input.
 *
 * The tokens only narrow: the candidates are decrypted and matched exactly (search-query.ts `matches`), so a
 * search answers exactly what it answered when it decrypted everything. What the tokens cannot answer (date
 * ranges other than a bounded `eq`, the precise comparison) is decided on the decrypted candidates.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { SearchIndex } from '../../fhir/domain';
import { dateRange, type Criterion } from './search-query';

export const SEARCH_INDEX_KEY_INFO = 'medledger/records-search-index/v1';
export const SEARCH_TOKEN_LABEL = 'medledger/records-search-token/v1/';
/** As a pseudonym (pseudonym.ts): 128 bits, so two values of one record share a token with negligible probability. */
export const SEARCH_TOKEN_BYTES = 16;
/**
 * The widest `eq` date criterion answered by year tokens: a range of more years asks for as many tokens and narrows
 * little; it is decided on the decrypted resources that have a value for the parameter.
 */
export const MAX_YEAR_TOKENS = 10;

export function searchIndexKey(pseudonymKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', pseudonymKey, new Uint8Array(0), SEARCH_INDEX_KEY_INFO, 32));
}

export function searchToken(key: Uint8Array, value: readonly string[]): Buffer {
  return createHmac('sha256', key)
    .update(SEARCH_TOKEN_LABEL + JSON.stringify(value), 'utf8')
    .digest()
    .subarray(0, SEARCH_TOKEN_BYTES);
}

function startYear(start: string | undefined): number | undefined {
  const range = start === undefined ? undefined : dateRange(start);
  return range && new Date(range.start).getUTCFullYear();
}

/** The tokens of a resource's searchable values (searchIndex()), each once. */
export function indexTokens(key: Uint8Array, resourceType: string, index: SearchIndex): Buffer[] {
  const values = new Map<string, string[]>();
  const add = (value: string[]) => values.set(JSON.stringify(value), value);
  for (const token of index.tokens) {
    add([resourceType, token.param, 'code', token.code]);
    if (token.system !== undefined) add([resourceType, token.param, 'system|code', token.system, token.code]);
  }
  for (const date of index.dates) {
    add([resourceType, date.param, 'date']);
    const year = startYear(date.start);
    if (year !== undefined) add([resourceType, date.param, 'year', String(year)]);
  }
  return [...values.values()].map((value) => searchToken(key, value));
}

/**
 * What the blind index can answer of a search's criteria: groups of tokens, each of which a resource must share at
 * least one token with (a group is one criterion's comma-separated values, ORed; the groups are ANDed, as the
 * criteria are). `_id` and `_lastUpdated` are in the clear index already (resource_index) and are not here.
 */
export function criteriaTokens(key: Uint8Array, resourceType: string, criteria: readonly Criterion[]): Buffer[][] {
  const groups: Buffer[][] = [];
  for (const criterion of criteria) {
    if (criterion.kind === 'token')
      groups.push(
        criterion.values.map((v) =>
          searchToken(
            key,
            v.system === undefined
              ? [resourceType, criterion.param, 'code', v.code]
              : [resourceType, criterion.param, 'system|code', v.system, v.code],
          ),
        ),
      );
    else if (criterion.kind === 'date' && criterion.param !== '_lastUpdated') {
      // Every date criterion needs a value of its parameter (search-query.ts `matches`); a bounded `eq` needs one
      // that starts within the criterion's range, so in one of its years.
      const first = new Date(criterion.start).getUTCFullYear();
      const last = new Date(criterion.end - 1).getUTCFullYear();
      if (criterion.prefix === 'eq' && last - first < MAX_YEAR_TOKENS) {
        const years: Buffer[] = [];
        for (let year = first; year <= last; year++)
          years.push(searchToken(key, [resourceType, criterion.param, 'year', String(year)]));
        groups.push(years);
      } else groups.push([searchToken(key, [resourceType, criterion.param, 'date'])]);
    }
  }
  return groups;
}
