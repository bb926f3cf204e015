/**
 * Keyed pseudonyms: what records' public events carry instead of the ids of a patient, an actor or a resource
 * (issue 16 item 12, ADR 0013). Each patient has a random pseudonym key, kept like their data key and destroyed in
 * the same erasure; once it is gone nobody, records included, can tell whose events the sealed log holds.
 *
 * SPEC: records-pseudonym-v1.
 *   pseudonym(key, purpose, id) = base64url(HMAC-SHA-256(key, "medledger/records-pseudonym/v1/" ‖ purpose ‖ 0x00 ‖
 *   UTF-8(id))[0..16)), without padding (RFC 4648 §5): 22 characters. HMAC: RFC 2104 over SHA-256 (FIPS 180-4).
 *   purpose ∈ { patient, actor, resource }; ids: the patient's id, the actor's FHIR reference (`Practitioner/…`),
 *   `<resourceType>/<id>` (the record's own Patient resource is named by the patient's pseudonym). The label and the purpose keep one id's pseudonyms for different uses apart (the patient
 *   as the record's owner and as an actor in it are two values); the 0x00 ends the purpose, which never holds one.
 */
import { createHmac } from 'node:crypto';

/** As the data keys: 256 bits, the strength of HMAC-SHA-256 as a PRF (NIST SP 800-107r1 §5.3.4). */
export const PSEUDONYM_KEY_BYTES = 32;
/**
 * 128 of HMAC-SHA-256's 256 bits (NIST SP 800-107r1 §5.3.3 allows truncation). Without the key a pseudonym is
 * guessed with probability 2^-128 per try, and its id cannot be tested against it at all. Two ids of one patient
 * share a pseudonym with probability about n²/2^129 (n = 10^6 ids in one record: < 2^-88). The 21 characters saved
 * per field are kept by the ledger forever, in every event.
 */
export const PSEUDONYM_BYTES = 16;
export const PSEUDONYM_LABEL = 'medledger/records-pseudonym/v1/';
/** What the contracts accept in a pseudonym field (libs/contracts records v2). */
export const PSEUDONYM_PATTERN = /^[A-Za-z0-9_-]{22}$/;

export type PseudonymPurpose = 'patient' | 'actor' | 'resource';

export function pseudonym(key: Uint8Array, purpose: PseudonymPurpose, id: string): string {
  if (key.length !== PSEUDONYM_KEY_BYTES) throw new Error(`a pseudonym key is ${PSEUDONYM_KEY_BYTES} bytes`);
  return createHmac('sha256', key)
    .update(`${PSEUDONYM_LABEL}${purpose}\0${id}`, 'utf8')
    .digest()
    .subarray(0, PSEUDONYM_BYTES)
    .toString('base64url');
}

/** One patient's pseudonyms: every id a public event of their record would otherwise name. */
export interface Pseudonyms {
  /** The patient's, in all their events (and the Kafka key: their events stay in order on one partition). */
  readonly patient: string;
  /** An actor's (`Practitioner/…`), in this patient's events only: the same actor has another in each record. */
  actor(reference: string): string;
  /**
   * A resource's of this record, the same in all its versions and audits. The record's Patient resource is the
   * patient's own pseudonym: its versions (records.PatientRegistered, PatientUpdated) name only the patient, and
   * an audit of it must name the same aggregate.
   */
  resource(resourceType: string, id: string): string;
}

export function patientPseudonyms(key: Uint8Array, patientId: string): Pseudonyms {
  const patient = pseudonym(key, 'patient', patientId);
  return {
    patient,
    actor: (reference) => pseudonym(key, 'actor', reference),
    resource: (resourceType, id) =>
      resourceType === 'Patient' && id === patientId ? patient : pseudonym(key, 'resource', `${resourceType}/${id}`),
  };
}

/**
 * For a patient whose pseudonym key is destroyed (an auditor reading the accounting after an erasure is audited
 * too): a fresh random value for every field, of the same form, linked to nothing and to no other event.
 */
export function unlinkablePseudonyms(random: (bytes: number) => Uint8Array): Pseudonyms {
  const fresh = () => Buffer.from(random(PSEUDONYM_BYTES)).toString('base64url');
  return {
    patient: fresh(),
    actor: () => fresh(),
    resource: () => fresh(),
  };
}
