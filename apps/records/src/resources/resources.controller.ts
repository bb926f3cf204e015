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
  Query,
  Res,
  UseFilters,
  type PipeTransform,
} from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Actor, ProblemException, type AuthenticatedActor } from '@medledger/platform';
import { AccessService } from '../access/access.service';
import { AuditService, PAGE_SIZE, type Page } from '../audit/audit.service';
import { ErasureService } from './erasure.service';
import { FHIR_CONTENT_TYPE, OperationOutcomeFilter } from '../http/operation-outcome';
import { isResourceType, RESOURCE_TYPES } from './domain/resource-types';
import { resourceNotFound } from './resource.repository';
import { ResourcesService, searchString, type ResourceView } from './resources.service';

/** The route's resource type, one records serves. */
class ResourceTypePipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!isResourceType(value))
      throw new ProblemException(404, 'RECORDS.UNSUPPORTED_TYPE', 'Resource type not served', {
        detail: `records serves ${RESOURCE_TYPES.join(', ')}`,
      });
    return value;
  }
}

/**
 * A UUID path parameter in its one spelling, lower case (RFC 9562 §4): an upper-case id must reach the same
 * patient key, stream and audit trail as the lower-case one. 400 for anything else, as ParseUUIDPipe answers.
 */
class UuidPipe implements PipeTransform<string, Promise<string>> {
  private readonly parse = new ParseUUIDPipe();

  async transform(value: string): Promise<string> {
    return (await this.parse.transform(value, { type: 'param' })).toLowerCase();
  }
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

/** The v3 PurposeOfUse code a caller declares (TREAT, ETREAT, HPAYMT…); consents may permit only some. */
export function purposeOf(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (!/^[A-Z]{2,20}$/.test(header.trim()))
    throw new ProblemException(400, 'RECORDS.INVALID_PURPOSE', 'Invalid X-Purpose-Of-Use', {
      detail: 'a v3 PurposeOfUse code such as TREAT',
    });
  return header.trim();
}

export const PURPOSE_HEADER = {
  name: 'X-Purpose-Of-Use',
  required: false,
  description: 'v3 PurposeOfUse code (TREAT…)',
};

function flag(response: Response, basis: string | undefined): void {
  if (basis) response.setHeader('X-Medledger-Access-Basis', basis);
}

function send(response: Response, view: ResourceView): ResourceView['resource'] {
  response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
  response.setHeader('ETag', `W/"${view.version}"`);
  response.setHeader('Last-Modified', new Date(view.resource.meta.lastUpdated).toUTCString());
  if (view.eventId) response.setHeader('X-Medledger-Event-Id', view.eventId);
  flag(response, view.basis);
  return view.resource;
}

/** Operations on a patient's whole record; declared before the generic routes so `AuditEvent` is not a type. */
@ApiTags('patients')
@Controller('fhir')
@UseFilters(OperationOutcomeFilter)
export class PatientRecordController {
  constructor(
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly erasure: ErasureService,
    private readonly resources: ResourcesService,
  ) {}

  @Post('Patient/:id/$erase')
  @HttpCode(200)
  @ApiOperation({
    summary:
      'Erases a patient\'s data (GDPR Art. 17): the patient at once (409 RECORDS.RETENTION_REQUIRED while clinicians\' entries are in the record), or two admins of the patient\'s managing organization, each with {"reason": "…"} (the first answers 202 awaiting-second-approval); the key is destroyed, every version becomes unreadable (410), the erasure is anchored (records.PatientErased)',
  })
  async erase(
    @Actor() actor: AuthenticatedActor,
    @Param('id', UuidPipe) id: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ) {
    const result = await this.erasure.erase(actor, id, body);
    if (result.status === 'awaiting-second-approval') response.status(202);
    return result;
  }

  @Post('Patient/:id/$break-glass')
  @HttpCode(201)
  @ApiOperation({
    summary:
      'A practitioner claims emergency access (body {"reason": "…"}): granted for 15 minutes over any consent, audited, and the patient notified by records.EmergencyAccessGranted',
  })
  breakGlass(@Actor() actor: AuthenticatedActor, @Param('id', UuidPipe) id: string, @Body() body: unknown) {
    return this.access.breakGlass(actor, id, body);
  }

  @Get('Patient/:id/$disclosures')
  @ApiOperation({
    summary:
      'The accounting of disclosures (HIPAA §164.528): who accessed the record (the recipient: actor, organization, address), when, for what purpose, each with where the ledger sealed it (the patient or an auditor); paged: _count (≤ 1000, default 100), _offset',
  })
  async disclosures(
    @Actor() actor: AuthenticatedActor,
    @Param('id', UuidPipe) id: string,
    @Query('_count') count: string | undefined,
    @Query('_offset') offset: string | undefined,
  ) {
    const page = pageOf(count, offset);
    const { total, disclosures } = await this.accounting(actor, id, () => this.audit.disclosures(id, page));
    const next = page.offset + disclosures.length < total ? page.offset + page.count : undefined;
    return {
      patient: `Patient/${id}`,
      total,
      offset: page.offset,
      disclosures,
      ...(next !== undefined && { next: `/fhir/Patient/${id}/$disclosures?_count=${page.count}&_offset=${next}` }),
    };
  }

