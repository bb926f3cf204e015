import { randomBytes } from 'node:crypto';
import {
  patientPseudonyms,
  pseudonym,
  PSEUDONYM_PATTERN,
  unlinkablePseudonyms,
  type PseudonymPurpose,
} from './pseudonym';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i); // 00 01 … 1f
const PATIENT = '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10';

describe('records-pseudonym-v1', () => {
  // Known answers computed apart from this code, with Python's hmac module:
  // base64.urlsafe_b64encode(hmac.new(key, (label + purpose + '\0' + id).encode(), sha256).digest()[:16]).rstrip(b'=')
  test.each<[PseudonymPurpose, string, string]>([
    ['patient', PATIENT, 'Ss6UCtQZXxF1iO86aQieSg'],
    ['actor', 'Practitioner/dr-house', 'spQn-ErxcDMeoTU2N9kdjA'],
    ['resource', 'Observation/2b0f6d8e-4c1a-4e5b-9a7d-1f3e5c7a9b20', 'SN1TlzhDdrkHsPU7wY4gzg'],
    ['actor', `Patient/${PATIENT}`, 'nvMY_6wjASo3mVEZJq6HRw'],
  ])('%s %s → %s', (purpose, id, expected) => {
    expect(pseudonym(KEY, purpose, id)).toBe(expected);
  });

  it("builds a patient's pseudonyms from the same function, domain-separated by purpose", () => {
    const of = patientPseudonyms(KEY, PATIENT);
    expect(of.patient).toBe('Ss6UCtQZXxF1iO86aQieSg');
    expect(of.actor('Practitioner/dr-house')).toBe('spQn-ErxcDMeoTU2N9kdjA');
    expect(of.resource('Observation', '2b0f6d8e-4c1a-4e5b-9a7d-1f3e5c7a9b20')).toBe('SN1TlzhDdrkHsPU7wY4gzg');
    // The record's Patient resource is the patient (its versions' events name only the patient); another is not.
    expect(of.resource('Patient', PATIENT)).toBe(of.patient);
    expect(of.resource('Patient', '00000000-0000-4000-8000-000000000000')).not.toBe(of.patient);
    // The patient as owner of the record and as an actor in it: two values.
    expect(of.actor(`Patient/${PATIENT}`)).not.toBe(of.patient);
    expect(new Set(['patient', 'actor', 'resource'].map((p) => pseudonym(KEY, p as PseudonymPurpose, 'x'))).size).toBe(
      3,
    );
  });

  it('gives the same actor another pseudonym under another patient key, and never shows the id', () => {
    const other = randomBytes(32);
    const actor = 'Practitioner/dr-house';
    expect(patientPseudonyms(other, PATIENT).actor(actor)).not.toBe(patientPseudonyms(KEY, PATIENT).actor(actor));
    for (const value of [pseudonym(KEY, 'actor', actor), pseudonym(other, 'patient', PATIENT)]) {
      expect(value).toMatch(PSEUDONYM_PATTERN);
      expect(value).not.toContain('house');
    }
  });

  it('refuses a key that is not 32 bytes', () => {
    expect(() => pseudonym(new Uint8Array(16), 'patient', PATIENT)).toThrow(/32 bytes/);
  });

  it('answers an erased patient with fresh values of the same form, each linked to nothing', () => {
    const unlinkable = unlinkablePseudonyms(randomBytes);
    const values = [unlinkable.patient, unlinkable.actor('Practitioner/a'), unlinkable.actor('Practitioner/a')];
    for (const value of values) expect(value).toMatch(PSEUDONYM_PATTERN);
    expect(new Set(values).size).toBe(3);
    expect(unlinkablePseudonyms(randomBytes).patient).not.toBe(unlinkable.patient);
  });
});
