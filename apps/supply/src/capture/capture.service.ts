import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE, EventStore, type NewStream, type OutboxMessage, type Sql } from '@medledger/event-store';
import { canonicalBytes } from '@medledger/ledger-core';
import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import {
  applyCustodyEvent,
  lotKey,
  lotsTouched,
  namedEpcs,
  unitsTouched,
  withdrawalScope,
  withdrawEvent,
  type CustodyEvent,
  type Detection,
  type LotState,
  type UnitState,
} from '../custody/domain/custody';
import { CustodyRepository } from '../custody/infra/custody.repository';
import { validateEpcis } from '../epcis/domain/validate';
import { normaliseEpcis, type NormalisedEvent } from './domain/normalise';
import { recorderOf } from '../parties';

/**
 * EPCs one document may name: 10,000 (a pallet of 100 cases of 100 packs) keeps a capture's transaction to seconds
 * on this machine (docs/perf.md, supply) and its lock slots bounded.
 */
export const MAX_EPCS_PER_DOCUMENT = 10_000;

/** Bytes of salt in every supply commitment. */
const SALT_BYTES = 32;
/** A deadlock between two captures locking overlapping packs in two rounds: the loser retries (PostgreSQL 40P01). */
const DEADLOCK_RETRIES = 5;

export function commit(value: unknown): { salt: string; commitment: string } {
  const salt = randomBytes(SALT_BYTES);
  const json = JSON.parse(JSON.stringify(value)) as unknown;
  return {
    salt: salt.toString('base64'),
    commitment: createHash('sha256').update(salt).update(canonicalBytes(json)).digest('base64'),
  };
}

export interface CapturedEvent {
  index: number;
  eventHash: string;
  eventId: string;
  /** A replay of an event captured before: nothing changed, the original's id is answered. */
  replay: boolean;
  withdrawn?: boolean;
}

export interface CaptureResult {
  captured: CapturedEvent[];
  detections: Array<Detection & { detectionId: string; eventHash: string }>;
}

/** The GS1 Company Prefixes written in the EPC URNs of a document (SGTIN, SSCC, SGLN, LGTIN). */
export function companyPrefixesIn(document: unknown): Set<string> {
  const text = JSON.stringify(document) ?? '';
  return new Set(
    [...text.matchAll(/urn:epc:(?:id|class):(?:sgtin|sscc|sgln|lgtin|pgln):(\d{6,12})\./g)].map((m) => m[1] as string),
  );
}

/** Where the company prefix of a GTIN-14 or SSCC-18 ends (it starts after the indicator or extension digit). */
export function prefixLength(key: string, known: ReadonlySet<string>): number | undefined {
  for (let length = 6; length <= 12; length++) if (known.has(key.slice(1, 1 + length))) return length;
  return undefined;
}

/** An error declaration is stored under its own key: it has the hash of the event it declares (CBV 2.0 §8.9). */
const declarationKey = (hash: string) => `${hash}#error-declaration`;

/**
 * Capture: an EPCIS 2.0 document (or one event) is validated against GS1's schema, each event checked and
 * normalised, then, in one transaction, every new event is applied to custody in document order, its detections
 * recorded, and its public events (hash, GTINs, lots, commitments) written to the outbox. Accepted or refused as a
 * whole; a replayed event is a no-op answered with the original.
 */
