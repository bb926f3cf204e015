/**
 * Custody of serialised drugs (pure): who owns and holds each pack, case and pallet, what became of it, and what
 * in an event stream looks counterfeit or diverted.
 *
 * The service normalises each captured EPCIS event into a `CustodyEvent`, loads the units it touches
 * (`unitsTouched`) and their lots (`lotsTouched`), and calls `applyCustodyEvent`. A detection never blocks an
 * event: EPCIS events are facts reported by trading partners, so the event is recorded, the units it touched carry
 * it in their history, and they become `suspect`. The service's own decisions (quarantine, release, a revert of a
 * decommissioning under EU FMD) are commands that may be refused; they are recorded as `UnitAction`s so that a
 * replay (`replayUnits`, `withdrawEvent`) rebuilds the same state.
 *
 * Decisions for the two event types that are not about one list of units:
 * - TransformationEvent (EPCIS 2.0 §7.4.5: repackaging, relabelling, kitting, compounding) consumes its inputs and
 *   creates its outputs, whatever its bizStep. Each serialised input (`epcs`, from inputEPCList), and everything
 *   packed in it, is decommissioned as `transformed` with the transformation as `decommissionedEvent`; the checks
 *   are those of a decommissioning by the holder: UNKNOWN_SERIAL, AFTER_DECOMMISSION (a dispensed or decommissioned
 *   input; a pack its recorder supplies in parts may be used further, as for dispensing), TRANSFORMER_NOT_HOLDER,
 *   EXPIRED / RECALLED / QUARANTINED (consuming such stock is not the remedy that destroying it is). Each serialised
 *   output (`outputs`) is commissioned as a commissioning does (owner = holder = recorder, its location, lot and
 *   expiry from ilmd, DUPLICATE_COMMISSION, BAD_IDENTIFIER) and keeps `transformedFrom`: the event and its
 *   transformationID, not the inputs (they are in the stored event, so a unit stays bounded however many inputs
 *   there were). Outputs are judged on their own: a finding on an input stays on the input. Class-level inputs and
 *   outputs (quantity lists) are not custody's: a transformation naming only quantities changes nothing here.
 * - AssociationEvent (EPCIS 2.0 §7.4.6) links an asset (`asset`, its parentID: a data logger, sensor, returnable
 *   container; any URI) to units (`epcs`). It changes no ownership, holder or status, whatever its bizStep: ADD
 *   and OBSERVE put the asset among the unit's `associations` (OBSERVE confirms, and records one custody had not
 *   seen), DELETE takes it out. Only the units named are associated (a logger on a pallet is on the pallet; its
 *   packs reach it through their parent). Checks as for an observation: UNKNOWN_SERIAL, AFTER_DECOMMISSION,
 *   EXPIRED / RECALLED / QUARANTINED.
 *
 * SPEC: GS1 EPCIS 2.0 §7.4 (event types and the meaning of action ADD / OBSERVE / DELETE), GS1 CBV 2.0 §7.2
 * (business steps), §7.3 (dispositions), §8.9 (event hash ID, which names events in evidence). DSCSA (FD&C Act
 * §582, 21 U.S.C. 360eee-1) for suspect product; Commission Delegated Regulation (EU) 2016/161 (FMD) for
 * decommissioning and its revert (Art. 13).
 */
import { parseSgtinUri } from '../../identifiers/domain/epc-uri';
import { withCheckDigit } from '../../identifiers/domain/check-digit';

// ---------------------------------------------------------------------------------------------------------------
// Types

/** An EPCIS event reduced to what custody needs (the service normalises captured JSON-LD into this). */
export interface CustodyEvent {
  /** `ni:///sha-256;…?ver=CBV2.0` (CBV 2.0 §8.9). An error declaration has the hash of the event it declares. */
  eventHash: string;
  /** The service's id for the event (uuid), for evidence and receipts. */
  eventId: string;
  type: 'ObjectEvent' | 'AggregationEvent' | 'TransactionEvent' | 'TransformationEvent' | 'AssociationEvent';
  action?: 'ADD' | 'OBSERVE' | 'DELETE';
  /** CBV short name: commissioning, packing, unpacking, shipping, receiving, dispensing, decommissioning, … */
  bizStep?: string;
  /** CBV 2.0 short name: active, in_transit, dispensed, partially_dispensed, destroyed, recalled, stolen, … */
  disposition?: string;
  /** ISO 8601, when it happened (as the recorder says). */
  eventTime: string;
  /**
   * ISO 8601, when the service captured it (EPCIS 2.0 §7.4.1 recordTime). A replay judges expiry and recalls as of
   * this moment, not as of the day it runs; absent, the event time stands in.
   */
  recordTime?: string;
  /** GLN-13 of the party recording it (from its token). */
  recorder: string;
  /**
   * SGTIN (or SSCC) URNs affected: epcList, childEPCs of an AggregationEvent or AssociationEvent, inputEPCList of
   * a TransformationEvent (the units it consumes).
   */
  epcs: string[];
  /** parentID of an AggregationEvent. */
  parent?: string;
  /** outputEPCList of a TransformationEvent: the SGTIN (or SSCC) URNs it creates. */
  outputs?: string[];
  /** transformationID of a TransformationEvent (EPCIS 2.0 §7.4.5): ties the events of one transformation together. */
  transformationId?: string;
  /** parentID of an AssociationEvent, as written: the asset (GIAI, GRAI, …), not a custody unit. */
  asset?: string;
  /** From ilmd on commissioning (and of a TransformationEvent's outputs). */
  lot?: string;
  /** From ilmd on commissioning (and of a TransformationEvent's outputs), YYYY-MM-DD. */
  expiry?: string;
  /** GLN-13s from sourceList (owning_party / possessing_party). */
  source?: { owning?: string; possessing?: string };
  destination?: { owning?: string; possessing?: string };
  /** GLN-13 of bizLocation (or readPoint). */
  location?: string;
  errorDeclaration?: { declarationTime: string; reason?: string; correctiveEventHashes: string[] };
}

