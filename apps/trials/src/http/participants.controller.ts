import { randomUUID } from 'node:crypto';
import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { TrialCode } from '@medledger/contracts';
import { Actor, ProblemException, Roles, type AuthenticatedActor } from '@medledger/platform';
import type { ParticipantCommand } from '../participants/domain/participant';
import { StatementService } from '../statements/statement.service';
import { TrialsService } from '../trials.service';
import { parseBody } from './body';

const Site = z.string().regex(/^Organization\/[A-Za-z0-9\-.]{1,64}$/);
const Details = z.record(z.string(), z.unknown());
const IsoDate = z.iso.date();

const Bodies = {
  Screen: z.strictObject({
    participantId: TrialCode,
    site: Site,
    eligible: z.boolean(),
    criteria: Details.default({}),
  }),
  Consent: z.strictObject({ formVersion: z.number().int().min(1) }),
  Enrol: z.strictObject({}),
  Randomise: z.strictObject({}),
  RecordVisit: z.strictObject({
    visitId: TrialCode,
    outcome: z.enum(['completed', 'missed']),
    date: IsoDate,
    details: Details.default({}),
  }),
  RecordResult: z.strictObject({
    outcomeId: TrialCode,
    value: z.union([z.number(), z.string().max(200), z.boolean()]),
    unit: z.string().max(50).optional(),
    assessedOn: IsoDate,
  }),
  RecordAdverseEvent: z.strictObject({
    term: z.string().min(1).max(300),
    onset: IsoDate,
    seriousness: z.enum(['serious', 'non-serious']),
    expectedness: z.enum(['expected', 'unexpected']),
    relatedness: z.enum(['related', 'possibly-related', 'unlikely-related', 'not-related']),
  }),
  ClaimExpense: z.strictObject({
    visitId: TrialCode,
    category: TrialCode,
    amount: z.number().int().min(1).max(10_000_000),
    receiptSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional(),
  }),
  Withdraw: z.strictObject({ reason: z.string().max(2000).optional() }),
  Complete: z.strictObject({}),
  IssuePayment: z.strictObject({ reference: z.string().min(1).max(200) }),
};

/** The FHIR R4 Consent (scope research) a participant gives to one consent-form version. */
function researchConsent(trialId: string, participantId: string, formVersion: number, at: string) {
  return {
    resourceType: 'Consent',
    id: randomUUID(),
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'research' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '57016-8' }] }],
    patient: { reference: `Patient/${participantId}` },
    dateTime: at,
    policy: [{ uri: `urn:medledger:trial:${trialId}:consent-form:${formVersion}` }],
    provision: {
      type: 'permit',
      purpose: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' }],
    },
  };
}

/** Participant routes: screening, consent, enrolment, randomisation, visits, results, adverse events, payments. */
@ApiTags('participants')
@Controller('v1/trials/:id/participants')
export class ParticipantsController {
  constructor(
    private readonly trials: TrialsService,
    private readonly statements: StatementService,
  ) {}

  @Post()
  @HttpCode(201)
  @Roles('investigator')
  @ApiOperation({
    summary: 'Screen a candidate at your site (eligible or not): refused until the activation is anchored',
  })
  screen(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const command = parseBody(Bodies.Screen, body);
    return this.trials.participantCommand(actor, id, command.participantId, { kind: 'Screen', ...command }, key);
  }

  @Get(':pid')
  @Roles('sponsor', 'investigator', 'participant', 'monitor')
  @ApiOperation({ summary: "A participant's status (FHIR ResearchSubject), consents, visits and payments" })
  async get(@Actor() actor: AuthenticatedActor, @Param('id', ParseUUIDPipe) id: string, @Param('pid') pid: string) {
    const { state, version } = await this.trials.loadParticipant(this.trials.client, id, parseBody(TrialCode, pid));
    if (state.status === 'absent')
      throw new ProblemException(404, 'TRIALS.PARTICIPANT_NOT_FOUND', 'No such participant', { detail: pid });
    this.statements.assertMayRead(actor, state);
    const { allocation, ...rest } = state;
    return { ...rest, researchSubjectStatus: state.status, randomised: allocation !== undefined, version };
  }

  @Post(':pid/:action')
  @HttpCode(201)
  @Roles('investigator', 'participant', 'sponsor')
  @ApiOperation({
    summary:
      'consents | enrol | randomise | visits | results | adverse-events | expenses | withdraw | complete (who may: app README)',
  })
  act(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('pid') pid: string,
    @Param('action') action: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const participantId = parseBody(TrialCode, pid);
    const command = this.command(id, participantId, action, body);
    return this.trials.participantCommand(actor, id, participantId, command, key);
  }

  @Post(':pid/payments/:dueId/issue')
  @HttpCode(201)
  @Roles('sponsor')
  @ApiOperation({ summary: 'The sponsor records that a due payment was made (exactly the due amount)' })
  issue(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('pid') pid: string,
    @Param('dueId') dueId: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const { reference } = parseBody(Bodies.IssuePayment, body);
    return this.trials.participantCommand(
      actor,
      id,
      parseBody(TrialCode, pid),
      { kind: 'IssuePayment', dueId, details: { reference } },
      key,
    );
  }

  @Get(':pid/statement')
  @Roles('participant', 'sponsor', 'monitor')
  @ApiOperation({
    summary:
      "The participant's statement: their events in clear with salts, the schedule, the amounts and every receipt; re-run it with medledger-verify statement",
  })
  async statement(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Param('pid') pid: string,
  ) {
    return this.statements.statement(actor, id, parseBody(TrialCode, pid));
  }

  private command(trialId: string, participantId: string, action: string, body: unknown): ParticipantCommand {
    switch (action) {
      case 'consents': {
        const { formVersion } = parseBody(Bodies.Consent, body);
        return {
          kind: 'Consent',
          formVersion,
          consent: researchConsent(trialId, participantId, formVersion, new Date().toISOString()),
        };
      }
      case 'enrol':
        parseBody(Bodies.Enrol, body);
        return { kind: 'Enrol' };
      case 'randomise':
        parseBody(Bodies.Randomise, body);
        return { kind: 'Randomise', sequence: 0, armId: '', leafHash: '' };
      case 'visits': {
        const { visitId, outcome, ...details } = parseBody(Bodies.RecordVisit, body);
        return { kind: 'RecordVisit', visitId, outcome, details };
      }
      case 'results': {
        const result = parseBody(Bodies.RecordResult, body);
        return { kind: 'RecordResult', resultId: randomUUID(), outcomeId: result.outcomeId, result };
      }
      case 'adverse-events':
        return {
          kind: 'RecordAdverseEvent',
          adverseEventId: randomUUID(),
          adverseEvent: parseBody(Bodies.RecordAdverseEvent, body),
        };
      case 'expenses': {
        const { visitId, category, amount, ...details } = parseBody(Bodies.ClaimExpense, body);
        return { kind: 'ClaimExpense', visitId, category, amount, details };
      }
      case 'withdraw':
        return { kind: 'Withdraw', details: parseBody(Bodies.Withdraw, body) };
      case 'complete':
        parseBody(Bodies.Complete, body);
        return { kind: 'Complete', details: {} };
      default:
        throw new ProblemException(404, 'HTTP.NOT_FOUND', 'No such action', {
          detail: 'consents, enrol, randomise, visits, results, adverse-events, expenses, withdraw, complete',
        });
    }
  }
}
