import { z } from 'zod';
import { dataschemaOf } from './catalogue/define';
import { UnsignedEnvelope } from './envelope';
import { ServiceName } from './services';

/**
 * Diagnostics: a ping any service can send and every other service answers over Kafka. It proves, end to end,
 * that each service is connected to the broker and to its own database (both sides persist what they saw).
 * Carries no PHI: ids, service names and timestamps only.
 */
export const DIAGNOSTICS_TOPIC = 'medledger.diagnostics';

/** Pings older than this are not answered: a service joining late must not answer yesterday's pings. */
export const PING_ANSWER_WINDOW_MS = 60_000;

export const PingSent = z.object({
  type: z.literal('diagnostics.PingSent'),
  pingId: z.uuid(),
  origin: ServiceName,
  sentAt: z.iso.datetime(),
});
export type PingSent = z.infer<typeof PingSent>;

export const PingAnswered = z.object({
  type: z.literal('diagnostics.PingAnswered'),
  pingId: z.uuid(),
  origin: ServiceName,
  answeredBy: ServiceName,
  receivedAt: z.iso.datetime(),
  answeredAt: z.iso.datetime(),
});
export type PingAnswered = z.infer<typeof PingAnswered>;

export const DiagnosticsEvent = z.discriminatedUnion('type', [PingSent, PingAnswered]);
export type DiagnosticsEvent = z.infer<typeof DiagnosticsEvent>;

/** Kept forever: the first published shape of each event (see contracts README). */
export const DIAGNOSTICS_EXAMPLES = {
  PingSent: {
    type: 'diagnostics.PingSent',
    pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
    origin: 'records',
    sentAt: '2026-11-23T10:00:00.000Z',
  },
  PingAnswered: {
    type: 'diagnostics.PingAnswered',
    pingId: '0b7e3c55-3f4e-4d8e-9a59-6f0f1d2c3b4a',
    origin: 'records',
    answeredBy: 'ledger',
    receivedAt: '2026-11-23T10:00:00.012Z',
    answeredAt: '2026-11-23T10:00:00.015Z',
  },
} as const satisfies Record<string, DiagnosticsEvent>;

const PingSentEnvelope = UnsignedEnvelope.extend({
  type: z.literal('diagnostics.PingSent'),
  dataschema: z.literal(dataschemaOf('diagnostics.PingSent', 2)),
  data: PingSent.omit({ type: true }),
});
const PingAnsweredEnvelope = UnsignedEnvelope.extend({
  type: z.literal('diagnostics.PingAnswered'),
  dataschema: z.literal(dataschemaOf('diagnostics.PingAnswered', 2)),
  data: PingAnswered.omit({ type: true }),
});

/**
 * Any diagnostics message on the topic, v2 (CloudEvents envelope) or v1 (the bare message), read as the v1 shape
 * with its `type`, which the handlers switch on.
 */
export const DiagnosticsMessage = z.union([
  PingSentEnvelope.transform((e): PingSent => ({ type: 'diagnostics.PingSent', ...e.data })),
  PingAnsweredEnvelope.transform((e): PingAnswered => ({ type: 'diagnostics.PingAnswered', ...e.data })),
  DiagnosticsEvent,
]);
