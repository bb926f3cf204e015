import { createWriteStream } from 'node:fs';
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fromBase64, leafHash, MemoryMerkleTree, toBase64, type Checkpoint } from '@medledger/ledger-core';
import { bundleChunks, openBundle, type OpenedBundle } from './bundle';
import { verifyChain } from './chain-verifier';
import { CliError, CliErrorCode, finding, VerifyCode, type Finding } from './codes';
import { checkConsistency, parseRecordedCheckpoint, type CheckpointView } from './consistency';
import { DeepRecorder, parseSample, sampleLeaves, verifyServedProofs } from './deep';
import { PostgresStore } from './pg-store';
import { auditStore } from './store-audit';
import { checkAge, datedCheckpoint, parseMaxAge } from './freshness';
import { parseProducerKeys, ProducerCheck } from './producers';
import { LedgerClient, MAX_PAGE } from './http';
import { defaultWorkers, poolBundleLeaves } from './leaf-pool';
import { type CheckedLeaves } from './checked-leaf';
import { httpChainSource } from './http-source';
import { verifyEventInclusion } from './inclusion';
import { verifyStatement } from './statement';
import type { Statement } from '@medledger/compensation';
import { keysFromListing, keysFromVerifierKeys, parseKeyring, type TrustedKeys } from './keys';
import { Progress, type ProgressStream } from './progress';
import { checkWitnessed, describeWitnessed, noteText, witnessPolicy } from './witnesses';

export const EXIT = { OK: 0, FINDING: 1, CANNOT_VERIFY: 2 } as const;

export interface CliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: ProgressStream;
  readonly now?: () => number;
}

export const USAGE = `usage: medledger-verify <command> [options]

  chain        --url <ledger> | --bundle <file>  [--keyring <file>] [--producer-keys <file>] [--state <file>]
               [--max-age <age>] [--allow-empty] [--batch 1000] [--deep [--sample <n>|all]] [--workers <n>]
               every block, signature, chain link, leaf and checkpoint, roots recomputed from the leaves;
               --deep (with --url): also the proofs the ledger serves, against the signed roots: consistency
               from each block to the next, and inclusion of every leaf (--sample: of n random leaves; by
               default all of a log of up to 10000 leaves, 10000 random ones of a larger log);
               --workers (with --bundle): threads that check the leaves (default: one per core for a bundle
               of 16 MiB or more; 0: none, all on the main thread)
  inclusion    --url <ledger> | --bundle <file>  --event <id> [--keyring <file>] [--producer-keys <file>]
               [--state <file>] [--max-age <age>]
               one event's inclusion proof against the latest signed checkpoint
  consistency  --url <ledger> --state <file> [--keyring <file>] [--max-age <age>]
               the latest checkpoint extends the one recorded in <file> (recorded on first use)
  audit        --database-url <postgresql://...> --keyring <file> [--producer-keys <file>] [--batch 1000]
               the operator's check of the ledger's store, read from its database: every block and leaf as
               chain checks them, and every stored tile (the tree proofs are served from) against the tiles
               recomputed from the leaves, byte for byte
  export       --url <ledger> --out <bundle.json> [--batch 1000]
               everything 'chain --bundle' needs, in one file
  statement    <statement.json> --keyring <file> | --url <ledger>
               a trial participant's statement: every event's receipt, every record against its commitment,
               and the compensation contract run again (any difference in an amount is named)

common options:
  --keyring <file>   trust only these verifier keys (<name>+<hex id>+<base64>, one per line)
  --producer-keys <file | keys>
                     check every event's proof of origin against these producer keys (a keyring file of
                     <service>+<hex id>+<base64> lines, or the keys comma-separated, as LEDGER_PRODUCER_KEYS)
  --state <file>     the checkpoint verified last time: the log must extend it (recorded on first use, then updated)
  --max-age <age>    the newest checkpoint's block must be younger than <age> (seconds, or 90s, 15m, 2h, 1d)
  --allow-empty      an empty log verifies (it is an error otherwise)
  --origin <origin>  expect this log origin (default: the latest checkpoint's)
  --witness-keys <file>
                     (chain, inclusion, consistency) the checkpoint relied on must be cosigned by witnesses of this
                     keyring (<name>+<hex id>+<base64(0x04 || key)>, one per line; C2SP tlog-cosignature)
  --quorum <n>       how many distinct witnesses of --witness-keys must have cosigned it (default 1)
  --quiet            no progress on stderr

exit: 0 verified, 1 something does not verify (the first bad block is named), 2 could not verify`;

