import { open, type FileHandle } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { bundleError } from './bundle';
import { type CheckedLeaf, type CheckedLeaves } from './checked-leaf';
import { unpackChecks, type LeafChunk, type LeafChunkChecks, type LeafWorkerSettings } from './leaf-chunk';
import { type ProducerKeys } from './producers';

/**
 * `chain --bundle` on worker threads: the main thread reads the bundle's leaves section in chunks of whole lines
 * and hands each to a worker, which parses and checks every leaf on its own (checkLeafAt: JSON, RFC 8785 form,
 * leaf hash, proof of origin); verifyChain takes the verdicts back in order on the main thread, with everything that
 * needs the blocks or the other leaves (docs/perf.md "Offline verification"). At most IN_FLIGHT_PER_WORKER chunks
 * per worker are read ahead, so memory stays bounded.
 */

/** Bytes per chunk: about a thousand leaves of the ledger's events, a few milliseconds of a worker's time. */
export const CHUNK_BYTES = 2 * 1024 * 1024;
const IN_FLIGHT_PER_WORKER = 2;
const NEWLINE = 0x0a;
const RETURN = 0x0d;

/**
 * A smaller bundle is checked on the main thread by default: starting a worker (and, from the TypeScript sources,
 * compiling its modules) costs more than it saves on a few thousand leaves.
 */
export const WORKERS_MIN_BYTES = 16 * 1024 * 1024;

/** The default number of workers for a bundle of `bytes`: one per core, none for a small bundle. */
export function defaultWorkers(bytes: number): number {
  return bytes < WORKERS_MIN_BYTES ? 0 : availableParallelism();
}

interface Job {
  resolve: (checks: LeafChunkChecks) => void;
  reject: (error: Error) => void;
}

/**
 * The worker's module: leaf-worker.js beside this file when built; run from the TypeScript sources (tsx, jest), a
 * worker that registers tsx first (it inherits no loader from jest, and none is needed twice under tsx).
 */
function startWorker(settings: LeafWorkerSettings): Worker {
  const options = { workerData: settings };
  if (!__filename.endsWith('.ts')) return new Worker(join(__dirname, 'leaf-worker.js'), options);
  const source = join(__dirname, 'leaf-worker.ts');
  const code =
    `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register();` + `require(${JSON.stringify(source)});`;
  return new Worker(code, {
    ...options,
    eval: true,
    execArgv: [],
    // tsx resolves the workspace's path aliases (@medledger/*) from this tsconfig.
    env: {
      ...process.env,
      TSX_TSCONFIG_PATH: process.env['TSX_TSCONFIG_PATH'] ?? join(__dirname, '../../../tsconfig.base.json'),
    },
  });
}

export class LeafPool {
  private readonly workers: Array<{ worker: Worker; jobs: Map<number, Job> }> = [];
  private nextId = 0;
  private closed = false;

  constructor(
    readonly size: number,
    producerKeys: ProducerKeys | undefined,
  ) {
    for (let i = 0; i < size; i++) {
      const slot = { worker: startWorker({ producerKeys }), jobs: new Map<number, Job>() };
      slot.worker.on('message', (checks: LeafChunkChecks) => {
        const job = slot.jobs.get(checks.id);
        slot.jobs.delete(checks.id);
        job?.resolve(checks);
      });
      const fail = (error: Error) => {
        for (const job of slot.jobs.values()) job.reject(error);
        slot.jobs.clear();
      };
      slot.worker.on('error', fail);
      slot.worker.on('exit', (code) => {
        if (!this.closed) fail(new Error(`a leaf worker exited with ${code}`));
      });
      this.workers.push(slot);
    }
  }

  /** Checks a chunk on the least busy worker; `chunk.bytes` is moved to it. */
  check(chunk: Omit<LeafChunk, 'id'>): Promise<LeafChunkChecks> {
    const id = this.nextId++;
    const slot = this.workers.reduce((best, next) => (next.jobs.size < best.jobs.size ? next : best));
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the leaf pool is closed'));
      slot.jobs.set(id, { resolve, reject });
      slot.worker.postMessage({ ...chunk, id }, [chunk.bytes.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map(({ worker }) => worker.terminate()));
  }
}

/** Lines in `bytes` as readline counts them (see LINE_BREAK in leaf-chunk.ts); `bytes` ends with \n unless at EOF. */
function lineCount(bytes: Buffer): number {
  if (bytes.length === 0) return 0;
  const last = bytes[bytes.length - 1];
  const endsWithBreak = last === NEWLINE || last === RETURN;
  if (bytes.indexOf(RETURN) >= 0) {
    // Rare (JSON.stringify writes none): count exactly, one character per byte.
    return (bytes.toString('latin1').match(/\r\n|\n|\r/g)?.length ?? 0) + (endsWithBreak ? 0 : 1);
  }
  let count = 0;
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) count++;
  return count + (endsWithBreak ? 0 : 1);
}

