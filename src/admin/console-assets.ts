/**
 * The operator console's script and style sheet (src/admin/console.ts serves them as
 * /admin/console.js and /admin/console.css). They are files of their own, not inline, so that the
 * page's Content-Security-Policy can allow script and styles from the gateway only. Kept as strings
 * in a module so they ship in dist/ like the rest of the code.
 */
export const CONSOLE_STYLE = `:root { font: 14px/1.4 system-ui, sans-serif; color: #1d2433; background: #f5f6f8; }
body { margin: 0; }
header { background: #1d2433; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; }
header h1 { font-size: 16px; margin: 0; flex: 1; }
header input { width: 260px; }
main { padding: 16px 20px; display: grid; gap: 16px; }
section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 12px 16px; }
h2 { font-size: 15px; margin: 0 0 10px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #eef0f3; vertical-align: top; }
th { font-weight: 600; color: #545d6e; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.state { padding: 1px 6px; border-radius: 8px; font-size: 12px; background: #eef0f3; }
.parked, .offline, .open { background: #fde2e1; color: #8a1c17; }
.delivered, .online, .closed, .live { background: #def5e5; color: #16602f; }
.retrying, .on_hold, .half_open, .stale { background: #fff1d6; color: #7a4b00; }
form.filters { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 10px; }
button { cursor: pointer; }
pre { background: #f5f6f8; padding: 8px; overflow: auto; max-height: 320px; margin: 6px 0; }
#message { min-height: 1.4em; color: #8a1c17; }
.muted { color: #6b7485; }
.error { color: #8a1c17; }
pre.request-line { font-weight: 600; }
table.headers th { width: 30%; font-weight: 500; }
:focus-visible { outline: 2px solid #2b6cb0; outline-offset: 2px; }
`;

export const CONSOLE_SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);
const api = '/admin/api';
let cursor = null;
const selected = new Set();
let connectorNames = [];
let currentEvent = null;

$('token').value = sessionStorage.getItem('omgw-token') || '';
$('save').onclick = () => { sessionStorage.setItem('omgw-token', $('token').value); refresh(); };

function say(text) { $('message').textContent = text || ''; }
function esc(v) { return String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c])); }
function badge(v) { return '<span class="state ' + esc(v) + '">' + esc(v) + '</span>'; }

