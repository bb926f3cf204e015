/**
 * The explorer's browser script (served as /explorer/explorer.js; plain ES2020, no framework, no dependency). It
 * trusts nothing the ledger says until this browser has checked it with WebCrypto:
 *
 * - the checkpoint: a C2SP signed note whose Ed25519 signatures are checked against the verifier keys pinned in
 *   the page (saved in this browser; the ledger's own `/v1/keys` is offered, and marked as unpinned, until one is);
 * - an event's inclusion: RFC 9162 §2.1.3.2 from the leaf's bytes to the verified checkpoint's root;
 * - consistency: RFC 9162 §2.1.4.2 from a checkpoint seen before (kept in this browser, like a witness's) to the
 *   verified one, so a log that rewrote its past is caught here.
 *
 * Every view reads one page of blocks or leaves at a time (at most 25), so it stays fast on a log of ten million
 * leaves. SPEC: C2SP signed-note and tlog-checkpoint; RFC 6962 §2.1 (hashes); RFC 9162 §2.1.3.2, §2.1.4.2.
 */
export const EXPLORER_SCRIPT = String.raw`'use strict';
const PAGE = 25;
const $ = (id) => document.getElementById(id);
const text = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const enc = new TextEncoder();
const b64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const toB64 = (bytes) => btoa(String.fromCharCode(...bytes));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const concat = (...parts) => { const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
const sha256 = async (...parts) => new Uint8Array(await crypto.subtle.digest('SHA-256', concat(...parts)));
const leafHash = (data) => sha256(Uint8Array.of(0), data);
const nodeHash = (left, right) => sha256(Uint8Array.of(1), left, right);
const half = (n) => Math.floor(n / 2);
const odd = (n) => n % 2 === 1;

async function json(path) {
  const response = await fetch(path);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || body.title || response.status + ' ' + path);
  return body;
}

// ---- keys and notes (C2SP signed-note) -------------------------------------------------------------------

/** A verifier key <name>+<key id hex>+<base64(0x01 || Ed25519 public key)>, with its key id checked. */
async function parseVerifierKey(vkey) {
  // The key is base64, which may hold '+' itself: the name and the id end at the first two.
  const text = vkey.trim();
  const first = text.indexOf('+');
  const second = text.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new Error('not a verifier key: ' + vkey);
  const name = text.slice(0, first), id = text.slice(first + 1, second), key = text.slice(second + 1);
  const bytes = b64(key);
  if (bytes.length !== 33 || bytes[0] !== 1) throw new Error('not an Ed25519 verifier key: ' + vkey);
  const hash = await sha256(enc.encode(name), Uint8Array.of(10), bytes);
  const hex = Array.from(hash.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
  if (hex !== id) throw new Error('the key id of ' + name + ' does not match its key');
  return { name, id, hash: hash.slice(0, 4), publicKey: await crypto.subtle.importKey('raw', bytes.slice(1), { name: 'Ed25519' }, false, ['verify']) };
}

/** The note's text and signature lines; each line checked against the keys with its name and key id. */
async function verifyNote(note, keys) {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('the checkpoint is not a signed note');
  const body = note.slice(0, split + 1);
  const signatures = [];
  for (const line of note.slice(split + 2).split('\n').filter(Boolean)) {
    const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
    if (!match) throw new Error('malformed signature line: ' + line);
    const raw = b64(match[2]);
    const key = keys.find((k) => k.name === match[1] && equal(k.hash, raw.slice(0, 4)));
    const verified = key ? await crypto.subtle.verify({ name: 'Ed25519' }, key.publicKey, raw.slice(4), enc.encode(body)) : null;
    signatures.push({ name: match[1], verified });
  }
  const [origin, size, root] = body.split('\n');
  return { origin, size: Number(size), root: b64(root), rootText: root, signatures };
}

// ---- proofs (RFC 9162) -------------------------------------------------------------------------------------

async function verifyInclusion(index, size, leaf, path, root) {
  if (index >= size) return false;
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      r = await nodeHash(p, r);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else r = await nodeHash(r, p);
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && equal(r, root);
}

async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
  if (first === second) return proof.length === 0 && equal(firstRoot, secondRoot);
  if (first > second || first === 0 || proof.length === 0) return false;
  const path = (first & (first - 1)) === 0 ? [firstRoot, ...proof] : proof;
  let fn = first - 1, sn = second - 1;
  while (odd(fn)) { fn = half(fn); sn = half(sn); }
  let fr = path[0], sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (odd(fn) || fn === sn) {
      fr = await nodeHash(c, fr); sr = await nodeHash(c, sr);
      if (!odd(fn)) while (!odd(fn) && fn !== 0) { fn = half(fn); sn = half(sn); }
    } else sr = await nodeHash(sr, c);
    fn = half(fn); sn = half(sn);
  }
  return sn === 0 && equal(fr, firstRoot) && equal(sr, secondRoot);
}

// ---- state -------------------------------------------------------------------------------------------------

const state = { checkpoint: null, latest: 0, top: 0, leafStart: 0, block: null };
const pinnedKeys = () => (localStorage.getItem('medledger.keys') || '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));

function say(id, html, kind) {
  const node = $(id);
  node.innerHTML = html;
  node.className = kind || '';
}

// ---- the checkpoint -------------------------------------------------------------------------------------------

async function loadCheckpoint() {
  say('checkpoint-status', 'Checking the latest checkpoint…');
  const served = await json('/v1/keys');
  let vkeys = pinnedKeys();
  const pinned = vkeys.length > 0;
  if (!pinned) vkeys = served.keys.map((k) => k.verifierKey);
  $('keys').value = pinnedKeys().join('\n');
  const keys = [];
  for (const vkey of vkeys) keys.push(await parseVerifierKey(vkey));
  const note = await (await fetch('/v1/checkpoint')).text();
  const checkpoint = await verifyNote(note, keys);
  const good = checkpoint.signatures.filter((s) => s.verified === true);
  const bad = checkpoint.signatures.filter((s) => s.verified === false);
  const ok = good.length > 0 && bad.length === 0;
  state.checkpoint = ok ? checkpoint : null;
  $('origin').textContent = checkpoint.origin;
  $('size').textContent = String(checkpoint.size);
  $('root').textContent = checkpoint.rootText;
  $('signatures').innerHTML = checkpoint.signatures.map((s) =>
    '<li>' + text(s.name) + ': ' + (s.verified === true ? 'signature verified' : s.verified === false ? '<strong>signature does not verify</strong>' : 'no pinned key: not checked') + '</li>').join('');
  const cosigners = checkpoint.signatures.filter((s) => s.name !== checkpoint.origin);
  $('cosignatures').textContent = cosigners.length === 0 ? 'none' : cosigners.map((s) => s.name + (s.verified ? ' (verified)' : ' (not verified)')).join(', ');
  say('checkpoint-status', ok
    ? 'Verified in this browser' + (pinned ? ' with your pinned keys.' : ' with the keys this ledger serves (not pinned: paste the verifier keys you trust below).')
    : '<strong>Not verified</strong>: ' + (bad.length ? 'a signature does not verify.' : 'no signature by a known key.'), ok ? 'ok' : 'bad');
  $('verdict').textContent = ok ? 'verified' : 'NOT VERIFIED';
  return state.checkpoint;
}

// ---- blocks and leaves ----------------------------------------------------------------------------------------

async function showBlocks(top) {
  state.top = Math.max(0, Math.min(top, state.latest));
  const from = Math.max(0, state.top - PAGE + 1);
  const { blocks } = await json('/v1/blocks?from=' + from + '&limit=' + (state.top - from + 1));
  $('blocks-body').innerHTML = blocks.reverse().map((b) =>
    '<tr><th scope="row"><button type="button" class="link" data-height="' + b.height + '">' + b.height + '</button></th><td>' + text(b.sealedAt) +
    '</td><td>' + b.firstLeafIndex + '</td><td>' + b.leafCount + '</td><td>' + b.treeSize + '</td><td><code>' + text(b.hash.slice(0, 16)) + '…</code></td></tr>').join('');
  $('blocks-range').textContent = 'blocks ' + from + '–' + state.top + ' of ' + (state.latest + 1);
  $('newer').disabled = state.top >= state.latest;
  $('older').disabled = from === 0;
}

function describe(leafData) {
  try {
    const leaf = JSON.parse(new TextDecoder().decode(b64(leafData)));
    return { type: leaf.event?.type, source: leaf.event?.source, id: leaf.event?.id, receivedAt: leaf.receivedAt };
  } catch { return {}; }
}

async function showBlock(height, start) {
  const block = await json('/v1/blocks/' + height);
  state.block = block;
  const end = block.firstLeafIndex + block.leafCount;
  state.leafStart = Math.max(block.firstLeafIndex, Math.min(start ?? block.firstLeafIndex, end - 1));
  const to = Math.min(end, state.leafStart + PAGE);
  const { leaves } = await json('/v1/leaves?start=' + state.leafStart + '&end=' + to);
  $('block-title').textContent = 'Block ' + block.height + ': leaves ' + state.leafStart + '–' + (to - 1) + ' of ' + block.firstLeafIndex + '–' + (end - 1);
  $('block-meta').innerHTML = '<dt>sealed at</dt><dd>' + text(block.sealedAt) + '</dd><dt>root</dt><dd><code>' + text(block.root) + '</code></dd><dt>previous block</dt><dd><code>' + text(block.previousHash) + '</code></dd><dt>signed by key</dt><dd><code>' + text(block.keyId) + '</code></dd>';
  $('leaves-body').innerHTML = leaves.map((l) => { const d = describe(l.leafData); return '<tr><th scope="row">' + l.index + '</th><td>' + text(d.type) + '</td><td>' + text(d.source) +
    '</td><td>' + text(d.receivedAt) + '</td><td><button type="button" class="link" data-event="' + text(l.eventId) + '">' + text(l.eventId) + '</button></td></tr>'; }).join('');
  $('leaves-prev').disabled = state.leafStart <= block.firstLeafIndex;
  $('leaves-next').disabled = to >= end;
  $('block').hidden = false;
}

// ---- proofs ---------------------------------------------------------------------------------------------------

async function proveEvent(eventId) {
  say('inclusion-result', 'Proving…');
  const checkpoint = state.checkpoint || (await loadCheckpoint());
  if (!checkpoint) return say('inclusion-result', '<strong>No verified checkpoint to prove against.</strong>', 'bad');
  const leaf = await json('/v1/events/' + encodeURIComponent(eventId));
  const proof = await json('/v1/proofs/inclusion?index=' + leaf.index + '&treeSize=' + checkpoint.size);
  const ok = await verifyInclusion(leaf.index, checkpoint.size, await leafHash(b64(leaf.leafData)), proof.hashes.map(b64), checkpoint.root);
  say('inclusion-result', ok
    ? 'Included: event <code>' + text(eventId) + '</code> is leaf ' + leaf.index + ' (block ' + leaf.blockHeight + ') of the verified tree of size ' + checkpoint.size + ', proven in this browser with ' + proof.hashes.length + ' hashes.'
    : '<strong>Not proven</strong>: the inclusion proof of leaf ' + leaf.index + ' does not lead to the verified root.', ok ? 'ok' : 'bad');
}

async function checkConsistency(from, fromRoot) {
  say('consistency-result', 'Checking…');
  const checkpoint = state.checkpoint || (await loadCheckpoint());
  if (!checkpoint) return say('consistency-result', '<strong>No verified checkpoint to check against.</strong>', 'bad');
  if (from > checkpoint.size) return say('consistency-result', '<strong>The log shrank</strong>: size ' + from + ' was seen, the ledger now says ' + checkpoint.size + '.', 'bad');
  const proof = from === checkpoint.size ? { hashes: [] } : await json('/v1/proofs/consistency?from=' + from + '&to=' + checkpoint.size);
  const ok = await verifyConsistency(from, checkpoint.size, b64(fromRoot), checkpoint.root, proof.hashes.map(b64));
  say('consistency-result', ok
    ? 'Consistent: the tree of size ' + from + ' is a prefix of the verified tree of size ' + checkpoint.size + ' (' + proof.hashes.length + ' hashes, checked in this browser).'
    : '<strong>Inconsistent</strong>: the ledger cannot show that the tree of size ' + from + ' with that root is a prefix of today\'s. Keep both checkpoints: they are evidence.', ok ? 'ok' : 'bad');
  if (ok) localStorage.setItem('medledger.seen', JSON.stringify({ size: checkpoint.size, root: checkpoint.rootText }));
}

// ---- wiring ---------------------------------------------------------------------------------------------------

async function start() {
  try {
    const checkpoint = await loadCheckpoint();
    state.latest = (await json('/v1/blocks/latest')).height;
    await showBlocks(state.latest);
    const seen = JSON.parse(localStorage.getItem('medledger.seen') || 'null');
    if (seen) { $('from-size').value = seen.size; $('from-root').value = seen.root; }
    if (checkpoint && seen) await checkConsistency(seen.size, seen.root);
    else if (checkpoint) localStorage.setItem('medledger.seen', JSON.stringify({ size: checkpoint.size, root: checkpoint.rootText }));
  } catch (error) {
    say('checkpoint-status', '<strong>' + text(error.message) + '</strong>', 'bad');
  }
}

document.addEventListener('click', (event) => {
  const target = event.target.closest('button');
  if (!target) return;
  if (target.dataset.height) void showBlock(Number(target.dataset.height)).catch((e) => say('checkpoint-status', text(e.message), 'bad'));
  if (target.dataset.event) { $('event-id').value = target.dataset.event; void proveEvent(target.dataset.event).catch((e) => say('inclusion-result', text(e.message), 'bad')); }
});
$('newer').addEventListener('click', () => void showBlocks(state.top + PAGE));
$('older').addEventListener('click', () => void showBlocks(state.top - PAGE));
$('leaves-prev').addEventListener('click', () => void showBlock(state.block.height, state.leafStart - PAGE));
$('leaves-next').addEventListener('click', () => void showBlock(state.block.height, state.leafStart + PAGE));
$('inclusion-form').addEventListener('submit', (event) => { event.preventDefault(); void proveEvent($('event-id').value.trim()).catch((e) => say('inclusion-result', text(e.message), 'bad')); });
$('consistency-form').addEventListener('submit', (event) => { event.preventDefault(); void checkConsistency(Number($('from-size').value), $('from-root').value.trim()).catch((e) => say('consistency-result', text(e.message), 'bad')); });
$('keys-form').addEventListener('submit', (event) => { event.preventDefault(); localStorage.setItem('medledger.keys', $('keys').value); void loadCheckpoint().catch((e) => say('checkpoint-status', text(e.message), 'bad')); });
void start();
`;
