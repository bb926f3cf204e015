import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { CliError, CliErrorCode } from './codes';
import { type ChainStreams } from './http-source';

/**
 * An offline bundle: everything `chain` needs, in one JSON document.
 *
 *     { "format": "medledger-bundle/1", "origin", "keys": [verifier keys], "checkpoint": <latest note> | null,
 *       "blocks": [<as GET /v1/blocks>], "leaves": [{ index, eventId, leafData }] }
 *
 * It is written one block or leaf per line, so that it can be read back as a stream (a million leaves is about a
 * gigabyte, more than one JavaScript string may hold). Any other layout of the same JSON is read whole.
 * The bundle is not trusted: `chain --bundle` checks it exactly as it checks a live ledger.
 */
export const BUNDLE_FORMAT = 'medledger-bundle/1';

export interface BundleHeader {
  readonly format: typeof BUNDLE_FORMAT;
  readonly origin: string | null;
  readonly keys: readonly unknown[];
  readonly checkpoint: string | null;
}

export interface OpenedBundle extends ChainStreams {
  readonly header: BundleHeader;
  /** `lines`: laid out one block or leaf per line and streamed; `whole`: any other layout, parsed whole. */
  readonly layout: 'lines' | 'whole';
}

/** The bundle's text, in chunks: the header line, then one line per block, then one line per leaf. */
export async function* bundleChunks(
  header: Omit<BundleHeader, 'format'>,
  blocks: AsyncIterable<unknown>,
  leaves: AsyncIterable<unknown>,
  onItem?: (section: 'blocks' | 'leaves', count: number) => void,
): AsyncGenerator<string> {
  const head = JSON.stringify({ format: BUNDLE_FORMAT, ...header });
  yield `${head.slice(0, -1)},\n`;
  for (const [section, items] of [
    ['blocks', blocks],
    ['leaves', leaves],
  ] as const) {
    yield `"${section}":[`;
    let count = 0;
    for await (const item of items) {
      yield `${count === 0 ? '\n' : ',\n'}${JSON.stringify(item)}`;
      count++;
      onItem?.(section, count);
    }
    yield section === 'blocks' ? '\n],\n' : '\n]\n}\n';
  }
}

export function bundleError(message: string): CliError {
  return new CliError(CliErrorCode.BUNDLE, message);
}

function checkHeader(value: unknown, where: string): BundleHeader {
  const header = value as Partial<Record<keyof BundleHeader, unknown>> | null;
  if (header?.format !== BUNDLE_FORMAT) throw bundleError(`${where}: not a ${BUNDLE_FORMAT} bundle`);
  if (!Array.isArray(header.keys)) throw bundleError(`${where}: keys must be a list`);
  if (header.checkpoint !== null && typeof header.checkpoint !== 'string') {
    throw bundleError(`${where}: checkpoint must be a note or null`);
  }
  if (header.origin !== null && typeof header.origin !== 'string') {
    throw bundleError(`${where}: origin must be a string or null`);
  }
  return {
    format: BUNDLE_FORMAT,
    origin: header.origin,
    keys: header.keys as unknown[],
    checkpoint: header.checkpoint,
  };
}

/** An element line's value; a line that is not JSON is handed on as text, for the verifier to refuse. */
export function element(line: string): unknown {
  const text = line.endsWith(',') ? line.slice(0, -1) : line;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The header of a line-laid-out bundle, or undefined when the first line is not one (read it whole instead). */
export function headerFromFirstLine(line: string | undefined, where: string): BundleHeader | undefined {
  if (line === undefined || !line.startsWith(`{"format":`) || !line.endsWith(',')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(`${line.slice(0, -1)}}`);
  } catch {
    return undefined;
  }
  return checkHeader(value, where);
}

/**
 * One section of a line-laid-out bundle, streamed: skips to `"<section>":[` and yields each element until the
 * closing bracket. A layout error (a missing bracket, a truncated file) is a CliError: the bundle cannot be read.
 */
export async function* sectionOf(
  lines: AsyncIterable<string>,
  section: 'blocks' | 'leaves',
  where: string,
): AsyncGenerator<unknown> {
  const open = `"${section}":[`;
  const close = section === 'blocks' ? '],' : ']';
  let number = 0;
  let inside = false;
  for await (const line of lines) {
    number++;
    if (!inside) {
      if (line === open) inside = true;
      continue;
    }
    if (line === close) return;
    if (line === '') throw bundleError(`${where}:${number}: empty line in ${section}`);
    yield element(line);
  }
  throw bundleError(`${where}: the ${section} list is ${inside ? 'not closed (truncated file?)' : 'missing'}`);
}

/**
 * The file's lines, read when first iterated: readline starts emitting as soon as it is created, and lines
 * emitted before the iteration begins would be lost.
 */
async function* fileLines(path: string): AsyncGenerator<string> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    yield* lines;
  } finally {
    lines.close();
  }
}

async function firstLine(path: string): Promise<string | undefined> {
  const lines = fileLines(path)[Symbol.asyncIterator]();
  try {
    const first = await lines.next();
    return first.done ? undefined : first.value;
  } finally {
    await lines.return(undefined);
  }
}

async function* fromArray(items: readonly unknown[]): AsyncGenerator<unknown> {
  yield* items;
}

/** Opens a bundle file: streamed when it has the layout `export` writes, otherwise parsed whole. */
export async function openBundle(path: string): Promise<OpenedBundle> {
  let first: string | undefined;
  try {
    first = await firstLine(path);
  } catch (error) {
    throw bundleError(`${path}: cannot read (${error instanceof Error ? error.message : String(error)})`);
  }
  const header = headerFromFirstLine(first, path);
  if (header) {
    return {
      header,
      layout: 'lines',
      blocks: sectionOf(fileLines(path), 'blocks', path),
      leaves: sectionOf(fileLines(path), 'leaves', path),
    };
  }
  let whole: unknown;
  try {
    whole = JSON.parse(await readFile(path, 'utf8')) as unknown;
  } catch (error) {
    throw bundleError(`${path}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const { blocks, leaves } = (whole ?? {}) as { blocks?: unknown; leaves?: unknown };
  if (!Array.isArray(blocks) || !Array.isArray(leaves)) throw bundleError(`${path}: blocks and leaves must be lists`);
  return {
    header: checkHeader(whole, path),
    layout: 'whole',
    blocks: fromArray(blocks),
    leaves: fromArray(leaves),
  };
}
