import { checkStatement, type Statement } from '@medledger/compensation';
import { verifyReceipt, type NoteVerifier } from '@medledger/ledger-core';

/** What `medledger-verify statement` found: every issue, each naming its event or amount. */
export interface StatementVerdict {
  ok: boolean;
  issues: Array<{ code: string; eventId?: string; message: string }>;
  events: number;
  sealed: number;
  commitments: number;
  totals?: { payment: number; reimbursement: number; currency: string };
}

/**
 * A participant's statement, checked by anyone: each event's receipt against the pinned ledger keys (the ledger
 * sealed exactly that event: checkpoint signature, block signature, leaf, inclusion proof), each record against its
 * commitment, then the compensation contract run again on the records and compared, amount by amount, with what
 * trials published. An event without a receipt is a finding (it is not proven to be on the ledger).
 */
export function verifyStatement(
  statement: Statement,
  keys: readonly NoteVerifier[],
  origin?: string,
): StatementVerdict {
  const issues: StatementVerdict['issues'] = [];
  let sealed = 0;
  for (const event of Array.isArray(statement?.events) ? statement.events : []) {
    if (!event.receipt) {
      issues.push({
        code: 'STATEMENT.NOT_SEALED',
        eventId: event.eventId,
        message: `${event.envelope.type} ${event.eventId} has no ledger receipt`,
      });
      continue;
    }
    const verdict = verifyReceipt(
      {
        eventId: event.eventId,
        envelope: event.envelope,
        leafIndex: event.receipt.leaf.index,
        blockHeight: Number((event.receipt.block as { height?: unknown })?.height),
        leafData: event.receipt.leaf.data,
        block: event.receipt.block,
        checkpoint: event.receipt.checkpoint,
        proof: event.receipt.proof.hashes,
      },
      keys,
      origin,
    );
    if (verdict.ok) sealed++;
    else
      issues.push({
        code: verdict.code,
        eventId: event.eventId,
        message: `${event.envelope.type} ${event.eventId}: ${verdict.reason}`,
      });
  }
  const check = checkStatement(statement);
  issues.push(...check.issues);
  return {
    ok: issues.length === 0,
    issues,
    events: Array.isArray(statement?.events) ? statement.events.length : 0,
    sealed,
    commitments: check.commitmentsChecked,
    ...(check.evaluation && { totals: { ...check.evaluation.totals, currency: check.evaluation.currency } }),
  };
}
