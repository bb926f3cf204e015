/**
 * Capture, the pure step between a schema-valid EPCIS 2.0 document (`validateEpcis`) and the custody model: the
 * business checks GS1's JSON Schema cannot make (CBV vocabulary, check digits, AI 21 / 10 / 17 rules, the clock,
 * whose premises an event happened at) and the reduction of each event to the `CustodyEvent` custody consumes.
 *
 * The document is all or nothing: if any event has an issue, nothing is normalised and every issue of every event
 * is returned (the service answers 422 with all of them), each naming the event's index in eventList (absent for a
 * single event) and an RFC 6901 pointer into the document as submitted.
 *
 * Decisions (what the GS1 standards leave to the repository):
 * - Event types. All five of EPCIS 2.0 are mapped; extension event types are refused (UNSUPPORTED_EVENT).
 *   A TransformationEvent's inputEPCList becomes `epcs` (consumed) and its outputEPCList `outputs` (created), with
 *   its `transformationId`; an EPC named as both input and output is refused (UNSUPPORTED_EVENT): custody cannot
 *   consume and create one pack in one event, and keeping an identifier through a transformation is not what
 *   repackaging or compounding does. An AssociationEvent's childEPCs become `epcs` and its parentID `asset`, kept
 *   as written: the asset (GIAI, GRAI, a sensor's URI, anything the schema accepts) is not a custody unit, so it is
 *   neither read as an SGTIN / SSCC nor made public. Custody gives each its meaning (custody.ts, the decisions).
 * - Vocabulary. bizStep, disposition, persistentDisposition, bizTransaction types and source/destination types
 *   must be CBV 2.0 words (bare, Web URI or URN); a user vocabulary is refused (UNKNOWN_CBV_CODE), because custody
 *   gives meaning to CBV words only. An error declaration's reason may be a user vocabulary URI (it is kept as
 *   written); a CBV reason is reduced to its short name. GS1's JSON Schema already refuses a bare word outside
 *   CBV and the `urn:epcglobal:cbv:` spelling, so after `validateEpcis` this check catches Web URIs outside CBV
 *   (`https://ref.gs1.org/cbv/BizStep-comissioning`, user vocabularies); the URN spelling and bare ilmd keys are
 *   still read, for events converted from EPCIS XML.
 * - Identifiers. EPCs (epcList, childEPCs, inputEPCList, outputEPCList, an AggregationEvent's parentID) must be
 *   SGTIN or SSCC (custody's `identify` reads nothing else): other EPC schemes (GIAI, GRAI, GSRN, …) are
 *   UNSUPPORTED_EVENT. GS1 Digital Link URIs are rewritten as URNs when `companyPrefixLength`
 *   knows the prefix, and refused (UNSUPPORTED_EVENT) when it does not: custody keys units by URN, so keeping the
 *   Digital Link would create a second key for the same pack and raise false UNKNOWN_SERIAL detections on it.
 * - Serials. An event whose custody effect needs serialised units (ObjectEvent or AggregationEvent ADD / DELETE,
 *   or a bizStep custody acts on: commissioning, decommissioning, destroying, shipping, receiving, dispensing) but
 *   names only class-level quantities, or nothing, is refused (UNSUPPORTED_EVENT): custody could not tell which
 *   packs moved. Observations with no serial (a sensor reading at a location, a lot-level stock count) pass with
 *   `epcs: []`, and custody records nothing for them. An AggregationEvent DELETE with neither childEPCs nor
 *   childQuantityList passes: EPCIS 2.0 §7.4.3 reads it as "unpack everything".
 *   A TransformationEvent is never refused for naming quantities only, whatever its bizStep: custody acts on it by
 *   its type, not its bizStep, and only on the serials it names; class-level inputs and outputs (bulk API in KGM,
 *   as in GS1's examples, compounded into serialised packs) are lot-level facts custody does not track, so a
 *   transformation of quantities only passes with nothing for custody to do. Serialised packs consumed must be
 *   named in inputEPCList to be decommissioned; packs counted in inputQuantityList stay as they were.
 *   An AssociationEvent of quantities only passes likewise (an association changes no custody). An AssociationEvent
 *   DELETE with neither childEPCs nor childQuantityList ("dissociate everything from the asset", §7.4.6) is refused
 *   (UNSUPPORTED_EVENT): custody keeps associations on the units, not on the asset, so it could not find them all;
 *   the recorder names the children.
 * - Premises. Every readPoint and bizLocation must be at the recorder's GLN (NOT_YOUR_LOCATION): a party reports
 *   what happened at its own premises. Events without either pass, with no `location`.
 * - Parties. sourceList / destinationList entries of type owning_party / possessing_party become GLN-13s; two
 *   entries of the same type naming different parties are refused (UNSUPPORTED_EVENT). `location` entries are
 *   checked for their type only.
 * - ilmd is read on commissioning only (an ObjectEvent with action ADD or bizStep commissioning) and on a
 *   TransformationEvent (for its outputs), where EPCIS 2.0 §7.3.6 puts it: `cbvmda:lotNumber` / `lotNumber`,
 *   `cbvmda:itemExpirationDate` / `itemExpirationDate`.
 * - Times are written in UTC (`toISOString`), so that custody and its readers compare them as strings safely.
 *   `recordTime` is `now`: the moment of capture.
 * - correctiveEventIDs that are event hash IDs become `correctiveEventHashes`; other event ids (urn:uuid) are
 *   kept in the stored event only, since custody names events by hash.
 */