/** A pointer to an EPCIS event, as evidence. */
export interface EventRef {
  eventHash: string;
  eventId: string;
}

export type UnitStatus = 'commissioned' | 'packed' | 'in-transit' | 'received' | 'dispensed' | 'decommissioned';

export interface UnitState {
  epc: string;
  /** A pack or homogeneous case (SGTIN) or a logistic unit (SSCC). */
  kind: 'sgtin' | 'sscc';
  /** GTIN-14, for an SGTIN. */
  gtin?: string;
  /** The AI 21 serial of an SGTIN; the SSCC-18 of a logistic unit. */
  serial: string;
  lot?: string;
  /** YYYY-MM-DD, the last day of use. */
  expiry?: string;
  status: UnitStatus;
  /**
   * The disposition of the decommissioning (destroyed, stolen, …), `dispensed` / `partially_dispensed`, or
   * `transformed` (TRANSFORMED: consumed by a TransformationEvent).
   */
  decommissionedAs?: string;
  decommissionedAt?: string;
  decommissionedBy?: string;
  decommissionedLocation?: string;
  /** The dispensing, decommissioning or transformation event. */
  decommissionedEvent?: EventRef;
  /** What the unit was before it was decommissioned: a revert (FMD Art. 13) goes back to it. */
  statusBeforeDecommission?: UnitStatus;
  /** GLN-13 of the owning party. */
  owner: string;
  /** GLN-13 of the possessing party. */
  holder: string;
  /** The event that made `holder` the holder: evidence when someone else ships the unit. */
  heldSince: EventRef;
  /**
   * The commissioning event (for an SSCC first seen as a parent: the packing that created it; for an output of a
   * transformation: the transformation).
   */
  commissionedBy: EventRef;
  /** For a unit a TransformationEvent created: that event and its transformationID (its inputs are the event's). */
  transformedFrom?: EventRef & { transformationId?: string };
  /** The assets associated with the unit now (AssociationEvent), oldest first, at most MAX_ASSOCIATIONS. */
  associations?: Association[];
  location?: string;
  parent?: string;
  /** The packing that put it in `parent`. */
  packedBy?: EventRef;
  children: string[];
  pendingShipment?: EventRef & { to?: string; owner?: string };
  quarantined: boolean;
  quarantine?: { at: string; eventId: string };
  suspect: boolean;
  /** The EPCIS events that touched the unit, in the order they were applied. */
  history: Array<EventRef & { bizStep?: string; at: string }>;
}

/** An asset associated with a unit (EPCIS 2.0 §7.4.6). */
export interface Association {
  /** The AssociationEvent's parentID, as written. */
  asset: string;
  /** The ADD (or first OBSERVE) that associated it, and its event time. */
  since: EventRef & { at: string };
  /** The event time of the latest OBSERVE that confirmed it. */
  confirmedAt?: string;
}

export interface LotState {
  gtin: string;
  lot: string;
  recalled?: { at: string; eventId: string };
}

export const DetectionCode = {
  UNKNOWN_SERIAL: 'SUPPLY.UNKNOWN_SERIAL',
  DUPLICATE_COMMISSION: 'SUPPLY.DUPLICATE_COMMISSION',
  AFTER_DECOMMISSION: 'SUPPLY.AFTER_DECOMMISSION',
  DISPENSED_TWICE: 'SUPPLY.DISPENSED_TWICE',
  SHIPPER_NOT_HOLDER: 'SUPPLY.SHIPPER_NOT_HOLDER',
  /** A TransformationEvent consumed a unit its recorder does not hold (SHIPPER_NOT_HOLDER's twin for inputs). */
  TRANSFORMER_NOT_HOLDER: 'SUPPLY.TRANSFORMER_NOT_HOLDER',
  RECEIPT_WITHOUT_SHIPMENT: 'SUPPLY.RECEIPT_WITHOUT_SHIPMENT',
  PACKED_TWICE: 'SUPPLY.PACKED_TWICE',
  EXPIRED: 'SUPPLY.EXPIRED',
  RECALLED: 'SUPPLY.RECALLED',
  QUARANTINED: 'SUPPLY.QUARANTINED',
  /** Commissioning of an EPC that is neither a well-formed SGTIN nor SSCC: nothing is created. */
  BAD_IDENTIFIER: 'SUPPLY.BAD_IDENTIFIER',
} as const;
export type DetectionCode = (typeof DetectionCode)[keyof typeof DetectionCode];

export interface Evidence {
  /** Absent for the service's own facts (a recall, a quarantine), which are not EPCIS events. */
  eventHash?: string;
  eventId: string;
  role: 'this' | 'conflicting';
}

export interface Detection {
  code: DetectionCode;
  epc: string;
  message: string;
  evidence: Evidence[];
}

/** The service's own decisions about a unit, recorded so that a replay comes to the same state. */
export type UnitAction =
  | { type: 'UnitQuarantined'; epc: string; at: string; eventId: string }
  | { type: 'UnitReleased'; epc: string; at: string; eventId: string }
  | { type: 'DecommissionReverted'; epc: string; at: string; eventId: string; by: string; location: string };

export const CustodyRefusalCode = {
  REVERT_REFUSED: 'SUPPLY.REVERT_REFUSED',
  ALREADY_QUARANTINED: 'SUPPLY.ALREADY_QUARANTINED',
  NOT_QUARANTINED: 'SUPPLY.NOT_QUARANTINED',
  ALREADY_RECALLED: 'SUPPLY.ALREADY_RECALLED',
} as const;
export type CustodyRefusalCode = (typeof CustodyRefusalCode)[keyof typeof CustodyRefusalCode];

/**
 * Why FMD Art. 13 forbids a revert; one per condition of Art. 13(1), plus "there is nothing to revert" and
 * "it was consumed by a transformation" (its goods live on in the outputs).
 */