  @Get('Patient/:id/$everything')
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({
    summary:
      "FHIR Patient $everything: the Patient and every resource of their record the caller may see (each type searched, each result under the patient's consents, each access audited)",
  })
  async everything(
    @Actor() actor: AuthenticatedActor,
    @Param('id', UuidPipe) id: string,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const declared = purposeOf(purpose);
    const entries: Array<{ fullUrl: string; resource: unknown; search: { mode: 'match' } }> = [];
    // What the caller may not see is left out, as a search leaves it out: no type says it was withheld.
    const seen = async <T>(work: () => Promise<T>): Promise<T | undefined> => {
      try {
        return await work();
      } catch (error) {
        if (error instanceof ProblemException && (error.getStatus() === 404 || error.getStatus() === 403))
          return undefined;
        throw error;
      }
    };
    const patient = await seen(() => this.resources.read(actor, 'Patient', id, declared));
    if (patient) entries.push({ fullUrl: `Patient/${id}`, resource: patient.resource, search: { mode: 'match' } });
    for (const type of RESOURCE_TYPES) {
      if (type === 'Patient') continue;
      const found = await seen(() => this.resources.search(actor, type, { patient: id }, declared));
      for (const view of found?.resources ?? [])
        entries.push({ fullUrl: `${type}/${view.resource.id}`, resource: view.resource, search: { mode: 'match' } });
    }
    // Nothing at all: the answer of an unknown patient (a refusal says no more than that).
    if (entries.length === 0) throw resourceNotFound('Patient', id);
    response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
    return { resourceType: 'Bundle', type: 'searchset', total: entries.length, entry: entries };
  }

  @Get('AuditEvent')
  @ApiOperation({
    summary:
      "A patient's AuditEvents, oldest first (FHIR searchset with next links; the patient or an auditor); paged: _count (≤ 1000, default 100), _offset",
  })
  async auditEvents(
    @Actor() actor: AuthenticatedActor,
    @Query('patient') patient: string | undefined,
    @Query('_count') count: string | undefined,
    @Query('_offset') offset: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const id = /^(?:Patient\/)?([0-9a-f-]{36})$/i.exec(patient ?? '')?.[1]?.toLowerCase();
    if (!id)
      throw new ProblemException(400, 'RECORDS.INVALID_SEARCH', 'patient is required', {
        detail: 'GET /fhir/AuditEvent?patient=Patient/<id>',
      });
    const page = pageOf(count, offset);
    const { total, events } = await this.accounting(actor, id, () => this.audit.auditEvents(id, page));
    response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
    const link = (offset: number) => `/fhir/AuditEvent?patient=Patient/${id}&_count=${page.count}&_offset=${offset}`;
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total,
      link: [
        { relation: 'self', url: link(page.offset) },
        ...(page.offset + events.length < total ? [{ relation: 'next', url: link(page.offset + page.count) }] : []),
      ],
      entry: events.map((resource) => ({ fullUrl: `AuditEvent/${resource.id}`, resource, search: { mode: 'match' } })),
    };
  }

  /** Reads of the audit trail (the patient's or an auditor's): authorized, read, and audited themselves. */
  private async accounting<T>(actor: AuthenticatedActor, patientId: string, read: () => Promise<T>): Promise<T> {
    const query = { patientId, interaction: 'disclosures', resourceType: 'AuditEvent' } as const;
    const permit = await this.access.authorize(actor, query);
    const result = await read();
    await this.audit.recordAlone(actor, { ...this.access.auditFields(query), outcome: '0', basis: permit.basis });
    return result;
  }
}

/** A query parameter given once (a repeated one is refused by the page's parser as not an integer). */
function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : value === undefined ? undefined : 'repeated';
}

/** `_count` and `_offset` of a paged list: 400 RECORDS.INVALID_SEARCH for anything but small non-negative integers. */
function pageOf(count: string | undefined, offset: string | undefined): Page {
  const number = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined || raw === '') return fallback;
    const value = /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
    if (!(value >= min && value <= max))
      throw new ProblemException(400, 'RECORDS.INVALID_SEARCH', `Invalid ${name}`, {
        detail: `${name} is an integer from ${min} to ${max}`,
      });
    return value;
  };
  return {
    count: number('_count', count, PAGE_SIZE.default, 1, PAGE_SIZE.max),
    offset: number('_offset', offset, 0, 0, 100_000_000),
  };
}

/** FHIR R4 REST for the record's resource types: create, read, update, vread, history, search, $verify. */
@ApiTags('resources')
@Controller('fhir/:type')
@UseFilters(OperationOutcomeFilter)
export class ResourcesController {
  constructor(private readonly resources: ResourcesService) {}

