/**
 * Offline verification (issue 17 §3: "≥ 100,000 leaves/s from a bundle file on this machine, using both cores",
 * with producer proofs checked): times `medledger-verify chain --bundle` end to end, from process start to verdict.
 *
 * The bundle is generated here with the ledger's own formats and ledger-core only, as the ledger and the producing
 * services make them, without Kafka or PostgreSQL: the three producers' realistic events (ledger-harness.ts) signed
 * in producer batches of `--producer-batch` (the batches of the three interleaved, as the ledger interleaves its
 * topics' partitions), sealed as JCS leaves into blocks of `--block` leaves (the ledger's full block,
 * BLOCK_MAX_EVENTS) with RFC 6962 roots, each header Ed25519-signed, hash-linked to the previous one and carrying its
 * signed checkpoint, laid out as `export` writes a bundle (bundleChunks). It is cached under .data/bench, keyed by
 * the leaf count, the batch and block sizes and BUNDLE_VERSION, with the ledger's keyring and the producers' keys
 * beside it; `--regenerate` makes it again.
 *
 * Each run is the verifier's CLI as `npm run verify` runs it (tsx), in a child process: wall time from spawn to exit,
 * CPU time (user + system, every thread, from this process's reaped-children counters in /proc/self/stat), and each
 * core's busy share from /proc/stat over the run (which counts whatever else runs on the machine too). The verdict
 * must be OK with the producers' proofs checked; anything else fails the bench.
 *
 *     npm run bench:verify -- [--leaves 1000000] [--producer-batch 100] [--block 2000] [--runs 1]
 *                             [--workers auto,0] [--regenerate] [--cpu-prof]
 *
 * `--workers`: the verifier's --workers settings to time, comma-separated (auto: the CLI's default, one worker per
 * core; 0: everything on the main thread). `--cpu-prof` runs the verifier under node --cpu-prof (every thread
 * writes a profile into .data/bench/verify-prof). Prints a table, then one JSON line (machine, Node, git commit).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  blockHash,
  CompactRange,
  createSigner,
  encodeSignedEvent,
  GENESIS_PREVIOUS_HASH,
  generateEd25519KeyPair,
  leafData,
  leafHash,
  signCheckpoint,
  signHeader,
  toBase64,
  verifierKey,
} from '@medledger/ledger-core';
import { cliOptions, gitCommit, machine, ROOT, round, run, say } from './common';
import { createProducers, envelope, SERVICES, type Service } from './ledger-harness';

/** A block as a bundle carries it (tools/verify: BlockRecord): the signed header, its hash and its checkpoint. */
type BlockRecord = ReturnType<typeof signHeader> & { hash: string; checkpoint: string };

/** The bundle format `export` writes (tools/verify/src/bundle.ts, BUNDLE_FORMAT and bundleChunks). */
const BUNDLE_FORMAT = 'medledger-bundle/1';

/** Bump when what the generator writes changes: cached bundles of another version are not reused. */
const BUNDLE_VERSION = 1;
const ORIGIN = 'medledger.local/ledger';
/** Leaves received per millisecond: the ledger's measured admission rate is in the tens of thousands a second. */
const LEAVES_PER_MS = 20;

interface BundleFiles {
  bundle: string;
  keyring: string;
  producerKeys: string;
  bytes: number;
  blocks: number;
}

/**
 * Writes a bundle of `leaves` leaves (see the header comment) to `bundle`, via a temporary file of leaf lines (the
 * blocks come first in a bundle, and are known only once their leaves are), then renames it into place.
 */