import type { CustodyEvent } from '../../custody/domain/custody';
import { epcisEventHashId } from '../../epcis/domain/event-hash';
import { parseLot } from '../../identifiers/domain/application-identifiers';
import { parseGln } from '../../identifiers/domain/check-digit';
import { cbvShortName, type CbvVocabulary } from './cbv';
import { type CompanyPrefixLength, type KeyResult, readGln, readUnit, type Unit } from './keys';

export const CaptureErrorCode = {
  /** bizStep, disposition, bizTransaction type or source/destination type that is not a CBV 2.0 word. */
  UNKNOWN_CBV_CODE: 'SUPPLY.UNKNOWN_CBV_CODE',
  BAD_CHECK_DIGIT: 'SUPPLY.BAD_CHECK_DIGIT',
  BAD_IDENTIFIER: 'SUPPLY.BAD_IDENTIFIER',
  BAD_SERIAL: 'SUPPLY.BAD_SERIAL',
  BAD_LOT: 'SUPPLY.BAD_LOT',
  BAD_EXPIRY: 'SUPPLY.BAD_EXPIRY',
  /** eventTime (or an error declaration's declarationTime) later than now + FUTURE_TOLERANCE_MS. */
  EVENT_IN_FUTURE: 'SUPPLY.EVENT_IN_FUTURE',
  /** readPoint or bizLocation whose GLN is not the recorder's. */
  NOT_YOUR_LOCATION: 'SUPPLY.NOT_YOUR_LOCATION',
  /** An event type, identifier scheme or class-level event custody cannot take (see the decisions above). */
  UNSUPPORTED_EVENT: 'SUPPLY.UNSUPPORTED_EVENT',
} as const;
export type CaptureErrorCode = (typeof CaptureErrorCode)[keyof typeof CaptureErrorCode];

export interface CaptureIssue {
  /** Index in epcisBody.eventList; absent for a single submitted event. */
  eventIndex?: number;
  /** RFC 6901 pointer into the submitted document (or single event). */
  pointer: string;
  code: string;
  message: string;
}

export interface NormalisedEvent {
  index: number;
  /** `epcisEventHashId(event, { context })`; an error declaration has the hash of the event it declares. */
  hash: string;
  /** Everything custody needs; the service adds eventId. */
  custody: Omit<CustodyEvent, 'eventId'>;
  /** Distinct GTIN-14s of the serialised items the event names, inputs and outputs (public, lot-level facts). */
  gtins: string[];
  /** From ilmd on commissioning, one per GTIN commissioned (for a TransformationEvent: per GTIN of its outputs). */
  lots: Array<{ gtin: string; lot: string; expiry?: string }>;
}

export type NormaliseResult = { ok: true; events: NormalisedEvent[] } | { ok: false; issues: CaptureIssue[] };

/**
 * Clock skew between trading parties' systems: an event may be dated up to five minutes after the service's
 * clock. (Five minutes is the usual allowance between independently synchronised clocks, e.g. Kerberos's default
 * maximum skew, RFC 4120 §1.7 / MIT krb5 `clockskew` = 300 s.)
 */
export const FUTURE_TOLERANCE_MS = 5 * 60 * 1000;

