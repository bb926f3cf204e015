import { Injectable } from '@nestjs/common';
import { evaluate, STATEMENT_FORMAT, type Statement, type StatementEvent } from '@medledger/compensation';
import { ReceiptService, type SealedAt } from '@medledger/event-store';
import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import type { PresentParticipant } from '../participants/domain/participant';
import { participantStream, TrialsService, TrialsErrorCode } from '../trials.service';

/** Statements and receipts: what a participant (or the sponsor, or a monitor) takes away to re-run the contract. */
@Injectable()
export class StatementService {
  constructor(
    private readonly trials: TrialsService,
    private readonly receipts: ReceiptService,
  ) {}

  /** The participant themself, the trial's sponsor, a monitor, or an investigator of the participant's site. */
  assertMayRead(actor: AuthenticatedActor, state: PresentParticipant): void {
    const allowed =
      (actor.role === 'participant' && actor.reference === `Patient/${state.participantId}`) ||
      actor.role === 'monitor' ||
      actor.role === 'sponsor' ||
      (actor.role === 'investigator' && actor.organization === state.site);
    if (!allowed)
      throw new ProblemException(403, TrialsErrorCode.FORBIDDEN, 'Not allowed', {
        detail: 'the participant, the sponsor, a monitor or an investigator of their site',
      });
  }

  receiptsOf(eventIds: readonly string[]): Promise<Map<string, SealedAt>> {
    return this.receipts.sealedAt(eventIds);
  }

  /**
   * The participant's statement: every public event of theirs as committed, each participant-level record with its
   * salt (so the commitments open), the schedule they consented to, the amounts as computed, and the verified
   * receipt of every sealed event (an unsealed one comes without; the verifier says so).
   */
  async statement(actor: AuthenticatedActor, trialId: string, participantId: string): Promise<Statement> {
    const { trial } = await this.trials.requireTrial(this.trials.client, trialId);
    const { state } = await this.trials.loadParticipant(this.trials.client, trialId, participantId);
    if (state.status === 'absent')
      throw new ProblemException(404, 'TRIALS.PARTICIPANT_NOT_FOUND', 'No such participant', { detail: participantId });
    this.assertMayRead(actor, state);
    if (actor.role === 'sponsor') this.trials.assertSponsorOf(actor, trial);
    const form = trial.forms.find((f) => f.scheduleHash === state.scheduleHash);
    if (!form)
      throw new ProblemException(409, 'TRIALS.CONSENT_REQUIRED', 'No schedule yet', {
        detail: 'the participant has not consented to a consent form, so no payment schedule applies',
      });

    const stream = await this.trials.client.$queryRawUnsafe<
      Array<{ event_id: string; data: Record<string, unknown>; envelope: StatementEvent['envelope'] }>
    >(
      `SELECT e.event_id::text AS event_id, e.data, o.envelope FROM es_event e
         JOIN es_outbox o ON o.event_id = e.event_id::text
        WHERE e.stream_id = $1 ORDER BY e.version`,
      participantStream(trialId, participantId),
    );
    const events: StatementEvent[] = [];
    for (const row of stream) {
      const { record, salt } = row.data as { record?: Record<string, unknown>; salt?: string };
      let receipt: StatementEvent['receipt'];
      try {
        const proven = await this.receipts.receipt(row.event_id);
        receipt = { leaf: proven.leaf, block: proven.block, checkpoint: proven.checkpoint, proof: proven.proof };
      } catch (error) {
        if (!(error instanceof ProblemException) || error.code !== 'RECEIPT.NOT_SEALED') throw error;
      }
      events.push({
        eventId: row.event_id,
        envelope: row.envelope,
        ...(record && salt && { clear: { record, salt } }),
        ...(receipt && { receipt }),
      });
    }
    return {
      format: STATEMENT_FORMAT,
      trialId,
      participantId,
      schedule: form.schedule,
      scheduleHash: form.scheduleHash,
      events,
      evaluation: evaluate(form.schedule, state.facts),
    };
  }
}
