import { element } from './bundle';
import { checkLeafAt, type CheckedLeaf } from './checked-leaf';
import { type VerifyCode } from './codes';
import { type ProducerCheck, type ProducerKeys } from './producers';

/** What a leaf worker is started with. */
export interface LeafWorkerSettings {
  readonly producerKeys: ProducerKeys | undefined;
}

/** Whole lines of a bundle's leaves section, cut after a newline; the first is leaf `firstIndex`. */
export interface LeafChunk {
  readonly id: number;
  readonly bytes: Uint8Array;
  readonly firstIndex: number;
  /** The file's line number (from 1) of the chunk's first line, for the message of an empty line. */
  readonly firstLine: number;
}

/** A chunk's leaves checked (checkLeafAt), packed for the way back; `at` counts from the chunk's first leaf. */
export interface LeafChunkChecks {
  readonly id: number;
  /** Leaves checked: the chunk's lines up to the section's end or an empty line. */
  readonly count: number;
  /** 32 bytes per leaf: its hash (zeros for a leaf that fails). */
  readonly hashes: Uint8Array;
  readonly eventIds: string[];
  readonly receivedAt: string[];
  readonly failures: Array<
    | { at: number; leaf: { code: VerifyCode; reason: string; listedIndex: string } }
    | { at: number; origin: { code: VerifyCode; reason: string } }
  >;
  /** The section's closing line, or an empty line (its file line number), after the `count` leaves. */
  readonly end?: { kind: 'close' } | { kind: 'empty'; line: number };
}

/** Lines as readline splits them (crlfDelay: Infinity): at \r\n, \n or \r; no line after a final separator. */
const LINE_BREAK = /\r\n|\n|\r/;

export function checkLeafChunk(chunk: LeafChunk, producers: ProducerCheck | undefined): LeafChunkChecks {
  const { bytes } = chunk;
  const lines = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').split(LINE_BREAK);
  if (lines.at(-1) === '') lines.pop();
  const hashes = new Uint8Array(32 * lines.length);
  const eventIds: string[] = [];
  const receivedAt: string[] = [];
  const failures: LeafChunkChecks['failures'] = [];
  let end: LeafChunkChecks['end'];
  let count = 0;
  for (const line of lines) {
    if (line === ']') {
      end = { kind: 'close' };
      break;
    }
    if (line === '') {
      end = { kind: 'empty', line: chunk.firstLine + count };
      break;
    }
    const checked: CheckedLeaf = checkLeafAt(element(line), chunk.firstIndex + count, producers);
    if (checked.ok) {
      hashes.set(checked.hash, 32 * count);
      eventIds.push(checked.eventId);
      receivedAt.push(checked.receivedAt);
      if (checked.origin)
        failures.push({ at: count, origin: { code: checked.origin.code, reason: checked.origin.reason } });
    } else {
      eventIds.push('');
      receivedAt.push('');
      failures.push({
        at: count,
        leaf: { code: checked.code, reason: checked.reason, listedIndex: checked.listedIndex },
      });
    }
    count++;
  }
  return { id: chunk.id, count, hashes, eventIds, receivedAt, failures, ...(end ? { end } : {}) };
}

/** The chunk's leaves as checkLeafAt gave them, in order. */
export function* unpackChecks(checks: LeafChunkChecks): Generator<CheckedLeaf> {
  let failure = 0;
  for (let at = 0; at < checks.count; at++) {
    const failed = checks.failures[failure];
    if (failed?.at === at) {
      failure++;
      if ('leaf' in failed) {
        yield { ok: false, ...failed.leaf };
        continue;
      }
      yield leafAt(checks, at, failed.origin);
      continue;
    }
    yield leafAt(checks, at, undefined);
  }
}

function leafAt(
  checks: LeafChunkChecks,
  at: number,
  origin: { code: VerifyCode; reason: string } | undefined,
): CheckedLeaf {
  return {
    ok: true,
    eventId: checks.eventIds[at] as string,
    receivedAt: checks.receivedAt[at] as string,
    hash: checks.hashes.subarray(32 * at, 32 * at + 32),
    ...(origin ? { origin: { ok: false, ...origin } } : {}),
  };
}