export type RevertRefusalReason =
  | 'not-decommissioned'
  | 'other-party'
  | 'other-premises'
  | 'too-late'
  | 'expired'
  | 'recalled'
  | 'destroyed'
  | 'stolen'
  | 'supplied'
  | 'transformed';

export type CustodyRefusal =
  | { code: typeof CustodyRefusalCode.REVERT_REFUSED; reason: RevertRefusalReason; message: string }
  | {
      code: Exclude<CustodyRefusalCode, typeof CustodyRefusalCode.REVERT_REFUSED>;
      message: string;
    };

// ---------------------------------------------------------------------------------------------------------------
// Vocabulary

// SPEC: EPCIS 2.0 §7.4.2: an ObjectEvent with action ADD commissions its EPCs; with DELETE decommissions them.
// SPEC: CBV 2.0 §7.2: bizStep `decommissioning` (disposition inactive) and `destroying` (disposition destroyed).
const DECOMMISSIONING_STEPS = new Set(['decommissioning', 'destroying']);
// SPEC: CBV 2.0 §7.3: dispositions that say the event itself deals with the unit's expiry or recall (a return of
// recalled stock, the destruction of expired stock): such an event is the remedy, not a violation.
const ACKNOWLEDGES_EXPIRY = new Set(['expired']);
const ACKNOWLEDGES_RECALL = new Set(['recalled']);
// SPEC: CBV 2.0 §7.3 dispensed / partially_dispensed. FMD Art. 28: a pack supplied in parts is decommissioned when
// first opened, so further partial dispensing from it by the same party is its normal life, not a second supply.
const PARTIALLY_DISPENSED = 'partially_dispensed';
/** `decommissionedAs` of a TransformationEvent's input: not a CBV disposition, so it cannot be confused with one. */
export const TRANSFORMED = 'transformed';

/**
 * Assets kept on one unit at once. A pack, case or pallet carries a few at a time (a data logger, a returnable
 * container, a tag): 8 leaves room without letting a stream of ADDs grow a unit's state without bound. Beyond it
 * the oldest association leaves the state (its events stay in the unit's history).
 */
export const MAX_ASSOCIATIONS = 8;

/**
 * FMD Art. 13(1)(b): "not more than 10 days after the unique identifier was decommissioned".
 * Counted in elapsed time from the decommissioning event time, inclusive of the tenth day's end to the minute.
 */
export const REVERT_WINDOW_MS = 10 * 24 * 60 * 60 * 1000;

type Effect =
  | 'commission'
  | 'pack'
  | 'unpack'
  | 'ship'
  | 'receive'
  | 'dispense'
  | 'decommission'
  | 'observe'
  | 'transform'
  | 'associate'
  | 'dissociate';

function effectOf(event: CustodyEvent): Effect {
  // SPEC: EPCIS 2.0 §7.4.5 and §7.4.6: what these two do is their type's; a bizStep on them does not change it.
  if (event.type === 'TransformationEvent') return 'transform';
  if (event.type === 'AssociationEvent') return event.action === 'DELETE' ? 'dissociate' : 'associate';
  if (event.type === 'AggregationEvent' && event.action === 'ADD') return 'pack';
  if (event.type === 'AggregationEvent' && event.action === 'DELETE') return 'unpack';
  if (event.type === 'ObjectEvent' && event.action === 'ADD') return 'commission';
  if (event.type === 'ObjectEvent' && event.action === 'DELETE') return 'decommission';
  switch (event.bizStep) {
    case 'commissioning':
      return event.type === 'ObjectEvent' ? 'commission' : 'observe';
    case 'shipping':
      return 'ship';
    case 'receiving':
      return 'receive';
    case 'dispensing':
      return 'dispense';
    case undefined:
      return 'observe';
    default:
      return DECOMMISSIONING_STEPS.has(event.bizStep) ? 'decommission' : 'observe';
  }
}

/** True when the event withdraws an earlier one (EPCIS 2.0 §7.4.1.4 error declaration) instead of adding custody. */
export function isErrorDeclaration(event: CustodyEvent): boolean {
  return event.errorDeclaration !== undefined;
}

/** The key of a lot in the `lots` map: the GS1 element string `(01)GTIN(10)LOT`. */
export function lotKey(gtin: string, lot: string): string {
  return `(01)${gtin}(10)${lot}`;
}

const SSCC_URN = /^urn:epc:id:sscc:(\d{6,12})\.(\d+)$/;
// SPEC: TDS 2.x §6.3.2: SSCC-18 = extension digit, company prefix, serial reference, check digit (17 + 1 digits).
const SSCC_BODY_DIGITS = 17;

function identify(
  epc: string,
): { kind: 'sgtin'; gtin: string; serial: string } | { kind: 'sscc'; serial: string } | string {
  const sgtin = parseSgtinUri(epc);
  if (sgtin.ok) return { kind: 'sgtin', gtin: sgtin.value.gtin, serial: sgtin.value.serial };
  const m = SSCC_URN.exec(epc);
  if (m) {
    const [prefix, reference] = [m[1] ?? '', m[2] ?? ''];
    if (prefix.length + reference.length === SSCC_BODY_DIGITS) {
      return { kind: 'sscc', serial: withCheckDigit(`${reference.charAt(0)}${prefix}${reference.slice(1)}`) };
    }
  }
  return epc.startsWith('urn:epc:id:sgtin:') ? sgtin.reason : `not an SGTIN or SSCC URI: '${epc}'`;
}

const dayOf = (iso: string): string => new Date(iso).toISOString().slice(0, 10);
const refOf = (event: CustodyEvent): EventRef => ({ eventHash: event.eventHash, eventId: event.eventId });
const isTerminal = (unit: UnitState): boolean => unit.status === 'dispensed' || unit.status === 'decommissioned';
const unique = (values: string[]): string[] => [...new Set(values)];

// ---------------------------------------------------------------------------------------------------------------
// Loading

