import { type z } from 'zod';
import type { ServiceName } from '../services';

/** How an event travels: a CloudEvents 1.0 envelope (the rule), or a bare JSON message (legacy, listed to migrate). */
export type EnvelopeKind = 'cloudevents' | 'plain';

/** One version of one public event: the contract between its producer and every consumer. */
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  /** `<service>.<PastTenseEvent>`, e.g. `records.PatientRegistered`. */
  type: string;
  /** 1, 2, …: a breaking change is a new version with an upcaster from the previous one. */
  version: number;
  topic: string;
  producer: ServiceName;
  consumers: readonly ServiceName[];
  description: string;
  envelope: EnvelopeKind;
  /** The CloudEvents `data` (or the whole plain message). Fields carry `.describe()` for the catalogue. */
  schema: S;
  /** Kept forever in libs/contracts/examples/<type>/v<version>.json; a spec checks they match. */
  example: z.infer<S>;
  /** From the data of `version - 1` to this version's data (absent for version 1). */
  upcast?: (previous: unknown) => unknown;
  /**
   * Fields whose names look like PHI but are not, each with the reason (the PHI guard spec reads this).
   * Example: `{ 'data.name': 'the name of a trial arm, not of a person' }`.
   */
  phiAllowed?: Readonly<Record<string, string>>;
}

export function defineEvent<S extends z.ZodType>(definition: EventDefinition<S>): EventDefinition<S> {
  if (!/^[a-z]+\.[A-Z][A-Za-z0-9]*$/.test(definition.type))
    throw new Error(`event type ${definition.type} must be <service>.<PastTenseEvent>`);
  if (!Number.isInteger(definition.version) || definition.version < 1)
    throw new Error(`${definition.type}: version must be an integer ≥ 1`);
  if (definition.version > 1 && !definition.upcast)
    throw new Error(
      `${definition.type} v${definition.version}: a new version needs an upcaster from v${definition.version - 1}`,
    );
  const example = definition.schema.safeParse(definition.example);
  if (!example.success)
    throw new Error(
      `${definition.type} v${definition.version}: its example does not match its schema: ${example.error.message}`,
    );
  return definition;
}

/** The CloudEvents `dataschema` of one event version: stable, and the way consumers tell versions apart. */
export function dataschemaOf(type: string, version: number): string {
  return `urn:medledger:event:${type}:${version}`;
}

export function parseDataschema(dataschema: string): { type: string; version: number } | undefined {
  const match = /^urn:medledger:event:([a-z]+\.[A-Z][A-Za-z0-9]*):([1-9]\d{0,5})$/.exec(dataschema);
  return match ? { type: match[1] as string, version: Number(match[2]) } : undefined;
}
