import { CloudEvent } from 'cloudevents';
import type { z } from 'zod';
import { eventSource, UnsignedEnvelope } from '../envelope';
import type { ServiceName } from '../services';
import { dataschemaOf, parseDataschema, type EventDefinition } from './define';
import {
  AccessAuditedV1,
  AccessAuditedV2,
  BlockSealedV1,
  EmergencyAccessGrantedV1,
  EmergencyAccessGrantedV2,
  BlockSealedV2,
  PatientErasedV1,
  PatientErasedV2,
  PatientRegisteredV1,
  PatientRegisteredV2,
  PatientUpdatedV1,
  PatientUpdatedV2,
  PingAnsweredV1,
  PingAnsweredV2,
  PingSentV1,
  PingSentV2,
  ResourceCreatedV1,
  ResourceCreatedV2,
  ResourceUpdatedV1,
  ResourceUpdatedV2,
} from './events';
import { SUPPLY_EVENTS } from './supply-events';
import { TRIALS_EVENTS } from './trials-events';

/** Stable reasons a message's data is refused (dead-letter reason codes). */
export const CatalogueFailure = {
  UNKNOWN_EVENT_TYPE: 'CONTRACTS.UNKNOWN_EVENT_TYPE',
  UNKNOWN_EVENT_VERSION: 'CONTRACTS.UNKNOWN_EVENT_VERSION',
  SCHEMA_MISMATCH: 'CONTRACTS.SCHEMA_MISMATCH',
} as const;
export type CatalogueFailureCode = (typeof CatalogueFailure)[keyof typeof CatalogueFailure];

export type ParsedEventData =
  | { ok: true; type: string; version: number; fromVersion: number; data: unknown }
  | { ok: false; code: CatalogueFailureCode; message: string };

function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Every public event, every version. */
export class EventCatalogue {
  private readonly byType = new Map<string, EventDefinition[]>();

  constructor(readonly definitions: readonly EventDefinition[]) {
    for (const definition of definitions) {
      const versions = this.byType.get(definition.type) ?? [];
      versions[definition.version - 1] = definition;
      this.byType.set(definition.type, versions);
    }
    for (const [type, versions] of this.byType) {
      for (let v = 1; v <= versions.length; v++)
        if (!versions[v - 1]) throw new Error(`${type}: version ${v} is missing (versions are kept forever)`);
    }
  }

  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  versions(type: string): readonly EventDefinition[] {
    return this.byType.get(type) ?? [];
  }

  get(type: string, version: number): EventDefinition | undefined {
    return this.byType.get(type)?.[version - 1];
  }

  latest(type: string): EventDefinition | undefined {
    return this.byType.get(type)?.at(-1);
  }

  /**
   * Validates the data of any known version of `type` and upcasts it, step by step, to the latest version.
   * `dataschema` names the version (absent: version 1, the first published shape). Never throws.
   */
  parseData(type: string, dataschema: string | undefined, data: unknown): ParsedEventData {
    const versions = this.byType.get(type);
    if (!versions)
      return { ok: false, code: CatalogueFailure.UNKNOWN_EVENT_TYPE, message: `unknown event type ${type}` };
    let version = 1;
    if (dataschema !== undefined) {
      const named = parseDataschema(dataschema);
      if (!named || named.type !== type || !versions[named.version - 1])
        return {
          ok: false,
          code: CatalogueFailure.UNKNOWN_EVENT_VERSION,
          message: `dataschema ${dataschema} is not a known version of ${type}`,
        };
      version = named.version;
    }
    const first = (versions[version - 1] as EventDefinition).schema.safeParse(data);
    if (!first.success) return { ok: false, code: CatalogueFailure.SCHEMA_MISMATCH, message: issues(first.error) };
    let value: unknown = first.data;
    for (let next = version + 1; next <= versions.length; next++) {
      const definition = versions[next - 1] as EventDefinition;
      try {
        const upcast = (definition.upcast as (previous: unknown) => unknown)(value);
        const parsed = definition.schema.safeParse(upcast);
        if (!parsed.success)
          return {
            ok: false,
            code: CatalogueFailure.SCHEMA_MISMATCH,
            message: `after upcast to v${next}: ${issues(parsed.error)}`,
          };
        value = parsed.data;
      } catch (error) {
        return {
          ok: false,
          code: CatalogueFailure.SCHEMA_MISMATCH,
          message: `upcast to v${next} failed: ${String(error)}`,
        };
      }
    }
    return { ok: true, type, version: versions.length, fromVersion: version, data: value };
  }
}

export const EVENT_CATALOGUE = new EventCatalogue([
  PatientRegisteredV1,
  PatientRegisteredV2,
  PatientUpdatedV1,
  PatientUpdatedV2,
  ResourceCreatedV1,
  ResourceCreatedV2,
  ResourceUpdatedV1,
  ResourceUpdatedV2,
  EmergencyAccessGrantedV1,
  EmergencyAccessGrantedV2,
  AccessAuditedV1,
  AccessAuditedV2,
  PatientErasedV1,
  PatientErasedV2,
  BlockSealedV1,
  BlockSealedV2,
  PingSentV1,
  PingSentV2,
  PingAnsweredV1,
  PingAnsweredV2,
  ...TRIALS_EVENTS,
  ...SUPPLY_EVENTS,
]);

export interface EnvelopeInput<D> {
  type: string;
  data: D;
  id: string;
  /** RFC 3339. */
  time: string;
  subject?: string;
  aggregateId: string;
  aggregateVersion: number;
  correlationId?: string;
  causationId?: string;
  /** The sending service, for events any service may send (diagnostics); default the catalogue's producer. */
  source?: ServiceName;
}

/**
 * The CloudEvents 1.0 envelope of a public event at its latest version: data validated against the catalogue,
 * attributes validated by the CloudEvents SDK. Throws on a producer bug (unknown type, invalid data).
 */
export function createEnvelope<D extends Record<string, unknown>>(
  input: EnvelopeInput<D>,
  catalogue: EventCatalogue = EVENT_CATALOGUE,
): UnsignedEnvelope {
  const definition = catalogue.latest(input.type);
  if (!definition) throw new Error(`${CatalogueFailure.UNKNOWN_EVENT_TYPE}: ${input.type} is not in the catalogue`);
  if (definition.envelope !== 'cloudevents') throw new Error(`${input.type} is not a CloudEvents event`);
  const data = definition.schema.safeParse(input.data);
  if (!data.success) throw new Error(`${CatalogueFailure.SCHEMA_MISMATCH}: ${input.type}: ${issues(data.error)}`);
  const envelope: UnsignedEnvelope = {
    specversion: '1.0',
    id: input.id,
    source: eventSource(input.source ?? definition.producer),
    type: input.type,
    time: input.time,
    ...(input.subject !== undefined ? { subject: input.subject } : {}),
    dataschema: dataschemaOf(definition.type, definition.version),
    datacontenttype: 'application/json',
    data: data.data as Record<string, unknown>,
    aggregateid: input.aggregateId,
    aggregateversion: input.aggregateVersion,
    ...(input.correlationId !== undefined ? { correlationid: input.correlationId } : {}),
    ...(input.causationId !== undefined ? { causationid: input.causationId } : {}),
  };
  // The SDK checks the context attributes against the CloudEvents 1.0 spec (it throws a ValidationError); our
  // schema adds medledger's rules (id present, source and type shapes, extension types).
  new CloudEvent(envelope, true);
  return UnsignedEnvelope.parse(envelope);
}
