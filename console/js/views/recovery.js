// @ts-check
/** Recovery runs: the history, and a run now (optionally narrowed to connectors, event codes, an age, a count). */
import { call, query } from '../api.js';
import { badge, errorBox, field, formValues, h, num, replace, row, table, when } from '../dom.js';

export const title = 'Recovery runs';

/** @param {HTMLElement} root */
export async function render(root) {
  const out = h('div', { 'aria-live': 'polite' });
  const list = h('div');
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Run the recovery now' },
    field('Connectors (comma-separated)', { name: 'connectors', autocomplete: 'off' }),
    field('Event codes (comma-separated)', { name: 'eventCodes', autocomplete: 'off' }),
    field('Max age (e.g. 7d)', { name: 'maxAge', autocomplete: 'off' }),
    field('Limit', { name: 'limit', type: 'number', min: 1 }),
    h('button', { type: 'submit', class: 'primary' }, 'Run now'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = formValues(form);
    /** @type {Record<string, unknown>} */
    const body = {};
    if (v.connectors) body.connectors = v.connectors.split(',').map((s) => s.trim()).filter(Boolean);
    if (v.eventCodes) body.eventCodes = v.eventCodes.split(',').map((s) => s.trim()).filter(Boolean);
    if (v.maxAge) body.maxAge = v.maxAge;
    if (v.limit) body.limit = Number(v.limit);
    replace(out, h('p', { class: 'muted' }, 'Running…'));
    call('POST', '/recovery/runs', body)
      .then(async (r) => {
        replace(out, h('p', { role: 'status', class: 'ok' }, r.status === 'ran' ? `Ran: ${r.run.replayed} replayed of ${r.run.selected} selected.` : `Skipped: ${r.reason.replaceAll('_', ' ')}.`));
        await load();
      })
      .catch((/** @type {unknown} */ err) => replace(out, errorBox(err)));
  });
  replace(root, h('h2', { id: 'view-title' }, title), form, out, list);

  async function load() {
    const { items } = await call('GET', `/recovery/runs${query({ limit: 50 })}`);
    replace(
      list,
      table(
        ['Started', 'Trigger', 'State', '#Selected', '#Replayed', '#Skipped', '#Delivered', '#Still failing', 'Filters', 'Error'],
        items.map((/** @type {any} */ r) =>
          row(
            when(r.startedAt),
            `${r.trigger}${r.actor ? ` (${r.actor})` : ''}`,
            badge(r.state),
            num(r.selected),
            num(r.replayed),
            num(r.skipped),
            num(r.delivered),
            num(r.stillFailing),
            [r.filters.connectors.join(','), r.filters.eventCodes.join(','), r.filters.maxAge ?? ''].filter(Boolean).join(' · '),
            r.error ?? '',
          ),
        ),
        'Recovery runs',
      ),
    );
  }
  await load();
}
