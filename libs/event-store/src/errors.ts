import { ProblemException } from '@medledger/platform';

/** Stable codes of the event store and its consumers. */
export const EventStoreError = {
  VERSION_CONFLICT: 'EVENT_STORE.VERSION_CONFLICT',
  STREAM_NOT_FOUND: 'EVENT_STORE.STREAM_NOT_FOUND',
  UNKNOWN_PROJECTION: 'EVENT_STORE.UNKNOWN_PROJECTION',
  HANDLER_FAILED: 'CONSUMER.HANDLER_FAILED',
  DATA_ERASED: 'EVENT_STORE.DATA_ERASED',
} as const;

/**
 * Thrown by a codec whose key for an event's data was destroyed (crypto-shredding, GDPR Art. 17): HTTP 410. A
 * projection rebuild goes on without that data: projections read what they need from the event's metadata.
 */
export class ErasedEventData extends ProblemException {
  constructor(
    readonly streamId: string,
    code: string = EventStoreError.DATA_ERASED,
  ) {
    super(410, code, 'The data was erased', { detail: `the key of ${streamId} was destroyed` });
  }
}

/**
 * An append whose expected version is not the stream's current version: somebody else appended first.
 * HTTP maps it to 409; the caller reloads and decides again.
 */
export class VersionConflict extends ProblemException {
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number,
  ) {
    super(409, EventStoreError.VERSION_CONFLICT, 'The stream was changed by another request', {
      detail: `stream ${streamId} is at version ${actualVersion}, not ${expectedVersion}`,
      streamId,
      expectedVersion,
      actualVersion,
    });
  }
}
