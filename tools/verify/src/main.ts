/**
 * medledger-verify: checks a medledger ledger without trusting its operator. See tools/verify/README.md.
 *
 *     npx tsx --tsconfig tsconfig.base.json tools/verify/src/main.ts <command> [options]
 */
import { run } from './cli';

void run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
  // An explicit exit, so that an idle keep-alive connection or an unread prefetch cannot hold the verdict back;
  // after both streams have flushed (pipes are asynchronous on some platforms).
  process.stderr.write('', () => process.stdout.write('', () => process.exit(code)));
});
