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
`;

export const CONSOLE_SCRIPT = `'use strict';
const $ = (id) => document.getElementById(id);
const api = '/admin/api';
let cursor = null;
const selected = new Set();

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
  if (!res.ok) throw new Error((data && data.message) || ('HTTP ' + res.status));
  return data;
}

async function loadConnectors() {
  const { items } = await call('GET', '/connectors');
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
    '</a></td><td>' + esc(d.connector) + '</td><td>' + esc(d.orderKey) + '</td><td>' + esc(d.eventCode) + '</td><td>' + badge(d.state) + '<div class="muted">' + esc(why(d)) +
    '</div></td><td class="num">' + d.attemptCount + '</td><td>' + esc(d.lastError || '') + '</td><td>' + esc(d.updatedAt) + '</td></tr>').join(''));
  $('count').textContent = selected.size;
}

$('filters').onsubmit = (e) => { e.preventDefault(); loadDeliveries(false).catch((err) => say(err.message)); };
$('more').onclick = () => loadDeliveries(true).catch((err) => say(err.message));
$('all').onchange = () => { for (const box of $('deliveries').querySelectorAll('input[data-id]')) { box.checked = $('all').checked; box.dispatchEvent(new Event('change', { bubbles: true })); } };
$('deliveries').onchange = (e) => { const id = e.target.dataset.id; if (!id) return; if (e.target.checked) selected.add(id); else selected.delete(id); $('count').textContent = selected.size; };
$('deliveries').onclick = async (e) => {
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
      '</tbody></table><h2>Event</h2><pre>' + esc(JSON.stringify(d.event, null, 2)) + '</pre>';
  } catch (err) { say(err.message); }
};

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