const OPTIONS = {
  url: { type: 'string' },
  bundle: { type: 'string' },
  keyring: { type: 'string' },
  origin: { type: 'string' },
  batch: { type: 'string' },
  event: { type: 'string' },
  state: { type: 'string' },
  'producer-keys': { type: 'string' },
  'max-age': { type: 'string' },
  'allow-empty': { type: 'boolean' },
  'witness-keys': { type: 'string' },
  quorum: { type: 'string' },
  deep: { type: 'boolean' },
  sample: { type: 'string' },
  out: { type: 'string' },
  'database-url': { type: 'string' },
  quiet: { type: 'boolean' },
  workers: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

type Options = {
  -readonly [K in keyof typeof OPTIONS]?: (typeof OPTIONS)[K]['type'] extends 'string' ? string : boolean;
};

/** Which options each command takes; anything else is a usage error rather than silently ignored. */
const COMMANDS = {
  chain: [
    'url',
    'bundle',
    'keyring',
    'producer-keys',
    'state',
    'max-age',
    'allow-empty',
    'origin',
    'batch',
    'quiet',
    'witness-keys',
    'quorum',
    'deep',
    'sample',
    'workers',
  ],
  inclusion: [
    'url',
    'bundle',
    'keyring',
    'producer-keys',
    'state',
    'max-age',
    'origin',
    'event',
    'quiet',
    'witness-keys',
    'quorum',
  ],
  consistency: ['url', 'keyring', 'origin', 'state', 'max-age', 'quiet', 'witness-keys', 'quorum'],
  audit: ['database-url', 'keyring', 'producer-keys', 'origin', 'batch', 'quiet'],
  export: ['url', 'out', 'batch', 'quiet'],
  statement: ['url', 'keyring', 'origin', 'quiet'],
} as const satisfies Record<string, readonly (keyof Options)[]>;
type Command = keyof typeof COMMANDS;

function usage(message: string): CliError {
  return new CliError(CliErrorCode.USAGE, message);
}

function parse(argv: readonly string[]): { command: Command; options: Options; file?: string } | 'help' {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') return 'help';
  if (!Object.hasOwn(COMMANDS, command)) throw usage(`unknown command ${JSON.stringify(command)}`);
  let values: Options;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...rest], options: OPTIONS, strict: true, allowPositionals: true }));
  } catch (error) {
    throw usage(error instanceof Error ? error.message : String(error));
  }
  if (values.help) return 'help';
  const allowed: readonly string[] = COMMANDS[command as Command];
  const extra = Object.keys(values).filter((name) => !allowed.includes(name));
  if (extra.length > 0) throw usage(`${command} does not take --${extra.join(', --')}`);
  if (command === 'statement') {
    if (positionals.length !== 1) throw usage('statement takes one file: statement <statement.json>');
    return { command, options: values, file: positionals[0] as string };
  }
  if (positionals.length > 0) throw usage(`Unexpected argument '${positionals[0]}'`);
  return { command: command as Command, options: values };
}

function batchOf(options: Options): number {
  if (options.batch === undefined) return MAX_PAGE;
  const batch = Number(options.batch);
  if (!/^\d+$/.test(options.batch) || batch < 1 || batch > MAX_PAGE) throw usage(`--batch must be 1..${MAX_PAGE}`);
  return batch;
}

/** `--workers`: threads that check a bundle's leaves (0: all on the main thread); undefined: the default. */
function workersOf(options: Options): number | undefined {
  if (options.workers === undefined) return undefined;
  const workers = Number(options.workers);
  if (!/^\d+$/.test(options.workers) || workers > 64) throw usage('--workers must be 0..64');
  return workers;
}

/** Exactly one of --url and --bundle (or --url alone where bundles make no sense). */
function sourceOf(options: Options, bundleAllowed: boolean): { url: string } | { bundle: string } {
  if (options.url !== undefined && options.bundle !== undefined) throw usage('give --url or --bundle, not both');
  if (options.url !== undefined) return { url: options.url };
  if (options.bundle !== undefined && bundleAllowed) return { bundle: options.bundle };
  throw usage(bundleAllowed ? '--url <ledger> or --bundle <file> is required' : '--url <ledger> is required');
}

async function readKeyring(file: string): Promise<TrustedKeys> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CliError(CliErrorCode.KEYRING, `${file}: cannot read (${(error as Error).message})`);
  }
  return parseKeyring(text, file);
}

/** `--producer-keys`: a keyring file, or (no such file) the keys themselves, comma-separated. */
async function producerCheck(options: Options): Promise<ProducerCheck | undefined> {
  const value = options['producer-keys'];
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    text = await readFile(value, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENAMETOOLONG') {
      throw new CliError(CliErrorCode.KEYRING, `${value}: cannot read (${(error as Error).message})`);
    }
  }
  return new ProducerCheck(parseProducerKeys(value, text));
}

