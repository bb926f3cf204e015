import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import {
  EVENT_STORE,
  EVENT_STORE_SQL,
  ReceiptService,
  EventStore,
  type OutboxMessage,
  type Sql,
  type StoredEvent,
  type TransactionalSql,
} from '@medledger/event-store';
import { ProblemException } from '@medledger/platform';
import { commitment, COMMITMENT_SALT_BYTES } from './domain/commitment';
import {
  decide,
  evolve,
  INITIAL_PATIENT,
  PATIENT_STREAM_TYPE,
  PatientErrorCode,
  patientStreamId,
  type Commitments,
  type PatientCommand,
  type PatientError,
  type PatientEvent,
  type PatientResource,
  type PatientState,
} from './domain/patient';

const randomCommitments: Commitments = {
  commit(resource) {
    const salt = randomBytes(COMMITMENT_SALT_BYTES);
    return { salt: salt.toString('base64'), commitment: commitment(resource, salt) };
  },
};

const ERROR_STATUS: Record<PatientError['code'], number> = {
  [PatientErrorCode.ALREADY_REGISTERED]: 409,
  [PatientErrorCode.NOT_FOUND]: 404,
  [PatientErrorCode.VERSION_MISMATCH]: 412,
  [PatientErrorCode.VERSION_NOT_FOUND]: 404,
};

export interface PatientView {
  resource: PatientResource & { id: string; meta: { versionId: string; lastUpdated: string } };
  version: number;
  /** The public event this change published (its ledger receipt: GET /v1/events/{id}/receipt). */
  eventId?: string;
}

function view(state: Extract<PatientState, { status: 'registered' }>, eventId?: string): PatientView {
  return {
    resource: {
      ...state.resource,
      id: state.patientId,
      meta: { versionId: String(state.version), lastUpdated: state.lastUpdated },
    },
    version: state.version,
    ...(eventId ? { eventId } : {}),
  };
}

/** The public, PHI-free announcement of a patient change: ids and the version's salted commitment. */
function publicEvent(event: StoredEvent<PatientEvent>): OutboxMessage {
  const { patientId, commitment: digest, at } = event.data;
  const versionId = String(event.version);
  const common = {
    id: event.eventId,
    time: at,
    subject: `Patient/${patientId}`,
    aggregateId: patientId,
    aggregateVersion: event.version,
  };
  const envelope =
    event.type === 'PatientRegistered'
      ? createEnvelope({
          ...common,
          type: 'records.PatientRegistered',
          data: { patientId, versionId, commitment: digest, registeredAt: at },
        })
      : createEnvelope({
          ...common,
          type: 'records.PatientUpdated',
          data: { patientId, versionId, commitment: digest, updatedAt: at },
        });
  return { topic: PUBLIC_EVENT_TOPICS.records, key: patientId, envelope };
}

/** Patient commands and reads: load the stream, decide, append events + outbox in one transaction. */
@Injectable()
export class PatientsService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    private readonly receipts: ReceiptService,
  ) {}

  register(resource: PatientResource): Promise<PatientView> {
    return this.execute({ kind: 'RegisterPatient', patientId: randomUUID(), resource });
  }

  update(patientId: string, resource: PatientResource, ifMatchVersion?: number): Promise<PatientView> {
    return this.execute({
      kind: 'UpdatePatient',
      patientId,
      resource,
      ...(ifMatchVersion !== undefined ? { ifMatchVersion } : {}),
    });
  }

  async read(patientId: string): Promise<PatientView> {
    const { state } = await this.store.aggregate(this.client, patientStreamId(patientId), INITIAL_PATIENT, fold);
    if (state.status !== 'registered')
      throw new ProblemException(404, PatientErrorCode.NOT_FOUND, 'No such patient', {
        detail: `no patient ${patientId}`,
      });
    return view(state);
  }

  /** Every version, oldest first, each with the event that made it (the one anchored in the ledger). */
  async history(
    patientId: string,
  ): Promise<Array<PatientView & { eventId: string; salt: string; commitment: string }>> {
    const stream = await this.store.load<PatientEvent>(this.client, patientStreamId(patientId));
    if (stream.events.length === 0)
      throw new ProblemException(404, PatientErrorCode.NOT_FOUND, 'No such patient', {
        detail: `no patient ${patientId}`,
      });
    let state: PatientState = INITIAL_PATIENT;
    return stream.events.map((event) => {
      state = fold(state, event);
      if (state.status !== 'registered') throw new Error('a patient event left no patient');
      return {
        ...view(state, event.eventId),
        eventId: event.eventId,
        salt: event.data.salt,
        commitment: event.data.commitment,
      };
    });
  }

  async version(patientId: string, versionId: number) {
    const found = (await this.history(patientId)).find((v) => v.version === versionId);
    if (!found)
      throw new ProblemException(404, PatientErrorCode.VERSION_NOT_FOUND, 'No such version', {
        detail: `patient ${patientId} has no version ${versionId}`,
      });
    return found;
  }

  /**
   * Proves that a version is the one anchored, without showing it: recomputes the salted commitment from the
   * stored resource, and returns it with the ledger receipt of the event that published it (verified against the
   * pinned ledger key by the receipt service). An auditor compares the commitment in the sealed event with it.
   */
  async verify(patientId: string, versionId: number) {
    const version = await this.version(patientId, versionId);
    const { meta: _meta, ...stored } = version.resource;
    const recomputed = commitment(stored, Buffer.from(version.salt, 'base64'));
    const receipt = await this.receipts.receipt(version.eventId);
    const sealedCommitment = (receipt.event['data'] as { commitment?: unknown } | undefined)?.commitment;
    return {
      resourceType: 'Patient',
      id: patientId,
      versionId: String(versionId),
      eventId: version.eventId,
      commitment: recomputed,
      matchesStored: recomputed === version.commitment,
      matchesSealed: recomputed === sealedCommitment,
      receipt,
    };
  }

  private execute(command: PatientCommand): Promise<PatientView> {
    const streamId = patientStreamId(command.patientId);
    return this.store.transact(this.client, async (tx) => {
      const { state, version } = await this.store.aggregate(tx, streamId, INITIAL_PATIENT, fold);
      const decision = decide(command, state, new Date().toISOString(), randomCommitments);
      if (!Array.isArray(decision))
        throw new ProblemException(ERROR_STATUS[decision.code], decision.code, 'Patient command refused', {
          detail: decision.message,
        });
      const events = decision.map((event) => ({ ...event, eventId: randomUUID() }));
      const stored = await this.store.append(tx, {
        streamId,
        streamType: PATIENT_STREAM_TYPE,
        expectedVersion: version,
        events,
      });
      await this.store.enqueue(tx, stored.map(publicEvent));
      const next = stored.reduce(fold, state);
      if (next.status !== 'registered') throw new Error('a patient command left no patient');
      return view(next, stored.at(-1)?.eventId);
    });
  }
}

function fold(state: PatientState, event: StoredEvent): PatientState {
  return evolve(state, event as unknown as PatientEvent);
}
