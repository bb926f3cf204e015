// Preloaded into the Prisma CLI only (never at run time). The Wasm schema engine arms 60 s timers that it
// never unrefs, so `migrate deploy` / `migrate dev` would linger ~60 s after finishing. Unref long timers so
// the CLI exits as soon as its work is done.
const originalSetTimeout = global.setTimeout;
global.setTimeout = function setTimeoutUnrefLong(fn, ms, ...rest) {
  const timer = originalSetTimeout.call(this, fn, ms, ...rest);
  if (typeof ms === 'number' && ms >= 5000 && timer && typeof timer.unref === 'function') timer.unref();
  return timer;
};