function maxAgeOf(options: Options): number | undefined {
  const value = options['max-age'];
  if (value === undefined) return undefined;
  const ms = parseMaxAge(value);
  if (ms === undefined)
    throw usage(`--max-age must be seconds, or <n>s, <n>m, <n>h, <n>d, not ${JSON.stringify(value)}`);
  return ms;
}

/** The state file's recorded checkpoint (its note and what it says), or undefined before the first run. */
async function recordedState(state: string | undefined): Promise<{ note: string; checkpoint: Checkpoint } | undefined> {
  if (state === undefined) return undefined;
  if (state === '') throw usage('--state needs a file');
  const note = await readState(state);
  if (note === undefined) return undefined;
  const checkpoint = parseRecordedCheckpoint(note);
  if (!checkpoint) throw new CliError(CliErrorCode.STATE, `${state}: not a checkpoint note (delete it to start over)`);
  return { note, checkpoint };
}

function describeProducers(producers: ProducerCheck | undefined): string {
  return producers
    ? `; events' proofs of origin: ${producers.keys.source}`
    : "; events' proofs of origin NOT checked (no --producer-keys)";
}

/** Keys: the pinned keyring when given; otherwise what the verified party itself lists (said in the summary). */
async function trustedKeys(
  options: Options,
  listed: () => Promise<{ ok: true; keys: TrustedKeys } | Finding>,
): Promise<TrustedKeys | Finding> {
  if (options.keyring !== undefined) return readKeyring(options.keyring);
  const keys = await listed();
  return keys.ok ? keys.keys : keys;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(2);
}

function fail(io: CliIo, result: Finding): number {
  io.stdout.write(`FAIL ${result.message} [${result.code}]\n`);
  return EXIT.FINDING;
}

async function openBundleKeys(
  options: Options,
  path: string,
): Promise<{ bundle: OpenedBundle; keys: TrustedKeys | Finding }> {
  const bundle = await openBundle(path);
  const keys = await trustedKeys(options, async () =>
    keysFromVerifierKeys(bundle.header.keys, `the keys inside ${path} (not pinned: pass --keyring to pin them)`),
  );
  return { bundle, keys };
}

