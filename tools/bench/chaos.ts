/**
 * `npm run chaos`: faults and attacks against the real stack (issue 17 part 2), with figures. Not part of the
 * default test run; `--short` is the CI-sized run. Prints a line per scenario (name, figures, PASS/FAIL against
 * its target), then one JSON summary line (commit, machine, figures). The method and the last results are in
 * docs/reliability.md.
 *
 *   npm run chaos -- [--short] [--only <scenario>[,<scenario>]] [size options]
 *
 *   --short            CI-sized: 2 kills during 5,000 events, 100 byte changes, 50 forgeries of each kind, ...
 *   --only a,b         run only these scenarios (names below)
 *   --events N         ledger-kill: events streamed (100000; short 5000)
 *   --kills N          ledger-kill: SIGKILLs at random instants (20; short 2)
 *   --rate N           ledger-kill: events/s published (default: the stream lasts about as long as the kills)
 *   --flips N          tamper: single-byte changes (1000; short 100)
 *   --tamper-events N  tamper: events in the tampered log (1000; short 600)
 *   --forgeries N      forgery: forged events of each kind (200; short 50)
 *   --announcements N  forged-announcement: forged announcements of each kind (50; short 10)
 *   --token-repeats N  access: tokens of each hostile kind (50; short 5)
 *   --patients N       access: patients whose records are read without consent (20; short 3)
 *   --service-kills N  service-kill: SIGKILLs of each producing service (10; short 2)
 *   --services a,b     service-kill: the producing services killed (records,trials,supply)
 *   --kafka-outage S   restarts: seconds the broker is stopped (60; short 10); only this checkout's local broker
 *   --pg-outage S      restarts: seconds the PostgreSQL server stays down after its crash (20; short 5)
 *   --hostile-requests N  hostile-input: hostile requests per HTTP endpoint (10000; short 12)
 *   --hostile-messages N  hostile-input: hostile messages per consumed topic (10000; short 60)
 *   --seed N           hostile-input: the generator's seed (random; printed, so a run can be replayed)
 *   --build | --no-build  always / never build the services first (default: when older than their sources)
 *
 * Infrastructure comes from startInfrastructure (KAFKA_BROKERS + DATABASE_URL, else Docker, else the local broker
 * through Maven, KAFKA_PORT for its port); every scenario makes its own databases and topics and drops them. The
 * ledger is the built one (dist/apps/ledger, built first when its sources are newer); its HTTP ports are taken
 * from 3700–3799. A service started or restarted must answer /health within 90 s (CHAOS_HEALTH_TIMEOUT_MS: more on a
 * machine loaded by other work).
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startInfrastructure, stopLocalKafka, type Infrastructure } from '@medledger/testing';
import { buildIsStale, cliOptions, machine, nxBuild, ROOT, round } from './common';
import { pass, say, type ChaosContext, type ScenarioResult } from './chaos/harness';
import { ledgerKill } from './chaos/ledger-kill';
import { tamper } from './chaos/tamper';
import { forgery } from './chaos/forgery';
import { access } from './chaos/access';
import { forgedAnnouncement } from './chaos/forged-announcement';
import { serviceKill } from './chaos/service-kill';
import { restarts } from './chaos/restarts';
import { hostileInput } from './chaos/hostile-input';

interface Scenario {
  name: string;
  /** What it checks, in the words. */
  title: string;
  run?: (context: ChaosContext) => Promise<ScenarioResult>;
  /** The built services it starts (built first when older than their sources). */
  apps?: ReadonlyArray<'ledger' | 'records' | 'trials' | 'supply'>;
}

/** In the order of priority; those without `run` are not built yet and say so (never as passing). */
const SCENARIOS: readonly Scenario[] = [
  { name: 'ledger-kill', title: 'kill -9 of the ledger at random instants', run: ledgerKill, apps: ['ledger'] },
  { name: 'tamper', title: 'single-byte changes of stored leaves, headers and tiles', run: tamper, apps: ['ledger'] },
  {
    name: 'forgery',
    title: 'forged notes, unknown producers, replays, reordered batches',
    run: forgery,
    apps: ['ledger'],
  },
  {
    name: 'forged-announcement',
    title: 'forged ledger.BlockSealed at a producing service (records)',
    run: forgedAnnouncement,
    apps: ['ledger', 'records'],
  },
  {
    name: 'access',
    title: 'token refusals and cross-patient reads without consent',
    run: access,
    apps: ['records'],
  },
  {
    name: 'service-kill',
    title: 'kill -9 of each producing service (records, trials, supply) during appends',
    run: serviceKill,
    apps: ['ledger', 'records', 'trials', 'supply'],
  },
  {
    name: 'hostile-input',
    title: 'generated hostile inputs per HTTP endpoint and consumed topic',
    run: hostileInput,
    apps: ['ledger', 'records', 'trials', 'supply'],
  },
  {
    name: 'restarts',
    title: 'Kafka stopped for 60 s, the PostgreSQL server crashed and restarted, under load',
    run: restarts,
    apps: ['ledger', 'records'],
  },
];

