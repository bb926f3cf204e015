import { TRANSFORMED, type LotState, type UnitState } from '../../custody/domain/custody';

/**
 * The answer to "is this pack genuine and saleable?", as a DSCSA Verification Router Service responder gives it:
 * verified, or not with one reason. SPEC: DSCSA §582(a)(8) (verification of the product identifier: GTIN, serial,
 * lot, expiry), GS1 Lightweight Messaging Standard for Verification of Product Identifiers 1.2 (responses: verified
 * or not, with a reason); EU FMD 2016/161 Art. 11 (authentic only while active).
 */
export const VerifyReason = {
  UNKNOWN_SERIAL: 'SUPPLY.VERIFY.UNKNOWN_SERIAL',
  LOT_MISMATCH: 'SUPPLY.VERIFY.LOT_MISMATCH',
  EXPIRY_MISMATCH: 'SUPPLY.VERIFY.EXPIRY_MISMATCH',
  DECOMMISSIONED: 'SUPPLY.VERIFY.DECOMMISSIONED',
  DISPENSED: 'SUPPLY.VERIFY.DISPENSED',
  RECALLED: 'SUPPLY.VERIFY.RECALLED',
  EXPIRED: 'SUPPLY.VERIFY.EXPIRED',
  QUARANTINED: 'SUPPLY.VERIFY.QUARANTINED',
  SUSPECT: 'SUPPLY.VERIFY.SUSPECT',
} as const;
export type VerifyReason = (typeof VerifyReason)[keyof typeof VerifyReason];

export interface VerifyQuery {
  gtin: string;
  serial: string;
  lot?: string;
  /** YYYY-MM-DD. */
  expiry?: string;
}

export interface VerifyAnswer {
  verified: boolean;
  reason?: VerifyReason;
  message: string;
  gtin: string;
  serial: string;
  /** Only for a known pack: what the commissioning said, and where it is in its life. */
  lot?: string;
  expiry?: string;
  status?: string;
}

/**
 * One pure decision. The order is the order of gravity a pharmacist needs: a pack that does not exist, or whose
 * lot or expiry differ from what was commissioned, is not the pack it claims to be; then whether it may still be
 * sold (recalled, decommissioned, dispensed, expired, quarantined); then whether anything about it is suspect.
 */
export function verifyPack(
  query: VerifyQuery,
  unit: UnitState | undefined,
  lot: LotState | undefined,
  today: string,
): VerifyAnswer {
  const base = { gtin: query.gtin, serial: query.serial };
  const no = (reason: VerifyReason, message: string): VerifyAnswer => ({
    ...base,
    verified: false,
    reason,
    message,
    ...(unit?.lot !== undefined && { lot: unit.lot }),
    ...(unit?.expiry !== undefined && { expiry: unit.expiry }),
    ...(unit && { status: unit.status }),
  });
  if (!unit || unit.kind !== 'sgtin') return no(VerifyReason.UNKNOWN_SERIAL, 'no such serial was ever commissioned');
  if (query.lot !== undefined && unit.lot !== query.lot)
    return no(VerifyReason.LOT_MISMATCH, `the pack was commissioned in lot ${unit.lot ?? '(none)'}`);
  if (query.expiry !== undefined && unit.expiry !== query.expiry)
    return no(VerifyReason.EXPIRY_MISMATCH, `the pack was commissioned with expiry ${unit.expiry ?? '(none)'}`);
  if (lot?.recalled) return no(VerifyReason.RECALLED, `lot ${lot.lot} was recalled on ${lot.recalled.at}`);
  if (unit.status === 'dispensed') return no(VerifyReason.DISPENSED, `dispensed on ${unit.decommissionedAt ?? '?'}`);
  // A pack consumed by a transformation (repackaged, relabelled, kitted, compounded) no longer exists as such: its
  // identifier is decommissioned, as FMD Art. 17 has a repackager do; the answer says why.
  if (unit.status === 'decommissioned')
    return no(
      VerifyReason.DECOMMISSIONED,
      unit.decommissionedAs === TRANSFORMED
        ? `consumed by a transformation (repackaging, relabelling, kitting or compounding) on ${unit.decommissionedAt ?? '?'}`
        : `decommissioned (${unit.decommissionedAs ?? 'inactive'}) on ${unit.decommissionedAt ?? '?'}`,
    );
  if (unit.expiry !== undefined && unit.expiry < today) return no(VerifyReason.EXPIRED, `expired on ${unit.expiry}`);
  if (unit.quarantined) return no(VerifyReason.QUARANTINED, `quarantined since ${unit.quarantine?.at ?? '?'}`);
  if (unit.suspect) return no(VerifyReason.SUSPECT, 'an event on this pack was flagged as suspect (see its trace)');
  return {
    ...base,
    verified: true,
    message: 'genuine and active',
    ...(unit.lot !== undefined && { lot: unit.lot }),
    ...(unit.expiry !== undefined && { expiry: unit.expiry }),
    status: unit.status,
  };
}