async function chain(options: Options, io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  const started = now();
  const source = sourceOf(options, true);
  const batch = batchOf(options);
  const maxAge = maxAgeOf(options);
  const sample = options.deep === true ? parseSample(options.sample) : undefined;
  if (options.sample !== undefined && options.deep !== true) throw usage('--sample goes with --deep');
  if (options.deep === true && sample === undefined)
    throw usage('--sample must be a positive number of leaves, or all');
  if (options.deep === true && !('url' in source)) {
    throw usage('--deep checks the proofs a ledger serves: it needs --url (a bundle serves none)');
  }
  const workers = workersOf(options);
  if (options.workers !== undefined && !('bundle' in source)) throw usage('--workers goes with --bundle');
  const recorded = await recordedState(options.state);
  const producers = await producerCheck(options);
  const witnesses = await witnessPolicy(options);
  let keys: TrustedKeys | Finding;
  let checkpoint: string | undefined;
  let client: LedgerClient | undefined;
  let streams: { blocks: AsyncIterable<unknown>; leaves: AsyncIterable<unknown> };
  let checkedLeaves: CheckedLeaves | undefined;
  let origin = options.origin ?? recorded?.checkpoint.origin;
  if ('url' in source) {
    const ledger = (client = new LedgerClient(source.url));
    keys = await trustedKeys(options, async () =>
      keysFromListing(
        await ledger.keys(),
        `GET ${ledger.baseUrl}/v1/keys, i.e. the ledger's own word (not pinned: pass --keyring to pin them)`,
      ),
    );
    if (!('verifiers' in keys)) return fail(io, keys);
    checkpoint = await ledger.checkpoint(witnesses?.quorum);
    const size = checkpoint === undefined ? 0 : (parseRecordedCheckpoint(checkpoint)?.size ?? 0);
    streams = httpChainSource(ledger, { batch, size });
  } else {
    const opened = await openBundleKeys(options, source.bundle);
    keys = opened.keys;
    if (!('verifiers' in keys)) return fail(io, keys);
    checkpoint = opened.bundle.header.checkpoint ?? undefined;
    origin ??= opened.bundle.header.origin ?? undefined;
    streams = opened.bundle;
    // A bundle laid out one leaf per line is checked on worker threads (see leaf-pool.ts); any other is read whole.
    const threads = workers ?? defaultWorkers((await stat(source.bundle)).size);
    if (threads > 0 && opened.bundle.layout === 'lines') {
      checkedLeaves = poolBundleLeaves(source.bundle, threads, producers?.keys);
    }
  }
  const unwitnessed = witnesses && checkWitnessed(checkpoint, witnesses);
  if (unwitnessed) return fail(io, unwitnessed);
  const total = checkpoint === undefined ? 0 : (parseRecordedCheckpoint(checkpoint)?.size ?? 0);
  const deep = sample === undefined ? undefined : new DeepRecorder(sampleLeaves(total, sample));
  if (deep) streams = deep.wrap(streams);
  const progress = new Progress(io.stderr, 'chain', total, 'leaves', now, options.quiet === true);
  let last = { blocks: 0, leaves: 0 };
  const report = await verifyChain({
    keys,
    checkpoint,
    blocks: streams.blocks,
    leaves: checkedLeaves ?? streams.leaves,
    origin,
    producers,
    recorded: recorded?.checkpoint,
    onProgress: (seen) => {
      last = seen;
      progress.update(seen.leaves, `${seen.blocks} blocks`);
    },
  });
  const elapsed = now() - started;
  progress.finish(last.leaves, `${last.blocks} blocks`);
  if (!report.ok) {
    if (report.splitView && recorded && options.state !== undefined) {
      const latest = checkpoint === undefined ? undefined : parseRecordedCheckpoint(checkpoint);
      io.stdout.write(
        splitViewAlarm({
          url: 'url' in source ? source.url : source.bundle,
          state: options.state,
          reason: report.message,
          code: report.code,
          previous: view(recorded.checkpoint),
          latest: latest && view(latest),
          previousNote: recorded.note,
          latestNote: checkpoint ?? '(none: the log is empty)',
        }),
      );
      return EXIT.FINDING;
    }
    return fail(io, report);
  }
  if (report.blocks === 0 && options['allow-empty'] !== true) {
    return fail(io, finding(VerifyCode.EMPTY_LOG, 'chain: the log is empty (pass --allow-empty if it may be)'));
  }
  if (maxAge !== undefined && report.sealedAt !== undefined) {
    const stale = checkAge(report.sealedAt, maxAge, now());
    if (stale) return fail(io, stale);
  }
  let deepNote = '';
  if (deep && client) {
    // Only now are the recorded roots verified (verifyChain returned ok), so the served proofs are checked after.
    const ledger = client;
    const expected = Math.max(0, deep.blocks.length - 1) + deep.leaves.length;
    const proofs = new Progress(io.stderr, 'deep', expected, 'proofs', now, options.quiet === true);
    const served = await verifyServedProofs(
      deep,
      {
        consistencyProof: (from, to) => ledger.consistencyProof(from, to),
        blockProofs: (height, eventIds) => ledger.blockProofs(height, eventIds),
      },
      (checked) => proofs.update(checked),
    );
    proofs.finish(served.ok ? served.consistency + served.inclusion : 0);
    if (!served.ok) return fail(io, served);
    const leaves = deep.all ? 'every leaf' : `${served.inclusion} random leaves of ${report.leaves}`;
    deepNote =
      `; deep: served proofs verify against the signed roots: ${served.consistency} consistency (block to block), ` +
      `${served.inclusion} inclusion (${leaves})`;
  }
  let stateNote = '';
  if (options.state !== undefined && checkpoint !== undefined) {
    await writeState(options.state, checkpoint);
    stateNote = recorded
      ? `; extends the tree size ${recorded.checkpoint.size} recorded in ${options.state} (updated)`
      : `; first use, recorded in ${options.state}`;
  }
  const perSecond = elapsed > 0 ? Math.round((report.leaves * 1000) / elapsed) : 0;
  io.stdout.write(
    `OK chain: ${report.blocks} blocks, ${report.leaves} leaves, tree size ${report.treeSize}, root ${report.root}` +
      `${report.origin ? `, origin ${report.origin}` : ''}, ${seconds(elapsed)} s (${perSecond} leaves/s); ` +
      `keys: ${keys.source}${describeProducers(producers)}${witnesses ? describeWitnessed(checkpoint, witnesses) : ''}` +
      `${report.sealedAt ? `; newest block sealed at ${report.sealedAt}` : ''}${stateNote}${deepNote}\n`,
  );
  return EXIT.OK;
}

function view(checkpoint: Checkpoint): CheckpointView {
  return { origin: checkpoint.origin, size: checkpoint.size, root: toBase64(checkpoint.root) };
}