// Custody acts on these bizSteps whatever the event's action (custody.ts, effectOf), except in a TransformationEvent
// or AssociationEvent, whose meaning is their type's.
// SPEC: CBV 2.0 §7.2.
const CUSTODY_STEPS = new Set([
  'commissioning',
  'decommissioning',
  'destroying',
  'shipping',
  'receiving',
  'dispensing',
]);
const MAPPED_TYPES = new Set([
  'ObjectEvent',
  'AggregationEvent',
  'TransactionEvent',
  'TransformationEvent',
  'AssociationEvent',
]);
// SPEC: CBV 2.0 §8.5 (master data attributes of ILMD), written in JSON-LD with the standard context's `cbvmda:`
// prefix or, under a context that maps them, bare.
const LOT_KEYS = ['cbvmda:lotNumber', 'lotNumber'];
const EXPIRY_KEYS = ['cbvmda:itemExpirationDate', 'itemExpirationDate'];
// SPEC: CBV 2.0 §8.9 / RFC 6920: an event hash ID.
const EVENT_HASH_ID = /^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/;

type Json = Readonly<Record<string, unknown>>;
/** The list of an event that names the units custody acts on first (a transformation's outputs come after). */
type UnitList = 'epcList' | 'childEPCs' | 'inputEPCList';

export function normaliseEpcis(input: {
  /** As validated by validateEpcis: an EPCISDocument or a single event. */
  document: unknown;
  /** validateEpcis(...).events. */
  events: ReadonlyArray<Record<string, unknown>>;
  /** GLN-13 of the recording party (from its token). */
  recorder: string;
  /** ISO 8601: the moment of capture. */
  now: string;
  /** Needed to turn Digital Link URIs into the URNs custody keys units by; without it they are refused. */
  companyPrefixLength?: CompanyPrefixLength;
}): NormaliseResult {
  // The recorder comes from a verified token and `now` from the service's clock: bad values are bugs, not input.
  if (!parseGln(input.recorder).ok) throw new RangeError(`recorder is not a GLN-13: '${input.recorder}'`);
  const now = Date.parse(input.now);
  if (Number.isNaN(now)) throw new RangeError(`now is not an ISO 8601 time: '${input.now}'`);

  const document = asObject(input.document) ?? {};
  const isDocument = document['type'] === 'EPCISDocument';
  const context = document['@context'];
  const issues: CaptureIssue[] = [];
  const events: NormalisedEvent[] = [];
  input.events.forEach((event, index) => {
    const at = new EventIssues(issues, isDocument ? index : undefined);
    const normalised = normaliseEvent(event, index, at, {
      recorder: input.recorder,
      now,
      nowIso: new Date(now).toISOString(),
      context,
      companyPrefixLength: input.companyPrefixLength,
    });
    if (normalised) events.push(normalised);
  });
  return issues.length > 0 ? { ok: false, issues } : { ok: true, events };
}

interface Settings {
  recorder: string;
  now: number;
  nowIso: string;
  context: unknown;
  companyPrefixLength: CompanyPrefixLength | undefined;
}

/** Collects the issues of one event, with pointers relative to the event. */
class EventIssues {
  private readonly base: string;
  private count = 0;

  constructor(
    private readonly sink: CaptureIssue[],
    private readonly eventIndex: number | undefined,
  ) {
    this.base = eventIndex === undefined ? '' : `/epcisBody/eventList/${eventIndex}`;
  }

  add(path: ReadonlyArray<string | number>, code: CaptureErrorCode, message: string): void {
    this.count++;
    this.sink.push({
      ...(this.eventIndex !== undefined && { eventIndex: this.eventIndex }),
      pointer: `${this.base}${path.map((token) => `/${escapePointer(String(token))}`).join('')}`,
      code,
      message,
    });
  }

  get any(): boolean {
    return this.count > 0;
  }
}

