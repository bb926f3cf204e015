#!/usr/bin/env node
// Installs the workspace's npm dependencies exactly from package-lock.json when they are missing or stale,
// so the README's two commands work on a fresh clone. Plain Node, no dependencies: it runs before any exist.
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { spawnSync } = require('node:child_process');

const root = join(__dirname, '../..');
const lockfile = join(root, 'package-lock.json');
// npm writes node_modules/.package-lock.json at the end of every install: newer than the lockfile means
// the installed tree matches it (npm's own heuristic).
const installed = join(root, 'node_modules/.package-lock.json');

if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lockfile).mtimeMs) process.exit(0);

// Not `npm ci`: the registry here serves only this platform's optional packages (e.g. @swc/core-linux-x64-gnu),
// so the lockfile lacks the other platforms' entries and `npm ci` refuses it. `npm install` installs the
// locked versions and leaves the lockfile unchanged.
process.stdout.write('[medledger] installing dependencies from package-lock.json...\n');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const result = spawnSync(npm, ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
  cwd: root,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