/** The record, leaf hashes and block height of one event, from a bundle: proofs are computed locally. */
async function bundleInclusionSource(bundle: OpenedBundle, eventId: string, size: number) {
  const tree = new MemoryMerkleTree();
  let record: unknown;
  let malformed: number | undefined;
  for await (const leaf of bundle.leaves) {
    if (tree.size >= size) break;
    const { eventId: id, leafData } = (leaf ?? {}) as { eventId?: unknown; leafData?: unknown };
    const data = typeof leafData === 'string' ? fromBase64(leafData) : undefined;
    if (!data) {
      malformed = tree.size;
      break;
    }
    if (id === eventId && record === undefined) record = leaf;
    tree.append(leafHash(data));
  }
  let blockHeight: number | undefined;
  let lastBlock: unknown;
  const index = (record as { index?: unknown } | undefined)?.index;
  for await (const block of bundle.blocks) {
    lastBlock = block;
    const { height, firstLeafIndex, treeSize } = (block ?? {}) as Record<string, unknown>;
    if (typeof index === 'number' && typeof firstLeafIndex === 'number' && typeof treeSize === 'number') {
      if (firstLeafIndex <= index && index < treeSize && typeof height === 'number') blockHeight = height;
    }
  }
  const available = (treeSize: number) => {
    if (malformed !== undefined) throw new ProofUnavailable(`bundle leaf ${malformed} has no base64 leafData`);
    if (treeSize > tree.size) throw new ProofUnavailable(`the bundle holds ${tree.size} leaves, not ${treeSize}`);
  };
  return {
    record: record === undefined ? undefined : { ...(record as object), blockHeight },
    lastBlock,
    proof: async (leafIndex: number, treeSize: number): Promise<string[]> => {
      available(treeSize);
      return tree.inclusionProof(leafIndex, treeSize).map(toBase64);
    },
    consistencyProof: async (from: number, to: number): Promise<string[]> => {
      available(to);
      return tree.consistencyProof(from, to).map(toBase64);
    },
  };
}

class ProofUnavailable extends Error {}

async function inclusion(options: Options, io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  const source = sourceOf(options, true);
  const eventId = options.event;
  if (eventId === undefined || eventId === '') throw usage('--event <id> is required');
  const maxAge = maxAgeOf(options);
  const recorded = await recordedState(options.state);
  const producers = await producerCheck(options);
  const witnesses = await witnessPolicy(options);
  const origin = options.origin ?? recorded?.checkpoint.origin;
  let result;
  let checkpoint: string | undefined;
  let sealedAt: string | undefined;
  let keys: TrustedKeys | Finding;
  let consistencyProof: (from: number, to: number) => Promise<readonly unknown[]>;
  if ('url' in source) {
    const client = new LedgerClient(source.url);
    keys = await trustedKeys(options, async () => keysFromListing(await client.keys(), 'GET /v1/keys'));
    if (!('verifiers' in keys)) return fail(io, keys);
    const record = await client.event(eventId);
    if (maxAge === undefined) checkpoint = await client.checkpoint(witnesses?.quorum);
    else {
      // The checkpoint carries no time: its block does. Both are taken from one answer, so they are the same tree.
      const dated = datedCheckpoint(await client.latestBlock(), keys, origin);
      if (!dated.ok) return fail(io, dated);
      ({ checkpoint, sealedAt } = dated);
    }
    const unwitnessed = witnesses && checkWitnessed(checkpoint, witnesses);
    if (unwitnessed) return fail(io, unwitnessed);
    result = await verifyEventInclusion({
      keys,
      eventId,
      record,
      checkpoint,
      origin,
      producers,
      proof: (index, treeSize) => client.inclusionProof(index, treeSize),
    });
    consistencyProof = (from, to) => client.consistencyProof(from, to);
  } else {
    const opened = await openBundleKeys(options, source.bundle);
    const bundle = opened.bundle;
    keys = opened.keys;
    if (!('verifiers' in keys)) return fail(io, keys);
    checkpoint = bundle.header.checkpoint ?? undefined;
    const size = checkpoint === undefined ? 0 : (parseRecordedCheckpoint(checkpoint)?.size ?? 0);
    const local = await bundleInclusionSource(bundle, eventId, size);
    consistencyProof = local.consistencyProof;
    if (maxAge !== undefined) {
      const dated = datedCheckpoint(local.lastBlock, keys, origin ?? bundle.header.origin ?? undefined);
      if (!dated.ok) return fail(io, dated);
      // The bundle's checkpoint may carry cosignatures its block's copy has not (ADR 0012): the texts must match.
      if (checkpoint === undefined || noteText(dated.checkpoint) !== noteText(checkpoint)) {
        return fail(io, finding(VerifyCode.CHECKPOINT_MISMATCH, "checkpoint: not the bundle's last block's"));
      }
      sealedAt = dated.sealedAt;
    }
    const unwitnessed = witnesses && checkWitnessed(checkpoint, witnesses);
    if (unwitnessed) return fail(io, unwitnessed);
    try {
      result = await verifyEventInclusion({
        keys,
        eventId,
        record: local.record,
        checkpoint,
        origin: origin ?? bundle.header.origin ?? undefined,
        producers,
        proof: local.proof,
      });
    } catch (error) {
      if (!(error instanceof ProofUnavailable)) throw error;
      result = finding(VerifyCode.INCLUSION_FAILED, `event ${JSON.stringify(eventId)}: ${error.message}`);
    }
  }
  if (!result.ok) return fail(io, result);
  if (maxAge !== undefined && sealedAt !== undefined) {
    const stale = checkAge(sealedAt, maxAge, now());
    if (stale) return fail(io, stale);
  }
  let stateNote = '';
  if (options.state !== undefined && checkpoint !== undefined) {
    const outcome = await stateCheck({
      io,
      keys,
      url: 'url' in source ? source.url : source.bundle,
      state: options.state,
      previous: recorded?.note,
      latest: checkpoint,
      origin,
      proof: consistencyProof,
    });
    if (typeof outcome === 'number') return outcome;
    stateNote = `; ${outcome}`;
  }
  const block = result.blockHeight === undefined ? '' : ` in block ${result.blockHeight}`;
  io.stdout.write(
    `OK inclusion: event ${result.eventId} is leaf ${result.index}${block}, included in tree size ${result.treeSize}` +
      ` with root ${result.root} (checkpoint signed by ${result.signedBy.join(', ')})` +
      `${producers ? `; its proof of origin: ${producers.keys.source}` : '; its proof of origin NOT checked (no --producer-keys)'}` +
      `${witnesses ? describeWitnessed(checkpoint, witnesses) : ''}` +
      `${sealedAt ? `; newest block sealed at ${sealedAt}` : ''}${stateNote}\n`,
  );
  return EXIT.OK;
}