  @Post()
  @HttpCode(201)
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({
    summary:
      'FHIR create; 400 with an OperationOutcome naming each invalid element; the response names the public event (X-Medledger-Event-Id)',
  })
  async create(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Body() body: unknown,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const view = await this.resources.create(actor, type, body, purposeOf(purpose));
    response.setHeader('Location', `/fhir/${type}/${view.resource.id}/_history/${view.version}`);
    return send(response, view);
  }

  @Get()
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({
    summary:
      "FHIR search in one patient's record: patient=Patient/<id> (required); tokens code/type/status/clinical-status and _id as [system|]code, comma-separated for OR; dates (date, onset-date, …, _lastUpdated) with eq/ne/gt/lt/ge/le; _count (≤ 1000, default 100) and _offset page, with next links",
  })
  async search(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Query() query: Record<string, unknown>,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const page = pageOf(single(query['_count']), single(query['_offset']));
    const { resources, basis } = await this.resources.search(actor, type, query, purposeOf(purpose));
    response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
    flag(response, basis);
    // SPEC: FHIR R4 §3.1.1.6 paging: `total` counts every match, `link` next leads on with the same parameters.
    const shown = resources.slice(page.offset, page.offset + page.count);
    const criteria = Object.fromEntries(
      Object.entries(query).filter(([name]) => name !== '_offset' && name !== '_count'),
    );
    const link = (offset: number) => {
      const params = new URLSearchParams(searchString(criteria));
      params.set('_count', String(page.count));
      params.set('_offset', String(offset));
      return `/fhir/${type}?${params.toString()}`;
    };
    return {
      resourceType: 'Bundle',
      type: 'searchset',
      total: resources.length,
      link: [
        { relation: 'self', url: link(page.offset) },
        ...(page.offset + shown.length < resources.length
          ? [{ relation: 'next', url: link(page.offset + page.count) }]
          : []),
      ],
      entry: shown.map((v) => ({
        fullUrl: `${type}/${v.resource.id}`,
        resource: v.resource,
        search: { mode: 'match' },
      })),
    };
  }

  @Post('_search')
  @HttpCode(200)
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({
    summary:
      'FHIR search by POST (application/x-www-form-urlencoded, parameters in the body and/or the URL): the same as GET, without clinical values in any URL or request log',
  })
  async searchByPost(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Query() query: Record<string, unknown>,
    @Body() body: unknown,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    // SPEC: FHIR R4 §3.1.0.9.1: parameters may be in the body and the URL; both count.
    const form = typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {};
    const params: Record<string, unknown> = { ...query };
    for (const [name, value] of Object.entries(form)) {
      const earlier = params[name];
      params[name] = earlier === undefined ? value : ([] as unknown[]).concat(earlier, value);
    }
    return this.search(actor, type, params, purpose, response);
  }

  @Get(':id')
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({ summary: 'FHIR read (consent enforced, audited)' })
  async read(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Param('id', UuidPipe) id: string,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    return send(response, await this.resources.read(actor, type, id, purposeOf(purpose)));
  }

  @Get(':id/_history')
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({ summary: 'Every version, newest first (FHIR history Bundle)' })
  async history(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Param('id', UuidPipe) id: string,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    const { versions, basis } = await this.resources.history(actor, type, id, purposeOf(purpose));
    response.setHeader('Content-Type', FHIR_CONTENT_TYPE);
    flag(response, basis);
    return {
      resourceType: 'Bundle',
      type: 'history',
      total: versions.length,
      entry: [...versions].reverse().map((v) => ({
        fullUrl: `${type}/${id}/_history/${v.version}`,
        resource: v.resource,
        request: { method: v.version === 1 ? 'POST' : 'PUT', url: v.version === 1 ? type : `${type}/${id}` },
        response: {
          status: v.version === 1 ? '201' : '200',
          etag: `W/"${v.version}"`,
          lastModified: v.resource.meta.lastUpdated,
        },
      })),
    };
  }

  @Get(':id/_history/:vid')
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({ summary: 'One version (FHIR vread)' })
  async vread(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Param('id', UuidPipe) id: string,
    @Param('vid', ParseIntPipe) vid: number,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    return send(response, await this.resources.vread(actor, type, id, vid, purposeOf(purpose)));
  }

  @Get(':id/_history/:vid/$verify')
  @ApiOperation({
    summary: 'Proves a version is the one anchored: its salted commitment recomputed, and its verified ledger receipt',
  })
  verify(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Param('id', UuidPipe) id: string,
    @Param('vid', ParseIntPipe) vid: number,
  ) {
    return this.resources.verify(actor, type, id, vid);
  }

  @Put(':id')
  @ApiHeader(PURPOSE_HEADER)
  @ApiOperation({ summary: 'FHIR update; If-Match: W/"<versionId>" guards against lost updates (412)' })
  async update(
    @Actor() actor: AuthenticatedActor,
    @Param('type', ResourceTypePipe) type: string,
    @Param('id', UuidPipe) id: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('x-purpose-of-use') purpose: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ) {
    return send(
      response,
      await this.resources.update(actor, type, id, body, ifMatchVersion(ifMatch), purposeOf(purpose)),
    );
  }
}