/** Every unit below `epc` (children, their children, …) that `known` holds. */
export function descendantsOf(epc: string, known: ReadonlyMap<string, UnitState>): string[] {
  const out: string[] = [];
  const seen = new Set([epc]);
  const queue = [...(known.get(epc)?.children ?? [])];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (seen.has(next)) continue;
    seen.add(next);
    out.push(next);
    queue.push(...(known.get(next)?.children ?? []));
  }
  return out;
}

/** The custody units an event names: its parent, epcs and outputs (an AssociationEvent's asset is not one). */
export function namedEpcs(event: Pick<CustodyEvent, 'parent' | 'epcs' | 'outputs'>): string[] {
  return unique([...(event.parent ? [event.parent] : []), ...event.epcs, ...(event.outputs ?? [])]);
}

/**
 * Which stored units an event needs: its epcs, parent and outputs, the parents they are in now (a packing moves
 * them, an unpacking updates them) and, for units already known, everything packed inside them. Children are only
 * known once their parent is loaded: call again with what was loaded until the list stops growing. An association
 * touches the units it names only.
 */
export function unitsTouched(event: CustodyEvent, known: ReadonlyMap<string, UnitState>): string[] {
  const roots = namedEpcs(event);
  const effect = effectOf(event);
  if (effect === 'associate' || effect === 'dissociate') return roots;
  const currentParents = roots.flatMap((epc) => known.get(epc)?.parent ?? []);
  return unique([...roots, ...currentParents, ...roots.flatMap((epc) => descendantsOf(epc, known))]);
}

/** Which lots an event needs: those of the units it touches and the one a commissioning (or transformation) names. */
export function lotsTouched(event: CustodyEvent, units: ReadonlyMap<string, UnitState>): string[] {
  const keys = [...units.values()].flatMap((u) => (u.gtin && u.lot ? [lotKey(u.gtin, u.lot)] : []));
  const effect = effectOf(event);
  const created = effect === 'commission' ? event.epcs : effect === 'transform' ? (event.outputs ?? []) : [];
  if (event.lot) {
    for (const epc of created) {
      const id = identify(epc);
      if (typeof id !== 'string' && id.kind === 'sgtin') keys.push(lotKey(id.gtin, event.lot));
    }
  }
  return unique(keys);
}

// ---------------------------------------------------------------------------------------------------------------
// Applying an EPCIS event

interface Working {
  event: CustodyEvent;
  units: Map<string, UnitState>;
  lots: Map<string, LotState>;
  today: string;
  detections: Detection[];
  /** Units that got a detection from this event. */
  flagged: Set<string>;
}

function detect(w: Working, code: DetectionCode, epc: string, message: string, conflicting: Evidence[] = []): void {
  w.detections.push({
    code,
    epc,
    message,
    evidence: [
      { ...refOf(w.event), role: 'this' },
      ...conflicting.filter((e) => e.eventHash !== w.event.eventHash || e.eventId !== w.event.eventId),
    ],
  });
  w.flagged.add(epc);
}

const conflicting = (ref: { eventHash?: string; eventId: string } | undefined): Evidence[] =>
  ref ? [{ ...(ref.eventHash ? { eventHash: ref.eventHash } : {}), eventId: ref.eventId, role: 'conflicting' }] : [];

/**
 * The units (and lots) an event touches, before; returns them after, and what it detected. Pure. A detection
 * never blocks the event: the event is recorded and flagged (the unit becomes suspect). `today` (YYYY-MM-DD) is the
 * day the service records the event, against which expiry and recalls are judged. An error declaration changes
 * nothing here: the service withdraws the declared event with `withdrawEvent`.
 */
export function applyCustodyEvent(input: {
  event: CustodyEvent;
  units: ReadonlyMap<string, UnitState>;
  lots: ReadonlyMap<string, LotState>;
  today: string;
}): { units: Map<string, UnitState>; lots: Map<string, LotState>; detections: Detection[] } {
  const w: Working = {
    event: input.event,
    units: new Map(input.units),
    lots: new Map(input.lots),
    today: input.today,
    detections: [],
    flagged: new Set(),
  };
  if (isErrorDeclaration(w.event)) return { units: w.units, lots: w.lots, detections: [] };
  // SPEC: CBV 2.0 §8.9: equal hashes name the same event. Kafka delivers at least once; a second delivery of an
  // event already in a unit's history changes nothing and detects nothing.
  const named = namedEpcs(w.event);
  if (named.some((epc) => w.units.get(epc)?.history.some((h) => h.eventHash === w.event.eventHash)))
    return { units: w.units, lots: w.lots, detections: [] };
  const effect = effectOf(w.event);
  const touched = new Set<string>();

  if (effect === 'commission') {
    for (const epc of unique(w.event.epcs)) commission(w, epc, touched);
  } else if (effect === 'pack' || effect === 'unpack') {
    aggregate(w, effect, touched);
  } else if (effect === 'associate' || effect === 'dissociate') {
    for (const epc of unique(w.event.epcs)) {
      const unit = admit(w, effect, epc);
      if (w.units.has(epc)) touched.add(epc);
      if (unit) w.units.set(epc, associate(w, effect, unit));
    }
  } else {
    const roots = unique([...(w.event.parent ? [w.event.parent] : []), ...w.event.epcs]);
    const targets = unique([...roots, ...roots.flatMap((epc) => descendantsOf(epc, w.units))]);
    for (const epc of targets) {
      const unit = admit(w, effect, epc);
      if (w.units.has(epc)) touched.add(epc);
      if (!unit) continue;
      w.units.set(epc, evolveUnit(w, effect, unit));
    }
    // SPEC: EPCIS 2.0 §7.4.5: the outputs come into being after the inputs are consumed.
    if (effect === 'transform') {
      const transformedFrom = {
        ...refOf(w.event),
        ...(w.event.transformationId !== undefined ? { transformationId: w.event.transformationId } : {}),
      };
      for (const epc of unique(w.event.outputs ?? [])) commission(w, epc, touched, { transformedFrom });
    }
  }

  for (const epc of touched) {
    const unit = w.units.get(epc);
    if (!unit) continue;
    w.units.set(epc, {
      ...unit,
      suspect: unit.suspect || w.flagged.has(epc),
      history: [...unit.history, { ...refOf(w.event), bizStep: w.event.bizStep, at: w.event.eventTime }],
    });
  }
  return { units: w.units, lots: w.lots, detections: w.detections };
}