/**
 * The light client's check of `latest` against the state file (checkConsistency), for inclusion: the alarm and
 * an exit code when it fails, else what it did (and the state file updated).
 */
async function stateCheck(fields: {
  io: CliIo;
  keys: TrustedKeys;
  url: string;
  state: string;
  previous: string | undefined;
  latest: string;
  origin: string | undefined;
  proof: (from: number, to: number) => Promise<readonly unknown[]>;
}): Promise<number | string> {
  const { io, state, previous, latest } = fields;
  const outcome = await checkConsistency({
    keys: fields.keys,
    previous,
    latest,
    origin: fields.origin,
    proof: fields.proof,
  });
  if (!outcome.ok) {
    if (!outcome.splitView) return fail(io, finding(outcome.code, `state: ${outcome.reason}`));
    io.stdout.write(
      splitViewAlarm({
        url: fields.url,
        state,
        reason: outcome.reason,
        code: outcome.code,
        previous: outcome.previous,
        latest: outcome.latest,
        previousNote: previous ?? '',
        latestNote: latest,
      }),
    );
    return EXIT.FINDING;
  }
  switch (outcome.kind) {
    case 'first-use':
      await writeState(state, latest);
      return `first use, recorded in ${state}`;
    case 'unchanged':
      return `the tree recorded in ${state}`;
    case 'extended':
      await writeState(state, latest);
      return `proven to extend the tree size ${outcome.previous.size} recorded in ${state} (updated)`;
  }
}

async function readState(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CliError(CliErrorCode.STATE, `${file}: cannot read (${(error as Error).message})`);
  }
}

/** Replaces the state file atomically: a crash leaves the old checkpoint or the new one, never half of either. */
async function writeState(file: string, note: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, note, { encoding: 'utf8', mode: 0o644 });
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw new CliError(CliErrorCode.STATE, `${file}: cannot write (${(error as Error).message})`);
  }
}

function describeCheckpoint(checkpoint: CheckpointView | undefined): string {
  return checkpoint ? `tree size ${checkpoint.size}, root ${checkpoint.root} (${checkpoint.origin})` : 'unknown';
}

/** The alarm: two signed checkpoints that cannot both be honest. Printed loud, with both notes as evidence. */
export function splitViewAlarm(fields: {
  url: string;
  state: string;
  reason: string;
  code: string;
  previous: CheckpointView | undefined;
  latest: CheckpointView | undefined;
  previousNote: string;
  latestNote: string;
}): string {
  const rule = '!'.repeat(100);
  const indent = (note: string) =>
    note
      .trimEnd()
      .split('\n')
      .map((line) => `!!!     ${line}`)
      .join('\n');
  return [
    rule,
    '!!! SPLIT VIEW OR REWRITTEN HISTORY DETECTED',
    `!!! The ledger at ${fields.url} presents a signed checkpoint that does not extend`,
    '!!! the one this verifier checked and recorded before. Either the log forked (different',
    '!!! clients are shown different histories) or entries that were signed have been changed.',
    '!!!',
    `!!!   recorded (${fields.state}): ${describeCheckpoint(fields.previous)}`,
    `!!!   presented now: ${describeCheckpoint(fields.latest)}`,
    `!!!   why: ${fields.reason} [${fields.code}]`,
    '!!!',
    '!!! The recorded checkpoint verified when it was recorded and the presented one verifies now: both are',
    '!!! signed, so together they are evidence. Keep both notes below; do not trust this ledger until this is',
    '!!! explained. The state file is unchanged.',
    '!!!   recorded note:',
    indent(fields.previousNote),
    '!!!   presented note:',
    indent(fields.latestNote),
    rule,
    '',
  ].join('\n');
}

