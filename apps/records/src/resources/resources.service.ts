import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS, type RECORDS_RESOURCE_TYPES } from '@medledger/contracts';
import {
  COMMAND_TIMEOUT_MS,
  ErasedEventData,
  EVENT_STORE,
  EVENT_STORE_SQL,
  EventStore,
  ReceiptService,
  VersionConflict,
  type OutboxMessage,
  type Sql,
  type StoredEvent,
  type TransactionalSql,
} from '@medledger/event-store';
import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import {
  AccessService,
  requestedData,
  type AccessContext,
  type AccessQuery,
  type Permit,
} from '../access/access.service';
import { AuditService } from '../audit/audit.service';
import { validateConsent } from '../consent/domain/validate-consent';
import {
  MAX_JSON_DEPTH,
  patientElement,
  patientOf,
  searchIndex,
  tooDeep,
  validateResource,
  type StoredResource,
} from '../fhir/domain';
import { refuse } from '../http/operation-outcome';
import { commitment, COMMITMENT_SALT_BYTES } from './domain/commitment';
import {
  ABSENT,
  decide,
  evolve,
  ResourceErrorCode,
  resourceStreamId,
  type Commitments,
  type FhirResource,
  type ResourceCommand,
  type ResourceError,
  type ResourceEvent,
  type ResourceState,
  type ResourceVersionData,
} from './domain/resource';
import { UUID } from './domain/resource-types';
import type { Pseudonyms } from './domain/pseudonym';
import { PatientKeyCodec } from './infra/patient-keys';
import { criteriaTokens } from './domain/blind-index';
import { matches, parseSearch, type Criterion } from './domain/search-query';
import {
  ResourceRepository,
  resourceNotFound,
  unknownPatient,
  type PresentResource,
  type ResourceVersion,
} from './resource.repository';

/** The search index of a resource with no searchable values (a Consent): only `_id` and `_lastUpdated` match it. */
const NO_VALUES = { tokens: [], dates: [] };

/**
 * What a transaction Bundle's database transaction may take beyond a single command's, per entry: its events, public
 * events and AuditEvents are encoded and inserted inside it. 10 ms is about five times what an entry took on the
 * shared two-core machine (docs/perf.md, records import), so 5,000 entries get 65 s.
 */
const BUNDLE_TIMEOUT_MS_PER_ENTRY = 10;

const randomCommitments: Commitments = {
  commit(resource) {
    const salt = randomBytes(COMMITMENT_SALT_BYTES);
    return { salt: salt.toString('base64'), commitment: commitment(resource, salt) };
  },
};

const ERROR_STATUS: Record<ResourceError['code'], number> = {
  [ResourceErrorCode.ALREADY_EXISTS]: 409,
  [ResourceErrorCode.NOT_FOUND]: 404,
  [ResourceErrorCode.VERSION_MISMATCH]: 412,
  [ResourceErrorCode.VERSION_NOT_FOUND]: 404,
  [ResourceErrorCode.PATIENT_CHANGED]: 422,
};

export const RecordsErrorCode = {
  INVALID_RESOURCE: 'RECORDS.INVALID_RESOURCE',
  TYPE_MISMATCH: 'RECORDS.TYPE_MISMATCH',
  NOT_IN_A_PATIENT_RECORD: 'RECORDS.NOT_IN_A_PATIENT_RECORD',
  UNKNOWN_PATIENT: 'RECORDS.UNKNOWN_PATIENT',
  INVALID_SEARCH: 'RECORDS.INVALID_SEARCH',
  /** A body nested deeper than MAX_JSON_DEPTH (fhir/domain/depth.ts). */
  TOO_DEEP: 'RECORDS.TOO_DEEP',
  /** PUT whose body names another id than the URL (FHIR R4 §3.1.0.5). */
  ID_MISMATCH: 'RECORDS.ID_MISMATCH',
  /** A valid R4 Consent with an element records does not evaluate (422, ADR 0007). */
  CONSENT_NOT_SUPPORTED: 'RECORDS.CONSENT_NOT_SUPPORTED',
} as const;

/** A resource as served: the stored resource with its `meta`, and the public event of the change that made it. */
export interface ResourceView {
  resource: FhirResource & { id: string; meta: { versionId: string; lastUpdated: string } };
  version: number;
  /** The public event this version published (its ledger receipt: GET /v1/events/{id}/receipt). */
  eventId?: string;
  /** Why the access was allowed (`break-glass` is flagged to the client). */
  basis?: Permit['basis'];
}