async function generateBundle(
  dir: string,
  name: string,
  leaves: number,
  producerBatch: number,
  blockSize: number,
): Promise<BundleFiles> {
  const files = {
    bundle: join(dir, `${name}.json`),
    keyring: join(dir, `${name}.ledger.keys`),
    producerKeys: join(dir, `${name}.producers.keys`),
  };
  const ledgerKey = createSigner(ORIGIN, generateEd25519KeyPair().seed);
  const producers = createProducers();
  const t0 = Date.now() - Math.ceil(leaves / LEAVES_PER_MS) - 60_000;
  const receivedAt = (index: number) => new Date(t0 + Math.floor(index / LEAVES_PER_MS)).toISOString();

  const leafFile = `${files.bundle}.leaves.partial`;
  const out = openSync(leafFile, 'w');
  const blocks: BlockRecord[] = [];
  const range = CompactRange.empty();
  let previousHash = GENESIS_PREVIOUS_HASH;
  let pending: string[] = [];
  let written = 0;
  const flush = () => {
    // Laid out as bundleChunks lays out a list: "\n" before the first element, ",\n" before each other.
    if (pending.length > 0) writeSync(out, `${written === 0 ? '\n' : ',\n'}${pending.join(',\n')}`);
    written += pending.length;
    pending = [];
  };
  const seal = (lastIndex: number) => {
    const firstLeafIndex = blocks.length === 0 ? 0 : (blocks.at(-1) as BlockRecord).treeSize;
    const root = range.root();
    const header = signHeader(
      {
        height: blocks.length,
        previousHash,
        firstLeafIndex,
        leafCount: range.size - firstLeafIndex,
        treeSize: range.size,
        root: toBase64(root),
        // A few milliseconds after its last leaf arrived, as the ledger seals.
        sealedAt: new Date(Date.parse(receivedAt(lastIndex)) + 5).toISOString(),
        keyId: ledgerKey.keyId,
      },
      ledgerKey,
    );
    const checkpoint = signCheckpoint({ origin: ORIGIN, size: range.size, root, extensions: [] }, [ledgerKey]);
    const block: BlockRecord = { ...header, hash: toBase64(blockHash(header)), checkpoint };
    blocks.push(block);
    previousHash = block.hash;
  };

  let index = 0;
  let serial = 0;
  const started = performance.now();
  try {
    while (index < leaves) {
      // One batch of each producer, interleaved event by event: batches straddle blocks and each other, as live.
      const batches = SERVICES.map((service: Service) => {
        const size = Math.min(producerBatch, leaves - index);
        const batch = Array.from({ length: size }, () => envelope(service, serial++));
        return { topic: `medledger.${service}.events`, events: producers.signers[service].signBatch(batch) };
      });
      for (let i = 0; i < producerBatch; i++) {
        for (const { topic, events } of batches) {
          const event = events[i];
          if (event === undefined || index >= leaves) continue;
          // The event as its producer published it (RFC 8785), parsed back as the ledger parses what it receives.
          const received = JSON.parse(encodeSignedEvent(event)) as Record<string, unknown>;
          const data = leafData({ index, receivedAt: receivedAt(index), topic, event: received });
          range.append(leafHash(data));
          pending.push(JSON.stringify({ index, eventId: received['id'], leafData: toBase64(data) }));
          index++;
          if (range.size % blockSize === 0 || index === leaves) seal(index - 1);
        }
      }
      if (pending.length >= 5_000) flush();
      if (index % 100_000 < producerBatch * SERVICES.length) {
        say(`generated ${index} of ${leaves} leaves (${round((performance.now() - started) / 1000)} s)`);
      }
    }
    flush();
  } finally {
    closeSync(out);
  }

  // The layout `export` writes (bundleChunks): a header line, then one block or leaf per line, so that
  // `chain --bundle` streams it.
  const partial = `${files.bundle}.partial`;
  const header = { origin: ORIGIN, keys: [verifierKey(ledgerKey.name, ledgerKey.publicKey)] };
  const head = JSON.stringify({ format: BUNDLE_FORMAT, ...header, checkpoint: blocks.at(-1)?.checkpoint ?? null });
  const blockLines = blocks.map((block, i) => `${i === 0 ? '\n' : ',\n'}${JSON.stringify(block)}`).join('');
  const target = createWriteStream(partial);
  target.write(`${head.slice(0, -1)},\n"blocks":[${blockLines}\n],\n"leaves":[`);
  await pipeline(createReadStream(leafFile), target, { end: false });
  target.end('\n]\n}\n');
  await once(target, 'close');
  await rm(leafFile);
  const keysFile = (lines: readonly string[]) => `${lines.join('\n')}\n`;
  const write = (path: string, text: string) => {
    const fd = openSync(path, 'w');
    writeSync(fd, text);
    closeSync(fd);
  };
  write(files.keyring, keysFile(header.keys));
  write(files.producerKeys, keysFile(producers.verifierKeys));
  renameSync(partial, files.bundle);
  return { ...files, bytes: statSync(files.bundle).size, blocks: blocks.length };
}

