#!/usr/bin/env node
// Runs the Prisma CLI the way it works on machines without access to Prisma's binary host:
// - the timer preload so the Wasm engine exits promptly, and no update check (CHECKPOINT_DISABLE);
// - a placeholder DATABASE_URL for `generate`, which otherwise tries to download a query engine.
// Usage: node tools/prisma/prisma.cjs <prisma args...>   (always pass --config apps/<svc>/prisma.config.ts)
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const preload = `--require ${join(__dirname, 'unref-timers.cjs')}`;
const env = {
  ...process.env,
  CHECKPOINT_DISABLE: '1',
  PRISMA_HIDE_UPDATE_MESSAGE: '1',
  NODE_OPTIONS: [process.env.NODE_OPTIONS, preload].filter(Boolean).join(' '),
  DATABASE_URL: process.env.DATABASE_URL || 'postgresql://placeholder@127.0.0.1:5432/placeholder',
};
const cli = require.resolve('prisma/build/index.js');
const result = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { env, stdio: 'inherit' });
process.exit(result.status ?? 1);
