import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { EXPLORER_SCRIPT } from './explorer.script';

/**
 * The block explorer: one static page, a stylesheet and a script, all from this origin (the CSP allows nothing
 * else), reading the ledger's public API. The page checks in the browser what it shows (explorer.script.ts).
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medledger: block explorer</title>
<link rel="stylesheet" href="/explorer/explorer.css">
</head>
<body>
<header><h1>medledger block explorer</h1>
<p>Everything below is checked in this browser: the checkpoint's signatures (Ed25519), an event's inclusion and the
log's consistency (RFC 9162), with WebCrypto. Nothing the ledger says is taken on trust.</p></header>
<main>
<section aria-labelledby="checkpoint-heading">
  <h2 id="checkpoint-heading">Latest checkpoint: <span id="verdict">…</span></h2>
  <p id="checkpoint-status" role="status" aria-live="polite">Loading…</p>
  <dl>
    <dt>origin</dt><dd id="origin"></dd>
    <dt>tree size</dt><dd id="size"></dd>
    <dt>root</dt><dd><code id="root"></code></dd>
    <dt>cosignatures (witnesses)</dt><dd id="cosignatures"></dd>
  </dl>
  <h3>Signatures</h3>
  <ul id="signatures"></ul>
  <details>
    <summary>Pinned verifier keys</summary>
    <form id="keys-form">
      <label for="keys">The ledger's and witnesses' verifier keys you trust, one per line (<code>name+keyid+key</code>), kept in this browser</label>
      <textarea id="keys" rows="3" spellcheck="false"></textarea>
      <button type="submit">Pin and check again</button>
    </form>
  </details>
</section>

<section aria-labelledby="blocks-heading">
  <h2 id="blocks-heading">Blocks</h2>
  <p id="blocks-range" aria-live="polite"></p>
  <table>
    <thead><tr><th scope="col">height</th><th scope="col">sealed at</th><th scope="col">first leaf</th><th scope="col">leaves</th><th scope="col">tree size</th><th scope="col">hash</th></tr></thead>
    <tbody id="blocks-body"></tbody>
  </table>
  <nav aria-label="block pages"><button id="newer" type="button">Newer</button> <button id="older" type="button">Older</button></nav>
</section>

<section id="block" aria-labelledby="block-title" hidden>
  <h2 id="block-title"></h2>
  <dl id="block-meta"></dl>
  <table>
    <thead><tr><th scope="col">leaf</th><th scope="col">type</th><th scope="col">producer</th><th scope="col">received at</th><th scope="col">event (prove it)</th></tr></thead>
    <tbody id="leaves-body"></tbody>
  </table>
  <nav aria-label="leaf pages"><button id="leaves-prev" type="button">Previous leaves</button> <button id="leaves-next" type="button">Next leaves</button></nav>
</section>

<section aria-labelledby="inclusion-heading">
  <h2 id="inclusion-heading">Prove an event</h2>
  <form id="inclusion-form">
    <label for="event-id">Event id</label>
    <input id="event-id" autocomplete="off" spellcheck="false">
    <button type="submit">Prove inclusion</button>
  </form>
  <p id="inclusion-result" role="status" aria-live="polite"></p>
</section>

<section aria-labelledby="consistency-heading">
  <h2 id="consistency-heading">Check consistency</h2>
  <p>A checkpoint you saw before (this browser keeps the last one it verified) must be a prefix of today's.</p>
  <form id="consistency-form">
    <label for="from-size">Tree size seen before</label>
    <input id="from-size" inputmode="numeric" autocomplete="off">
    <label for="from-root">Its root (base64)</label>
    <input id="from-root" autocomplete="off" spellcheck="false">
    <button type="submit">Check consistency</button>
  </form>
  <p id="consistency-result" role="status" aria-live="polite"></p>
</section>
</main>
<script src="/explorer/explorer.js"></script>
</body>
</html>
`;

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 64rem; padding: 0 1rem; color: #1b1b1b; }
section { margin-top: 1.5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { border: 1px solid #bbb; padding: .3rem .5rem; text-align: left; font-size: .9rem; overflow-wrap: anywhere; }
label { display: block; margin-top: .6rem; font-weight: 600; }
input, textarea { width: 100%; box-sizing: border-box; padding: .4rem; font: inherit; }
button { margin-top: .6rem; padding: .4rem .9rem; font: inherit; }
button.link { margin: 0; padding: 0; border: none; background: none; color: #0645ad; text-decoration: underline; cursor: pointer; }
button:focus-visible, input:focus-visible, textarea:focus-visible { outline: 3px solid #1a73e8; outline-offset: 2px; }
.ok { background: #e6f6e6; border-left: 4px solid #2e7d32; padding: .5rem; }
.bad { background: #fde8e8; border-left: 4px solid #c62828; padding: .5rem; }
`;

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; form-action 'none'; base-uri 'none'";

@ApiExcludeController()
@Controller('explorer')
export class ExplorerController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  page(): string {
    return PAGE;
  }

  @Get('explorer.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return EXPLORER_SCRIPT;
  }

  @Get('explorer.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  style(): string {
    return STYLE;
  }
}
