import { Body, Controller, Headers, HttpCode, Post, Res, UseFilters } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Actor, type AuthenticatedActor } from '@medledger/platform';
import { FHIR_CONTENT_TYPE, OperationOutcomeFilter } from '../http/operation-outcome';
import { PURPOSE_HEADER, purposeOf } from '../resources/resources.controller';
import { BundlesService } from './bundles.service';

/** FHIR R4 batch/transaction at the base: `POST /fhir` with a Bundle (a patient's record imported in one request). */
@ApiTags('resources')
@Controller('fhir')
@UseFilters(OperationOutcomeFilter)
export class BundlesController {
  constructor(private readonly bundles: BundlesService) {}

  @Post()
  @HttpCode(200)
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({
    summary:
      'FHIR transaction or batch: a Bundle of POST (create) and PUT (update) entries, each allowed, validated, encrypted and audited as it would be alone. A transaction stores all or nothing (urn:uuid fullUrls resolved to the new ids; a failure is one OperationOutcome naming Bundle.entry[i]); a batch answers each entry. At most 5,000 entries and 16 MB.',
  })
  async bundle(
    @Actor() actor: AuthenticatedActor,
    @Body() body: unknown,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const declared = purposeOf(purpose);
    const answer = await this.bundles.process(actor, body, declared);
    response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
    return answer;
  }
}