/** A create or an update as asked (a single write's route, or an entry of a Bundle). */
export type WriteRequest = {
  kind: 'create' | 'update';
  resourceType: string;
  /** A create's new id, or the resource an update changes. */
  id: string;
  resource: unknown;
  ifMatchVersion?: number;
};

/**
 * What the entries of one transaction Bundle share: the Patients it registers (their records take nothing yet), and
 * the records its entries name, each looked up once (a whole record names one patient a thousand times).
 */
interface BundleScope {
  registering: ReadonlySet<string>;
  records: Map<string, string>;
}

/** A write validated and placed in its record, with the access question it raises (ResourcesService.prepare). */
interface PreparedWrite {
  command: ResourceCommand;
  storedPatientId: string;
  query: AccessQuery;
}

/** A write of a transaction Bundle failed: `index` is its entry's place in the Bundle, `error` what it got. */
export class EntryFailed extends Error {
  constructor(
    readonly index: number,
    readonly error: unknown,
  ) {
    super(`Bundle.entry[${index}]: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function view(state: PresentResource, extra: { eventId?: string; basis?: Permit['basis'] } = {}): ResourceView {
  return {
    resource: {
      ...state.resource,
      id: state.id,
      meta: {
        ...(state.resource.meta as Record<string, unknown> | undefined),
        versionId: String(state.version),
        lastUpdated: state.lastUpdated,
      },
    },
    version: state.version,
    ...extra,
  };
}

/**
 * The public, PHI-free announcement of a new version: the version's salted commitment, and the patient and the
 * resource by their pseudonyms (ADR 0013), never their ids.
 */
function publicEvent(event: StoredEvent<ResourceEvent>, pseudonyms: Pseudonyms): OutboxMessage {
  const data = event.data as ResourceVersionData;
  const { resourceType, id, commitment: digest, at } = data;
  const versionId = String(event.version);
  const created = event.type === 'ResourceCreated';
  const patient = pseudonyms.patient;
  const common = { id: event.eventId, time: at, subject: patient, aggregateVersion: event.version };
  const envelope =
    resourceType === 'Patient'
      ? created
        ? createEnvelope({
            ...common,
            aggregateId: patient,
            type: 'records.PatientRegistered',
            data: { patient, versionId, commitment: digest, registeredAt: at },
          })
        : createEnvelope({
            ...common,
            aggregateId: patient,
            type: 'records.PatientUpdated',
            data: { patient, versionId, commitment: digest, updatedAt: at },
          })
      : createEnvelope({
          ...common,
          aggregateId: pseudonyms.resource(resourceType, id),
          type: created ? 'records.ResourceCreated' : 'records.ResourceUpdated',
          data: {
            resourceType: resourceType as (typeof RECORDS_RESOURCE_TYPES)[number],
            resource: pseudonyms.resource(resourceType, id),
            patient,
            versionId,
            commitment: digest,
            ...(created ? { createdAt: at } : { updatedAt: at }),
          },
        });
  return { topic: PUBLIC_EVENT_TOPICS.records, key: patient, envelope };
}

function fold(state: Parameters<typeof evolve>[0], event: StoredEvent) {
  return evolve(state, event as unknown as ResourceEvent);
}

/**
 * The FHIR interactions on a patient's record: validate, find the record's patient, ask the access service, then
 * load or decide-and-append in one transaction with the AuditEvent of the access (and the public event of a write).
 */
@Injectable()
export class ResourcesService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    @Inject(EVENT_STORE_SQL) private readonly client: TransactionalSql,
    private readonly repository: ResourceRepository,
    private readonly access: AccessService,
    private readonly audit: AuditService,
    private readonly receipts: ReceiptService,
    private readonly keys: PatientKeyCodec,
  ) {}

  async create(actor: AuthenticatedActor, resourceType: string, body: unknown, purpose?: string) {
    const write = await this.prepare({ kind: 'create', resourceType, id: randomUUID(), resource: body }, purpose);
    return this.write(actor, write);
  }

  async update(
    actor: AuthenticatedActor,
    resourceType: string,
    id: string,
    body: unknown,
    ifMatchVersion?: number,
    purpose?: string,
  ) {
    const write = await this.prepare(
      { kind: 'update', resourceType, id, resource: body, ...(ifMatchVersion !== undefined && { ifMatchVersion }) },
      purpose,
    );
    return this.write(actor, write);
  }

  /**
   * What a create or an update is, before anyone is asked: the body validated (400 with an OperationOutcome), the
   * record it belongs in found (422 for none), the command, and the access question with the data a consent bound
   * to data decides on. `bundle`: what the other entries of a transaction Bundle tell (see {@link BundleScope}).
   */
  private async prepare(
    request: WriteRequest,
    purpose: string | undefined,
    bundle: BundleScope = { registering: new Set(), records: new Map() },
  ): Promise<PreparedWrite> {
    const { kind, resourceType, id } = request;
    const resource = validated(resourceType, request.resource);
    if (kind === 'create') {
      const patientId = resourceType === 'Patient' ? id : await this.recordOf(resource, bundle);
      return {
        command: { kind: 'Create', resourceType, id, patientId, resource },
        storedPatientId: patientId,
        query: this.writeQuery('create', resourceType, id, patientId, purpose, [
          requestedData({ resource, id, lastUpdated: new Date().toISOString() }),
        ]),
      };
    }
    // SPEC: FHIR R4 §3.1.0.5 update: an id in the body that disagrees with the URL's is a 400. A body without id
    // is taken as the URL's resource (lenient where R4 asks for a 400: clients that omit it mean the URL).
    const bodyId = resource['id'];
    if (bodyId !== undefined && (typeof bodyId !== 'string' || bodyId.toLowerCase() !== id))
      throw refuse(400, RecordsErrorCode.ID_MISMATCH, {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'invalid',
            diagnostics: `the body's id ${JSON.stringify(bodyId)} is not the URL's ${id}`,
            expression: [`${resourceType}.id`],
          },
        ],
      });
    const located = await this.repository.require(this.client, resourceType, id);
    // The patient the new version names (a change is refused by decide()); access is decided on the stored one.
    const patientId = resourceType === 'Patient' ? id : await this.recordOf(resource, bundle);
    // A consent bound to data must permit correcting both what is stored and what it becomes.
    const { state: stored } = await this.repository.current(this.client, located.streamId);
    return {
      command: {
        kind: 'Update',
        resourceType,
        id,
        patientId,
        resource,
        ...(request.ifMatchVersion !== undefined && { ifMatchVersion: request.ifMatchVersion }),
      },
      storedPatientId: located.patientId,
      query: this.writeQuery('update', resourceType, id, located.patientId, purpose, [
        ...(stored.status === 'present' ? [requestedData(stored)] : []),
        requestedData({ resource, id, lastUpdated: new Date().toISOString() }),
      ]),
    };
  }

  private writeQuery(
    interaction: 'create' | 'update',
    resourceType: string,
    id: string,
    patientId: string,
    purpose: string | undefined,
    data: AccessQuery['data'],
  ): AccessQuery {
    return { patientId, interaction, resourceType, resourceId: id, ...(purpose && { purpose }), ...(data && { data }) };
  }

  async read(actor: AuthenticatedActor, resourceType: string, id: string, purpose?: string): Promise<ResourceView> {
    // The hot path: the resource, the patient's consents and the actor's grants in two round trips.
    const found = await this.repository.forRead(this.client, resourceType, id, actor.reference);
    if (!found) throw resourceNotFound(resourceType, id);
    const asked = {
      patientId: found.patientId,
      interaction: 'read',
      resourceType,
      resourceId: id,
      ...(purpose && { purpose }),
    } as const;
    // Authorize before decrypting: what the consents decide without the resource's content (who asks, for what,
    // which type) is decided first, and a refusal never decrypts the resource (ADR 0007).
    await this.access.authorize(actor, asked, found);
    const state = await found.resource();
    if (state.status !== 'present') throw resourceNotFound(resourceType, id);
    const query = { ...asked, data: [requestedData(state)] } as const;
    const permit = await this.access.authorize(actor, query, found);
    await this.auditedRead(actor, query, permit, String(state.version));
    return view(state, { basis: permit.basis });
  }

  /** Every version, oldest first, each with the event that made it. */
  async history(
    actor: AuthenticatedActor,
    resourceType: string,
    id: string,
    purpose?: string,
  ): Promise<{ versions: Array<ResourceView & { eventId: string }>; basis: Permit['basis'] }> {
    const { patientId, streamId } = await this.repository.require(this.client, resourceType, id);
    const asked = {
      patientId,
      interaction: 'history',
      resourceType,
      resourceId: id,
      ...(purpose && { purpose }),
    } as const;
    // Authorize before decrypting (as read does); then a consent bound to data decides on what the resource is now
    // (ADR 0007), so its versions are read.
    const context = await this.access.contextFor(actor, asked);
    await this.access.authorize(actor, asked, context);
    const versions = await this.repository.versions(this.client, streamId);
    const current = versions.at(-1);
    const query = { ...asked, ...(current && { data: [requestedData(current.state)] }) } as const;
    const permit = await this.access.authorize(actor, query, context);
    await this.auditedRead(actor, query, permit);
    return { versions: versions.map((v) => ({ ...view(v.state), eventId: v.eventId })), basis: permit.basis };
  }

  async vread(
    actor: AuthenticatedActor,
    resourceType: string,
    id: string,
    versionId: number,
    purpose?: string,
  ): Promise<ResourceView> {
    const { patientId, streamId } = await this.repository.require(this.client, resourceType, id);
    const asked = {
      patientId,
      interaction: 'vread',
      resourceType,
      resourceId: id,
      versionId: String(versionId),
      ...(purpose && { purpose }),
    } as const;
    // Authorize before decrypting, as read does.
    const context = await this.access.contextFor(actor, asked);
    await this.access.authorize(actor, asked, context);
    const found = await this.version(this.client, streamId, resourceType, id, versionId);
    const query = { ...asked, data: [requestedData(found.state)] } as const;
    const permit = await this.access.authorize(actor, query, context);
    await this.auditedRead(actor, query, permit);
    return view(found.state, { eventId: found.eventId, basis: permit.basis });
  }

  /** The current versions in one patient's record matching the FHIR search parameters. */
  async search(
    actor: AuthenticatedActor,
    resourceType: string,
    params: Readonly<Record<string, unknown>>,
    purpose?: string,
  ): Promise<{ resources: ResourceView[]; basis: Permit['basis'] }> {
    const parsed = parseSearch(resourceType, params);
    if (!parsed.ok)
      throw refuse(400, RecordsErrorCode.INVALID_SEARCH, {
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'invalid', diagnostics: parsed.message, expression: [parsed.param] }],
      });
    const { patientId, criteria } = parsed.query;
    if (!(await this.repository.locate(this.client, 'Patient', patientId)))
      throw resourceNotFound('Patient', patientId);
    const query = { patientId, interaction: 'search', resourceType, ...(purpose && { purpose }) } as const;
    // The patient's consents, read once for the search and for each of its results.
    const context = await this.access.contextFor(actor, query);
    const permit = await this.access.authorize(actor, query, context);
    const matching = await this.matching(patientId, resourceType, criteria);
    // The search was allowed for the type; a consent bound to data may still withhold some of the results.
    const found = await this.access.screen(actor, query, matching, context);
    // The criteria (clinical values) go into the encrypted AuditEvent only; the ids returned into the entry.
    await this.audit.recordAlone(actor, {
      ...this.auditOf(query, permit),
      query: searchString(params),
      returned: found.map((r) => r.id),
    });
    return { resources: found.map((r) => view(r)), basis: permit.basis };
  }

  /**
   * The current versions of `resourceType` in the record that match every criterion, oldest first, decrypting only
   * the candidates the clear indexes select (ADR 0016): `_id` and `_lastUpdated` from the resource index, token
   * criteria (and a date parameter's presence or year) from the blind index. Each candidate is then matched exactly,
   * so the answer is the one a search that decrypted every resource of the type gave. A search with no criterion
   * the indexes answer (only date ranges, or none) decrypts every resource of the type that has the date's value.
   */
  private async matching(patientId: string, resourceType: string, criteria: readonly Criterion[]) {
    const key = await this.keys.existingSearchKey(this.client, patientId);
    const ids = criteria.flatMap((c) => (c.kind === 'id' ? [c.values] : []));
    // A patient with no index key yet has no index rows: every resource is a candidate.
    const groups = key ? criteriaTokens(key, resourceType, criteria) : [];
    const lastUpdated = criteria.filter((c) => c.kind === 'date' && c.param === '_lastUpdated');
    const candidates = (
      await this.repository.searchCandidates(this.client, patientId, resourceType, ids, groups)
    ).filter((candidate) => matches(NO_VALUES, lastUpdated, candidate));
    const found = await this.repository.currentOf(
      this.client,
      candidates.map((candidate) => candidate.streamId),
    );
    return found.filter((r) =>
      matches(resourceType === 'Consent' ? NO_VALUES : searchIndex(r.resource as unknown as StoredResource), criteria, {
        id: r.id,
        lastUpdated: r.lastUpdated,
      }),
    );
  }

  /**
   * Proves that a version is the one anchored, without showing it: recomputes the salted commitment from the
   * stored resource, and returns it with the ledger receipt of the event that published it (verified against the
   * pinned ledger key by the receipt service). An auditor compares the commitment in the sealed event with it.
   */
  async verify(actor: AuthenticatedActor, resourceType: string, id: string, versionId: number) {
    const { patientId, streamId } = await this.repository.require(this.client, resourceType, id);
    const found = await this.version(this.client, streamId, resourceType, id, versionId);
    const query = {
      patientId,
      interaction: 'verify',
      resourceType,
      resourceId: id,
      versionId: String(versionId),
      data: [requestedData(found.state)],
    } as const;
    const permit = await this.access.authorize(actor, query);
    await this.auditedRead(actor, query, permit);
    const recomputed = commitment(found.state.resource, Buffer.from(found.salt, 'base64'));
    const receipt = await this.receipts.receipt(found.eventId);
    const sealedCommitment = (receipt.event['data'] as { commitment?: unknown } | undefined)?.commitment;
    return {
      resourceType,
      id,
      versionId: String(versionId),
      eventId: found.eventId,
      commitment: recomputed,
      matchesStored: recomputed === found.commitment,
      matchesSealed: recomputed === sealedCommitment,
      receipt,
    };
  }

  /**
   * Writes of a transaction Bundle, all or nothing, in the order given (R4's processing order: the caller's): each
   * validated, placed and authorized as a single write is, then every event, public event and AuditEvent in ONE
   * database transaction. A failure throws {@link EntryFailed} naming the entry; nothing is stored then (a refusal's
   * or a failed attempt's own audit excepted, as for a single write).
   */
  async transaction(
    actor: AuthenticatedActor,
    writes: ReadonlyArray<WriteRequest & { index: number }>,
    purpose?: string,
  ): Promise<ResourceView[]> {
    const bundle: BundleScope = {
      registering: new Set(writes.filter((w) => w.kind === 'create' && w.resourceType === 'Patient').map((w) => w.id)),
      records: new Map(),
    };
    const prepared: Array<PreparedWrite & { index: number }> = [];
    for (const write of writes) {
      try {
        prepared.push({ ...(await this.prepare(write, purpose, bundle)), index: write.index });
      } catch (error) {
        throw new EntryFailed(write.index, error);
      }
    }
    // Each entry is decided alone, as its single write would be; a patient's consents are read once per Bundle.
    const contexts = new Map<string, AccessContext>();
    const permits: Permit[] = [];
    for (const write of prepared) {
      try {
        const { patientId } = write.query;
        let context = contexts.get(patientId);
        if (!context) {
          context = await this.access.contextFor(actor, write.query);
          if (context) contexts.set(patientId, context);
        }
        permits.push(await this.access.authorize(actor, registrationOf(write, bundle) ?? write.query, context));
      } catch (error) {
        throw new EntryFailed(write.index, error);
      }
    }
    try {
      return await this.store.transact(this.client, (tx) => this.commitAll(tx, actor, prepared, permits), {
        timeoutMs: COMMAND_TIMEOUT_MS + prepared.length * BUNDLE_TIMEOUT_MS_PER_ENTRY,
      });
    } catch (error) {
      if (error instanceof EntryFailed) {
        // An update allowed but refused (409, 412, 422) is audited as its single write's attempt is.
        const i = prepared.findIndex((write) => write.index === error.index);
        await this.auditFailedWrite(actor, (prepared[i] as PreparedWrite).query, permits[i] as Permit, error.error);
        throw error;
      }
      // A create into an erased record (410: its key is gone) fails in appendNew, naming the record's key (the
      // record's own stream); a conflict names the stream. Either names the first entry it concerns.
      const streamId = error instanceof ErasedEventData || error instanceof VersionConflict ? error.streamId : '';
      const concerned = prepared.find((write) => {
        const stream = resourceStreamId(write.command.resourceType, write.command.id, write.storedPatientId);
        return stream === streamId || stream.startsWith(`${streamId}/`);
      });
      throw concerned ? new EntryFailed(concerned.index, error) : error;
    }
  }

  /** A transaction Bundle's writes, all in `tx`: the views of what they stored, in the order given. */
  private async commitAll(
    tx: Sql,
    actor: AuthenticatedActor,
    prepared: ReadonlyArray<PreparedWrite & { index: number }>,
    permits: readonly Permit[],
  ): Promise<ResourceView[]> {
    const now = new Date().toISOString();
    const states = new Map<number, ResourceState>();
    const eventIds = new Map<number, string>();
    const events: Array<StoredEvent<ResourceEvent>> = [];
    const applied = (i: number, before: ResourceState, stored: Array<StoredEvent<ResourceEvent>>) => {
      events.push(...stored);
      states.set(i, stored.reduce(fold, before));
      const last = stored.at(-1);
      if (last) eventIds.set(i, last.eventId);
    };
    // Creates start new streams, one event each: a few statements for all of them, whatever their number.
    const created = [...prepared.entries()].filter(([, write]) => write.command.kind === 'Create');
    const appended = await this.store.appendNew(
      tx,
      created.map(([, write]) => ({
        streamId: resourceStreamId(write.command.resourceType, write.command.id, write.storedPatientId),
        streamType: write.command.resourceType,
        event: this.withMetadata(actor, write, this.decided(write.command, ABSENT, now)[0] as ResourceEvent),
      })),
    );
    appended.forEach((event, n) => applied((created[n] as [number, PreparedWrite])[0], ABSENT, [event]));
    // Updates: each folded and appended at the version it read (a concurrent write is a 409, as alone).
    for (const [i, write] of prepared.entries()) {
      if (write.command.kind !== 'Update') continue;
      const streamId = resourceStreamId(write.command.resourceType, write.command.id, write.storedPatientId);
      try {
        const { state, version } = await this.store.aggregate(tx, streamId, ABSENT, fold);
        const stored = await this.store.append(tx, {
          streamId,
          streamType: write.command.resourceType,
          expectedVersion: version,
          events: this.decided(write.command, state, now).map((event) => this.withMetadata(actor, write, event)),
        });
        applied(i, state, stored);
      } catch (error) {
        throw new EntryFailed(write.index, error);
      }
    }
    await this.store.enqueue(tx, await this.publicEvents(tx, events));
    const views = prepared.map((_write, i) => {
      const state = states.get(i);
      if (state?.status !== 'present') throw new Error('a write left no resource');
      const eventId = eventIds.get(i);
      return view(state, { basis: (permits[i] as Permit).basis, ...(eventId && { eventId }) });
    });
    await this.audit.recordAll(
      tx,
      actor,
      prepared.map((write, i) => this.auditOf(write.query, permits[i] as Permit, String(views[i]?.version))),
    );
    return views;
  }

  /** decide() for a prepared write, its refusal (409, 412, 422) as the ProblemException a single write answers. */
  private decided(command: ResourceCommand, state: ResourceState, now: string): ResourceEvent[] {
    const decision = decide(command, state, now, randomCommitments);
    if (!Array.isArray(decision))
      throw new ProblemException(ERROR_STATUS[decision.code], decision.code, 'Command refused', {
        detail: decision.message,
      });
    return decision;
  }

  /** An event to append, with the ids (no PHI) in its metadata, which stays readable after an erasure. */
  private withMetadata(
    actor: AuthenticatedActor,
    write: Pick<PreparedWrite, 'command' | 'storedPatientId'>,
    event: ResourceEvent,
  ) {
    return {
      ...event,
      eventId: randomUUID(),
      metadata: {
        resourceType: write.command.resourceType,
        id: write.command.id,
        patientId: write.storedPatientId,
        at: event.data.at,
        // Whose entry this version is: the retention rule of a patient's erasure (domain/erasure.ts).
        authorRole: actor.role,
      },
    };
  }

  private async write(
    actor: AuthenticatedActor,
    { command, query, storedPatientId }: PreparedWrite,
  ): Promise<ResourceView> {
    const permit = await this.access.authorize(actor, query);
    const streamId = resourceStreamId(command.resourceType, command.id, storedPatientId);
    try {
      return await this.commitWrite(actor, command, query, permit, streamId, storedPatientId);
    } catch (error) {
      await this.auditFailedWrite(actor, query, permit, error);
      throw error;
    }
  }

  /**
   * A write that was allowed but failed (409 exists or conflicts, 412 stale, 422 patient changed) is audited too, as
   * a minor failure with its reason: the attempt is part of the record's accounting.
   */
  private async auditFailedWrite(actor: AuthenticatedActor, query: AccessQuery, permit: Permit, error: unknown) {
    const status = error instanceof ProblemException ? error.getStatus() : error instanceof VersionConflict ? 409 : 0;
    if (status === 409 || status === 412 || status === 422)
      await this.audit.recordAlone(actor, {
        ...this.auditOf(query, permit),
        outcome: '4',
        reason:
          error instanceof ProblemException
            ? `${error.code}: ${error.extras.detail ?? error.title}`
            : error instanceof Error
              ? error.message
              : String(error),
      });
  }

  private commitWrite(
    actor: AuthenticatedActor,
    command: ResourceCommand,
    query: AccessQuery,
    permit: Permit,
    streamId: string,
    storedPatientId: string,
  ): Promise<ResourceView> {
    return this.store.transact(this.client, async (tx) => {
      const { state, version } = await this.store.aggregate(tx, streamId, ABSENT, fold);
      const stored = await this.store.append(tx, {
        streamId,
        streamType: command.resourceType,
        expectedVersion: version,
        events: this.decided(command, state, new Date().toISOString()).map((event) =>
          this.withMetadata(actor, { command, storedPatientId }, event),
        ),
      });
      await this.store.enqueue(tx, await this.publicEvents(tx, stored));
      const next = stored.reduce(fold, state);
      if (next.status !== 'present') throw new Error('a write left no resource');
      await this.audited(tx, actor, query, permit, String(next.version));
      return view(next, { basis: permit.basis, ...(stored.at(-1) && { eventId: stored.at(-1)?.eventId }) });
    });
  }

  /** The public events of stored versions, under their patient's pseudonyms (the key read once per patient). */
  private async publicEvents(tx: Sql, events: ReadonlyArray<StoredEvent<ResourceEvent>>): Promise<OutboxMessage[]> {
    const byPatient = new Map<string, Pseudonyms>();
    const messages: OutboxMessage[] = [];
    for (const event of events) {
      const { patientId } = event.data as ResourceVersionData;
      const pseudonyms = byPatient.get(patientId) ?? (await this.keys.pseudonyms(tx, patientId));
      byPatient.set(patientId, pseudonyms);
      messages.push(publicEvent(event, pseudonyms));
    }
    return messages;
  }

  private audited(tx: Sql, actor: AuthenticatedActor, query: AccessQuery, permit: Permit, versionId?: string) {
    return this.audit.record(tx, actor, this.auditOf(query, permit, versionId));
  }

  /** A read is answered only once its AuditEvent is committed (with those of concurrent reads). */
  private auditedRead(actor: AuthenticatedActor, query: AccessQuery, permit: Permit, versionId?: string) {
    return this.audit.recordAlone(actor, this.auditOf(query, permit, versionId));
  }

  private auditOf(query: AccessQuery, permit: Permit, versionId?: string) {
    return {
      ...this.access.auditFields(query),
      ...(versionId !== undefined && { versionId }),
      outcome: '0' as const,
      basis: permit.basis,
      ...(permit.consentId !== undefined && { consentId: permit.consentId }),
    };
  }

  private async version(
    tx: Sql,
    streamId: string,
    resourceType: string,
    id: string,
    versionId: number,
  ): Promise<ResourceVersion> {
    const found = (await this.repository.versions(tx, streamId)).find((v) => v.state.version === versionId);
    if (!found)
      throw new ProblemException(404, ResourceErrorCode.VERSION_NOT_FOUND, 'No such version', {
        detail: `${resourceType}/${id} has no version ${versionId}`,
      });
    return found;
  }

  /** The patient whose record a (non-Patient) resource belongs in: it must name one that exists here. */
  private async recordOf(
    resource: FhirResource,
    { registering, records }: BundleScope = { registering: new Set(), records: new Map() },
  ): Promise<string> {
    const reference =
      resource.resourceType === 'Consent'
        ? (resource['patient'] as { reference?: string } | undefined)?.reference
        : patientOf(resource as unknown as StoredResource);
    const id = reference?.slice('Patient/'.length);
    // A Patient this same Bundle registers: its record arrives with the registration (ADR 0011, decision 3), except
    // its consents, which are the patient's alone and nobody is that patient before the Bundle commits.
    if (id !== undefined && registering.has(id.toLowerCase())) {
      if (resource.resourceType !== 'Consent') return id.toLowerCase();
      throw refuse(422, RecordsErrorCode.UNKNOWN_PATIENT, {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'business-rule',
            diagnostics: `Patient/${id} is registered by this Bundle: a patient's consents are theirs to give once registered`,
          },
        ],
      });
    }
    if (id === undefined)
      throw refuse(422, RecordsErrorCode.NOT_IN_A_PATIENT_RECORD, {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'business-rule',
            diagnostics: "records keeps resources of a patient's record: the resource must name a local Patient",
            expression: [patientElement(resource.resourceType)],
          },
        ],
      });
    // A Patient of records has a UUID id: any other id (`Patient/example`) names no patient here. The patient's
    // id as stored (lower case) is the one keys and streams use, however the reference spelled it.
    const known = records.get(id.toLowerCase());
    if (known !== undefined) return known;
    const patient = UUID.test(id) ? await this.repository.locate(this.client, 'Patient', id) : undefined;
    if (!patient) {
      if (UUID.test(id)) throw unknownPatient(id);
      throw refuse(422, RecordsErrorCode.UNKNOWN_PATIENT, {
        resourceType: 'OperationOutcome',
        issue: [
          {
            severity: 'error',
            code: 'not-found',
            diagnostics: `no Patient/${id} in records: its Patients have UUID ids`,
          },
        ],
      });
    }
    records.set(id.toLowerCase(), patient.patientId);
    return patient.patientId;
  }
}

