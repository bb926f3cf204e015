import { z } from 'zod';
import { Base64Hash, PUBLIC_EVENT_TOPICS } from '../envelope';
import { defineEvent } from './define';

// ------------------------------------------------------------------------------------------------ supply
//
// What goes public (MediLedger's rule: the network holds proofs, not the partners' data): event hashes, GTINs,
// lot-level facts (a lot, its recall) and salted commitments. Who sold what to whom, where, how many, and which
// serials stay in supply, shown to the parties involved and the regulator (apps/supply/README.md).

const supplyEvent = {
  topic: PUBLIC_EVENT_TOPICS.supply,
  producer: 'supply',
  consumers: ['ledger'],
  envelope: 'cloudevents',
} as const;

/** SPEC: CBV 2.0 §8.9: `ni:///sha-256;<64 hex>?ver=CBV2.0`. */
export const EpcisEventHash = z
  .string()
  .regex(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/)
  .describe('the EPCIS event hash ID (CBV 2.0 §8.9)');
const Gtin = z
  .string()
  .regex(/^\d{14}$/)
  .describe('GTIN-14');
const Lot = z.string().min(1).max(20).describe('batch/lot number (AI 10)');
const At = (what: string) => z.iso.datetime().describe(`when supply committed the ${what}`);
const Commitment = Base64Hash.describe(
  'base64 SHA-256 over a 32-byte salt and the RFC 8785 JSON of what stays private (serials, parties, locations, quantities); the salt stays in supply',
);
const Evidence = z
  .array(
    z.object({
      eventHash: EpcisEventHash.optional(),
      eventId: z.uuid().describe('the public event that carried it (its ledger receipt proves it)'),
      role: z.enum(['this', 'conflicting']).describe('the event flagged, or the earlier one it conflicts with'),
    }),
  )
  .describe('the conflicting events');

const HASH = 'ni:///sha-256;0d7aff4ec6ea5cf8cd6d37e07b6ec2dc56ed54bfcc1b4f91a4ad10b0ab0d1e35?ver=CBV2.0';
const OTHER_HASH = 'ni:///sha-256;5f4e0a6b1c3d2e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f?ver=CBV2.0';

export const EpcisEventCapturedV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.EpcisEventCaptured',
  version: 1,
  description:
    'An EPCIS 2.0 event was captured (schema, identifiers, CBV codes and location checked). Its hash and the GTINs and lots it names go public; the event itself is committed.',
  schema: z.object({
    eventHash: EpcisEventHash,
    eventType: z
      .enum(['ObjectEvent', 'AggregationEvent', 'TransactionEvent', 'TransformationEvent', 'AssociationEvent'])
      .describe('EPCIS event type'),
    bizStep: z.string().max(60).optional().describe('CBV 2.0 business step (short name)'),
    gtins: z.array(Gtin).describe("the products it names (a transformation's inputs and outputs)"),
    lots: z
      .array(z.object({ gtin: Gtin, lot: Lot }))
      .describe("lots it commissions (a transformation: its outputs' lots)"),
    commitment: Commitment,
    capturedAt: At('capture'),
  }),
  example: {
    eventHash: HASH,
    eventType: 'ObjectEvent',
    bizStep: 'commissioning',
    gtins: ['00614141123452'],
    lots: [{ gtin: '00614141123452', lot: 'L2026A' }],
    commitment: 'JpSbgGZnvzcrNUUwguJ5ZIoTU1KV/9aNxlRFgZdZl/A=',
    capturedAt: '2026-12-02T08:00:00.000Z',
  },
});

export const EpcisEventWithdrawnV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.EpcisEventWithdrawn',
  version: 1,
  description:
    'An error declaration withdrew a captured event from custody (EPCIS 2.0 errorDeclaration); the corrective events are named.',
  schema: z.object({
    eventHash: EpcisEventHash,
    correctiveEventHashes: z.array(EpcisEventHash).describe('the corrective events the declaration names'),
    reasonCode: z.string().max(120).optional().describe('CBV error reason (e.g. incorrect_data)'),
    withdrawnAt: At('withdrawal'),
  }),
  example: {
    eventHash: HASH,
    correctiveEventHashes: [OTHER_HASH],
    reasonCode: 'incorrect_data',
    withdrawnAt: '2026-12-02T09:00:00.000Z',
  },
});

// Adding a code keeps version 1: every message valid before is valid after (ADR 0003 asks a new version for a
// change that breaks a stored message, which a new enum member does not), and ledger anchors without reading it.
export const SUSPECT_CODES = [
  'SUPPLY.UNKNOWN_SERIAL',
  'SUPPLY.DUPLICATE_COMMISSION',
  'SUPPLY.AFTER_DECOMMISSION',
  'SUPPLY.DISPENSED_TWICE',
  'SUPPLY.SHIPPER_NOT_HOLDER',
  'SUPPLY.TRANSFORMER_NOT_HOLDER',
  'SUPPLY.RECEIPT_WITHOUT_SHIPMENT',
  'SUPPLY.PACKED_TWICE',
  'SUPPLY.EXPIRED',
  'SUPPLY.RECALLED',
  'SUPPLY.QUARANTINED',
  'SUPPLY.BAD_IDENTIFIER',
] as const;