function normaliseEvent(event: Json, index: number, at: EventIssues, s: Settings): NormalisedEvent | undefined {
  const type = typeof event['type'] === 'string' ? event['type'] : '';
  if (!MAPPED_TYPES.has(type)) {
    at.add(
      ['type'],
      CaptureErrorCode.UNSUPPORTED_EVENT,
      `event type '${type}' is not one custody takes; supply captures the five EPCIS 2.0 event types`,
    );
    return undefined;
  }
  const custodyType = type as CustodyEvent['type'];
  const today = new Date(s.now);

  // When it happened.
  const eventTime = timeOf(event['eventTime'], ['eventTime'], at, s);

  // CBV vocabulary.
  const bizStep = vocabularyOf('bizStep', event['bizStep'], ['bizStep'], at);
  const disposition = vocabularyOf('disposition', event['disposition'], ['disposition'], at);
  const persistent = asObject(event['persistentDisposition']);
  for (const key of ['set', 'unset'] as const) {
    asArray(persistent?.[key]).forEach((value, i) =>
      vocabularyOf('disposition', value, ['persistentDisposition', key, i], at),
    );
  }
  asArray(event['bizTransactionList']).forEach((entry, i) =>
    vocabularyOf('bizTransactionType', asObject(entry)?.['type'], ['bizTransactionList', i, 'type'], at),
  );

  // The units it names.
  const listName: UnitList =
    type === 'AggregationEvent' || type === 'AssociationEvent'
      ? 'childEPCs'
      : type === 'TransformationEvent'
        ? 'inputEPCList'
        : 'epcList';
  const readList = (name: UnitList | 'outputEPCList'): Array<Unit & { index: number }> =>
    asArray(event[name]).flatMap((value, index) => {
      const unit = keyOf(readUnit(value, s.companyPrefixLength, today), [name, index], at);
      return unit ? [{ ...unit, index }] : [];
    });
  const units = readList(listName);
  const outputs = type === 'TransformationEvent' ? readList('outputEPCList') : [];
  checkInputsAreNotOutputs(units, outputs, at);
  // SPEC: EPCIS 2.0 §7.4.6: an AssociationEvent's parentID is the asset (any URI the schema accepts), not a unit.
  const asset = type === 'AssociationEvent' && typeof event['parentID'] === 'string' ? event['parentID'] : undefined;
  const parent =
    'parentID' in event && type !== 'AssociationEvent'
      ? keyOf(readUnit(event['parentID'], s.companyPrefixLength, today), ['parentID'], at)
      : undefined;
  const transformationId =
    type === 'TransformationEvent' && typeof event['transformationID'] === 'string'
      ? event['transformationID']
      : undefined;
  const action = event['action'];
  checkSerialised(type, action, bizStep, event, listName, at);

  // Where, and whose premises.
  const readPoint = locationOf(event, 'readPoint', at, s);
  const bizLocation = locationOf(event, 'bizLocation', at, s);

  // Who owns and holds, before and after.
  const source = partiesOf(event, 'sourceList', 'source', at);
  const destination = partiesOf(event, 'destinationList', 'destination', at);

  // Lot and expiry, on commissioning (and of a transformation's outputs).
  const commissioning =
    (type === 'ObjectEvent' && (action === 'ADD' || bizStep === 'commissioning')) || type === 'TransformationEvent';
  const { lot, expiry } = commissioning ? lotOf(event, at) : {};

  const errorDeclaration = errorDeclarationOf(event, at, s);

  if (at.any || eventTime === undefined) return undefined;

  const epcs = units.map((u) => u.epc);
  const gtins = unique([...units, ...outputs, ...(parent ? [parent] : [])].flatMap((u) => (u.gtin ? [u.gtin] : [])));
  const location = bizLocation ?? readPoint;
  const custody: Omit<CustodyEvent, 'eventId'> = {
    eventHash: epcisEventHashId(event, { context: s.context }),
    type: custodyType,
    ...(action === 'ADD' || action === 'OBSERVE' || action === 'DELETE' ? { action } : {}),
    ...(bizStep !== undefined && { bizStep }),
    ...(disposition !== undefined && { disposition }),
    eventTime,
    recordTime: s.nowIso,
    recorder: s.recorder,
    epcs,
    ...(parent !== undefined && { parent: parent.epc }),
    ...(type === 'TransformationEvent' && { outputs: outputs.map((u) => u.epc) }),
    ...(transformationId !== undefined && { transformationId }),
    ...(asset !== undefined && { asset }),
    ...(lot !== undefined && { lot }),
    ...(expiry !== undefined && { expiry }),
    ...(source !== undefined && { source }),
    ...(destination !== undefined && { destination }),
    ...(location !== undefined && { location }),
    ...(errorDeclaration !== undefined && { errorDeclaration }),
  };
  const created = type === 'TransformationEvent' ? outputs : units;
  const lots =
    lot === undefined
      ? []
      : unique(created.flatMap((u) => (u.gtin ? [u.gtin] : []))).map((gtin) => ({
          gtin,
          lot,
          ...(expiry !== undefined && { expiry }),
        }));
  return { index, hash: custody.eventHash, custody, gtins, lots };
}

