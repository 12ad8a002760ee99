// @ts-check
/** The purchase-order poller: its cursor, its latest runs, and a poll now. */
import { call, query } from '../api.js';
import { badge, errorBox, h, replace, row, table, when } from '../dom.js';

export const title = 'Poller runs';

/** @param {HTMLElement} root */
export async function render(root) {
  const out = h('div', { 'aria-live': 'polite' });
  const body = h('div');
  const now = h('button', { type: 'button', class: 'primary' }, 'Poll now');
  now.addEventListener('click', () => {
    replace(out, h('p', { class: 'muted' }, 'Polling…'));
    call('POST', '/poller/runs', {})
      .then(async (r) => {
        replace(out, h('p', { role: 'status', class: r.status === 'ran' && r.state === 'ok' ? 'ok' : 'error' }, r.status === 'ran' ? `${r.state}: ${r.summary.read} read, ${r.summary.routed} routed${r.error ? `; ${r.error}` : ''}` : `Skipped: ${r.reason}.`));
        await load();
      })
      .catch((/** @type {unknown} */ err) => replace(out, errorBox(err)));
  });
  replace(root, h('div', { class: 'view-head' }, h('h2', { id: 'view-title' }, title), now), out, body);

  async function load() {
    const p = await call('GET', `/poller${query({ limit: 50 })}`);
    replace(
      body,
      h('p', null, `${p.poller}: `, badge(p.enabled ? 'enabled' : 'disabled'), ` through ${p.connector ?? 'no connector'}; cursor ${p.cursor ?? 'none'}${p.caughtUp ? ', caught up' : ', behind'}.`),
      table(
        ['Started', 'Trigger', 'State', 'Read', 'Routed', 'Cursor before → after', 'Error'],
        p.runs.map((/** @type {any} */ r) =>
          row(when(r.startedAt), r.trigger, badge(r.state), String(r.summary?.read ?? ''), String(r.summary?.routed ?? ''), `${r.cursorBefore ?? '—'} → ${r.cursorAfter ?? '—'}`, r.error ?? ''),
        ),
        'Poller runs',
      ),
    );
  }
  await load();
}
