'use strict';
// Container healthcheck (Dockerfile HEALTHCHECK and compose healthcheck).
// GET http://127.0.0.1:$PORT$HEALTHCHECK_PATH and exit 0 on a 2xx answer, 1 otherwise.
// Uses Node's built-in fetch: slim images have no curl or wget.
const DEFAULT_PORTS = {
  ledger: 3100,
  records: 3101,
  trials: 3102,
  supply: 3103,
};

const port = process.env.PORT || DEFAULT_PORTS[process.env.MEDLEDGER_APP] || 3000;
const path = process.env.HEALTHCHECK_PATH || '/health';
const timeoutMs = Number(process.env.HEALTHCHECK_TIMEOUT_MS) || 5000;
const url = `http://127.0.0.1:${port}${path.startsWith('/') ? path : `/${path}`}`;

fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  .then((res) => {
    if (!res.ok) console.error(`healthcheck: ${url} answered HTTP ${res.status}`);
    process.exit(res.ok ? 0 : 1);
  })
  .catch((err) => {
    console.error(`healthcheck: ${url} failed: ${err && err.message ? err.message : err}`);
    process.exit(1);
  });
