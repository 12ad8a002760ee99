// @ts-check
/** Audit search: the trail by action, direction, connector, result, event, delivery, actor and time. */
import { call, documentedEnum, query } from '../api.js';
import { field, formValues, h, link, replace, row, select, table, when } from '../dom.js';
import { prettyJson } from '../words.js';

export const title = 'Audit';

const KEYS = ['action', 'direction', 'connector', 'result', 'eventId', 'deliveryId', 'actor', 'from', 'to'];

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  /** @type {Record<string, string>} */
  const f = {};
  for (const k of KEYS) {
    const v = route.params.get(k);
    if (v) f[k] = v;
  }
  const directions = await documentedEnum('AuditView', 'direction');
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Search the audit trail' },
    field('Action', { name: 'action', value: f.action ?? '', placeholder: 'delivery.replayed', autocomplete: 'off' }),
    select('Direction', 'direction', directions, f.direction ?? ''),
    field('Connector', { name: 'connector', value: f.connector ?? '', autocomplete: 'off' }),
    field('Result', { name: 'result', value: f.result ?? '', autocomplete: 'off' }),
    field('Event id', { name: 'eventId', value: f.eventId ?? '', autocomplete: 'off' }),
    field('Delivery id', { name: 'deliveryId', value: f.deliveryId ?? '', autocomplete: 'off' }),
    field('Actor', { name: 'actor', value: f.actor ?? '', autocomplete: 'off' }),
    field('From (ISO time)', { name: 'from', value: f.from ?? '', autocomplete: 'off' }),
    field('To (ISO time)', { name: 'to', value: f.to ?? '', autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/audit${query(formValues(form))}`;
  });
  const body = h('tbody');
  const more = h('button', { type: 'button', hidden: true }, 'More');
  const wrap = table(['At', 'Action', 'Direction', 'Result', 'Connector', 'Event', 'Delivery', 'Actor', 'Detail'], [], 'Audit records');
  wrap.querySelector('tbody')?.replaceWith(body);
  replace(root, h('h2', { id: 'view-title' }, title), form, wrap, more);
  /** @type {string | null} */
  let cursor = null;
  const load = async () => {
    const p = await call('GET', `/audit${query({ ...f, limit: 100, cursor })}`);
    body.append(
      ...p.items.map((/** @type {any} */ r) =>
        row(
          when(r.at),
          r.action,
          r.direction,
          r.result,
          r.connector ?? '',
          r.eventId ? link(`event/${r.eventId}`, r.eventId, { class: 'mono' }) : '',
          r.deliveryId ? link(`delivery/${r.deliveryId}`, r.deliveryId, { class: 'mono' }) : '',
          r.actor ?? '',
          h('td', null, r.detail === null || r.detail === undefined ? '' : h('details', null, h('summary', null, 'detail'), h('pre', { class: 'small' }, prettyJson(r.detail)))),
        ),
      ),
    );
    cursor = p.nextCursor;
    more.hidden = !cursor;
  };
  more.addEventListener('click', () => void load());
  await load();
}
