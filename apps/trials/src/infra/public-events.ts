import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import type { OutboxMessage, StoredEvent } from '@medledger/event-store';

/** Internal events that stay in trials (their facts reach the ledger through other events). */
const INTERNAL = new Set(['TrialRegistered', 'AllocationTaken', 'ParticipantJoined', 'ParticipantScreened']);

/** Internal fields that never leave trials: the clear record, its salt, the arm, the secret seed. */
function publicData(event: StoredEvent): Record<string, unknown> | undefined {
  const data = event.data;
  const { at, record: _record, salt: _salt, ...rest } = data as Record<string, unknown> & { at: string };
  switch (event.type) {
    case 'TrialActivated':
    case 'ProtocolAmended': {
      const { version, reconsentRequired, diff, ...fields } = rest as Record<string, unknown> & {
        version: number;
        reconsentRequired: boolean;
        diff?: Record<string, unknown>;
      };
      const registration = fields as { protocolId?: string };
      const common = { ...fields, protocolId: registration.protocolId, protocolVersion: version };
      return event.type === 'TrialActivated'
        ? { ...common, activatedAt: at }
        : { ...common, previousVersion: version - 1, diff, reconsentRequired, amendedAt: at };
    }
    case 'ConsentFormPublished':
      return { ...rest, publishedAt: at };
    case 'AllocationCommitted': {
      const { seed: _seed, scheme: _scheme, ...fields } = rest;
      return { ...fields, algorithm: 'permuted-blocks-v1', committedAt: at };
    }
    case 'AllocationRevealed':
      return { ...rest, revealedAt: at };
    case 'OutcomeReported':
      return { ...rest, reportedAt: at };
    case 'ParticipantEnrolled':
      return { ...rest, enrolledAt: at };
    case 'ConsentGiven':
      return { ...rest, consentedAt: at };
    case 'ParticipantRandomised': {
      const { armId: _arm, ...fields } = rest;
      return { ...fields, randomisedAt: at };
    }
    case 'VisitRecorded':
      return { ...rest, recordedAt: at };
    case 'ResultRecorded': {
      const { outcomeId: _o, registered: _r, ...fields } = rest;
      return { ...fields, recordedAt: at };
    }
    case 'AdverseEventRecorded':
      return { ...rest, recordedAt: at };
    case 'ExpenseClaimed':
      return { ...rest, claimedAt: at };
    case 'ParticipantWithdrawn':
      return { ...rest, withdrawnAt: at };
    case 'ParticipantCompleted':
      return { ...rest, completedAt: at };
    case 'PaymentAccrued':
      return { ...rest, accruedAt: at };
    case 'PaymentDue':
      return { ...rest, dueAt: at };
    case 'PaymentIssued':
      return { ...rest, issuedAt: at };
    default:
      return undefined;
  }
}

/**
 * The public event of an internal one, under the same id (so its receipt is the internal event's): ids, codes,
 * amounts and commitments only; the catalogue's schema checks it (a field too many is a producer bug).
 */
export function toPublicEvent(event: StoredEvent, trialId: string): OutboxMessage | undefined {
  if (INTERNAL.has(event.type)) return undefined;
  const data = publicData(event);
  if (!data) return undefined;
  const participantId = data['participantId'];
  return {
    topic: PUBLIC_EVENT_TOPICS.trials,
    key: trialId,
    envelope: createEnvelope({
      type: `trials.${event.type}`,
      id: event.eventId,
      time: String((event.data as { at: string }).at),
      subject: typeof participantId === 'string' ? `Trial/${trialId}/Participant/${participantId}` : `Trial/${trialId}`,
      aggregateId: event.streamId,
      aggregateVersion: event.version,
      data,
    }),
  };
}