/** Reads `handle` from `position`; `carry` is kept at the front of what is returned. */
async function readMore(
  handle: FileHandle,
  position: number,
  carry: Buffer,
  chunkBytes: number,
): Promise<{ bytes: Buffer; read: number }> {
  const bytes = Buffer.allocUnsafeSlow(carry.length + chunkBytes);
  carry.copy(bytes, 0);
  const { bytesRead } = await handle.read(bytes, carry.length, chunkBytes, position);
  return { bytes: bytes.subarray(0, carry.length + bytesRead), read: bytesRead };
}

/**
 * The leaves of a bundle laid out one per line (as `export` writes it, see bundle.ts), checked on `workers` worker
 * threads: the same leaves, verdicts and layout errors (at the same place in the stream) as
 * `sectionOf(…, 'leaves')` checked by `checkLeaves` on this thread. The workers start when the leaves are first read
 * and stop when they are done with or abandoned.
 */
export function poolBundleLeaves(
  path: string,
  workers: number,
  producerKeys: ProducerKeys | undefined,
  chunkBytes = CHUNK_BYTES,
): CheckedLeaves {
  return { checked: checkedLeaves(path, workers, producerKeys, chunkBytes) };
}

async function* checkedLeaves(
  path: string,
  workers: number,
  producerKeys: ProducerKeys | undefined,
  chunkBytes: number,
): AsyncGenerator<CheckedLeaf> {
  const handle = await open(path, 'r');
  const pool = new LeafPool(workers, producerKeys);
  const inFlight: Array<Promise<LeafChunkChecks>> = [];
  try {
    // The lines before the section, as sectionOf skips them (one character per byte: the line sought is ASCII).
    let position = 0;
    let line = 0;
    let carry: Buffer = Buffer.alloc(0);
    let body: Buffer | undefined;
    for (;;) {
      const { bytes, read } = await readMore(handle, position, carry, chunkBytes);
      position += read;
      const eof = read === 0;
      const upto = eof ? bytes.length : bytes.lastIndexOf(NEWLINE) + 1;
      const text = bytes.toString('latin1', 0, upto);
      const breaks = /\r\n|\n|\r/g;
      let start = 0;
      for (let match = breaks.exec(text); ; match = breaks.exec(text)) {
        const end = match ? match.index : text.length;
        if (!match && start === text.length) break;
        line++;
        const next = match ? end + match[0].length : text.length;
        if (text.slice(start, end) === '"leaves":[') {
          body = bytes.subarray(next);
          break;
        }
        start = next;
        if (!match) break;
      }
      if (body) break;
      if (eof) throw bundleError(`${path}: the leaves list is missing`);
      carry = Buffer.from(bytes.subarray(upto));
    }

    // The section: chunks of whole lines to the workers, their verdicts back in order.
    let index = 0;
    let eof = false;
    carry = Buffer.from(body);
    const limit = pool.size * IN_FLIGHT_PER_WORKER;
    for (;;) {
      while (!eof && inFlight.length < limit) {
        const { bytes, read } = await readMore(handle, position, carry, chunkBytes);
        position += read;
        eof = read === 0;
        const cut = eof ? bytes.length : bytes.lastIndexOf(NEWLINE) + 1;
        if (cut === 0) {
          carry = bytes; // a line longer than a chunk: read on
          continue;
        }
        carry = Buffer.from(bytes.subarray(cut));
        const chunk = bytes.subarray(0, cut);
        const lines = lineCount(chunk);
        if (lines === 0) continue;
        inFlight.push(pool.check({ bytes: chunk, firstIndex: index, firstLine: line + 1 }));
        index += lines;
        line += lines;
      }
      const next = inFlight.shift();
      if (!next) throw bundleError(`${path}: the leaves list is not closed (truncated file?)`);
      const checks = await next;
      yield* unpackChecks(checks);
      if (checks.end?.kind === 'close') return;
      if (checks.end?.kind === 'empty') throw bundleError(`${path}:${checks.end.line}: empty line in leaves`);
    }
  } finally {
    // Abandoned or failed: pending chunks are dropped with the workers.
    for (const pending of inFlight) pending.catch(() => undefined);
    await handle.close();
    await pool.close();
  }
}
