import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { createEnvelope, PUBLIC_EVENT_TOPICS } from '@medledger/contracts';
import { EVENT_STORE, EventStore, ReceiptService, type Sql } from '@medledger/event-store';
import { ProblemException, type AuthenticatedActor } from '@medledger/platform';
import { commit } from '../capture/capture.service';
import { glnOf, recorderOf } from '../parties';
import { verifyPack, type VerifyQuery } from '../verification/domain/verify';
import {
  applyUnitAction,
  lotKey,
  quarantine,
  recallLot,
  release,
  revertDecommission,
  type CustodyRefusal,
  type LotState,
  type UnitAction,
  type UnitState,
} from './domain/custody';
import { CustodyRepository } from './infra/custody.repository';

/** DSCSA §582(b)(4)(B), (c)(4)(B), (d)(4)(B), (e)(4)(B): notify within 24 hours of the determination. */
export const NOTIFICATION_DEADLINE_MS = 24 * 60 * 60 * 1000;

const isRefusal = (value: unknown): value is CustodyRefusal =>
  typeof value === 'object' && value !== null && 'code' in value && 'message' in value;

/** Verification, traces, recalls, quarantine, reverts and notifications over the custody read model. */
@Injectable()
export class CustodyService {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore<Sql>,
    private readonly repository: CustodyRepository,
    private readonly receipts: ReceiptService,
  ) {}

  private get sql(): Sql {
    return this.repository.client;
  }

  async verify(query: VerifyQuery) {
    const { unit, lot } = await this.repository.packAndLot(this.sql, query.gtin, query.serial);
    return verifyPack(query, unit, lot, new Date().toISOString().slice(0, 10));
  }

  /** May `actor` see who held this unit? The regulator, and the parties that owned or held it. */
  private entitled(actor: AuthenticatedActor, parties: ReadonlySet<string>): boolean {
    if (actor.role === 'regulator') return true;
    const gln = glnOf(actor);
    return gln !== undefined && parties.has(gln);
  }

  private async steps(unit: UnitState) {
    const events = await this.repository.captured(
      this.sql,
      unit.history.map((h) => h.eventHash),
    );
    const sealed = await this.sealed(unit.history.map((h) => h.eventId));
    return unit.history.map((h) => {
      const stored = events.get(h.eventHash);
      return {
        eventHash: h.eventHash,
        eventId: h.eventId,
        eventType: stored?.eventType ?? null,
        bizStep: h.bizStep ?? null,
        at: h.at,
        recorder: stored?.recorder ?? null,
        withdrawn: stored?.withdrawnAt ? true : false,
        receipt: { url: `/v1/events/${h.eventId}/receipt`, ...sealed.get(h.eventId) },
      };
    });
  }

  /** Each event with where the ledger sealed it, or `sealed: false`. */
  private async sealed(eventIds: readonly string[]) {
    const at = await this.receipts.sealedAt(eventIds);
    return new Map(
      eventIds.map((id) => {
        const where = at.get(id);
        return [
          id,
          where ? { sealed: true, leafIndex: where.leafIndex, blockHeight: where.blockHeight } : { sealed: false },
        ] as const;
      }),
    );
  }

  async trace(actor: AuthenticatedActor, query: VerifyQuery) {
    const unit = await this.repository.pack(this.sql, query.gtin, query.serial);
    if (!unit)
      throw new ProblemException(404, 'SUPPLY.UNKNOWN_SERIAL', 'No such pack', {
        detail: `no pack ${query.gtin} / ${query.serial} was ever commissioned`,
      });
    const steps = await this.steps(unit);
    const parties = new Set(steps.flatMap((s) => (s.recorder ? [s.recorder] : [])).concat([unit.owner, unit.holder]));
    if (!this.entitled(actor, parties))
      throw new ProblemException(403, 'SUPPLY.NOT_A_PARTY', 'Not a party to this pack', {
        detail: 'a custody trail is shown to the regulator and the parties that held the pack',
      });
    const detections = await this.repository.detectionsOf(this.sql, [unit.epc]);
    return {
      epc: unit.epc,
      gtin: unit.gtin,
      serial: unit.serial,
      lot: unit.lot,
      expiry: unit.expiry,
      status: unit.status,
      owner: unit.owner,
      holder: unit.holder,
      parent: unit.parent ?? null,
      quarantined: unit.quarantined,
      suspect: unit.suspect,
      decommissionedAs: unit.decommissionedAs ?? null,
      transformedFrom: await this.transformedFrom(unit),
      associations: (unit.associations ?? []).map((a) => ({
        asset: a.asset,
        since: a.since.at,
        eventHash: a.since.eventHash,
        confirmedAt: a.confirmedAt ?? null,
      })),
      steps,
      detections: detections.map((d) => ({
        detectionId: d.detection_id,
        code: d.code,
        eventHash: d.event_hash,
        evidence: d.evidence,
        detectedAt: d.detected_at.toISOString(),
        receipt: `/v1/events/${d.detection_id}/receipt`,
      })),
    };
  }

  /**
   * What an output of a transformation was made from: the transformation, its transformationID and the serialised
   * inputs it named (at most MAX_EPCS_PER_DOCUMENT, the capture's cap). Inputs recorded by another event of the same
   * transformationID (EPCIS 2.0 §7.4.5 allows one transformation in several events) are not looked up: the ID is
   * shown so that its parties can find them.
   */
  private async transformedFrom(unit: UnitState) {
    const from = unit.transformedFrom;
    if (!from) return null;
    const event = (await this.repository.custodyEvents(this.sql, [from.eventHash])).get(from.eventHash);
    return {
      eventHash: from.eventHash,
      eventId: from.eventId,
      transformationId: from.transformationId ?? null,
      inputs: event?.epcs ?? [],
    };
  }

  async lotTrace(actor: AuthenticatedActor, gtin: string, lot: string) {
    const gln = glnOf(actor);
    // The regulator sees every unit; a party the units it recorded an event on, owns or holds.
    const rows = await this.sql.$queryRawUnsafe<Array<{ state: UnitState; visible: boolean }>>(
      `SELECT u.state, ($3::boolean OR u.owner = $4 OR u.holder = $4
                OR EXISTS (SELECT 1 FROM epcis_event e WHERE e.epcs @> ARRAY[u.epc] AND e.recorder = $4)) AS visible
         FROM unit u WHERE u.gtin = $1 AND u.lot = $2 ORDER BY u.epc`,
      gtin,
      lot,
      actor.role === 'regulator',
      gln ?? '',
    );
    const state = await this.repository.lot(this.sql, gtin, lot);
    const visible = rows.filter((row) => row.visible).map((row) => row.state);
    return {
      gtin,
      lot,
      recalled: state?.recalled ?? null,
      units: visible.map((u) => ({
        epc: u.epc,
        serial: u.serial,
        status: u.status,
        holder: u.holder,
        suspect: u.suspect,
        quarantined: u.quarantined,
      })),
      hidden: rows.length - visible.length,
    };
  }

  async detections(actor: AuthenticatedActor, query: VerifyQuery) {
    return (await this.trace(actor, query)).detections;
  }

  async recall(actor: AuthenticatedActor, gtin: string, lot: string, reason: string) {
    return this.store.transact(this.repository.client, async (tx) => {
      const key = lotKey(gtin, lot);
      await this.repository.lock(tx, [key], 'lot');
      const current: LotState = (await this.repository.lots(tx, [key])).get(key) ?? { gtin, lot };
      const units = await this.repository.unitsOfLot(tx, gtin, lot);
      if (actor.role !== 'regulator') {
        const [mine] = await tx.$queryRawUnsafe<Array<{ n: bigint }>>(
          `SELECT count(*) AS n FROM unit u JOIN epcis_event e ON e.event_hash = u.state->'commissionedBy'->>'eventHash'
            WHERE u.gtin = $1 AND u.lot = $2 AND e.recorder = $3`,
          gtin,
          lot,
          recorderOf(actor),
        );
        if (Number(mine?.n ?? 0) === 0)
          throw new ProblemException(403, 'SUPPLY.NOT_THE_MANUFACTURER', 'Not your lot', {
            detail: 'a lot is recalled by the party that commissioned it, or the regulator',
          });
      }
      const recallId = randomUUID();
      const now = new Date().toISOString();
      const next = recallLot(current, now, recallId);
      if (isRefusal(next)) throw new ProblemException(409, next.code, 'Refused', { detail: next.message });
      const secret = commit({ reason, by: actor.reference });
      await this.store.appendNew(tx, [
        {
          streamId: `Recall-${recallId}`,
          streamType: 'Recall',
          event: {
            eventId: recallId,
            type: 'LotRecalled',
            data: { recallId, gtin, lot, reason, by: actor.reference, at: now, ...secret },
          },
        },
      ]);
      await this.store.enqueue(tx, [
        {
          topic: PUBLIC_EVENT_TOPICS.supply,
          key: gtin,
          envelope: createEnvelope({
            type: 'supply.LotRecalled',
            id: recallId,
            time: now,
            aggregateId: `Recall-${recallId}`,
            aggregateVersion: 1,
            data: { recallId, gtin, lot, reasonCommitment: secret.commitment, recalledAt: now },
          }),
        },
      ]);
      await this.repository.saveLots(tx, [next]);
      return { recallId, gtin, lot, recalledAt: now, units: units.length };
    });
  }

  async unitAction(
    actor: AuthenticatedActor,
    kind: 'quarantine' | 'release' | 'revert',
    body: { gtin: string; serial: string; location?: string },
  ) {
    return this.store.transact(this.repository.client, async (tx) => {
      const found = await this.repository.pack(tx, body.gtin, body.serial);
      if (!found)
        throw new ProblemException(404, 'SUPPLY.UNKNOWN_SERIAL', 'No such pack', {
          detail: `${body.gtin} / ${body.serial}`,
        });
      await this.repository.lock(tx, [found.epc]);
      const unit = (await this.repository.units(tx, [found.epc])).get(found.epc) as UnitState;
      const gln = actor.role === 'regulator' ? undefined : recorderOf(actor);
      if (gln !== undefined && unit.holder !== gln)
        throw new ProblemException(403, 'SUPPLY.NOT_THE_HOLDER', 'Not your pack', {
          detail: 'only the holder (or the regulator) may quarantine, release or revert a pack',
        });
      const actionId = randomUUID();
      const now = new Date().toISOString();
      let action: UnitAction;
      let next: UnitState | CustodyRefusal;
      if (kind === 'revert') {
        const lot = unit.gtin && unit.lot ? await this.repository.lot(tx, unit.gtin, unit.lot) : undefined;
        const location = body.location ?? unit.location ?? '';
        next = revertDecommission(unit, { by: gln ?? '', at: now, location, eventId: actionId, ...(lot && { lot }) });
        action = { type: 'DecommissionReverted', epc: unit.epc, at: now, eventId: actionId, by: gln ?? '', location };
      } else {
        next = kind === 'quarantine' ? quarantine(unit, now, actionId) : release(unit, now, actionId);
        action = {
          type: kind === 'quarantine' ? 'UnitQuarantined' : 'UnitReleased',
          epc: unit.epc,
          at: now,
          eventId: actionId,
        };
      }
      if (isRefusal(next))
        throw new ProblemException(409, next.code, 'Refused', {
          detail: next.message,
          ...('reason' in next && { reason: next.reason }),
        });
      const secret = commit({ epc: unit.epc, by: actor.reference });
      await this.store.appendNew(tx, [
        {
          streamId: `UnitAction-${actionId}`,
          streamType: 'UnitAction',
          event: { eventId: actionId, type: action.type, data: { ...action, by: actor.reference, ...secret } },
        },
      ]);
      const type = {
        UnitQuarantined: 'supply.UnitQuarantined',
        UnitReleased: 'supply.UnitReleased',
        DecommissionReverted: 'supply.DecommissionReverted',
      }[action.type];
      await this.store.enqueue(tx, [
        {
          topic: PUBLIC_EVENT_TOPICS.supply,
          key: unit.gtin ?? unit.epc,
          envelope: createEnvelope({
            type,
            id: actionId,
            time: now,
            aggregateId: `UnitAction-${actionId}`,
            aggregateVersion: 1,
            data: { actionId, ...(unit.gtin && { gtin: unit.gtin }), commitment: secret.commitment, at: now },
          }),
        },
      ]);
      await this.repository.saveAction(tx, actionId, action);
      await this.repository.saveUnits(tx, [applyUnitAction(unit, action)]);
      return { actionId, epc: unit.epc, status: next.status, quarantined: next.quarantined };
    });
  }

  async notify(
    actor: AuthenticatedActor,
    body: { gtin: string; lot?: string; detectionIds: string[]; determinedAt?: string; description?: string },
  ) {
    const recorder = actor.role === 'regulator' ? (glnOf(actor) ?? actor.reference) : recorderOf(actor);
    return this.store.transact(this.repository.client, async (tx) => {
      const found = await tx.$queryRawUnsafe<Array<{ detection_id: string }>>(
        'SELECT detection_id::text AS detection_id FROM detection WHERE detection_id = ANY($1::uuid[])',
        body.detectionIds,
      );
      const missing = body.detectionIds.filter((id) => !found.some((row) => row.detection_id === id));
      if (missing.length > 0)
        throw new ProblemException(422, 'SUPPLY.UNKNOWN_DETECTION', 'Unknown detection', {
          detail: missing.join(', '),
        });
      const notificationId = randomUUID();
      const now = new Date();
      const determinedAt = body.determinedAt ?? now.toISOString();
      const deadline = new Date(Date.parse(determinedAt) + NOTIFICATION_DEADLINE_MS).toISOString();
      const secret = commit({ recorder, description: body.description ?? null });
      const data = {
        notificationId,
        gtin: body.gtin,
        ...(body.lot && { lot: body.lot }),
        detectionIds: body.detectionIds,
        determinedAt,
        deadline,
      };
      await this.store.appendNew(tx, [
        {
          streamId: `Notification-${notificationId}`,
          streamType: 'Notification',
          event: {
            eventId: notificationId,
            type: 'IllegitimateProductNotified',
            data: { ...data, recorder, description: body.description ?? null, at: now.toISOString(), ...secret },
          },
        },
      ]);
      await this.store.enqueue(tx, [
        {
          topic: PUBLIC_EVENT_TOPICS.supply,
          key: body.gtin,
          envelope: createEnvelope({
            type: 'supply.IllegitimateProductNotified',
            id: notificationId,
            time: now.toISOString(),
            aggregateId: `Notification-${notificationId}`,
            aggregateVersion: 1,
            data: { ...data, commitment: secret.commitment, notifiedAt: now.toISOString() },
          }),
        },
      ]);
      await tx.$executeRawUnsafe(
        `INSERT INTO notification (notification_id, gtin, lot, recorder, detection_ids, determined_at, deadline, notified_at)
         VALUES ($1::uuid, $2, $3, $4, $5::jsonb, $6::timestamptz, $7::timestamptz, now())`,
        notificationId,
        body.gtin,
        body.lot ?? null,
        recorder,
        JSON.stringify(body.detectionIds),
        determinedAt,
        deadline,
      );
      return {
        notificationId,
        determinedAt,
        deadline,
        notifiedAt: now.toISOString(),
        onTime: now.toISOString() <= deadline,
      };
    });
  }

  async notifications() {
    const rows = await this.sql.$queryRawUnsafe<
      Array<{
        notification_id: string;
        gtin: string;
        lot: string | null;
        determined_at: Date;
        deadline: Date;
        notified_at: Date;
      }>
    >(
      `SELECT notification_id::text AS notification_id, gtin, lot, determined_at, deadline, notified_at
         FROM notification ORDER BY notified_at DESC LIMIT 500`,
    );
    return rows.map((r) => ({
      notificationId: r.notification_id,
      gtin: r.gtin,
      lot: r.lot,
      determinedAt: r.determined_at.toISOString(),
      deadline: r.deadline.toISOString(),
      notifiedAt: r.notified_at.toISOString(),
      onTime: r.notified_at <= r.deadline,
    }));
  }
}
