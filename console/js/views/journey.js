// @ts-check
/**
 * An order's journey, found by any of its keys (order key, source order number, purchase order
 * number, ShipBob order or reference id): where it stands and what it waits for, its ShipBob orders,
 * and the timeline of events, deliveries with their attempts, ShipBob orders and operator actions.
 */
import { call } from '../api.js';
import { append, badge, h, link, replace, row, table, when } from '../dom.js';
import { why } from '../words.js';

export const title = 'Order journey';

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  const key = h('input', { name: 'key', id: 'journey-key', value: route.arg, autocomplete: 'off', spellcheck: 'false', required: true });
  const find = h(
    'form',
    { class: 'filters', 'aria-label': 'Find an order' },
    h('label', { class: 'field wide' }, h('span', null, 'Order key, source order number, ShipBob order or reference id, PO number'), key),
    h('button', { type: 'submit', class: 'primary' }, 'Find'),
  );
  find.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/journey/${encodeURIComponent(key.value.trim())}`;
  });
  replace(root, h('h2', { id: 'view-title' }, title), find);
  if (!route.arg) {
    key.focus();
    return;
  }
  const j = await call('GET', `/orders/${encodeURIComponent(route.arg)}`);
  const heading = h('h3', { id: 'journey-title', tabindex: -1 }, `Order ${j.orderKeys[0] ?? j.key}`);
  append(root, [
    heading,
    h('p', { class: 'muted' }, `Found by ${j.foundBy.replaceAll('_', ' ')}. Keys: ${[...j.orderKeys, ...j.shipbobKeys].join(', ')}`),
    h(
      'div',
      { class: 'standing', id: 'standing' },
      h('p', null, h('strong', null, 'Where it stands: '), j.standing.summary),
      j.standing.waitingFor.length ? h('p', null, h('strong', null, 'Waiting for: '), j.standing.waitingFor.join('; ')) : null,
      j.standing.attention.length ? h('p', { class: 'bad' }, h('strong', null, 'Needs attention: '), j.standing.attention.join('; ')) : null,
    ),
    j.shipbobOrders.length
      ? [
          h('h4', null, 'ShipBob orders'),
          table(
            ['Reference', 'ShipBob order', 'Shipment', 'Line', 'Stage', 'Created'],
            j.shipbobOrders.map((/** @type {any} */ o) => row(o.referenceId, o.shipbobOrderId ?? '', o.shipmentId ?? '', o.lineKey ?? '', badge(o.stage), when(o.createdAt))),
            'ShipBob orders',
          ),
        ]
      : null,
    h('h4', null, 'Timeline'),
    j.more ? h('p', { class: 'muted' }, `The oldest ${j.truncated.join(', ')} were left out.`) : null,
    h('ol', { class: 'timeline', id: 'timeline' }, j.timeline.map(entry)),
  ]);
  heading.focus();
}

/** @param {any} e */
function entry(e) {
  switch (e.kind) {
    case 'event':
      return h(
        'li',
        { class: 'event' },
        when(e.at),
        ' ',
        h('strong', null, e.eventCode),
        ` from ${e.source} `,
        link(`event/${e.eventId}`, 'event'),
        e.statusValues.length ? h('div', { class: 'muted' }, e.statusValues.map((/** @type {any} */ s) => `${s.line ? `line ${s.line} ` : ''}${s.field} ${s.old ?? '∅'} → ${s.new ?? '∅'}`).join('; ')) : null,
      );
    case 'delivery':
      return h(
        'li',
        { class: 'delivery' },
        when(e.at),
        ' ',
        link(`delivery/${e.deliveryId}`, `${e.eventCode} to ${e.connector}`),
        ' ',
        badge(e.state),
        why(e) ? h('div', { class: 'why' }, why(e)) : null,
        e.attempts.length ? h('div', { class: 'muted' }, e.attempts.map((/** @type {any} */ a) => `#${a.number} ${a.outcome}${a.responseStatus ? ` ${a.responseStatus}` : ''}${a.errorMessage ? `: ${a.errorMessage}` : ''}`).join(' · ')) : null,
      );
    case 'shipbob_order':
      return h('li', { class: 'shipbob' }, when(e.at), ' ShipBob order ', h('strong', null, e.shipbobOrderId ?? e.referenceId), ' ', badge(e.stage), e.lineKey ? ` for ${e.lineKey}` : '');
    case 'operator_action':
      return h('li', { class: 'operator' }, when(e.at), ` ${e.action} by ${e.actor ?? 'someone'} (${e.result})`, e.reason ? `: ${e.reason}` : '', e.deliveryId ? [' ', link(`delivery/${e.deliveryId}`, 'delivery')] : null);
    default:
      return h('li', null, when(e.at), ` ${String(e.kind)}`);
  }
}
