import { randomBytes } from 'node:crypto';
import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Put,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { z } from 'zod';
import { TrialCode } from '@medledger/contracts';
import { Actor, ProblemException, Roles, type AuthenticatedActor } from '@medledger/platform';
import { OutcomeList } from '../registration/domain/registration';
import {
  commitAllocationList,
  proveAllocation,
  validateScheme,
  verifyRevealedList,
} from '../randomisation/domain/randomisation';
import { outcomeReport, renderOutcomeReportHtml } from '../reports/domain/outcome-report';
import { StatementService } from '../statements/statement.service';
import { allocationSecrets, TrialsService } from '../trials.service';
import { parseBody } from './body';

const ALL = ['sponsor', 'investigator', 'participant', 'monitor', 'org-admin'] as const;
const Hex = z.string().regex(/^[0-9a-f]{64}$/, 'SHA-256 as 64 lowercase hex digits');

/** `W/"3"`, `"3"` or `3` → 3 (TRIALS.INVALID_IF_MATCH otherwise). */
export function ifMatch(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match)
    throw new ProblemException(400, 'TRIALS.INVALID_IF_MATCH', 'Invalid If-Match', {
      detail: 'expected W/"<version>"',
    });
  return Number(match[1]);
}

const Amendment = z.strictObject({
  protocolDocumentSha256: Hex,
  analysisPlanSha256: Hex,
  outcomes: OutcomeList,
  reconsentRequired: z.boolean(),
});
const AuditTrailPage = z
  .strictObject({
    _offset: z.coerce.number().int().min(0).max(1_000_000_000).default(0),
    _count: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .transform(({ _offset, _count }) => ({ offset: _offset, count: _count }));
const ConsentFormBody = z.strictObject({
  documentSha256: Hex,
  protocolVersion: z.number().int().min(1).optional(),
  schedule: z.unknown(),
});

/** Trial-level routes: registration, activation, amendments, consent forms, randomisation, reports. */
@ApiTags('trials')
@Controller('v1/trials')
export class TrialsController {
  constructor(
    private readonly trials: TrialsService,
    private readonly statements: StatementService,
  ) {}

  @Post()
  @Roles('sponsor')
  @ApiOperation({ summary: 'Register a trial (ClinicalTrials.gov data elements, outcomes, document hashes): a draft' })
  async register(
    @Actor() actor: AuthenticatedActor,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const result = await this.trials.register(actor, body, key);
    response
      .status(201)
      .setHeader('ETag', `W/"${result.version}"`)
      .setHeader('Location', `/v1/trials/${result.trialId}`);
    return result;
  }

  @Get(':id')
  @Roles(...ALL)
  @ApiOperation({ summary: 'A trial: registration, status, protocol versions, consent forms, allocation commitment' })
  async get(@Param('id', ParseUUIDPipe) id: string, @Res({ passthrough: true }) response: Response) {
    const { trial, version } = await this.trials.requireTrial(this.trials.client, id);
    response.setHeader('ETag', `W/"${version}"`);
    const { allocation, ...rest } = trial;
    return {
      ...rest,
      researchStudyStatus: trial.status === 'draft' ? 'in-review' : 'active',
      version,
      ...(allocation && {
        allocation: {
          root: allocation.root,
          listLength: allocation.listLength,
          taken: allocation.taken,
          eventId: allocation.eventId,
          ...(allocation.revealed && {
            revealed: allocation.revealed,
            seed: allocation.seed,
            scheme: allocation.scheme,
          }),
        },
      }),
    };
  }

  @Post(':id/activate')
  @HttpCode(200)
  @Roles('sponsor')
  @ApiOperation({ summary: 'Activate: anchors the registration, both document hashes and the outcome list (If-Match)' })
  activate(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Headers('if-match') match: string | undefined,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const version = ifMatch(match);
    return this.trials.trialCommand(
      actor,
      id,
      { kind: 'Activate', ...(version !== undefined && { ifMatch: version }) },
      key,
    );
  }

  @Post(':id/amendments')
  @HttpCode(201)
  @Roles('sponsor')
  @ApiOperation({ summary: 'Amend the protocol: new hashes and outcome list, anchored with its diff (If-Match)' })
  amend(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: unknown,
    @Headers('if-match') match: string | undefined,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const amendment = parseBody(Amendment, body);
    const version = ifMatch(match);
    return this.trials.trialCommand(
      actor,
      id,
      { kind: 'Amend', ...amendment, ...(version !== undefined && { ifMatch: version }) },
      key,
    );
  }

  @Post(':id/consent-forms')
  @HttpCode(201)
  @Roles('sponsor')
  @ApiOperation({ summary: 'Publish a consent form version with its payment schedule (immutable once published)' })
  publishForm(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const form = parseBody(ConsentFormBody, body);
    const schedule = TrialsService.schedule(form.schedule);
    return this.trials.trialCommand(
      actor,
      id,
      {
        kind: 'PublishConsentForm',
        documentSha256: form.documentSha256,
        schedule: schedule.schedule,
        scheduleHash: schedule.hash,
        ...(form.protocolVersion !== undefined && { protocolVersion: form.protocolVersion }),
      },
      key,
    );
  }

  @Put(':id/consent-forms/:formVersion/schedule')
  @Roles('sponsor')
  @ApiOperation({ summary: 'Refused: a published schedule never changes (publish a new consent form version)' })
  async changeSchedule(@Param('id', ParseUUIDPipe) id: string, @Param('formVersion') formVersion: string) {
    const { trial } = await this.trials.requireTrial(this.trials.client, id);
    if (!trial.forms.some((form) => String(form.formVersion) === formVersion))
      throw new ProblemException(404, 'TRIALS.UNKNOWN_CONSENT_FORM', 'No such consent form', {
        detail: `no consent form version ${formVersion}`,
      });
    throw new ProblemException(409, 'TRIALS.SCHEDULE_LOCKED', 'The schedule is locked', {
      detail:
        'a published payment schedule is anchored and binds every participant who consented to it; publish a new consent form version for new participants',
    });
  }

  @Post(':id/randomisation')
  @HttpCode(201)
  @Roles('sponsor')
  @ApiOperation({
    summary: 'Commit the allocation list (permuted blocks from a secret seed): anchored before the first allocation',
  })
  commit(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: unknown,
    @Headers('idempotency-key') key: string | undefined,
  ) {
    const scheme = validateScheme((body as { scheme?: unknown } | undefined)?.scheme);
    if (!scheme.ok)
      throw new ProblemException(400, scheme.error.code, 'Invalid randomisation scheme', {
        detail: scheme.error.message,
      });
    const seed = randomBytes(32);
    const commitment = commitAllocationList(seed, scheme.scheme);
    return this.trials.trialCommand(
      actor,
      id,
      {
        kind: 'CommitAllocation',
        seed: seed.toString('base64'),
        scheme: scheme.scheme as unknown as Record<string, unknown>,
        root: commitment.root,
        listLength: commitment.listLength,
        schemeHash: commitment.schemeHash,
        seedHash: commitment.seedHash,
      },
      key,
    );
  }

  @Post(':id/unblind')
  @HttpCode(200)
  @Roles('sponsor')
  @ApiOperation({
    summary:
      'Unblind: reveal the seed; the list is regenerated and checked against the commitment and every allocation made',
  })
  async unblind(@Actor() actor: AuthenticatedActor, @Param('id', ParseUUIDPipe) id: string) {
    const { trial } = await this.trials.requireTrial(this.trials.client, id);
    if (!trial.allocation)
      throw new ProblemException(409, 'TRIALS.NO_ALLOCATION', 'No allocation list', { detail: 'nothing to unblind' });
    const { seed, scheme } = allocationSecrets(trial);
    const participants = await this.trials.participants(this.trials.client, id);
    const made = participants.flatMap((p) => (p.state.allocation ? [p.state.allocation] : []));
    const commitment = commitAllocationList(seed, scheme);
    const check = verifyRevealedList(seed, scheme, { ...commitment, root: trial.allocation.root }, made);
    if (!check.ok)
      throw new ProblemException(409, check.code, 'The allocations do not match the commitment', {
        detail: check.message,
      });
    return this.trials.trialCommand(actor, id, { kind: 'Reveal', allocationsChecked: made.length });
  }

  @Get(':id/outcome-report')
  @Roles(...ALL)
  @ApiOperation({
    summary: 'Outcome-switching report (JSON, or HTML for Accept: text/html), each line with its ledger receipt',
  })
  async outcomeReport(@Param('id', ParseUUIDPipe) id: string, @Req() request: Request, @Res() response: Response) {
    const { trial } = await this.trials.requireTrial(this.trials.client, id);
    const eventIds = [...trial.versions.map((v) => v.eventId), ...trial.reported.map((r) => r.eventId)];
    const sealed = await this.statements.receiptsOf(eventIds);
    const report = outcomeReport(trial, sealed);
    if ((request.headers.accept ?? '').includes('text/html'))
      response.type('text/html; charset=utf-8').send(renderOutcomeReportHtml(report));
    else response.json(report);
  }

  @Get(':id/audit-trail')
  @Roles('sponsor', 'monitor', 'org-admin')
  @ApiOperation({
    summary:
      'The audit trail (21 CFR 11.10(e)): every entry of the trial and its participants in recorded order, with ' +
      'time, type, operator and ledger receipt; paged by _offset and _count (1-1000, default 100)',
  })
  async auditTrail(
    @Actor() actor: AuthenticatedActor,
    @Param('id', ParseUUIDPipe) id: string,
    @Query() query: Record<string, unknown>,
  ) {
    const page = parseBody(AuditTrailPage, query);
    const { trial } = await this.trials.requireTrial(this.trials.client, id);
    if (actor.role === 'sponsor') this.trials.assertSponsorOf(actor, trial);
    const trail = await this.trials.auditTrail(id, page);
    const next = page.offset + trail.entries.length;
    return {
      ...trail,
      ...(next < trail.total && { next: `/v1/trials/${id}/audit-trail?_offset=${next}&_count=${page.count}` }),
    };
  }

  @Get(':id/fairness-report')
  @Roles('sponsor', 'monitor', 'org-admin')
  @ApiOperation({
    summary:
      'Participants on the same schedule with the same visits are owed the same: every difference with its cause',
  })
  fairness(@Param('id', ParseUUIDPipe) id: string) {
    return this.trials.fairness(id);
  }

  @Get(':id/participants/:pid/allocation')
  @Roles('sponsor', 'monitor')
  @ApiOperation({
    summary: "A participant's allocation with its proof against the anchored commitment (unblinded roles)",
  })
  async allocation(@Param('id', ParseUUIDPipe) id: string, @Param('pid') pid: string) {
    const { trial } = await this.trials.requireTrial(this.trials.client, id);
    const { state } = await this.trials.loadParticipant(this.trials.client, id, parseBody(TrialCode, pid));
    if (state.status === 'absent' || !state.allocation || !trial.allocation)
      throw new ProblemException(404, 'TRIALS.NOT_RANDOMISED', 'Not randomised', {
        detail: `participant ${pid} has no allocation`,
      });
    const { seed, scheme } = allocationSecrets(trial);
    return {
      commitment: {
        root: trial.allocation.root,
        listLength: trial.allocation.listLength,
        eventId: trial.allocation.eventId,
      },
      proof: proveAllocation(seed, scheme, state.allocation.sequence),
    };
  }
}