/** Whether `.data/kafka/kafka.pid` names a live process. */
function localBrokerRunning(): boolean {
  try {
    const pid = Number(readFileSync(join(ROOT, '.data/kafka/kafka.pid'), 'utf8').trim());
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function option(argv: readonly string[], name: string): string | undefined {
  const at = argv.findIndex((arg) => arg === `--${name}` || arg.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const arg = argv[at] as string;
  return arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[at + 1];
}

function commit(): { commit: string; dirty: boolean } {
  try {
    const sha = execSync('git rev-parse HEAD', { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execSync('git status --porcelain --untracked-files=no', { cwd: ROOT, encoding: 'utf8' }).trim();
    return { commit: sha, dirty: dirty.length > 0 };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const options = cliOptions(argv);
  const short = options.flag('short');
  const only = option(argv, 'only')?.split(',').filter(Boolean);
  for (const name of only ?? []) {
    if (!SCENARIOS.some((s) => s.name === name)) {
      throw new Error(`--only: no scenario "${name}" (${SCENARIOS.map((s) => s.name).join(', ')})`);
    }
  }
  const chosen = SCENARIOS.filter((s) => !only || only.includes(s.name));
  const started = performance.now();
  // Taken before anything runs: the code measured is the code checked out now.
  const measured = commit();
  let infrastructure: Infrastructure | undefined;
  const results: Record<string, { pass: boolean | null; figures?: ScenarioResult['figures']; error?: string }> = {};
  const lines: string[] = [];
  const cleanups: ChaosContext['cleanups'] = [];
  // Whether this checkout's local broker was already running (a developer's `npm run infra:up`): if not, the run
  // owns it, and stops it at the end even after restarts has replaced it with a new process.
  const brokerWasRunning = localBrokerRunning();
  try {
    infrastructure = await startInfrastructure({ rootDir: ROOT, log: say });
    for (const app of new Set(chosen.flatMap((s) => (s.run ? (s.apps ?? []) : [])))) {
      if (options.flag('build') || (!options.flag('no-build') && buildIsStale(app))) {
        say(`building ${app} (nx build ${app})...`);
        await nxBuild(app, process.env['DATABASE_URL'] ?? infrastructure.postgresUrl);
      }
    }
    const context: ChaosContext = {
      brokers: infrastructure.kafkaBrokers,
      adminUrl: infrastructure.postgresUrl,
      suffix: randomBytes(3).toString('hex'),
      short,
      number: (name, fallback) => options.number(name, fallback),
      text: (name) => option(argv, name),
      cleanups,
    };
    for (const scenario of chosen) {
      if (!scenario.run) {
        results[scenario.name] = { pass: null };
        lines.push(`${scenario.name.padEnd(20)} NOT BUILT  ${scenario.title}`);
        continue;
      }
      say(`--- ${scenario.name}: ${scenario.title}`);
      const scenarioCleanups = cleanups.length;
      const scenarioStarted = performance.now();
      try {
        const result = await scenario.run(context);
        const seconds = round((performance.now() - scenarioStarted) / 1000);
        results[scenario.name] = { pass: result.pass, figures: { ...result.figures, totalSeconds: seconds } };
        lines.push(
          `${scenario.name.padEnd(20)} ${pass(result.pass).padEnd(10)} ${result.summary} (${seconds} s in all)`,
        );
        for (const note of result.notes ?? []) lines.push(`${''.padEnd(31)} ${note}`);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results[scenario.name] = { pass: false, error: message.slice(0, 2_000) };
        lines.push(`${scenario.name.padEnd(20)} ${'FAIL'.padEnd(10)} error: ${message.split('\n')[0] ?? ''}`);
        process.stderr.write(`${error instanceof Error ? (error.stack ?? message) : message}\n`);
      } finally {
        // Each scenario's processes, topics and databases go before the next one starts.
        for (const cleanup of cleanups.splice(scenarioCleanups).reverse()) {
          await cleanup().catch((error: unknown) => say(`cleanup: ${(error as Error).message}`));
        }
      }
    }
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await infrastructure?.stop();
    if (infrastructure?.mode === 'local' && !brokerWasRunning)
      await stopLocalKafka({ rootDir: ROOT }).catch((error: unknown) => say(`broker: ${(error as Error).message}`));
  }
  process.stdout.write(`\n${lines.join('\n')}\n`);
  const failed = Object.values(results).some((r) => r.pass === false);
  const summary = {
    ...measured,
    short,
    machine: `${machine()}, Node ${process.version}`,
    kafka: infrastructure?.mode,
    seconds: round((performance.now() - started) / 1000),
    pass: !failed,
    scenarios: results,
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