@Injectable()
export class CaptureService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    private readonly repository: CustodyRepository,
  ) {}

  async capture(actor: AuthenticatedActor, body: unknown): Promise<CaptureResult> {
    const recorder = recorderOf(actor);
    const validated = validateEpcis(body);
    if (!validated.ok)
      throw new ProblemException(400, 'SUPPLY.INVALID_DOCUMENT', 'The EPCIS document does not match the schema', {
        detail: `${validated.errors.length} error(s); see errors (index, JSON pointer)`,
        errors: validated.errors,
      });
    const now = new Date().toISOString();
    // SPEC: GS1 TDS 2.x §6.3.1: an EPC URN writes the company prefix apart (`sgtin:<prefix>.<item>.<serial>`); a
    // Digital Link does not, so one is turned into a URN with the prefixes learnt from URNs (this document's too).
    const seen = companyPrefixesIn(body);
    const known = new Set([...(await this.repository.companyPrefixes(this.repository.client)), ...seen]);
    const normalised = normaliseEpcis({
      document: body,
      events: validated.events,
      recorder,
      now,
      companyPrefixLength: (key) => prefixLength(key, known),
    });
    if (!normalised.ok)
      throw new ProblemException(422, 'SUPPLY.INVALID_EVENTS', 'Events refused', {
        detail: `${normalised.issues.length} issue(s); nothing of the document was captured`,
        errors: normalised.issues,
      });
    const epcs = normalised.events.reduce((n, e) => n + e.custody.epcs.length + (e.custody.outputs?.length ?? 0), 0);
    if (epcs > MAX_EPCS_PER_DOCUMENT)
      throw new ProblemException(413, 'SUPPLY.DOCUMENT_TOO_LARGE', 'Too many EPCs in one document', {
        detail: `${epcs} EPCs; at most ${MAX_EPCS_PER_DOCUMENT} per document (send several documents)`,
      });
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.store.transact(this.repository.client, async (tx) => {
          const result = await this.apply(tx, recorder, normalised.events, validated.events, now);
          await this.repository.saveCompanyPrefixes(tx, [...seen]);
          return result;
        });
      } catch (error) {
        const code = (error as { code?: string }).code;
        // 40P01: two captures met in locks taken in rounds (children found after their parents): retry after a
        // moment; 53200: PostgreSQL's lock table is full. Either way, after the retries, the client may retry.
        if (code === '40P01' && attempt < DEADLOCK_RETRIES) {
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20 * attempt));
          continue;
        }
        if (code === '40P01' || code === '53200')
          throw new ProblemException(503, 'SUPPLY.BUSY', 'Too many captures on the same packs at once', {
            detail: 'retry the document in a moment',
          });
        throw error;
      }
    }
  }

  private async apply(
    tx: Sql,
    recorder: string,
    events: readonly NormalisedEvent[],
    originals: readonly unknown[],
    now: string,
  ): Promise<CaptureResult> {
    const keyOf = (e: NormalisedEvent) => (e.custody.errorDeclaration ? declarationKey(e.hash) : e.hash);
    const known = await this.repository.captured(tx, events.map(keyOf));
    const today = now.slice(0, 10);
    const units = new Map<string, UnitState>();
    const lots = new Map<string, LotState>();
    const locked = new Set<string>();
    const captured: CapturedEvent[] = [];
    const detections: CaptureResult['detections'] = [];
    const streams: NewStream[] = [];
    const outbox: OutboxMessage[] = [];
    const rows: Parameters<CustodyRepository['saveEvents']>[1][number][] = [];
    const seen = new Map<string, string>();
    const removed = new Set<string>();

    // Every pack and parent the document names (a transformation's inputs and outputs both), locked in one
    // statement before anything else: locks taken event by event, in document order, made two documents deadlock
    // (docs/perf.md, supply). Children found later (inside a loaded parent) take further locks; a deadlock there is
    // retried. An association's asset is not a custody unit and takes no lock.
    const roots = [...new Set(events.flatMap((e) => namedEpcs(e.custody)))];
    await this.repository.lock(tx, roots);
    roots.forEach((epc) => locked.add(epc));
    for (const [epc, unit] of await this.repository.units(tx, roots)) units.set(epc, unit);

    /**
     * The loaded units an event touches. Only these go to the custody model and to the lot look-up: the whole map
     * (every pack of the document) made each event cost O(packs), a document O(events × packs) (docs/perf.md).
     */
    const touchedBy = (event: CustodyEvent) =>
      new Map(
        unitsTouched(event, units).flatMap((epc) => (units.has(epc) ? [[epc, units.get(epc) as UnitState]] : [])),
      );

    /** Locks and loads what an event needs, repeating until the set is closed (children of loaded parents). */
    const load = async (event: CustodyEvent) => {
      for (;;) {
        const need = unitsTouched(event, units).filter((epc) => !locked.has(epc));
        if (need.length === 0) break;
        await this.repository.lock(tx, need);
        need.forEach((epc) => locked.add(epc));
        for (const [epc, unit] of await this.repository.units(tx, need)) if (!removed.has(epc)) units.set(epc, unit);
      }
      const keys = lotsTouched(event, touchedBy(event)).filter((key) => !lots.has(key) && !locked.has(key));
      // A capture reads a lot's recall; only a recall changes it: captures on one lot do not wait for each other.
      await this.repository.lock(tx, keys, 'lot-shared');
      keys.forEach((key) => locked.add(key));
      for (const [key, lot] of await this.repository.lots(tx, keys)) lots.set(key, lot);
    };

    for (const normal of events) {
      const key = keyOf(normal);
      const earlier = known.get(key)?.eventId ?? seen.get(key);
      if (earlier) {
        captured.push({ index: normal.index, eventHash: normal.hash, eventId: earlier, replay: true });
        continue;
      }
      const eventId = randomUUID();
      seen.set(key, eventId);
      const event: CustodyEvent = { ...normal.custody, eventId, recordTime: now };
      if (event.errorDeclaration) {
        await this.withdraw(tx, event, units, lots, locked, removed);
      } else {
        await load(event);
        // Only what the event touches goes in (the custody model copies its input maps): linear in the document.
        const touched = touchedBy(event);
        const touchedLots = new Map(
          lotsTouched(event, touched).flatMap((key) => (lots.has(key) ? [[key, lots.get(key) as LotState]] : [])),
        );
        const out = applyCustodyEvent({ event, units: touched, lots: touchedLots, today });
        for (const [epc, unit] of out.units) units.set(epc, unit);
        for (const [k, lot] of out.lots) lots.set(k, lot);
        for (const detection of out.detections) {
          const detectionId = randomUUID();
          const gtin = units.get(detection.epc)?.gtin;
          const secret = commit({ epc: detection.epc, recorder, message: detection.message });
          const data = {
            detectionId,
            ...detection,
            ...(gtin && { gtin }),
            eventHash: event.eventHash,
            recorder,
            at: now,
            ...secret,
          };
          streams.push({
            streamId: `Detection-${detectionId}`,
            streamType: 'Detection',
            event: { eventId: detectionId, type: 'SuspectProductDetected', data },
          });
          outbox.push({
            topic: PUBLIC_EVENT_TOPICS.supply,
            key: gtin ?? detection.epc,
            envelope: createEnvelope({
              type: 'supply.SuspectProductDetected',
              id: detectionId,
              time: now,
              aggregateId: `Detection-${detectionId}`,
              aggregateVersion: 1,
              data: {
                detectionId,
                code: detection.code,
                ...(gtin && { gtin }),
                eventHash: event.eventHash,
                evidence: detection.evidence,
                commitment: secret.commitment,
                detectedAt: now,
              },
            }),
          });
          detections.push({ ...detection, detectionId, eventHash: event.eventHash });
        }
      }
      const raw = originals[normal.index];
      const secret = commit({ event: raw, recorder });
      const type = event.errorDeclaration ? 'EpcisEventWithdrawn' : 'EpcisEventCaptured';
      streams.push({
        streamId: `Epcis-${key}`,
        streamType: 'EpcisEvent',
        event: {
          eventId,
          type,
          data: {
            eventHash: normal.hash,
            recorder,
            event: raw,
            custody: event,
            gtins: normal.gtins,
            lots: normal.lots,
            at: now,
            ...secret,
          },
        },
      });
      outbox.push(
        event.errorDeclaration
          ? withdrawnMessage(eventId, event, now)
          : {
              topic: PUBLIC_EVENT_TOPICS.supply,
              key: normal.gtins[0] ?? normal.hash,
              envelope: createEnvelope({
                type: 'supply.EpcisEventCaptured',
                id: eventId,
                time: now,
                aggregateId: `Epcis-${key}`,
                aggregateVersion: 1,
                data: {
                  eventHash: normal.hash,
                  eventType: event.type,
                  ...(event.bizStep && { bizStep: event.bizStep }),
                  gtins: normal.gtins,
                  lots: normal.lots.map(({ gtin, lot }) => ({ gtin, lot })),
                  commitment: secret.commitment,
                  capturedAt: now,
                },
              }),
            },
      );
      rows.push({
        eventHash: key,
        eventId,
        recorder,
        eventType: event.type,
        ...(event.bizStep && { bizStep: event.bizStep }),
        event: raw,
        custody: event,
        epcs: namedEpcs(event),
      });
      captured.push({
        index: normal.index,
        eventHash: normal.hash,
        eventId,
        replay: false,
        ...(event.errorDeclaration && { withdrawn: true }),
      });
    }

    await this.store.appendNew(tx, streams);
    await this.store.enqueue(tx, outbox);
    await this.repository.saveEvents(tx, rows);
    await this.repository.saveDetections(
      tx,
      detections.map((d) => ({
        detectionId: d.detectionId,
        code: d.code,
        epc: d.epc,
        ...(units.get(d.epc)?.gtin && { gtin: units.get(d.epc)?.gtin }),
        eventHash: d.eventHash,
        recorder,
        evidence: d.evidence,
      })),
    );
    await this.repository.deleteUnits(tx, [...removed]);
    await this.repository.saveUnits(
      tx,
      [...units.values()].filter((u) => !removed.has(u.epc)),
    );
    await this.repository.saveLots(tx, lots.values());
    return { captured, detections };
  }

  /**
   * An error declaration (EPCIS 2.0 §7.4.1.4) withdraws the declared event from custody: the units it touched, and
   * everything linked to them, are replayed from the custody log without it. The declaration is anchored too.
   */
  private async withdraw(
    tx: Sql,
    declaration: CustodyEvent,
    units: Map<string, UnitState>,
    lots: Map<string, LotState>,
    locked: Set<string>,
    removed: Set<string>,
  ): Promise<void> {
    const declared = (await this.repository.captured(tx, [declaration.eventHash])).get(declaration.eventHash);
    if (!declared || declared.withdrawnAt)
      throw new ProblemException(422, 'SUPPLY.NOTHING_TO_WITHDRAW', 'No such event to withdraw', {
        detail: `${declaration.eventHash} was ${declared ? 'withdrawn already' : 'never captured'}`,
      });
    const [row] = await tx.$queryRawUnsafe<Array<{ epcs: string[] }>>(
      'SELECT epcs FROM epcis_event WHERE event_hash = $1',
      declaration.eventHash,
    );
    let epcs = row?.epcs ?? [];
    let scope = { epcs, eventHashes: [declaration.eventHash] };
    for (;;) {
      const need = epcs.filter((epc) => !locked.has(epc));
      await this.repository.lock(tx, need);
      need.forEach((epc) => locked.add(epc));
      for (const [epc, unit] of await this.repository.units(tx, need)) units.set(epc, unit);
      scope = withdrawalScope(declaration.eventHash, units);
      const more = [
        ...scope.epcs,
        ...scope.epcs.flatMap((epc) => [units.get(epc)?.parent ?? [], units.get(epc)?.children ?? []].flat()),
      ];
      const next = [...new Set([...epcs, ...more])];
      if (next.length === epcs.length) break;
      epcs = next;
    }
    const entries = await this.repository.entries(tx, scope.epcs, scope.eventHashes);
    const scoped = new Map(scope.epcs.flatMap((epc) => (units.has(epc) ? [[epc, units.get(epc) as UnitState]] : [])));
    const keys = [...new Set([...scoped.values()].flatMap((u) => (u.gtin && u.lot ? [lotKey(u.gtin, u.lot)] : [])))];
    for (const [key, lot] of await this.repository.lots(
      tx,
      keys.filter((k) => !lots.has(k)),
    ))
      lots.set(key, lot);
    const out = withdrawEvent({ units: scoped, entries, eventHash: declaration.eventHash, lots });
    for (const epc of out.removed) {
      units.delete(epc);
      removed.add(epc);
    }
    for (const [epc, unit] of out.units) units.set(epc, unit);
    await this.repository.markWithdrawn(tx, declaration.eventHash);
  }
}

function withdrawnMessage(eventId: string, event: CustodyEvent, now: string): OutboxMessage {
  const reason = event.errorDeclaration?.reason;
  return {
    topic: PUBLIC_EVENT_TOPICS.supply,
    key: event.eventHash,
    envelope: createEnvelope({
      type: 'supply.EpcisEventWithdrawn',
      id: eventId,
      time: now,
      aggregateId: `Epcis-${declarationKey(event.eventHash)}`,
      aggregateVersion: 1,
      data: {
        eventHash: event.eventHash,
        correctiveEventHashes: event.errorDeclaration?.correctiveEventHashes ?? [],
        ...(reason && { reasonCode: reason.replace(/^.*[/:]/, '') }),
        withdrawnAt: now,
      },
    }),
  };
}