/** A unit as the event that creates it makes it: owned and held by the recorder, at its location. */
function newUnit(epc: string, id: Exclude<ReturnType<typeof identify>, string>, event: CustodyEvent): UnitState {
  return {
    epc,
    ...(id.kind === 'sgtin' ? { kind: 'sgtin', gtin: id.gtin } : { kind: 'sscc' }),
    serial: id.serial,
    status: 'commissioned',
    owner: event.recorder,
    holder: event.recorder,
    heldSince: refOf(event),
    commissionedBy: refOf(event),
    ...(event.location !== undefined ? { location: event.location } : {}),
    children: [],
    quarantined: false,
    suspect: false,
    history: [],
  };
}

function commission(w: Working, epc: string, touched: Set<string>, more: Partial<UnitState> = {}): void {
  const { event } = w;
  const existing = w.units.get(epc);
  if (existing) {
    // SPEC: DSCSA §582(h)(2)/(i)(1)(C) ("suspect product", incl. counterfeit): a serial commissioned twice means one
    // of the two packs is not what its identifier says.
    detect(w, DetectionCode.DUPLICATE_COMMISSION, epc, `${epc} was commissioned already`, [
      ...conflicting(existing.commissionedBy),
    ]);
    touched.add(epc);
    return;
  }
  const id = identify(epc);
  if (typeof id === 'string') {
    detect(w, DetectionCode.BAD_IDENTIFIER, epc, id);
    return;
  }
  const unit: UnitState = {
    ...newUnit(epc, id, event),
    ...(event.lot !== undefined ? { lot: event.lot } : {}),
    ...(event.expiry !== undefined ? { expiry: event.expiry } : {}),
    ...more,
  };
  if (unit.gtin && unit.lot && !w.lots.has(lotKey(unit.gtin, unit.lot))) {
    w.lots.set(lotKey(unit.gtin, unit.lot), { gtin: unit.gtin, lot: unit.lot });
  }
  w.units.set(epc, unit);
  touched.add(epc);
  checkStanding(w, 'commission', unit);
}

/**
 * The checks every event passes on every unit it touches; returns the unit when the event's effect applies to it.
 * Unknown units are not created (there is nothing to attach custody to); terminal units keep their end state.
 */
function admit(w: Working, effect: Effect, epc: string): UnitState | undefined {
  const unit = w.units.get(epc);
  if (!unit) {
    // SPEC: DSCSA §582(c)(4)(A)/(d)(4)(A): a product identifier the manufacturer never issued is suspect.
    // SPEC: FMD Art. 11 (verification against the repositories): an unknown identifier is a potential falsification.
    detect(w, DetectionCode.UNKNOWN_SERIAL, epc, `${epc} was never commissioned`);
    return undefined;
  }
  if (isTerminal(unit)) {
    // A pack supplied in parts may be used further by the party that opened it: dispensed again, or compounded
    // (a transformation) into something else.
    const partial =
      unit.status === 'dispensed' &&
      (effect === 'dispense' || effect === 'transform') &&
      unit.decommissionedAs === PARTIALLY_DISPENSED &&
      unit.decommissionedBy === w.event.recorder;
    if (partial) return unit;
    if (unit.status === 'dispensed' && effect === 'dispense') {
      detect(
        w,
        DetectionCode.DISPENSED_TWICE,
        epc,
        `${epc} was dispensed already`,
        conflicting(unit.decommissionedEvent),
      );
    } else {
      // SPEC: FMD Art. 12 / Art. 24: a decommissioned identifier cannot be on a product in the supply chain.
      detect(
        w,
        DetectionCode.AFTER_DECOMMISSION,
        epc,
        `${epc} was ${unit.decommissionedAs ?? unit.status} on ${unit.decommissionedAt ?? '?'}`,
        conflicting(unit.decommissionedEvent),
      );
    }
    return undefined;
  }
  checkStanding(w, effect, unit);
  return unit;
}

/** Expired, recalled, quarantined: recorded, flagged, never blocked. Decommissioning such a unit is the remedy. */
function checkStanding(w: Working, effect: Effect, unit: UnitState): void {
  if (effect === 'decommission') return;
  const disposition = w.event.disposition ?? '';
  // SPEC: FMD Art. 10(c) / Art. 24(b) (expired packs are not supplied); DSCSA §582 treats them as unfit.
  if (unit.expiry && unit.expiry < w.today && !ACKNOWLEDGES_EXPIRY.has(disposition)) {
    detect(
      w,
      DetectionCode.EXPIRED,
      unit.epc,
      `${unit.epc} expired on ${unit.expiry}`,
      conflicting(unit.commissionedBy),
    );
  }
  const lot = unit.gtin && unit.lot ? w.lots.get(lotKey(unit.gtin, unit.lot)) : undefined;
  // SPEC: DSCSA §582 "illegitimate product" and FMD Art. 24(c): a recalled pack moving on is a failure of the recall.
  if (lot?.recalled && dayOf(lot.recalled.at) <= w.today && !ACKNOWLEDGES_RECALL.has(disposition)) {
    detect(
      w,
      DetectionCode.RECALLED,
      unit.epc,
      `lot ${lot.lot} of ${lot.gtin} was recalled`,
      conflicting(lot.recalled),
    );
  }
  // SPEC: DSCSA §582(b)(4)(A)(i)(I) etc.: suspect product is quarantined while it is investigated.
  if (unit.quarantined) {
    detect(w, DetectionCode.QUARANTINED, unit.epc, `${unit.epc} is quarantined`, conflicting(unit.quarantine));
  }
}

