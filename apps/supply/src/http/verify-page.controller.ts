import { Controller, Get, Header } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@medledger/platform';

/**
 * The pharmacist's way in: scan or paste a GS1 Digital Link (or type GTIN, serial, lot, expiry), see whether the
 * pack is verified, and, with a token of a party that held it, its custody trail with a ledger receipt per step.
 * One static page, no external resource; it calls GET /v1/verify (public) and GET /v1/units/trace (token).
 */
const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>medledger: verify a pack</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 46rem; padding: 0 1rem; color: #1b1b1b; }
  label { display: block; margin-top: .8rem; font-weight: 600; }
  input { width: 100%; padding: .5rem; font-size: 1rem; box-sizing: border-box; }
  button { margin-top: 1rem; padding: .6rem 1.2rem; font-size: 1rem; }
  #answer { margin-top: 1.5rem; padding: 1rem; border-radius: .4rem; display: none; }
  #answer.ok { background: #e6f6e6; border: 1px solid #5a5; display: block; }
  #answer.no { background: #fde8e8; border: 1px solid #c55; display: block; }
  table { border-collapse: collapse; width: 100%; margin-top: 1rem; }
  td, th { border: 1px solid #ccc; padding: .3rem .5rem; text-align: left; font-size: .9rem; }
  details { margin-top: 1rem; }
</style>
</head>
<body>
<h1>Verify a pack</h1>
<p>Scan the pack's 2D code into the first field (a GS1 Digital Link), or type its GTIN and serial.</p>
<form id="form">
  <label for="link">GS1 Digital Link</label>
  <input id="link" name="link" placeholder="https://id.gs1.org/01/09506000134352/21/SN123?10=L1&amp;17=271231" autocomplete="off">
  <details><summary>or GTIN, serial, lot, expiry</summary>
    <label for="gtin">GTIN</label><input id="gtin" name="gtin" inputmode="numeric">
    <label for="serial">Serial (AI 21)</label><input id="serial" name="serial">
    <label for="lot">Lot (AI 10)</label><input id="lot" name="lot">
    <label for="expiry">Expiry (AI 17, YYMMDD)</label><input id="expiry" name="expiry" inputmode="numeric">
  </details>
  <details><summary>custody trail (parties that held the pack, the regulator)</summary>
    <label for="token">Bearer token</label><input id="token" name="token" autocomplete="off">
  </details>
  <button id="verify" type="submit">Verify</button>
</form>
<div id="answer" role="status" aria-live="polite"></div>
<div id="trail"></div>
<script>
  const $ = (id) => document.getElementById(id);
  const text = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  $('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const query = new URLSearchParams();
    if ($('link').value.trim()) query.set('link', $('link').value.trim());
    else for (const name of ['gtin', 'serial', 'lot', 'expiry']) if ($(name).value.trim()) query.set(name, $(name).value.trim());
    const answer = $('answer');
    const response = await fetch('/v1/verify?' + query);
    const body = await response.json();
    if (!response.ok) {
      answer.className = 'no';
      answer.innerHTML = '<strong>Cannot verify</strong>: ' + text(body.detail || body.title) + ' <code>' + text(body.code) + '</code>';
      $('trail').innerHTML = '';
      return;
    }
    answer.className = body.verified ? 'ok' : 'no';
    answer.innerHTML = (body.verified ? '<strong id="verdict">VERIFIED</strong>' : '<strong id="verdict">NOT VERIFIED</strong> <code id="reason">' + text(body.reason) + '</code>') +
      '<br>' + text(body.message) + '<br>GTIN ' + text(body.gtin) + ', serial ' + text(body.serial) +
      (body.lot ? ', lot ' + text(body.lot) : '') + (body.expiry ? ', expiry ' + text(body.expiry) : '');
    const token = $('token').value.trim();
    if (!token) { $('trail').innerHTML = ''; return; }
    const trace = await fetch('/v1/units/trace?' + query, { headers: { authorization: 'Bearer ' + token } });
    const trail = await trace.json();
    if (!trace.ok) { $('trail').innerHTML = '<p>Trail: ' + text(trail.detail || trail.title) + '</p>'; return; }
    $('trail').innerHTML = '<h2>Custody trail</h2><table id="steps"><thead><tr><th>when</th><th>step</th><th>by (GLN)</th><th>ledger</th></tr></thead><tbody>' +
      trail.steps.map((s) => '<tr><td>' + text(s.at) + '</td><td>' + text(s.bizStep || s.eventType) + (s.withdrawn ? ' (withdrawn)' : '') + '</td><td>' + text(s.recorder) +
        '</td><td>' + (s.receipt.sealed ? 'leaf ' + text(s.receipt.leafIndex) + ', block ' + text(s.receipt.blockHeight) : 'not sealed yet') + '</td></tr>').join('') +
      '</tbody></table>' + (trail.detections.length ? '<h2>Detections</h2><ul>' + trail.detections.map((d) => '<li><code>' + text(d.code) + '</code> on ' + text(d.detectedAt) + '</li>').join('') + '</ul>' : '');
  });
</script>
</body>
</html>
`;

@ApiExcludeController()
@Controller()
export class VerifyPageController {
  @Get('verify')
  @Public()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
  page(): string {
    return PAGE;
  }
}