/**
 * An entry of a transaction Bundle that creates a resource in the record of a Patient the same Bundle registers is
 * decided as registering that Patient is (ADR 0011, decision 3): the record arrives with its registration, written
 * by whoever may register the patient (a practitioner or an organization admin), as a hospital that registers a
 * patient records the care it gives. Afterwards the patient's consents decide, for the registrant too.
 */
function registrationOf(write: PreparedWrite, bundle: BundleScope): AccessQuery | undefined {
  const { command, query } = write;
  if (command.kind !== 'Create' || command.resourceType === 'Patient') return undefined;
  if (!bundle.registering.has(query.patientId)) return undefined;
  return {
    patientId: query.patientId,
    interaction: 'create',
    resourceType: 'Patient',
    resourceId: query.patientId,
    ...(query.purpose && { purpose: query.purpose }),
  };
}

/** The body as a valid resource of the route's type, or 400 with an OperationOutcome naming each problem. */
function validated(resourceType: string, body: unknown): FhirResource {
  const deep = tooDeep(body, resourceType);
  if (deep !== undefined)
    throw refuse(400, RecordsErrorCode.TOO_DEEP, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'too-costly',
          diagnostics: `the resource nests deeper than ${MAX_JSON_DEPTH} objects and arrays`,
          expression: [deep],
        },
      ],
    });
  const result = resourceType === 'Consent' ? validateConsent(body) : validateResource(body);
  if (!result.ok)
    throw 'status' in result && result.status === 422
      ? refuse(422, RecordsErrorCode.CONSENT_NOT_SUPPORTED, result.outcome)
      : refuse(400, RecordsErrorCode.INVALID_RESOURCE, result.outcome);
  const resource = ('consent' in result ? result.consent : result.resource) as unknown as FhirResource;
  if (resource.resourceType !== resourceType)
    throw refuse(400, RecordsErrorCode.TYPE_MISMATCH, {
      resourceType: 'OperationOutcome',
      issue: [
        {
          severity: 'error',
          code: 'invalid',
          diagnostics: `the body is a ${resource.resourceType}, the URL says ${resourceType}`,
          expression: ['resourceType'],
        },
      ],
    });
  return resource;
}

/** A search's parameters as a query string, in the order given (the AuditEvent's entity.query, paging links). */
export function searchString(params: Readonly<Record<string, unknown>>): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    for (const one of Array.isArray(value) ? value : [value]) if (typeof one === 'string') query.append(name, one);
  return query.toString();
}
