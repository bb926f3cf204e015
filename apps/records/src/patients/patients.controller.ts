import {
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Post,
  Put,
  Res,
} from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ProblemException } from '@medledger/platform';
import type { PatientResource } from './domain/patient';
import { PatientsService, type PatientView } from './patients.service';

export const FHIR_CONTENT_TYPE = 'application/fhir+json';

/** Until full FHIR validation lands (issue 5): a JSON object that says it is a Patient. */
function patientResource(body: unknown): PatientResource {
  if (
    typeof body !== 'object' ||
    body === null ||
    Array.isArray(body) ||
    (body as { resourceType?: unknown }).resourceType !== 'Patient'
  )
    throw new ProblemException(400, 'RECORDS.INVALID_RESOURCE', 'Not a FHIR Patient', {
      detail: 'the body must be a JSON object with "resourceType": "Patient"',
    });
  return body as PatientResource;
}

/** `W/"3"` (or `"3"`, or `3`) → 3. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?(\d{1,9})"?$/.exec(header.trim());
  if (!match)
    throw new ProblemException(400, 'RECORDS.INVALID_IF_MATCH', 'Invalid If-Match', {
      detail: 'expected W/"<versionId>"',
    });
  return Number(match[1]);
}

function send(response: Response, view: PatientView): PatientView['resource'] {
  response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
  response.setHeader('ETag', `W/"${view.version}"`);
  response.setHeader('Last-Modified', new Date(view.resource.meta.lastUpdated).toUTCString());
  if (view.eventId) response.setHeader('X-Medledger-Event-Id', view.eventId);
  return view.resource;
}

@ApiTags('patients')
@Controller('fhir/Patient')
export class PatientsController {
  constructor(private readonly patients: PatientsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Registers a patient (FHIR create); the response names the public event (X-Medledger-Event-Id)',
  })
  async create(@Body() body: unknown, @Res({ passthrough: true }) response: Response) {
    const view = await this.patients.register(patientResource(body));
    response.setHeader('Location', `/fhir/Patient/${view.resource.id}/_history/${view.version}`);
    return send(response, view);
  }

  @Get(':id')
  @ApiOperation({ summary: 'Reads a patient (FHIR read)' })
  async read(@Param('id', ParseUUIDPipe) id: string, @Res({ passthrough: true }) response: Response) {
    return send(response, await this.patients.read(id));
  }

  @Get(':id/_history')
  @ApiOperation({ summary: 'Every version of a patient, newest first (FHIR history Bundle)' })
  async history(@Param('id', ParseUUIDPipe) id: string, @Res({ passthrough: true }) response: Response) {
    const versions = await this.patients.history(id);
    response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      entry: [...versions].reverse().map((v) => ({
        fullUrl: `Patient/${id}/_history/${v.version}`,
        resource: v.resource,
        request: { method: v.version === 1 ? 'POST' : 'PUT', url: v.version === 1 ? 'Patient' : `Patient/${id}` },
        response: {
          status: v.version === 1 ? '201' : '200',
          etag: `W/"${v.version}"`,
          lastModified: v.resource.meta.lastUpdated,
        },
      })),
    };
  }

  @Get(':id/_history/:vid')
  @ApiOperation({ summary: 'One version of a patient (FHIR vread)' })
  async vread(
    @Param('id', ParseUUIDPipe) id: string,
    @Param('vid', ParseIntPipe) vid: number,
    @Res({ passthrough: true }) response: Response,
  ) {
    return send(response, await this.patients.version(id, vid));
  }

  @Get(':id/_history/:vid/$verify')
  @ApiOperation({
    summary: 'Proves a version is the one anchored: its salted commitment recomputed, and its verified ledger receipt',
  })
  verify(@Param('id', ParseUUIDPipe) id: string, @Param('vid', ParseIntPipe) vid: number) {
    return this.patients.verify(id, vid);
  }

  @Put(':id')
  @ApiOperation({
    summary: 'Updates a patient (FHIR update); If-Match: W/"<versionId>" guards against lost updates (412)',
  })
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    return send(response, await this.patients.update(id, patientResource(body), ifMatchVersion(ifMatch)));
  }
}