async function consistency(options: Options, io: CliIo): Promise<number> {
  const { url } = sourceOf(options, false) as { url: string };
  const state = options.state;
  if (state === undefined || state === '') throw usage('--state <file> is required');
  const previous = await readState(state);
  if (previous !== undefined && !parseRecordedCheckpoint(previous)) {
    throw new CliError(CliErrorCode.STATE, `${state}: not a checkpoint note (delete it to start over)`);
  }
  const maxAge = maxAgeOf(options);
  const witnesses = await witnessPolicy(options);
  const client = new LedgerClient(url);
  const keys = await trustedKeys(options, async () => keysFromListing(await client.keys(), 'GET /v1/keys'));
  if (!('verifiers' in keys)) return fail(io, keys);
  let latest: string | undefined;
  if (maxAge === undefined) latest = await client.checkpoint(witnesses?.quorum);
  else {
    const block = await client.latestBlock();
    const dated = block === undefined ? undefined : datedCheckpoint(block, keys, options.origin);
    if (dated && !dated.ok) return fail(io, dated);
    const stale = dated && checkAge(dated.sealedAt, maxAge, (io.now ?? Date.now)());
    if (stale) return fail(io, stale);
    latest = dated?.checkpoint;
  }
  const unwitnessed = witnesses && checkWitnessed(latest, witnesses, 'consistency');
  if (unwitnessed) return fail(io, unwitnessed);
  if (latest === undefined) {
    return fail(io, finding(VerifyCode.CHECKPOINT_MISSING, 'consistency: the ledger has no checkpoint yet'));
  }
  const outcome = await checkConsistency({
    keys,
    previous,
    latest,
    origin: options.origin,
    proof: (from, to) => client.consistencyProof(from, to),
  });
  if (!outcome.ok) {
    if (!outcome.splitView) return fail(io, finding(outcome.code, `consistency: ${outcome.reason}`));
    io.stdout.write(
      splitViewAlarm({
        url: client.baseUrl,
        state,
        reason: outcome.reason,
        code: outcome.code,
        previous: outcome.previous,
        latest: outcome.latest,
        previousNote: previous ?? '',
        latestNote: latest,
      }),
    );
    return EXIT.FINDING;
  }
  switch (outcome.kind) {
    case 'first-use':
      await writeState(state, latest);
      io.stdout.write(
        `OK consistency: first use, trusting and recording ${describeCheckpoint(outcome.latest)} in ${state}\n`,
      );
      break;
    case 'unchanged':
      io.stdout.write(`OK consistency: unchanged since the recorded ${describeCheckpoint(outcome.latest)}\n`);
      break;
    case 'extended':
      await writeState(state, latest);
      io.stdout.write(
        `OK consistency: tree size ${outcome.previous.size} -> ${outcome.latest.size} proven append-only; ` +
          `recorded ${describeCheckpoint(outcome.latest)} in ${state}\n`,
      );
      break;
  }
  return EXIT.OK;
}

/**
 * `audit`: the ledger's own database, verified (ADR 0017). The keyring is required: the store's signing_key table
 * is whatever whoever can write to the store wrote there.
 */
async function audit(options: Options, io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  const started = now();
  const url = options['database-url'];
  if (url === undefined || url === '') throw usage('--database-url <postgresql://...> is required');
  if (options.keyring === undefined) throw usage('audit needs --keyring <file>: the store cannot vouch for its keys');
  const batch = batchOf(options);
  const keys = await readKeyring(options.keyring);
  const producers = await producerCheck(options);
  const store = await PostgresStore.open(url, batch);
  let report;
  let last = { blocks: 0, leaves: 0 };
  try {
    const checkpoint = await store.checkpoint();
    const total = checkpoint === undefined ? 0 : (parseRecordedCheckpoint(checkpoint)?.size ?? 0);
    const progress = new Progress(io.stderr, 'audit', total, 'leaves', now, options.quiet === true);
    report = await auditStore({
      keys,
      store,
      origin: options.origin,
      producers,
      onProgress: (seen) => {
        last = seen;
        progress.update(seen.leaves, `${seen.blocks} blocks`);
      },
    });
    progress.finish(last.leaves, `${last.blocks} blocks`);
  } finally {
    await store.close();
  }
  if (!report.ok) return fail(io, report);
  if (report.blocks === 0) return fail(io, finding(VerifyCode.EMPTY_LOG, 'audit: the store holds no block'));
  io.stdout.write(
    `OK audit: ${report.blocks} blocks, ${report.leaves} leaves, tree size ${report.treeSize}, root ${report.root}` +
      `${report.origin ? `, origin ${report.origin}` : ''}; ${report.tiles} stored tiles equal to the tiles ` +
      `recomputed from the leaves, and no other tile row; ${seconds(now() - started)} s; ` +
      `keys: ${keys.source}${describeProducers(producers)}\n`,
  );
  return EXIT.OK;
}

