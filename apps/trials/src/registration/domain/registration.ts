import { createHash } from 'node:crypto';
import { z } from 'zod';
import { canonicalBytes } from '@medledger/ledger-core';
import { OUTCOME_KINDS, RegisteredOutcome, TrialCode } from '@medledger/contracts';

/**
 * A trial's registration: the ClinicalTrials.gov protocol registration data elements the issue names (unique
 * protocol id, titles, acronym, conditions, phase, design, arms and interventions, eligibility, enrolment target,
 * sponsor, sites) and the pre-specified outcomes. SPEC: ClinicalTrials.gov Protocol Registration Data Element
 * Definitions (Study Identification, Study Design, Arms and Interventions, Outcome Measures, Eligibility).
 */

const Text = (max: number) => z.string().trim().min(1).max(max);
const Sha256Hex = z
  .string()
  .regex(/^[0-9a-f]{64}$/, 'SHA-256 as 64 lowercase hex digits')
  .describe('SHA-256 of the document, hex');

export const PHASES = [
  'early-phase-1',
  'phase-1',
  'phase-1-2',
  'phase-2',
  'phase-2-3',
  'phase-3',
  'phase-4',
  'n-a',
] as const;
export const ALLOCATIONS = ['randomized', 'non-randomized', 'n-a'] as const;
export const MASKINGS = ['none', 'single', 'double', 'triple', 'quadruple'] as const;
export const ARM_TYPES = [
  'experimental',
  'active-comparator',
  'placebo-comparator',
  'sham-comparator',
  'no-intervention',
  'other',
] as const;
export const INTERVENTION_TYPES = [
  'drug',
  'device',
  'biological',
  'procedure',
  'behavioral',
  'dietary-supplement',
  'other',
] as const;

export const Outcome = RegisteredOutcome.extend({ kind: z.enum(OUTCOME_KINDS) });
export type Outcome = z.infer<typeof Outcome>;

export const OutcomeList = z
  .array(Outcome)
  .min(1)
  .max(200)
  .superRefine((outcomes, context) => {
    const ids = new Set<string>();
    for (const [i, outcome] of outcomes.entries()) {
      if (ids.has(outcome.outcomeId))
        context.addIssue({ code: 'custom', path: [i, 'outcomeId'], message: `outcome ${outcome.outcomeId} twice` });
      ids.add(outcome.outcomeId);
    }
    if (!outcomes.some((outcome) => outcome.kind === 'primary'))
      context.addIssue({ code: 'custom', path: [], message: 'at least one primary outcome is required' });
  });

export const Registration = z.strictObject({
  protocolId: Text(64).describe("the sponsor's unique protocol id"),
  briefTitle: Text(300),
  officialTitle: Text(600),
  acronym: Text(30).optional(),
  conditions: z.array(Text(200)).min(1).max(50),
  phase: z.enum(PHASES),
  design: z.strictObject({
    allocation: z.enum(ALLOCATIONS),
    masking: z.enum(MASKINGS),
    model: Text(100).optional(),
    primaryPurpose: Text(100).optional(),
  }),
  arms: z
    .array(
      z.strictObject({
        armId: TrialCode,
        label: Text(100),
        type: z.enum(ARM_TYPES),
        interventions: z
          .array(z.strictObject({ type: z.enum(INTERVENTION_TYPES), label: Text(200) }))
          .max(20)
          .default([]),
      }),
    )
    .min(1)
    .max(20),
  eligibility: z.strictObject({
    criteria: Text(10_000),
    sex: z.enum(['all', 'female', 'male']).default('all'),
    minimumAge: Text(30).optional(),
    maximumAge: Text(30).optional(),
    healthyVolunteers: z.boolean().default(false),
  }),
  targetEnrolment: z.number().int().min(1).max(1_000_000),
  sponsor: Text(200),
  sites: z
    .array(z.strictObject({ site: z.string().regex(/^Organization\/[A-Za-z0-9\-.]{1,64}$/), label: Text(200) }))
    .min(1)
    .max(500),
  outcomes: OutcomeList,
  protocolDocumentSha256: Sha256Hex,
  analysisPlanSha256: Sha256Hex,
});
export type Registration = z.output<typeof Registration>;

/** base64 SHA-256 of the RFC 8785 JSON of a value (through JSON first, so `undefined` members vanish). */
export function jsonHash(value: unknown): string {
  const json = JSON.parse(JSON.stringify(value)) as unknown;
  return createHash('sha256').update(canonicalBytes(json)).digest('base64');
}

/** Hex document hashes as the base64 the public events carry. */
export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

/** What changed in the outcome list from one protocol version to the next. */
export interface OutcomeDiff {
  added: string[];
  removed: string[];
  changed: string[];
  primaryChanged: boolean;
}

const sameOutcome = (a: Outcome, b: Outcome) =>
  a.kind === b.kind && a.title === b.title && a.measure === b.measure && a.timeFrame === b.timeFrame;

export function diffOutcomes(before: readonly Outcome[], after: readonly Outcome[]): OutcomeDiff {
  const old = new Map(before.map((outcome) => [outcome.outcomeId, outcome]));
  const next = new Map(after.map((outcome) => [outcome.outcomeId, outcome]));
  const primaries = (list: readonly Outcome[]) =>
    list
      .filter((outcome) => outcome.kind === 'primary')
      .map((outcome) => `${outcome.outcomeId}|${outcome.title}|${outcome.measure}|${outcome.timeFrame}`)
      .sort()
      .join('\n');
  return {
    added: after.filter((outcome) => !old.has(outcome.outcomeId)).map((outcome) => outcome.outcomeId),
    removed: before.filter((outcome) => !next.has(outcome.outcomeId)).map((outcome) => outcome.outcomeId),
    changed: after
      .filter((outcome) => {
        const previous = old.get(outcome.outcomeId);
        return previous !== undefined && !sameOutcome(previous, outcome);
      })
      .map((outcome) => outcome.outcomeId),
    primaryChanged: primaries(before) !== primaries(after),
  };
}