/** The cached bundle of this shape, generated first when missing (or with `regenerate`). */
async function bundleFor(
  leaves: number,
  producerBatch: number,
  blockSize: number,
  regenerate: boolean,
): Promise<BundleFiles> {
  const dir = join(ROOT, '.data/bench');
  mkdirSync(dir, { recursive: true });
  const name = `verify-bundle-v${BUNDLE_VERSION}-${leaves}-p${producerBatch}-b${blockSize}`;
  const bundle = join(dir, `${name}.json`);
  const keyring = join(dir, `${name}.ledger.keys`);
  const producerKeys = join(dir, `${name}.producers.keys`);
  if (!regenerate && existsSync(bundle) && existsSync(keyring) && existsSync(producerKeys)) {
    say(`bundle ${bundle} (cached)`);
    return { bundle, keyring, producerKeys, bytes: statSync(bundle).size, blocks: Math.ceil(leaves / blockSize) };
  }
  say(`generating ${bundle}: ${leaves} leaves, producer batches of ${producerBatch}, blocks of ${blockSize}...`);
  const started = performance.now();
  const files = await generateBundle(dir, name, leaves, producerBatch, blockSize);
  say(`generated in ${round((performance.now() - started) / 1000)} s, ${round(files.bytes / 2 ** 20)} MiB`);
  return files;
}

/** user + system CPU seconds of this process's children that have been waited for (/proc/self/stat: cutime, cstime). */
function childrenCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** Busy and total jiffies of each core (/proc/stat cpuN lines). */
function coreTimes(): Array<{ busy: number; total: number }> {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((line) => /^cpu\d+ /.test(line))
    .map((line) => {
      const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
      const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
      return { busy, total: busy + (idle ?? 0) + (iowait ?? 0) };
    });
}

interface RunResult {
  workers: string;
  seconds: number;
  leavesPerSecond: number;
  cpuSeconds: number;
  /** CPU seconds per wall second of the verifier's process (2.0: both cores busy with it all along). */
  coresUsed: number;
  /** Each core's busy share over the run, whatever ran on it (other processes too). */
  coreBusy: number[];
  verdict: string;
}

