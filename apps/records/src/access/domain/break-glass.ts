/**
 * Break-glass: a practitioner claims emergency access to a patient's record with a reason. Granted at once, for a
 * short window (BREAK_GLASS_WINDOW_MS), over the patient's consents, for reading only (consent-policy.ts); the grant
 * is an event (anchored through records.EmergencyAccessGranted, which notifies the patient), and every access it
 * allows is audited with basis `break-glass`.
 */

/** 15 minutes: long enough to treat an emergency, short enough that a forgotten grant closes by itself. */
export const BREAK_GLASS_WINDOW_MS = 15 * 60_000;
/** A reason is required and bounded: it is read by the patient and by auditors. */
export const BREAK_GLASS_REASON_MAX = 1_000;

/** The stored event (its data is encrypted under the patient's key: the reason is free text). */
export interface EmergencyAccessGranted {
  type: 'EmergencyAccessGranted';
  data: {
    grantId: string;
    patientId: string;
    actor: string;
    reason: string;
    purpose?: string;
    salt: string;
    reasonCommitment: string;
    grantedAt: string;
    until: string;
  };
}

export function breakGlassStreamId(patientId: string, grantId: string): string {
  return `Patient-${patientId}/BreakGlass-${grantId}`;
}