function evolveUnit(w: Working, effect: Effect, unit: UnitState): UnitState {
  const { event } = w;
  const located = event.location !== undefined ? { ...unit, location: event.location } : unit;
  switch (effect) {
    case 'ship': {
      // SPEC: CBV 2.0 §7.2 shipping ("the object leaves the custody of the shipper"); DSCSA §582: only the party
      // with the product can transfer it. The recorder is authenticated, so it is the shipper.
      if (unit.holder !== event.recorder) {
        detect(
          w,
          DetectionCode.SHIPPER_NOT_HOLDER,
          unit.epc,
          `${event.recorder} shipped ${unit.epc}, held by ${unit.holder}`,
          conflicting(unit.heldSince),
        );
      }
      const to = event.destination?.possessing ?? event.destination?.owning;
      const owner = event.destination?.owning;
      return {
        ...located,
        status: 'in-transit',
        pendingShipment: {
          ...refOf(event),
          ...(to !== undefined ? { to } : {}),
          ...(owner !== undefined ? { owner } : {}),
        },
      };
    }
    case 'receive': {
      const pending = unit.pendingShipment;
      const matches = pending !== undefined && (pending.to === undefined || pending.to === event.recorder);
      if (!matches) {
        detect(
          w,
          DetectionCode.RECEIPT_WITHOUT_SHIPMENT,
          unit.epc,
          pending
            ? `${event.recorder} received ${unit.epc}, shipped to ${pending.to ?? '?'}`
            : `${event.recorder} received ${unit.epc}, which was not shipped`,
          conflicting(pending),
        );
      }
      // The recorder has the pack in hand whatever the paperwork says: possession follows it, ownership only
      // follows a matching shipment (CBV 2.0 §7.5 owning_party).
      const { pendingShipment: _cleared, ...rest } = located;
      return {
        ...rest,
        status: 'received',
        holder: event.recorder,
        heldSince: refOf(event),
        owner: matches && pending.owner !== undefined ? pending.owner : unit.owner,
      };
    }
    case 'transform':
      // SPEC: CBV 2.0 §7.2 (repackaging, …) and DSCSA §582: only the party with the product can consume it; an input
      // consumed by another party is a second physical pack, or a diversion.
      if (unit.holder !== event.recorder) {
        detect(
          w,
          DetectionCode.TRANSFORMER_NOT_HOLDER,
          unit.epc,
          `${event.recorder} consumed ${unit.epc} in a transformation, held by ${unit.holder}`,
          conflicting(unit.heldSince),
        );
      }
      return decommissioned(w, unit, located, TRANSFORMED, 'decommissioned');
    case 'dispense':
    case 'decommission': {
      const as =
        effect === 'dispense'
          ? event.disposition === PARTIALLY_DISPENSED
            ? PARTIALLY_DISPENSED
            : 'dispensed'
          : (event.disposition ?? (event.bizStep === 'destroying' ? 'destroyed' : 'inactive'));
      return decommissioned(w, unit, located, as, effect === 'dispense' ? 'dispensed' : 'decommissioned');
    }
    case 'observe':
    case 'commission':
    case 'pack':
    case 'unpack':
    case 'associate':
    case 'dissociate':
      return located;
  }
}

/** The end of a unit's life (dispensed, decommissioned, consumed); a unit already at its end keeps it. */
function decommissioned(
  w: Working,
  unit: UnitState,
  located: UnitState,
  as: string,
  status: 'dispensed' | 'decommissioned',
): UnitState {
  const { event } = w;
  if (isTerminal(unit)) return located; // a further partial dispensing (or compounding) of an opened pack
  const { pendingShipment: _dropped, ...rest } = located;
  return {
    ...rest,
    status,
    decommissionedAs: as,
    decommissionedAt: event.eventTime,
    decommissionedBy: event.recorder,
    ...(event.location !== undefined ? { decommissionedLocation: event.location } : {}),
    decommissionedEvent: refOf(event),
    statusBeforeDecommission: unit.status,
  };
}

/**
 * An association's effect on one unit (EPCIS 2.0 §7.4.6): ADD and OBSERVE make the asset current (OBSERVE refreshes
 * `confirmedAt`), DELETE removes it; ownership, holder, status and location are the unit's as before, since an
 * asset can be fitted or read anywhere and says nothing about who has the goods.
 */
function associate(w: Working, effect: 'associate' | 'dissociate', unit: UnitState): UnitState {
  const { event } = w;
  const asset = event.asset;
  if (asset === undefined) return unit; // the schema requires parentID on an AssociationEvent
  const current = unit.associations ?? [];
  const others = current.filter((a) => a.asset !== asset);
  let next: Association[];
  if (effect === 'dissociate') {
    next = others;
  } else {
    const existing = current.find((a) => a.asset === asset);
    const confirmed = event.action === 'OBSERVE' ? { confirmedAt: event.eventTime } : {};
    const association: Association = existing
      ? { ...existing, ...confirmed }
      : { asset, since: { ...refOf(event), at: event.eventTime }, ...confirmed };
    next = existing
      ? current.map((a) => (a.asset === asset ? association : a))
      : [...others, association].slice(-MAX_ASSOCIATIONS);
  }
  const { associations: _previous, ...rest } = unit;
  return next.length > 0 ? { ...rest, associations: next } : rest;
}

