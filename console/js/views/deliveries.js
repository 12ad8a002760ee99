// @ts-check
/**
 * Deliveries: filters kept in the hash (a filtered view can be bookmarked or linked to), parked ones
 * first with why in words, and the operator actions (replay, hold, release, discard) on the selected
 * rows or, with none selected, on everything the filter matches: always a dry run first, its count
 * and sample shown, then a confirmation.
 */
import { call, documentedEnum, query } from '../api.js';
import { badge, confirmPanel, errorBox, field, formValues, h, link, num, replace, row, select, table, when } from '../dom.js';
import { why } from '../words.js';

export const title = 'Deliveries';

const FILTERS = ['state', 'connector', 'orderKey', 'eventCode', 'error'];
const ACTIONS = /** @type {const} */ (['replay', 'hold', 'release', 'discard']);

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  /** @type {Record<string, string>} */
  const filter = {};
  for (const k of FILTERS) {
    const v = route.params.get(k);
    if (v) filter[k] = v;
  }
  const [states, connectors] = await Promise.all([documentedEnum('DeliverySummary', 'state'), call('GET', '/connectors')]);
  /** @type {Set<string>} */
  const selected = new Set();
  const count = h('span', { id: 'selected-count' }, '0');
  const ask = h('div', { class: 'ask', 'aria-live': 'polite' });
  const body = h('div');
  const more = h('button', { type: 'button', hidden: true }, 'More');
  /** @type {string | null} */
  let cursor = null;
  /** @type {HTMLTableSectionElement | null} */
  let tbody = null;

  const form = h(
    'form',
    { class: 'filters', id: 'filters', 'aria-label': 'Filter deliveries' },
    select('State', 'state', states, filter.state ?? ''),
    select('Connector', 'connector', connectors.items.map((/** @type {any} */ c) => c.name), filter.connector ?? ''),
    field('Order key', { name: 'orderKey', value: filter.orderKey ?? '', autocomplete: 'off' }),
    field('Event code', { name: 'eventCode', value: filter.eventCode ?? '', autocomplete: 'off' }),
    field('Error text', { name: 'error', value: filter.error ?? '', autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'primary' }, 'Find'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/deliveries${query(formValues(form))}`;
  });

  const actions = h(
    'div',
    { class: 'actions', role: 'group', 'aria-label': 'Actions on the selected deliveries, or on all the filter matches' },
    h('span', { class: 'muted' }, 'Selected: ', count, ' (none: the whole filter)'),
    ACTIONS.map((a) => h('button', { type: 'button', 'data-action': a, onclick: () => void act(a) }, `${a[0]?.toUpperCase()}${a.slice(1)}…`)),
  );

  replace(root, h('h2', { id: 'view-title' }, title), form, actions, ask, body, more);
  more.addEventListener('click', () => void page(false).catch((err) => replace(ask, errorBox(err))));

  /** @param {any} d */
  function deliveryRow(d) {
    const box = h('input', { type: 'checkbox', 'data-id': d.id, 'aria-label': `Select delivery ${d.id}` });
    box.addEventListener('change', () => {
      if (box.checked) selected.add(d.id);
      else selected.delete(d.id);
      count.textContent = String(selected.size);
    });
    const tr = row(
      box,
      link(`delivery/${d.id}`, d.id, { class: 'mono' }),
      d.connector,
      d.orderKey ? link(`journey/${encodeURIComponent(d.orderKey)}`, d.orderKey) : '',
      link(`event/${d.eventId}`, d.eventCode),
      badge(d.state),
      num(d.attemptCount),
      h('td', { class: 'why' }, why(d)),
      when(d.updatedAt),
    );
    tr.dataset.state = d.state;
    return tr;
  }

  /** @param {boolean} first */
  async function page(first) {
    const base = { state: filter.state, connector: filter.connector, orderKey: filter.orderKey, eventCode: filter.eventCode, error: filter.error, limit: 50 };
    if (first) {
      selected.clear();
      count.textContent = '0';
      // Parked first: what needs a person leads, whatever else the page holds.
      const parked = filter.state ? { items: [] } : await call('GET', `/deliveries${query({ ...base, state: 'parked' })}`);
      const rest = await call('GET', `/deliveries${query(base)}`);
      const rows = [...parked.items.map(deliveryRow), ...rest.items.filter((/** @type {any} */ d) => filter.state || d.state !== 'parked').map(deliveryRow)];
      const all = h('input', { type: 'checkbox', 'aria-label': 'Select all shown' });
      all.addEventListener('change', () => {
        for (const box of body.querySelectorAll('input[data-id]')) {
          const b = /** @type {HTMLInputElement} */ (box);
          if (b.checked !== all.checked) b.click();
        }
      });
      const t = table(['', 'Delivery', 'Connector', 'Order key', 'Event', 'State', '#Attempts', 'Why', 'Updated'], rows, 'Deliveries');
      t.querySelector('thead th')?.append(all);
      replace(body, t);
      tbody = t.querySelector('tbody');
      cursor = rest.nextCursor;
    } else if (cursor) {
      const next = await call('GET', `/deliveries${query({ ...base, cursor })}`);
      tbody?.append(...next.items.filter((/** @type {any} */ d) => filter.state || d.state !== 'parked').map(deliveryRow));
      cursor = next.nextCursor;
    }
    more.hidden = !cursor;
  }

  /** The operation's selection: the ticked rows, else the filter. */
  function selection() {
    if (selected.size > 0) return { ids: [...selected] };
    /** @type {Record<string, unknown>} */
    const f = {};
    if (filter.state) f.states = [filter.state];
    if (filter.connector) f.connectors = [filter.connector];
    if (filter.eventCode) f.eventCodes = [filter.eventCode];
    if (filter.orderKey) f.orderKey = filter.orderKey;
    if (filter.error) f.errorContains = filter.error;
    return f;
  }

  /** @param {typeof ACTIONS[number]} action */
  async function act(action) {
    const sel = selection();
    if (Object.keys(sel).length === 0) {
      replace(ask, h('p', { class: 'error', role: 'alert' }, 'Select deliveries or set a filter first.'));
      return;
    }
    try {
      const dry = await call('POST', `/deliveries/${action}`, { ...sel, dryRun: true });
      const skipped = Object.entries(dry.skipped ?? {}).map(([s, n]) => `${s} ${n}`);
      const reason = await confirmPanel(ask, {
        title: `${action} ${dry.changed} of ${dry.matched} matching deliveries?`,
        lines: [
          ...(skipped.length ? [`Left alone by state: ${skipped.join(', ')}.`] : []),
          ...dry.sample.map((/** @type {any} */ d) => `${d.id} (${d.connector}): ${d.before.state} → ${d.state}${why(d.before) ? `. ${why(d.before)}` : ''}`),
        ],
        reason: { label: action === 'discard' ? 'Reason (required)' : 'Reason', value: '', required: action === 'discard' },
        confirm: `${action} ${dry.changed}`,
      });
      if (reason === null) {
        replace(ask);
        return;
      }
      const done = await call('POST', `/deliveries/${action}`, { ...sel, dryRun: false, ...(reason ? { reason } : {}) });
      await page(true);
      replace(ask, h('p', { role: 'status', class: 'ok' }, `${action}: ${done.changed} changed.`));
    } catch (err) {
      replace(ask, errorBox(err));
    }
  }

  await page(true);
}