function timeOf(value: unknown, path: ReadonlyArray<string>, at: EventIssues, s: Settings): string | undefined {
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  // The schema checks the date-time format; this guards the type system, not the input.
  if (Number.isNaN(time)) {
    at.add(path, CaptureErrorCode.UNSUPPORTED_EVENT, `${path.join('.')} is not an ISO 8601 date-time`);
    return undefined;
  }
  if (time > s.now + FUTURE_TOLERANCE_MS) {
    at.add(
      path,
      CaptureErrorCode.EVENT_IN_FUTURE,
      `${path.join('.')} ${String(value)} is later than the service's clock (${s.nowIso}) by more than ${FUTURE_TOLERANCE_MS / 60000} minutes`,
    );
  }
  return new Date(time).toISOString();
}

function vocabularyOf(
  vocabulary: CbvVocabulary,
  value: unknown,
  path: ReadonlyArray<string | number>,
  at: EventIssues,
  present = value !== undefined,
): string | undefined {
  if (!present) return undefined;
  const word = cbvShortName(vocabulary, value);
  if (word === undefined) {
    at.add(path, CaptureErrorCode.UNKNOWN_CBV_CODE, `'${String(value)}' is not a CBV 2.0 ${vocabulary} (CBV 2.0 §7)`);
  }
  return word;
}

function keyOf<T>(result: KeyResult<T>, path: ReadonlyArray<string | number>, at: EventIssues): T | undefined {
  if (result.ok) return result.value;
  at.add(path, result.code, result.message);
  return undefined;
}

/** Refuses an event custody would act on that names no serialised unit (see the decisions at the top). */
function checkSerialised(
  type: string,
  action: unknown,
  bizStep: string | undefined,
  event: Json,
  listName: UnitList,
  at: EventIssues,
): void {
  const named = asArray(event[listName]).length > 0;
  const quantityName = listName === 'childEPCs' ? 'childQuantityList' : 'quantityList';
  const hasQuantities = asArray(event[quantityName]).length > 0;
  if (type === 'TransformationEvent') return;
  if (type === 'AssociationEvent') {
    if (action === 'DELETE' && !named && !hasQuantities)
      at.add(
        [listName],
        CaptureErrorCode.UNSUPPORTED_EVENT,
        'an AssociationEvent DELETE with no childEPCs dissociates everything from the asset: custody keeps ' +
          'associations on each pack, not on the asset, so it needs the packs named in childEPCs',
      );
    return;
  }
  const changesCustody =
    ((type === 'ObjectEvent' || type === 'AggregationEvent') && (action === 'ADD' || action === 'DELETE')) ||
    (bizStep !== undefined && CUSTODY_STEPS.has(bizStep));
  if (!changesCustody || named) return;
  const unpackAll = type === 'AggregationEvent' && action === 'DELETE' && !hasQuantities;
  const parentSuffices = type !== 'AggregationEvent' || action === 'OBSERVE';
  if (unpackAll || (parentSuffices && event['parentID'] !== undefined)) return;
  const what = `${type} ${String(action)}${bizStep ? ` (${bizStep})` : ''}`;
  at.add(
    [hasQuantities ? quantityName : listName],
    CaptureErrorCode.UNSUPPORTED_EVENT,
    hasQuantities
      ? `${what} names class-level quantities only: custody tracks serialised packs, so it needs their EPCs in ${listName}`
      : `${what} names no serialised pack in ${listName}`,
  );
}

/**
 * Refuses an EPC named both as an input and an output of a TransformationEvent (see the decisions at the top).
 * Compared as URNs, so a Digital Link and the URN of one pack are the same pack.
 */
function checkInputsAreNotOutputs(
  inputs: ReadonlyArray<Unit>,
  outputs: ReadonlyArray<Unit & { index: number }>,
  at: EventIssues,
): void {
  const consumed = new Set(inputs.map((u) => u.epc));
  for (const output of outputs) {
    if (consumed.has(output.epc))
      at.add(
        ['outputEPCList', output.index],
        CaptureErrorCode.UNSUPPORTED_EVENT,
        `${output.epc} is both an input and an output: custody cannot consume and create one pack in one event`,
      );
  }
}