function aggregate(w: Working, effect: 'pack' | 'unpack', touched: Set<string>): void {
  const { event } = w;
  const parentEpc = event.parent;
  if (parentEpc === undefined) return; // EPCIS 2.0 §7.4.3: ADD and DELETE carry a parentID; the schema requires it.
  let parent = w.units.get(parentEpc);
  if (!parent && effect === 'pack') {
    // SPEC: CBV 2.0 §7.2 packing: an SSCC is assigned when the logistic unit is built, so the packing creates it.
    // A case with an SGTIN should have been commissioned: it is created (to keep its packs together) but suspect.
    const id = identify(parentEpc);
    if (typeof id === 'string') {
      detect(w, DetectionCode.BAD_IDENTIFIER, parentEpc, id);
    } else {
      if (id.kind === 'sgtin')
        detect(w, DetectionCode.UNKNOWN_SERIAL, parentEpc, `${parentEpc} was never commissioned`);
      parent = newUnit(parentEpc, id, event);
      w.units.set(parentEpc, parent);
      touched.add(parentEpc);
    }
  } else if (parent) {
    parent = admit(w, effect, parentEpc);
    touched.add(parentEpc);
  } else {
    admit(w, effect, parentEpc); // an unpacking of an unknown parent: UNKNOWN_SERIAL
  }
  if (!parent) {
    for (const epc of unique(event.epcs)) {
      admit(w, effect, epc);
      if (w.units.has(epc)) touched.add(epc);
    }
    return;
  }

  // SPEC: EPCIS 2.0 §7.4.3: a DELETE with an empty childEPCs disaggregates every child of the parent.
  const childEpcs = effect === 'unpack' && event.epcs.length === 0 ? parent.children : unique(event.epcs);
  for (const epc of childEpcs) {
    const child = admit(w, effect, epc);
    if (w.units.has(epc)) touched.add(epc);
    if (!child) continue;
    if (effect === 'pack') packInto(w, child, parentEpc);
    else if (child.parent === parentEpc) unpackFrom(w, child, parentEpc);
  }
  const after = w.units.get(parentEpc);
  if (after && event.location !== undefined) w.units.set(parentEpc, { ...after, location: event.location });
}

function packInto(w: Working, child: UnitState, parentEpc: string): void {
  const { event } = w;
  if (child.parent !== undefined && child.parent !== parentEpc) {
    // A pack is in one case at a time: a second packing elsewhere without an unpacking means two physical packs.
    detect(
      w,
      DetectionCode.PACKED_TWICE,
      child.epc,
      `${child.epc} is packed in ${child.parent} already`,
      conflicting(child.packedBy),
    );
    const previous = w.units.get(child.parent);
    if (previous)
      w.units.set(previous.epc, { ...previous, children: previous.children.filter((c) => c !== child.epc) });
  }
  w.units.set(child.epc, {
    ...child,
    ...(event.location !== undefined ? { location: event.location } : {}),
    status: child.status === 'commissioned' ? 'packed' : child.status,
    parent: parentEpc,
    packedBy: refOf(event),
  });
  const parent = w.units.get(parentEpc);
  if (parent && !parent.children.includes(child.epc)) {
    w.units.set(parentEpc, { ...parent, children: [...parent.children, child.epc] });
  }
}

function unpackFrom(w: Working, child: UnitState, parentEpc: string): void {
  const { parent: _parent, packedBy: _packedBy, ...rest } = child;
  w.units.set(child.epc, {
    ...rest,
    ...(w.event.location !== undefined ? { location: w.event.location } : {}),
    status: child.status === 'packed' ? 'commissioned' : child.status,
  });
  const parent = w.units.get(parentEpc);
  if (parent) w.units.set(parentEpc, { ...parent, children: parent.children.filter((c) => c !== child.epc) });
}

// ---------------------------------------------------------------------------------------------------------------
// The service's commands

const refuse = (reason: RevertRefusalReason, message: string): CustodyRefusal => ({
  code: CustodyRefusalCode.REVERT_REFUSED,
  reason,
  message,
});

/** Recalls a lot; every later event on one of its units is flagged RECALLED. */
export function recallLot(lot: LotState, at: string, eventId: string): LotState | CustodyRefusal {
  if (lot.recalled)
    return {
      code: CustodyRefusalCode.ALREADY_RECALLED,
      message: `lot ${lot.lot} was recalled at ${lot.recalled.at}`,
    };
  return { ...lot, recalled: { at, eventId } };
}

/** Quarantines a unit (DSCSA suspect product): events on it are still recorded, and flagged. */
export function quarantine(unit: UnitState, at: string, eventId: string): UnitState | CustodyRefusal {
  if (unit.quarantined)
    return { code: CustodyRefusalCode.ALREADY_QUARANTINED, message: `${unit.epc} is quarantined already` };
  return applyUnitAction(unit, { type: 'UnitQuarantined', epc: unit.epc, at, eventId });
}

/** Releases a quarantined unit (the investigation cleared it). It stays `suspect`: what was seen was seen. */
export function release(unit: UnitState, at: string, eventId: string): UnitState | CustodyRefusal {
  if (!unit.quarantined) return { code: CustodyRefusalCode.NOT_QUARANTINED, message: `${unit.epc} is not quarantined` };
  return applyUnitAction(unit, { type: 'UnitReleased', epc: unit.epc, at, eventId });
}

/**
 * Puts a decommissioned pack back to active.
 * SPEC: Commission Delegated Regulation (EU) 2016/161, Art. 13(1): only if (a) the person reverting has the same
 * authorisation and operates in the same premises as the one that decommissioned it, (b) not more than 10 days
 * after the decommissioning, (c) the pack has not expired, (d) it is not recorded as recalled, withdrawn, intended
 * for destruction or stolen, and (e) it has not been supplied to the public. Art. 13(2): otherwise it is not
 * returned to saleable stock.
 */
