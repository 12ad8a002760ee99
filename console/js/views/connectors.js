// @ts-check
/** Connectors: admin state, circuit, rate limit, queue, oldest due, parked, blocked keys; online/offline. */
import { call } from '../api.js';
import { badge, confirmPanel, errorBox, h, link, num, replace, row, table, when } from '../dom.js';

export const title = 'Connectors';

/** @param {HTMLElement} root */
export async function render(root) {
  const list = h('div');
  const ask = h('div', { class: 'ask' });
  const refresh = h('button', { type: 'button', onclick: () => void load() }, 'Refresh');
  replace(root, h('div', { class: 'view-head' }, h('h2', { id: 'view-title' }, title), refresh), ask, list);

  async function load() {
    /** @type {{ items: any[] }} */
    const { items } = await call('GET', '/connectors');
    replace(
      list,
      table(
        ['Connector', 'State', 'Circuit', 'Rate limit', '#Queue', '#In flight', '#On hold', '#Parked', 'Oldest due', 'Blocked keys', 'Action'],
        items.map((c) =>
          row(
            h('td', null, h('strong', null, c.name), h('div', { class: 'muted' }, [c.kind, c.protocol, c.targetSystem].filter(Boolean).join(' · '))),
            h('td', { 'data-connector-state': c.name }, badge(c.adminState), c.stateUpdatedBy ? h('div', { class: 'muted' }, `by ${c.stateUpdatedBy}`) : null),
            h('td', null, badge(c.circuit), c.circuitUntil ? h('div', { class: 'muted' }, 'until ', when(c.circuitUntil)) : null),
            c.rateLimit ? `${c.rateLimit.requests} per ${c.rateLimit.perMs / 1000}s` : 'none',
            num(c.queueDepth),
            num(c.counts.inFlight),
            num(c.counts.onHold),
            h('td', { class: 'num' }, c.counts.parked > 0 ? link(`deliveries?state=parked&connector=${encodeURIComponent(c.name)}`, String(c.counts.parked), { 'aria-label': `${c.counts.parked} parked deliveries of ${c.name}` }) : '0'),
            when(c.oldestDueAt),
            h(
              'td',
              null,
              c.blockedKeys.map((/** @type {any} */ b) =>
                h('div', null, link(`journey/${encodeURIComponent(b.orderKey)}`, b.orderKey), ' ', h('span', { class: 'muted' }, 'behind ', link(`delivery/${b.blockedBy}`, b.blockerState), `, ${b.waiting} waiting`)),
              ),
            ),
            h('td', null, toggle(c)),
          ),
        ),
        'Connectors',
      ),
    );
  }

  /** @param {any} c */
  function toggle(c) {
    const to = c.adminState === 'online' ? 'offline' : 'online';
    const label = to === 'offline' ? `Take ${c.name} offline` : `Bring ${c.name} online`;
    return h(
      'button',
      {
        type: 'button',
        onclick: async () => {
          const reason = await confirmPanel(ask, {
            title: label,
            lines: [to === 'offline' ? 'Its due deliveries will wait on hold until it is online again.' : 'Its held deliveries are released, in order.'],
            reason: { label: 'Reason', value: 'maintenance' },
            confirm: to === 'offline' ? 'Take offline' : 'Bring online',
          });
          if (reason === null) return;
          try {
            await call('POST', `/connectors/${encodeURIComponent(c.name)}/${to}`, reason ? { reason } : {});
            await load();
            replace(ask, h('p', { role: 'status' }, `${c.name} is ${to}.`));
          } catch (err) {
            replace(ask, errorBox(err));
          }
        },
      },
      label,
    );
  }

  await load();
}
