import { z } from 'zod';
import { DIAGNOSTICS_TOPIC, PingAnswered, PingSent } from '../diagnostics';
import { BlockSealedData, LEDGER_BLOCKS_TOPIC, PUBLIC_EVENT_TOPICS } from '../envelope';
import { defineEvent } from './define';

const base64Hash = z.string().regex(/^[A-Za-z0-9+/]{43}=$/, 'must be base64 of 32 bytes');
const commitment = base64Hash.describe(
  'base64 SHA-256 over a 32-byte salt and the RFC 8785 JSON of the resource version; the salt stays in records',
);

/** records: a patient was registered. Ids and a commitment only: the resource itself never leaves records. */
export const PatientRegisteredV1 = defineEvent({
  type: 'records.PatientRegistered',
  version: 1,
  topic: PUBLIC_EVENT_TOPICS.records,
  producer: 'records',
  consumers: ['ledger'],
  envelope: 'cloudevents',
  description: 'A patient was registered in records (FHIR Patient, version 1). Anchors the commitment of that version.',
  schema: z.object({
    patientId: z.uuid().describe('id of the FHIR Patient in records'),
    versionId: z
      .string()
      .regex(/^[1-9]\d*$/)
      .describe('FHIR meta.versionId of the registered resource'),
    commitment,
    registeredAt: z.iso.datetime().describe('when records committed the registration'),
  }),
  example: {
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    versionId: '1',
    commitment: 'hmX4f+Ra6I3Tai/+zehcm+B/HE+a7IdLQOx5xn8k2Bs=',
    registeredAt: '2026-11-24T10:00:00.000Z',
  },
});

/** records: a patient's resource changed (a new FHIR version). */
export const PatientUpdatedV1 = defineEvent({
  type: 'records.PatientUpdated',
  version: 1,
  topic: PUBLIC_EVENT_TOPICS.records,
  producer: 'records',
  consumers: ['ledger'],
  envelope: 'cloudevents',
  description: 'A new version of a FHIR Patient was committed in records. Anchors the commitment of that version.',
  schema: z.object({
    patientId: z.uuid().describe('id of the FHIR Patient in records'),
    versionId: z
      .string()
      .regex(/^[1-9]\d*$/)
      .describe('FHIR meta.versionId of the new version'),
    commitment,
    updatedAt: z.iso.datetime().describe('when records committed the update'),
  }),
  example: {
    patientId: '6f1c1a52-2f43-4c55-9b3e-0c6c3a2f7e10',
    versionId: '2',
    commitment: 'OWbpyoz88FnJwW3ScqS1HyO1vPfeI8lfQzaxT8w8FHs=',
    updatedAt: '2026-11-24T11:30:00.000Z',
  },
});

/** ledger: a block was sealed; v1 was a bare JSON message on its topic (superseded by v2). */
export const BlockSealedV1 = defineEvent({
  type: 'ledger.BlockSealed',
  version: 1,
  topic: LEDGER_BLOCKS_TOPIC,
  producer: 'ledger',
  consumers: ['records', 'trials', 'supply'],
  envelope: 'plain',
  description:
    'The ledger sealed a block: its height, the tree after it, its signed checkpoint, and the leaf index of every event in it (producers keep receipts from it).',
  schema: z.object({
    type: z.literal('ledger.BlockSealed'),
    height: z.number().int().nonnegative().describe('block height (0 = first block)'),
    treeSize: z.number().int().nonnegative().describe('leaves in the log after this block'),
    root: base64Hash.describe('RFC 6962 root of the log at treeSize'),
    blockHash: base64Hash.describe('SHA-256 of the signed block header (docs/design/ledger-format.md)'),
    checkpoint: z.string().min(1).describe('C2SP signed note of the checkpoint at treeSize'),
    events: z
      .array(z.object({ eventId: z.string().min(1), index: z.number().int().nonnegative() }))
      .describe('each sealed event id with its leaf index'),
  }),
  example: {
    type: 'ledger.BlockSealed',
    height: 12,
    treeSize: 1_843,
    root: 'SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=',
    blockHash: 'SWrKgOTY8p+46M2BbDr7SNPxA5cLOi7hYAwIymcybe4=',
    checkpoint:
      'medledger.local/ledger\n1843\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n\n— medledger.local/ledger AAAAAA==\n',
    events: [{ eventId: '8d3f9c0e-7b1a-4c52-a0e1-5d2b7c4f9a10', index: 1842 }],
  },
});

