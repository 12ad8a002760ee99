// @ts-check
/**
 * One delivery: where it stands and why, its attempts, its event and order, and the actions that
 * apply (a dry run first). While it is on its way (pending, retrying, in flight, or any state the
 * gateway adds that is not final) the view looks again every few seconds, so a replay is seen
 * delivered without a reload.
 */
import { call } from '../api.js';
import { badge, confirmPanel, errorBox, h, link, num, replace, row, table, when } from '../dom.js';
import { prettyJson, why } from '../words.js';

export const title = 'Delivery';

/** States in which nothing more happens without a person. */
const SETTLED = new Set(['delivered', 'parked', 'discarded', 'on_hold']);
const ACTIONS = /** @type {const} */ (['replay', 'hold', 'release', 'discard']);
const EVERY_MS = 2000;

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  const id = route.arg;
  const ask = h('div', { class: 'ask', 'aria-live': 'polite' });
  const body = h('div');
  const heading = h('h2', { id: 'view-title', tabindex: -1 }, 'Delivery ', h('span', { class: 'mono' }, id));
  replace(root, heading, ask, body);
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let stopped = false;

  async function load() {
    const d = await call('GET', `/deliveries/${encodeURIComponent(id)}`);
    const dv = d.delivery;
    // The newest attempt: what the target said last, shown beside the error in words.
    const last = d.attempts.reduce((/** @type {any} */ a, /** @type {any} */ b) => (a === null || b.number > a.number ? b : a), null);
    replace(
      body,
      h(
        'dl',
        { class: 'facts' },
        h('dt', null, 'State'),
        h('dd', { id: 'delivery-state' }, badge(dv.state)),
        h('dt', null, 'Why'),
        h('dd', { id: 'delivery-why', class: 'why' }, why(dv) || '—'),
        last?.responseSnippet ? [h('dt', null, 'Target’s last answer'), h('dd', null, h('pre', { id: 'delivery-answer', class: 'small' }, last.responseSnippet))] : null,
        h('dt', null, 'Connector'),
        h('dd', null, dv.connector),
        h('dt', null, 'Order'),
        h('dd', null, dv.orderKey ? link(`journey/${encodeURIComponent(dv.orderKey)}`, `Journey of ${dv.orderKey}`, { id: 'journey-link' }) : '—'),
        h('dt', null, 'Event'),
        h('dd', null, link(`event/${dv.eventId}`, `${dv.eventCode} (${dv.eventId})`)),
        h('dt', null, 'Attempts'),
        h('dd', null, `${dv.attemptCount} in all, ${dv.attemptsInCycle} since the last replay`),
        h('dt', null, 'Next due'),
        h('dd', null, when(dv.nextAttemptAt)),
        h('dt', null, 'Delivered'),
        h('dd', null, when(dv.deliveredAt) || '—'),
      ),
      h(
        'div',
        { class: 'actions', role: 'group', 'aria-label': 'Actions on this delivery' },
        ACTIONS.map((a) => h('button', { type: 'button', 'data-action': a, onclick: () => void act(a) }, `${a[0]?.toUpperCase()}${a.slice(1)}…`)),
      ),
      h('h3', null, 'Attempts'),
      table(
        ['#', 'Started', 'Outcome', '#Status', 'Error', '#ms'],
        d.attempts.map((/** @type {any} */ a) =>
          row(num(a.number), when(a.startedAt), badge(a.outcome), num(a.responseStatus), h('td', null, a.errorMessage ?? '', a.responseSnippet ? h('pre', null, a.responseSnippet) : null), num(a.durationMs)),
        ),
        'Attempts',
      ),
      h('h3', null, 'Audit'),
      table(
        ['At', 'Action', 'Result', 'Actor', 'Detail'],
        d.audit.map((/** @type {any} */ r) => row(when(r.at), r.action, r.result, r.actor ?? '', h('td', null, h('pre', { class: 'small' }, prettyJson(r.detail))))),
        'Audit records',
      ),
    );
    if (!stopped && !SETTLED.has(dv.state)) timer = setTimeout(() => void load().catch((err) => replace(ask, errorBox(err))), EVERY_MS);
  }

  /** @param {typeof ACTIONS[number]} action */
  async function act(action) {
    try {
      const dry = await call('POST', `/deliveries/${encodeURIComponent(id)}/${action}`, { dryRun: true });
      const sample = dry.sample[0];
      const reason = await confirmPanel(ask, {
        title: `${action} this delivery?`,
        lines: sample ? [`${sample.before.state} → ${sample.state}`] : [],
        reason: { label: action === 'discard' ? 'Reason (required)' : 'Reason', value: '', required: action === 'discard' },
        confirm: action,
      });
      if (reason === null) {
        replace(ask);
        return;
      }
      await call('POST', `/deliveries/${encodeURIComponent(id)}/${action}`, { dryRun: false, ...(reason ? { reason } : {}) });
      replace(ask, h('p', { role: 'status', class: 'ok' }, `${action}: done.`));
      if (timer) clearTimeout(timer);
      await load();
      heading.focus();
    } catch (err) {
      replace(ask, errorBox(err));
    }
  }

  await load();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}