function locationOf(event: Json, field: 'readPoint' | 'bizLocation', at: EventIssues, s: Settings): string | undefined {
  const holder = asObject(event[field]);
  if (!holder) return undefined;
  const gln = keyOf(readGln(holder['id'], 'location'), [field, 'id'], at);
  if (gln !== undefined && gln !== s.recorder) {
    at.add(
      [field, 'id'],
      CaptureErrorCode.NOT_YOUR_LOCATION,
      `${field} ${String(holder['id'])} is GLN ${gln}, not the recorder's GLN ${s.recorder}`,
    );
  }
  return gln;
}

function partiesOf(
  event: Json,
  listName: 'sourceList' | 'destinationList',
  idName: 'source' | 'destination',
  at: EventIssues,
): { owning?: string; possessing?: string } | undefined {
  const parties: { owning?: string; possessing?: string } = {};
  asArray(event[listName]).forEach((entry, i) => {
    const object = asObject(entry);
    const type = vocabularyOf('sourceDestType', object?.['type'], [listName, i, 'type'], at, true);
    if (type !== 'owning_party' && type !== 'possessing_party') return;
    const gln = keyOf(readGln(object?.[idName], 'party'), [listName, i, idName], at);
    if (gln === undefined) return;
    const role = type === 'owning_party' ? 'owning' : 'possessing';
    const earlier = parties[role];
    if (earlier !== undefined && earlier !== gln) {
      at.add(
        [listName, i, idName],
        CaptureErrorCode.UNSUPPORTED_EVENT,
        `two ${type} entries in ${listName} (${earlier} and ${gln}): custody needs one`,
      );
      return;
    }
    parties[role] = gln;
  });
  return parties.owning === undefined && parties.possessing === undefined ? undefined : parties;
}

function lotOf(event: Json, at: EventIssues): { lot?: string; expiry?: string } {
  const ilmd = asObject(event['ilmd']);
  if (!ilmd) return {};
  const out: { lot?: string; expiry?: string } = {};
  const lotKey = LOT_KEYS.find((key) => key in ilmd);
  if (lotKey !== undefined) {
    const value = ilmd[lotKey];
    const lot = typeof value === 'string' ? parseLot(value) : undefined;
    if (lot?.ok) out.lot = lot.value;
    else at.add(['ilmd', lotKey], CaptureErrorCode.BAD_LOT, lot?.reason ?? 'a batch/lot (AI 10) is a string');
  }
  const expiryKey = EXPIRY_KEYS.find((key) => key in ilmd);
  if (expiryKey !== undefined) {
    const value = ilmd[expiryKey];
    if (typeof value === 'string' && isCalendarDate(value)) out.expiry = value;
    else
      at.add(
        ['ilmd', expiryKey],
        CaptureErrorCode.BAD_EXPIRY,
        `itemExpirationDate is a calendar date YYYY-MM-DD (CBV 2.0 §8.5, xsd:date), got '${String(value)}'`,
      );
  }
  return out;
}

// SPEC: CBV 2.0 §8.5: itemExpirationDate is an xsd:date; custody keeps the day, YYYY-MM-DD. A time zone suffix,
// which xsd:date allows, is refused: an expiry is a day on the pack, not an instant.
function isCalendarDate(value: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
  const date = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === value;
}

function errorDeclarationOf(event: Json, at: EventIssues, s: Settings): CustodyEvent['errorDeclaration'] {
  const declaration = asObject(event['errorDeclaration']);
  if (!declaration) return undefined;
  const declarationTime = timeOf(declaration['declarationTime'], ['errorDeclaration', 'declarationTime'], at, s);
  const rawReason = declaration['reason'];
  const reason = cbvShortName('errorReason', rawReason) ?? (typeof rawReason === 'string' ? rawReason : undefined);
  const correctiveEventHashes = asArray(declaration['correctiveEventIDs']).filter(
    (id): id is string => typeof id === 'string' && EVENT_HASH_ID.test(id),
  );
  if (declarationTime === undefined) return undefined;
  return { declarationTime, ...(reason !== undefined && { reason }), correctiveEventHashes };
}

function asObject(value: unknown): Json | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : undefined;
}

function asArray(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

// SPEC: RFC 6901 §3: '~' is written '~0' and '/' is written '~1'.
function escapePointer(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}
