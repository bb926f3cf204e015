import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { HttpException, Injectable, Logger } from '@nestjs/common';
import type { OperationOutcomeIssue } from 'fhir/r4';
import type { AuthenticatedActor } from '@medledger/platform';
import { httpCode, ProblemException } from '@medledger/platform';
import { OperationOutcomeException, refuse } from '../http/operation-outcome';
import { RESOURCE_TYPES } from '../resources/domain/resource-types';
import { EntryFailed, ResourcesService, type ResourceView, type WriteRequest } from '../resources/resources.service';
import {
  fullUrlTargets,
  namingEntry,
  planBundle,
  processingOrder,
  resolveReferences,
  unresolvedReferences,
  type EntryRefusal,
  type PlannedEntry,
} from './domain/bundle';

/** Where an entry's response names the public event of the version it wrote (a single write's X-Medledger-Event-Id). */
export const EVENT_ID_EXTENSION = 'https://medledger.local/fhir/StructureDefinition/event-id';

type ResponseEntry = { response: Record<string, unknown> };

// SPEC: R4 Bundle.entry.response.status: "the status code, optionally followed by the text".
const statusLine = (status: number) => `${status} ${STATUS_CODES[status] ?? ''}`.trim();

function written(view: ResourceView, created: boolean): ResponseEntry {
  const { resourceType, id } = view.resource;
  return {
    response: {
      status: statusLine(created ? 201 : 200),
      location: `/fhir/${resourceType}/${id}/_history/${view.version}`,
      etag: `W/"${view.version}"`,
      lastModified: view.resource.meta.lastUpdated,
      ...(view.eventId && { extension: [{ url: EVENT_ID_EXTENSION, valueId: view.eventId }] }),
    },
  };
}

const ISSUE_BY_STATUS: Readonly<Record<number, OperationOutcomeIssue['code']>> = {
  400: 'invalid',
  403: 'forbidden',
  404: 'not-found',
  409: 'conflict',
  410: 'deleted',
  412: 'conflict',
  413: 'too-costly',
  422: 'processing',
};

/** What a single write's refusal says, as an entry's: its status, stable code and an OperationOutcome. */
function refusalOf(error: unknown): EntryRefusal | undefined {
  if (error instanceof OperationOutcomeException)
    return { status: error.getStatus(), code: error.code, outcome: error.outcome };
  if (!(error instanceof HttpException) || error.getStatus() >= 500) return undefined;
  const status = error.getStatus();
  const code = error instanceof ProblemException ? error.code : httpCode(status);
  const diagnostics = error instanceof ProblemException ? (error.extras.detail ?? error.title) : error.message;
  const { outcome } = refuse(status, code, {
    resourceType: 'OperationOutcome',
    issue: [{ severity: 'error', code: ISSUE_BY_STATUS[status] ?? 'processing', diagnostics }],
  });
  return { status, code, outcome };
}

/**
 * `POST /fhir` with a transaction or batch Bundle: a patient's record imported as other servers export it. Each
 * entry is the create or update it would be alone (validation, consent, encryption, audit, public event); a
 * transaction commits them all in one database transaction or none, a batch each on its own.
 */
@Injectable()
export class BundlesService {
  private readonly logger = new Logger(BundlesService.name);

  constructor(private readonly resources: ResourcesService) {}

  async process(actor: AuthenticatedActor, body: unknown, purpose?: string) {
    const planned = planBundle(body, RESOURCE_TYPES, randomUUID);
    if (!planned.ok) throw refuse(planned.refusal.status, planned.refusal.code, planned.refusal.outcome);
    const raw = (body as { entry?: unknown[] }).entry ?? [];
    const methods = raw.map((entry) => {
      const method = (entry as { request?: { method?: unknown } } | null)?.request?.method;
      return typeof method === 'string' ? method : undefined;
    });
    const order = processingOrder(methods);
    const { type, entries } = planned.plan;
    const responses =
      type === 'transaction'
        ? await this.transaction(actor, raw, entries, order, purpose)
        : await this.batch(actor, entries, order, purpose);
    return { resourceType: 'Bundle', type: `${type}-response`, entry: responses };
  }