export function revertDecommission(
  unit: UnitState,
  request: { by: string; at: string; location: string; eventId: string; lot?: LotState },
): UnitState | CustodyRefusal {
  const { by, at, location } = request;
  if (!isTerminal(unit) || unit.decommissionedAt === undefined)
    return refuse('not-decommissioned', `${unit.epc} is ${unit.status}, not decommissioned`);
  // SPEC: FMD Art. 13(1)(e).
  if (unit.status === 'dispensed') return refuse('supplied', `${unit.epc} was supplied to the public`);
  // Not one of Art. 13's conditions: the goods of a consumed input are in the transformation's outputs now (FMD
  // Art. 17: a repackager places new identifiers). A mistaken transformation is withdrawn by an error declaration,
  // which restores the inputs and removes the outputs; a revert would leave both in the supply chain.
  if (unit.decommissionedAs === TRANSFORMED)
    return refuse('transformed', `${unit.epc} was consumed by a transformation (withdraw that event instead)`);
  // SPEC: FMD Art. 13(1)(d): registered as stolen, intended for destruction, recalled or withdrawn.
  if (unit.decommissionedAs === 'stolen') return refuse('stolen', `${unit.epc} was decommissioned as stolen`);
  if (unit.decommissionedAs === 'destroyed')
    return refuse('destroyed', `${unit.epc} was decommissioned for destruction`);
  if (unit.decommissionedAs === 'recalled' || request.lot?.recalled)
    return refuse('recalled', `${unit.epc} is of a recalled lot`);
  // SPEC: FMD Art. 13(1)(c).
  if (unit.expiry !== undefined && unit.expiry < dayOf(at))
    return refuse('expired', `${unit.epc} expired on ${unit.expiry}`);
  // SPEC: FMD Art. 13(1)(a).
  if (unit.decommissionedBy !== by)
    return refuse('other-party', `${unit.epc} was decommissioned by ${unit.decommissionedBy ?? '?'}, not ${by}`);
  if (unit.decommissionedLocation !== location)
    return refuse(
      'other-premises',
      `${unit.epc} was decommissioned at ${unit.decommissionedLocation ?? 'unknown premises'}, not ${location}`,
    );
  // SPEC: FMD Art. 13(1)(b).
  if (Date.parse(at) - Date.parse(unit.decommissionedAt) > REVERT_WINDOW_MS)
    return refuse('too-late', `${unit.epc} was decommissioned on ${unit.decommissionedAt}, more than 10 days ago`);
  return applyUnitAction(unit, {
    type: 'DecommissionReverted',
    epc: unit.epc,
    at,
    eventId: request.eventId,
    by,
    location,
  });
}

/** The effect of a decided `UnitAction` (evolve: it never refuses; the command decided). */
export function applyUnitAction(unit: UnitState, action: UnitAction): UnitState {
  switch (action.type) {
    case 'UnitQuarantined':
      return { ...unit, quarantined: true, quarantine: { at: action.at, eventId: action.eventId } };
    case 'UnitReleased': {
      const { quarantine: _released, ...rest } = unit;
      return { ...rest, quarantined: false };
    }
    case 'DecommissionReverted': {
      const {
        decommissionedAs: _as,
        decommissionedAt: _at,
        decommissionedBy: _by,
        decommissionedLocation: _location,
        decommissionedEvent: _event,
        statusBeforeDecommission,
        ...rest
      } = unit;
      return { ...rest, status: statusBeforeDecommission ?? 'commissioned' };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Replay and withdrawal

export type CustodyEntry = CustodyEvent | UnitAction;

const isUnitAction = (entry: CustodyEntry): entry is UnitAction =>
  entry.type === 'UnitQuarantined' || entry.type === 'UnitReleased' || entry.type === 'DecommissionReverted';

/**
 * Folds entries (EPCIS events and the service's unit actions, in the order the service recorded them) from
 * nothing. Error declarations withdraw the events they declare, wherever they stand in the list. Each event is
 * judged as of the day it was recorded, so a replay flags what the live capture flagged.
 */
export function replayUnits(
  entries: ReadonlyArray<CustodyEntry>,
  lots: ReadonlyMap<string, LotState>,
): { units: Map<string, UnitState>; detections: Detection[] } {
  const withdrawn = new Set(
    entries.flatMap((entry) => (!isUnitAction(entry) && isErrorDeclaration(entry) ? [entry.eventHash] : [])),
  );
  let units = new Map<string, UnitState>();
  let lotsNow = new Map(lots);
  const detections: Detection[] = [];
  for (const entry of entries) {
    if (isUnitAction(entry)) {
      const unit = units.get(entry.epc);
      if (unit) units.set(entry.epc, applyUnitAction(unit, entry));
      continue;
    }
    if (withdrawn.has(entry.eventHash)) continue;
    const out = applyCustodyEvent({
      event: entry,
      units,
      lots: lotsNow,
      today: dayOf(entry.recordTime ?? entry.eventTime),
    });
    units = out.units;
    lotsNow = out.lots;
    detections.push(...out.detections);
  }
  return { units, detections };
}

/**
 * What the service loads to withdraw `eventHash`: the units whose history holds it, and every unit linked to them
 * by a shared event or by packing (a parent's shipping is in its children's history), so that the replay starts
 * from a closed set. Returns the units' epcs and the event hashes to load (with the unit actions on those epcs).
 */
export function withdrawalScope(
  eventHash: string,
  known: ReadonlyMap<string, UnitState>,
): { epcs: string[]; eventHashes: string[] } {
  const epcs = new Set<string>();
  const hashes = new Set([eventHash]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const unit of known.values()) {
      if (epcs.has(unit.epc)) continue;
      const linked =
        unit.history.some((h) => hashes.has(h.eventHash)) ||
        (unit.parent !== undefined && epcs.has(unit.parent)) ||
        unit.children.some((c) => epcs.has(c));
      if (!linked) continue;
      epcs.add(unit.epc);
      for (const h of unit.history) hashes.add(h.eventHash);
      grew = true;
    }
  }
  return { epcs: [...epcs], eventHashes: [...hashes] };
}

/**
 * Withdraws an event from custody (EPCIS 2.0 §7.4.1.4: an error declaration says the event should not have been
 * captured): rebuilds the scope's units from their entries without it. `removed` lists the units that only the
 * withdrawn event created; `detections` are those the corrected history still shows.
 */
export function withdrawEvent(input: {
  units: ReadonlyMap<string, UnitState>;
  entries: ReadonlyArray<CustodyEntry>;
  eventHash: string;
  lots: ReadonlyMap<string, LotState>;
}): { units: Map<string, UnitState>; removed: string[]; detections: Detection[] } {
  const kept = input.entries.filter((entry) => isUnitAction(entry) || entry.eventHash !== input.eventHash);
  const { units, detections } = replayUnits(kept, input.lots);
  const removed = [...input.units.keys()].filter((epc) => !units.has(epc));
  return { units, removed, detections };
}