async function timeVerifier(
  files: BundleFiles,
  leaves: number,
  workers: string,
  profileDir: string | undefined,
): Promise<RunResult> {
  const args = [
    join(ROOT, 'tools/verify/src/main.ts'),
    'chain',
    '--bundle',
    files.bundle,
    '--keyring',
    files.keyring,
    '--producer-keys',
    files.producerKeys,
    '--quiet',
    ...(workers === 'auto' ? [] : ['--workers', workers]),
  ];
  // As `npm run verify` runs it (tsx, which runs the script in a child node); under --cpu-prof one node with tsx
  // as its loader, so that the profiles are the verifier's own.
  const [command, commandArgs] = profileDir
    ? [process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--import', 'tsx', ...args]]
    : [join(ROOT, 'node_modules/.bin/tsx'), ['--tsconfig', 'tsconfig.base.json', ...args]];
  const cpuBefore = childrenCpuSeconds();
  const coresBefore = coreTimes();
  const started = performance.now();
  const child = spawn(command, commandArgs, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.base.json') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = childrenCpuSeconds() - cpuBefore;
  const coresAfter = coreTimes();
  const verdict = stdout.trim().split('\n').at(-1) ?? '';
  if (code !== 0 || !verdict.startsWith(`OK chain: `) || !verdict.includes(`${leaves} leaves`)) {
    throw new Error(`the verifier (--workers ${workers}) exited with ${code}: ${stdout}\n${stderr.slice(-4000)}`);
  }
  if (verdict.includes('NOT checked')) throw new Error(`the producers' proofs were not checked: ${verdict}`);
  return {
    workers,
    seconds: round(seconds, 2),
    leavesPerSecond: Math.round(leaves / seconds),
    cpuSeconds: round(cpuSeconds, 2),
    coresUsed: round(cpuSeconds / seconds, 2),
    coreBusy: coresAfter.map((after, i) => {
      const before = coresBefore[i] ?? { busy: 0, total: 0 };
      return round((after.busy - before.busy) / Math.max(1, after.total - before.total), 2);
    }),
    verdict,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const options = cliOptions(argv);
  const leaves = Math.round(options.number('leaves', 1_000_000));
  const producerBatch = Math.round(options.number('producer-batch', 100));
  const blockSize = Math.round(options.number('block', 2_000));
  const runs = Math.round(options.number('runs', 1));
  const at = argv.findIndex((arg) => arg === '--workers' || arg.startsWith('--workers='));
  const workersArg = at < 0 ? 'auto,0' : ((argv[at]?.includes('=') ? argv[at]?.split('=')[1] : argv[at + 1]) ?? '');
  const settings = workersArg.split(',').filter(Boolean);
  for (const setting of settings) {
    if (setting !== 'auto' && !/^\d+$/.test(setting)) throw new Error(`--workers: "${setting}" is not auto or a count`);
  }
  const measured = gitCommit();
  const load = loadavg().map((value) => round(value, 2));
  const files = await bundleFor(leaves, producerBatch, blockSize, options.flag('regenerate'));
  const profileDir = options.flag('cpu-prof') ? join(ROOT, '.data/bench/verify-prof') : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });

  const results: RunResult[] = [];
  for (let r = 0; r < runs; r++) {
    for (const workers of settings) {
      say(`run ${r + 1} of ${runs}: chain --bundle, --workers ${workers}...`);
      const result = await timeVerifier(files, leaves, workers, profileDir);
      say(`  ${result.verdict}`);
      results.push(result);
    }
  }

  process.stdout.write(
    `\n${leaves} leaves in ${files.blocks} blocks, producer batches of ${producerBatch}, ` +
      `bundle ${round(files.bytes / 2 ** 20)} MiB; process start to verdict, producer proofs checked\n`,
  );
  process.stdout.write(
    `${'--workers'.padEnd(10)} ${'wall s'.padStart(8)} ${'leaves/s'.padStart(10)} ${'CPU s'.padStart(8)} ` +
      `${'cores'.padStart(6)}  core busy (whole machine)\n`,
  );
  for (const r of results) {
    process.stdout.write(
      `${r.workers.padEnd(10)} ${r.seconds.toFixed(2).padStart(8)} ${String(r.leavesPerSecond).padStart(10)} ` +
        `${r.cpuSeconds.toFixed(2).padStart(8)} ${r.coresUsed.toFixed(2).padStart(6)}  ` +
        `${r.coreBusy.map((share) => `${Math.round(share * 100)} %`).join(', ')}\n`,
    );
  }
  process.stdout.write(
    `${JSON.stringify({
      bench: 'verify',
      ...measured,
      machine: machine(),
      node: process.version,
      cores: cpus().length,
      // Other work on the machine when the bench started (1, 5, 15 min): a loaded machine's figures are not a floor.
      loadAverage: load,
      leaves,
      blocks: files.blocks,
      producerBatch,
      blockSize,
      bundleBytes: files.bytes,
      bundleVersion: BUNDLE_VERSION,
      runs: results.map(({ verdict: _verdict, ...rest }) => rest),
    })}\n`,
  );
}

run(main);