async function exportBundle(options: Options, io: CliIo): Promise<number> {
  const now = io.now ?? Date.now;
  const started = now();
  const { url } = sourceOf(options, false) as { url: string };
  const out = options.out;
  if (out === undefined || out === '') throw usage('--out <bundle.json> is required');
  const batch = batchOf(options);
  const client = new LedgerClient(url);
  const keys = keysFromListing(await client.keys(), 'GET /v1/keys');
  if (!keys.ok) return fail(io, keys);
  const checkpoint = await client.checkpoint();
  const parsed = checkpoint === undefined ? undefined : parseRecordedCheckpoint(checkpoint);
  const size = parsed?.size ?? 0;
  const streams = httpChainSource(client, { batch, size });
  const progress = new Progress(io.stderr, 'export', size, 'leaves', now, options.quiet === true);
  const counts = { blocks: 0, leaves: 0 };
  const chunks = bundleChunks(
    {
      origin: parsed?.origin ?? null,
      keys: keys.keys.verifierKeys,
      checkpoint: checkpoint ?? null,
    },
    streams.blocks,
    streams.leaves,
    (section, count) => {
      counts[section] = count;
      if (section === 'leaves') progress.update(count, `${counts.blocks} blocks`);
    },
  );
  const partial = `${out}.partial`;
  try {
    await pipeline(Readable.from(chunks), createWriteStream(partial));
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    if (error instanceof CliError) throw error;
    throw new CliError(CliErrorCode.BUNDLE, `${out}: cannot write (${(error as Error).message})`);
  }
  progress.finish(counts.leaves);
  io.stdout.write(
    `OK export: ${counts.blocks} blocks, ${counts.leaves} leaves, tree size ${size} written to ${out} ` +
      `(${seconds(now() - started)} s); verify it with: chain --bundle ${out}\n`,
  );
  return EXIT.OK;
}

async function statement(file: string, options: Options, io: CliIo): Promise<number> {
  let parsed: Statement;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Statement;
  } catch (error) {
    throw new CliError(CliErrorCode.BUNDLE, `${file}: cannot read a statement (${(error as Error).message})`);
  }
  if (options.keyring === undefined && options.url === undefined)
    throw usage('statement needs the ledger keys: --keyring <file> (pinned) or --url <ledger> (as it lists them)');
  const keys = await trustedKeys(options, async () =>
    keysFromListing(await new LedgerClient(options.url as string).keys(), 'GET /v1/keys'),
  );
  if (!('verifiers' in keys)) return fail(io, keys);
  const verdict = verifyStatement(parsed, keys.verifiers, options.origin);
  if (!verdict.ok) {
    for (const issue of verdict.issues)
      io.stdout.write(`FAIL ${issue.message}${issue.eventId ? ` (event ${issue.eventId})` : ''} [${issue.code}]\n`);
    return EXIT.FINDING;
  }
  const totals = verdict.totals;
  io.stdout.write(
    `OK statement: ${verdict.events} events sealed and proven, ${verdict.commitments} records open their commitments, ` +
      `contract re-executed: payment ${totals?.payment ?? 0}, reimbursement ${totals?.reimbursement ?? 0} ${totals?.currency ?? ''} ` +
      `(keys: ${keys.source})\n`,
  );
  return EXIT.OK;
}

/** Runs one command; resolves with the exit code (0 verified, 1 finding, 2 could not verify). */
export async function run(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const parsed = parse(argv);
    if (parsed === 'help') {
      io.stdout.write(`${USAGE}\n`);
      return EXIT.OK;
    }
    const { command, options } = parsed;
    switch (command) {
      case 'statement':
        return await statement(parsed.file as string, options, io);
      case 'chain':
        return await chain(options, io);
      case 'inclusion':
        return await inclusion(options, io);
      case 'consistency':
        return await consistency(options, io);
      case 'audit':
        return await audit(options, io);
      case 'export':
        return await exportBundle(options, io);
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr.write(`medledger-verify: ${error.message} [${error.code}]\n`);
      if (error.code === CliErrorCode.USAGE) io.stderr.write(`\n${USAGE}\n`);
      return EXIT.CANNOT_VERIFY;
    }
    io.stderr.write(
      `medledger-verify: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return EXIT.CANNOT_VERIFY;
  }
}