export const PingSentV1 = defineEvent({
  type: 'diagnostics.PingSent',
  version: 1,
  topic: DIAGNOSTICS_TOPIC,
  producer: 'records',
  consumers: ['ledger', 'records', 'trials', 'supply'],
  envelope: 'plain',
  description:
    'A service asks every other service to answer over Kafka (any service may send it; records is listed as one).',
  schema: PingSent,
  example: {
    type: 'diagnostics.PingSent',
    pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
    origin: 'records',
    sentAt: '2026-11-23T10:00:00.000Z',
  },
});

export const PingAnsweredV1 = defineEvent({
  type: 'diagnostics.PingAnswered',
  version: 1,
  topic: DIAGNOSTICS_TOPIC,
  producer: 'ledger',
  consumers: ['ledger', 'records', 'trials', 'supply'],
  envelope: 'plain',
  description: 'A service answers a ping (every service answers; the ledger is listed as one).',
  schema: PingAnswered,
  example: {
    type: 'diagnostics.PingAnswered',
    pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
    origin: 'records',
    answeredBy: 'ledger',
    receivedAt: '2026-11-23T10:00:00.012Z',
    answeredAt: '2026-11-23T10:00:00.015Z',
  },
});

/** ledger: a block was sealed; v2 travels in a CloudEvents envelope (v1 was the bare message, `type` included). */
export const BlockSealedV2 = defineEvent({
  type: 'ledger.BlockSealed',
  version: 2,
  topic: LEDGER_BLOCKS_TOPIC,
  producer: 'ledger',
  consumers: ['records', 'trials', 'supply'],
  envelope: 'cloudevents',
  description:
    'The ledger sealed a block: its height, the tree after it, its signed checkpoint, and the leaf index of every event in it (producers keep receipts from it). CloudEvents id `block-<height>-<first 8 bytes of the block hash, hex>`, aggregateid the log origin, aggregateversion the height.',
  schema: BlockSealedData.extend({
    height: BlockSealedData.shape.height.describe('block height (0 = first block)'),
    treeSize: BlockSealedData.shape.treeSize.describe('leaves in the log after this block'),
    root: BlockSealedData.shape.root.describe('RFC 6962 root of the log at treeSize'),
    blockHash: BlockSealedData.shape.blockHash.describe(
      'SHA-256 of the signed block header (docs/design/ledger-format.md)',
    ),
    checkpoint: BlockSealedData.shape.checkpoint.describe('C2SP signed note of the checkpoint at treeSize'),
    events: BlockSealedData.shape.events.describe('each sealed event id with its leaf index'),
  }),
  example: {
    height: 12,
    treeSize: 1_843,
    root: 'SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=',
    blockHash: 'SWrKgOTY8p+46M2BbDr7SNPxA5cLOi7hYAwIymcybe4=',
    checkpoint:
      'medledger.local/ledger\n1843\nSBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=\n\n— medledger.local/ledger AAAAAA==\n',
    events: [{ eventId: '8d3f9c0e-7b1a-4c52-a0e1-5d2b7c4f9a10', index: 1842 }],
  },
  upcast: (previous) => {
    const { type: _type, ...data } = previous as Record<string, unknown>;
    return data;
  },
});

const withoutType = (previous: unknown) => {
  const { type: _type, ...data } = previous as Record<string, unknown>;
  return data;
};

export const PingSentV2 = defineEvent({
  type: 'diagnostics.PingSent',
  version: 2,
  topic: DIAGNOSTICS_TOPIC,
  producer: 'records',
  consumers: ['ledger', 'records', 'trials', 'supply'],
  envelope: 'cloudevents',
  description:
    'A service asks every other service to answer over Kafka (any service sends it, from its own source; records is listed as one). CloudEvents aggregateid: the ping id.',
  schema: PingSent.omit({ type: true }),
  example: { pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a', origin: 'records', sentAt: '2026-11-23T10:00:00.000Z' },
  upcast: withoutType,
});

export const PingAnsweredV2 = defineEvent({
  type: 'diagnostics.PingAnswered',
  version: 2,
  topic: DIAGNOSTICS_TOPIC,
  producer: 'ledger',
  consumers: ['ledger', 'records', 'trials', 'supply'],
  envelope: 'cloudevents',
  description:
    'A service answers a ping (every service answers; the ledger is listed as one). CloudEvents aggregateid: the ping id.',
  schema: PingAnswered.omit({ type: true }),
  example: {
    pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
    origin: 'records',
    answeredBy: 'ledger',
    receivedAt: '2026-11-23T10:00:00.012Z',
    answeredAt: '2026-11-23T10:00:00.015Z',
  },
  upcast: withoutType,
});