  /** SPEC: R4 §3.1.0.11.2: all or nothing; a failure answers one OperationOutcome (ours names the entry). */
  private async transaction(
    actor: AuthenticatedActor,
    raw: readonly unknown[],
    entries: readonly PlannedEntry[],
    order: readonly number[],
    purpose: string | undefined,
  ): Promise<ResponseEntry[]> {
    const refused = entries.find((entry) => entry.kind === 'refused');
    if (refused?.kind === 'refused') throw failure(refused.index, refused.refusal);
    const targets = fullUrlTargets(raw, entries);
    const writes: Array<WriteRequest & { index: number }> = [];
    for (const index of order) {
      const entry = entries[index] as Exclude<PlannedEntry, { kind: 'refused' }>;
      const { resource, unresolved } = resolveReferences(entry.resource, entry.resourceType, targets);
      if (unresolved.length > 0) throw failure(index, unresolvedReferences(index, unresolved, 'transaction'));
      writes.push({ ...entry, resource });
    }
    let views: ResourceView[];
    try {
      views = await this.resources.transaction(actor, writes, purpose);
    } catch (error) {
      if (!(error instanceof EntryFailed)) throw error;
      const refusal = refusalOf(error.error);
      if (!refusal) throw error.error;
      throw failure(error.index, refusal);
    }
    const responses: ResponseEntry[] = new Array<ResponseEntry>(entries.length);
    writes.forEach((write, n) => {
      responses[write.index] = written(views[n] as ResourceView, write.kind === 'create');
    });
    return responses;
  }

  /** SPEC: R4 §3.1.0.11.1: each entry on its own, in the processing order; the answer is 200 whatever they got. */
  private async batch(
    actor: AuthenticatedActor,
    entries: readonly PlannedEntry[],
    order: readonly number[],
    purpose: string | undefined,
  ): Promise<ResponseEntry[]> {
    const responses: ResponseEntry[] = new Array<ResponseEntry>(entries.length);
    // Each issue carries the stable code in details.coding, as a single write's refusal does.
    const refused = (refusal: EntryRefusal): ResponseEntry => ({
      response: {
        status: statusLine(refusal.status),
        outcome: refuse(refusal.status, refusal.code, refusal.outcome).outcome,
      },
    });
    for (const index of order) {
      const entry = entries[index] as PlannedEntry;
      if (entry.kind === 'refused') {
        responses[index] = refused(entry.refusal);
        continue;
      }
      // References between a batch's entries are non-conformant (R4 §3.1.0.11.1): no urn:uuid is resolved.
      const { unresolved } = resolveReferences(entry.resource, entry.resourceType, new Map());
      if (unresolved.length > 0) {
        responses[index] = refused(unresolvedReferences(index, unresolved, 'batch'));
        continue;
      }
      try {
        const view =
          entry.kind === 'create'
            ? await this.resources.create(actor, entry.resourceType, entry.resource, purpose)
            : await this.resources.update(
                actor,
                entry.resourceType,
                entry.id,
                entry.resource,
                entry.ifMatchVersion,
                purpose,
              );
        responses[index] = written(view, entry.kind === 'create');
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal) responses[index] = refused(refusal);
        else {
          // One entry's fault is not the others': it answers 500 alone, and the log has the cause.
          this.logger.error(error, `Bundle.entry[${index}] failed`);
          responses[index] = refused({
            status: 500,
            code: httpCode(500),
            outcome: {
              resourceType: 'OperationOutcome',
              issue: [{ severity: 'error', code: 'exception', diagnostics: 'the entry failed; see the service log' }],
            },
          });
        }
      }
    }
    return responses;
  }
}

/** A transaction refused on one entry: that entry's status, with every issue naming it. */
function failure(index: number, refusal: EntryRefusal): OperationOutcomeException {
  const named = namingEntry(index, refusal);
  return refuse(named.status, named.code, named.outcome);
}