async function call(method, path, body) {
  const res = await fetch(api + path, {
    method,
    headers: { authorization: 'Bearer ' + (sessionStorage.getItem('omgw-token') || ''), ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (!res.ok) { const err = new Error((data && data.message) || ('HTTP ' + res.status)); err.code = data && data.code; throw err; }
  return data;
}

async function loadConnectors() {
  const { items } = await call('GET', '/connectors');
  connectorNames = items.map((c) => c.name);
  $('connectors').innerHTML = items.map((c) => '<tr><td>' + esc(c.name) + '<div class="muted">' + esc(c.kind) + ' · ' + esc(c.protocol) + '</div></td><td>' + esc(c.targetSystem) +
    '</td><td>' + badge(c.adminState) + '</td><td>' + badge(c.circuit) + '</td><td class="num">' + c.queueDepth + '</td><td class="num">' + c.counts.inFlight +
    '</td><td class="num">' + c.counts.onHold + '</td><td class="num">' + c.counts.parked + '</td><td>' + esc(c.oldestDueAt || '') + '</td><td>' +
    c.blockedKeys.map((b) => esc(b.orderKey) + ' <span class="muted">(' + esc(b.blockerState) + ', ' + b.waiting + ' waiting)</span>').join('<br>') +
    '</td><td><button data-connector="' + esc(c.name) + '" data-to="' + (c.adminState === 'online' ? 'offline' : 'online') + '">' + (c.adminState === 'online' ? 'Take offline' : 'Bring online') + '</button></td></tr>').join('');
}

function age(ms) {
  const s = Math.floor(ms / 1000);
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + String(s % 60).padStart(2, '0') + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h' + String(Math.floor(s / 60) % 60).padStart(2, '0') + 'm';
  return Math.floor(s / 86400) + 'd' + String(Math.floor(s / 3600) % 24).padStart(2, '0') + 'h';
}

// The instances sharing the database: an instance whose config version differs from the others' did not reload.
async function loadInstances() {
  const { items } = await call('GET', '/instances');
  $('instances').innerHTML = items.map((i) => '<tr><td>' + esc(i.id) + '</td><td>' + esc(i.host) + '</td><td class="num">' + i.pid + '</td><td>' + esc(i.version) +
    '</td><td>' + esc(i.configVersion) + '</td><td>' + badge(i.state) + '</td><td>' + esc(i.startedAt) + '</td><td>' + age(i.heartbeatAgeMs) + ' ago</td><td class="num">' + i.inFlight +
    '</td><td>' + (i.oldestLeaseAgeMs === null ? '' : age(i.oldestLeaseAgeMs)) + '</td></tr>').join('');
}

$('connectors').onclick = async (e) => {
  const b = e.target.closest('button[data-connector]');
  if (!b) return;
  const reason = prompt('Reason for taking ' + b.dataset.connector + ' ' + b.dataset.to + ':', 'maintenance');
  if (reason === null) return;
  try { await call('POST', '/connectors/' + encodeURIComponent(b.dataset.connector) + '/' + b.dataset.to, { reason }); say(''); await loadConnectors(); } catch (err) { say(err.message); }
};

// Why a delivery is where it is: the park reason, or the hold reason (never shown as a last error), and the operator's reason.
function why(d) {
  const reason = d.parkedReason || (d.holdReason ? 'hold: ' + d.holdReason : '');
  return d.adminReason ? reason + (reason ? ' · ' : '') + d.adminReason : reason;
}

function filterValues() {
  const f = new FormData($('filters'));
  const out = {};
  for (const [k, v] of f.entries()) if (v) out[k] = v;
  return out;
}

async function loadDeliveries(more) {
  const q = new URLSearchParams({ ...filterValues(), limit: '50', ...(more && cursor ? { cursor } : {}) });
  const page = await call('GET', '/deliveries?' + q);
  if (!more) { $('deliveries').innerHTML = ''; selected.clear(); }
  cursor = page.nextCursor;
  $('more').hidden = !cursor;
  $('deliveries').insertAdjacentHTML('beforeend', page.items.map((d) => '<tr><td><input type="checkbox" data-id="' + esc(d.id) + '"></td><td><a href="#" data-show="' + esc(d.id) + '">' + esc(d.id) +
    '</a></td><td>' + esc(d.connector) + '</td><td>' + esc(d.orderKey) + '</td><td><a href="#" data-event="' + esc(d.eventId) + '">' + esc(d.eventCode) + '</a></td><td>' + badge(d.state) + '<div class="muted">' + esc(why(d)) +
    '</div></td><td class="num">' + d.attemptCount + '</td><td>' + esc(d.lastError || '') + '</td><td>' + esc(d.updatedAt) + '</td></tr>').join(''));
  $('count').textContent = selected.size;
}

$('filters').onsubmit = (e) => { e.preventDefault(); loadDeliveries(false).catch((err) => say(err.message)); };
$('more').onclick = () => loadDeliveries(true).catch((err) => say(err.message));
$('all').onchange = () => { for (const box of $('deliveries').querySelectorAll('input[data-id]')) { box.checked = $('all').checked; box.dispatchEvent(new Event('change', { bubbles: true })); } };
$('deliveries').onchange = (e) => { const id = e.target.dataset.id; if (!id) return; if (e.target.checked) selected.add(id); else selected.delete(id); $('count').textContent = selected.size; };
$('deliveries').onclick = async (e) => {
  if (e.target.closest('a[data-event]')) return;
  const link = e.target.closest('a[data-show]');
  if (!link) return;
  e.preventDefault();
  try {
    const d = await call('GET', '/deliveries/' + encodeURIComponent(link.dataset.show));
    $('detail').hidden = false;
    $('detailId').textContent = d.delivery.id;
    const dv = d.delivery;
    $('detailBody').innerHTML = '<p>' + badge(dv.state) + ' ' + esc(dv.connector) + ' · ' + esc(dv.orderKey) + ' · ' + esc(dv.eventCode) + '</p>' +
      '<dl>' + (dv.parkedReason ? '<dt>Parked reason</dt><dd>' + esc(dv.parkedReason) + '</dd>' : '') + (dv.holdReason ? '<dt>Hold reason</dt><dd>' + esc(dv.holdReason) + '</dd>' : '') +
      '<dt>Last error</dt><dd>' + esc(dv.lastError || '-') + '</dd><dt>Operator reason</dt><dd>' + esc(dv.adminReason || '-') + '</dd></dl>' +
      '<table><thead><tr><th>#</th><th>Started</th><th>Outcome</th><th>Status</th><th>Error</th><th class="num">ms</th></tr></thead><tbody>' +
      d.attempts.map((a) => '<tr><td>' + a.number + '</td><td>' + esc(a.startedAt) + '</td><td>' + badge(a.outcome) + '</td><td>' + esc(a.responseStatus ?? '') + '</td><td>' + esc(a.errorMessage || '') + '<pre>' + esc(a.responseSnippet || '') + '</pre></td><td class="num">' + a.durationMs + '</td></tr>').join('') +
      '</tbody></table><h2>Event</h2>' + (d.event ? '<p><a href="#" data-event="' + esc(d.event.id) + '">Open event ' + esc(d.event.id) + ' and preview its requests</a></p>' : '') +
      '<pre>' + esc(JSON.stringify(d.event, null, 2)) + '</pre>';
  } catch (err) { say(err.message); }
};

// An event, its deliveries, and a preview per connector of the request a delivery would send now.
document.addEventListener('click', (e) => {
  const link = e.target.closest('a[data-event]');
  if (!link) return;
  e.preventDefault();
  showEvent(link.dataset.event).catch((err) => say(err.message));
});
$('eventFind').onsubmit = (e) => { e.preventDefault(); showEvent($('eventFindId').value.trim()).catch((err) => say(err.message)); };

async function showEvent(id) {
  const d = await call('GET', '/events/' + encodeURIComponent(id));
  const ev = d.event;
  currentEvent = ev.id;
  say('');
  $('event').hidden = false;
  $('eventId').textContent = ev.id;
  $('eventBody').innerHTML = '<p>' + badge(ev.status) + ' ' + esc(ev.eventCode) + ' · ' + esc(ev.orderKey) + ' · ' + esc(ev.source) + ' · received ' + esc(ev.receivedAt) + '</p>' +
    '<table><thead><tr><th>Delivery</th><th>Connector</th><th>State</th><th class="num">Attempts</th><th></th></tr></thead><tbody>' +
    d.deliveries.map((v) => '<tr><td>' + esc(v.id) + '</td><td>' + esc(v.connector) + '</td><td>' + badge(v.state) + '</td><td class="num">' + v.attemptCount +
      '</td><td><button type="button" data-preview="' + esc(v.connector) + '">Preview request to ' + esc(v.connector) + '</button></td></tr>').join('') +
    '</tbody></table><details><summary>Payload</summary><pre>' + esc(JSON.stringify(ev.payload, null, 2)) + '</pre></details>';
  $('previewConnector').innerHTML = connectorNames.map((n) => '<option>' + esc(n) + '</option>').join('');
  $('preview').innerHTML = '';
  $('eventTitle').focus();
}

$('eventBody').onclick = (e) => { const b = e.target.closest('button[data-preview]'); if (b) preview(b.dataset.preview); };
$('previewForm').onsubmit = (e) => { e.preventDefault(); if ($('previewConnector').value) preview($('previewConnector').value); };

const PREVIEW_FAILURES = {
  TRANSFORM_FAILED: 'The mapping cannot build the request for this event, so a delivery would park without sending anything: ',
  PREVIEW_UNSUPPORTED: 'This connector cannot be previewed: ',
  WSDL_UNAVAILABLE: "The connector's WSDL cannot be read now: ",
  NOT_FOUND: 'Not found: ',
};

async function preview(connector) {
  const out = $('preview');
  const title = '<h3 id="previewTitle" tabindex="-1">Request to ' + esc(connector) + '</h3>';
  out.innerHTML = '<p class="muted">Building the request to ' + esc(connector) + '…</p>';
  try {
    const p = await call('GET', '/connectors/' + encodeURIComponent(connector) + '/preview?event=' + encodeURIComponent(currentEvent));
    const body = p.body === null ? null : pretty(p.body, headerValue(p.headers, 'content-type'));
    out.innerHTML = title + '<p class="muted">What ' + (p.deliveryId === 'preview' ? 'a delivery' : 'delivery ' + esc(p.deliveryId)) +
      ' would send now. Nothing was sent; credentials show as ***.</p>' +
      '<pre class="request-line">' + esc(p.method + ' ' + p.url) + '</pre>' +
      '<table class="headers"><tbody>' + Object.entries(p.headers).map(([k, v]) => '<tr><th scope="row">' + esc(k) + '</th><td>' + esc(v) + '</td></tr>').join('') + '</tbody></table>' +
      (body === null ? '<p class="muted">No body.</p>'
        : '<h4>Body' + (body.kind ? ' (' + body.kind + (body.text === p.body ? '' : ', indented for reading') + ')' : '') + '</h4><pre class="body">' + esc(body.text) + '</pre>' +
          (body.text === p.body ? '' : '<details><summary>Body exactly as sent</summary><pre>' + esc(p.body) + '</pre></details>'));
  } catch (err) {
    out.innerHTML = title + '<p class="error" role="alert">' + esc((PREVIEW_FAILURES[err.code] || 'The preview failed: ') + err.message) + '</p>';
  }
  $('previewTitle').focus();
}

function headerValue(headers, name) {
  const key = Object.keys(headers).find((h) => h.toLowerCase() === name);
  return key ? headers[key] : '';
}

// JSON and XML bodies indented for reading (as text: the page never renders what a target is sent).
function pretty(body, type) {
  if (/json/i.test(type)) { try { return { kind: 'JSON', text: JSON.stringify(JSON.parse(body), null, 2) }; } catch { return { kind: '', text: body }; } }
  if (/xml/i.test(type) || body.trimStart().startsWith('<')) return { kind: 'XML', text: prettyXml(body) };
  return { kind: '', text: body };
}

function prettyXml(xml) {
  const parts = xml.replace(/>\\s+</g, '><').split(/(<[^>]+>)/).filter((p) => p.trim() !== '');
  const out = [];
  let depth = 0;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.startsWith('</')) { depth = Math.max(0, depth - 1); out.push('  '.repeat(depth) + p); continue; }
    const pad = '  '.repeat(depth);
    if (!p.startsWith('<') || p.startsWith('<?') || p.startsWith('<!') || p.endsWith('/>')) { out.push(pad + p); continue; }
    const text = parts[i + 1];
    const close = parts[i + 2];
    // An element holding only text stays on one line.
    if (text !== undefined && !text.startsWith('<') && close !== undefined && close.startsWith('</')) { out.push(pad + p + text + close); i += 2; continue; }
    out.push(pad + p);
    depth++;
  }
  return out.join('\\n');
}

for (const button of document.querySelectorAll('button[data-action]')) {
  button.onclick = async () => {
    const action = button.dataset.action;
    const filter = selected.size > 0 ? { ids: [...selected] } : toFilter(filterValues());
    if (Object.keys(filter).length === 0) { say('Select deliveries or set a filter first.'); return; }
    try {
      const reason = action === 'discard' || action === 'hold' ? prompt('Reason for ' + action + ':') : 'console';
      if (reason === null) return;
      const dry = await call('POST', '/deliveries/' + action, { ...filter, dryRun: true, reason });
      const sample = dry.sample.slice(0, 5).map((d) => d.id + ': ' + d.before.state + (why(d.before) ? ' (' + why(d.before) + ')' : '') + (d.before.lastError ? ', ' + d.before.lastError.slice(0, 80) : '') + ' -> ' + d.state).join('\\n');
      if (!confirm(action + ' ' + dry.changed + ' of ' + dry.matched + ' matching deliveries?' + (sample ? '\\n\\n' + sample : ''))) return;
      const done = await call('POST', '/deliveries/' + action, { ...filter, dryRun: false, reason });
      say(action + ': ' + done.changed + ' changed');
      await refresh();
    } catch (err) { say(err.message); }
  };
}

function toFilter(v) {
  const f = {};
  if (v.state) f.states = [v.state];
  if (v.connector) f.connectors = [v.connector];
  if (v.orderKey) f.orderKey = v.orderKey;
  if (v.error) f.errorContains = v.error;
  return f;
}

async function refresh() {
  try { say(''); await loadConnectors(); await loadInstances(); await loadDeliveries(false); } catch (err) { say(err.message); }
}
if (sessionStorage.getItem('omgw-token')) refresh(); else say('Enter the admin token (admin.token in gateway.yaml).');
`;