export const SuspectProductDetectedV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.SuspectProductDetected',
  version: 1,
  description:
    'A captured event made a product suspect (counterfeit or diversion): the code, the product and the conflicting events, each with the public event whose receipt proves it. The event was recorded, not refused.',
  schema: z.object({
    detectionId: z.uuid().describe('id of the detection'),
    code: z.enum(SUSPECT_CODES).describe('what was detected'),
    gtin: Gtin.optional(),
    eventHash: EpcisEventHash.describe('the event that raised it'),
    evidence: Evidence,
    commitment: Commitment,
    detectedAt: At('detection'),
  }),
  example: {
    detectionId: '3b1f2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
    code: 'SUPPLY.DUPLICATE_COMMISSION',
    gtin: '00614141123452',
    eventHash: OTHER_HASH,
    evidence: [
      { eventHash: OTHER_HASH, eventId: '6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f', role: 'this' },
      { eventHash: HASH, eventId: '7d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a', role: 'conflicting' },
    ],
    commitment: 'Wp98JdVdGtQkKQgRrhfo/m85EWfVzY0sQPj3w/qnFLI=',
    detectedAt: '2026-12-02T10:00:00.000Z',
  },
});

export const LotRecalledV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.LotRecalled',
  version: 1,
  description:
    'A manufacturer (or the regulator) recalled a lot: every later event on its units is flagged RECALLED and verification answers recalled.',
  schema: z.object({
    recallId: z.uuid().describe('id of the recall'),
    gtin: Gtin,
    lot: Lot,
    reasonCommitment: Commitment,
    recalledAt: At('recall'),
  }),
  example: {
    recallId: '8e3f4a5b-6c7d-4e8f-9a0b-1c2d3e4f5a6b',
    gtin: '00614141123452',
    lot: 'L2026A',
    reasonCommitment: '5QEx4DzDkRc6qINz7g5HZ2xYEnTejvqIhAUQErPjXNU=',
    recalledAt: '2026-12-03T08:00:00.000Z',
  },
});

const unitAction = (what: string) =>
  z.object({
    actionId: z.uuid().describe(`id of the ${what}`),
    gtin: Gtin.optional(),
    commitment: Commitment,
    at: At(what),
  });

export const UnitQuarantinedV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.UnitQuarantined',
  version: 1,
  description:
    'A unit was quarantined by its holder or the regulator (the serial is committed): verification answers quarantined.',
  schema: unitAction('quarantine'),
  example: {
    actionId: '9f4a5b6c-7d8e-4f9a-8b1c-2d3e4f5a6b7c',
    gtin: '00614141123452',
    commitment: 'mE441AW0ShrRkUZIymSbBC2EWRveOKjXWKuY1cbLtKQ=',
    at: '2026-12-03T09:00:00.000Z',
  },
});

export const UnitReleasedV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.UnitReleased',
  version: 1,
  description: 'A quarantined unit was released (it stays marked suspect if it ever was).',
  schema: unitAction('release'),
  example: {
    actionId: '0a5b6c7d-8e9f-4a0b-9c2d-3e4f5a6b7c8d',
    gtin: '00614141123452',
    commitment: 'EIw0NtdAJ8z+cP+5BFWihF1vSXy74YIDJyT7TQZQPo0=',
    at: '2026-12-04T09:00:00.000Z',
  },
});

export const DecommissionRevertedV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.DecommissionReverted',
  version: 1,
  description:
    'A decommissioning was reverted under EU FMD Reg. 2016/161 Art. 13 (same party and premises, within 10 days, not expired, recalled, stolen, for destruction or supplied).',
  schema: unitAction('revert'),
  example: {
    actionId: '1b6c7d8e-9f0a-4b1c-8d3e-4f5a6b7c8d9e',
    gtin: '00614141123452',
    commitment: 'xM02/MzQlrHffn4wdC6BZE3IOjtRAQ5MPKoMjKTL4G4=',
    at: '2026-12-05T09:00:00.000Z',
  },
});

export const IllegitimateProductNotifiedV1 = defineEvent({
  ...supplyEvent,
  type: 'supply.IllegitimateProductNotified',
  version: 1,
  description:
    'A party notified illegitimate product (DSCSA §582: to the FDA and trading partners within 24 hours of the determination); the deadline is part of the fact.',
  schema: z.object({
    notificationId: z.uuid().describe('id of the notification'),
    gtin: Gtin,
    lot: Lot.optional(),
    detectionIds: z.array(z.uuid()).describe('the detections it is based on'),
    determinedAt: z.iso.datetime().describe('when the product was determined illegitimate'),
    deadline: z.iso.datetime().describe('determinedAt + 24 h'),
    commitment: Commitment,
    notifiedAt: At('notification'),
  }),
  example: {
    notificationId: '2c7d8e9f-0a1b-4c2d-9e4f-5a6b7c8d9e0f',
    gtin: '00614141123452',
    lot: 'L2026A',
    detectionIds: ['3b1f2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d'],
    determinedAt: '2026-12-02T10:00:00.000Z',
    deadline: '2026-12-03T10:00:00.000Z',
    commitment: 'GY1E1m6WAGqrMLdcJn0L4qaaqcqkrTElleiodG1x5Z8=',
    notifiedAt: '2026-12-02T11:00:00.000Z',
  },
});

export const SUPPLY_EVENTS = [
  EpcisEventCapturedV1,
  EpcisEventWithdrawnV1,
  SuspectProductDetectedV1,
  LotRecalledV1,
  UnitQuarantinedV1,
  UnitReleasedV1,
  DecommissionRevertedV1,
  IllegitimateProductNotifiedV1,
] as const;
