// @ts-check
/**
 * Billing: ShipBob's billing webhooks (charges, refunds, credits) and the reconciliation of a period:
 * how many shipped orders were billed, the shipped ones not billed, and charges naming no order we know.
 */
import { call, query } from '../api.js';
import { badge, errorBox, field, formValues, h, link, replace, row, table, when } from '../dom.js';

export const title = 'Billing';

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  const since = route.params.get('since') ?? '';
  const until = route.params.get('until') ?? '';
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Billing period' },
    field('Since (ISO time or 7d)', { name: 'since', value: since, autocomplete: 'off' }),
    field('Until (ISO time)', { name: 'until', value: until, autocomplete: 'off' }),
    h('button', { type: 'submit', class: 'primary' }, 'Show'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/billing${query(formValues(form))}`;
  });
  const reconciliation = h('div');
  const records = h('div');
  replace(root, h('h2', { id: 'view-title' }, title), form, h('h3', null, 'Reconciliation'), reconciliation, h('h3', null, 'Billing webhooks'), records);

  const [rec, page] = await Promise.allSettled([
    call('GET', `/billing/reconciliation${query({ since, until })}`),
    call('GET', `/billing${query({ from: /^\d{4}-/.test(since) ? since : undefined, to: until || undefined, limit: 200 })}`),
  ]);
  if (rec.status === 'rejected') replace(reconciliation, errorBox(rec.reason));
  else {
    const r = rec.value;
    replace(
      reconciliation,
      h('p', null, 'From ', when(r.since), ' to ', when(r.until), `: ${r.matched} shipped and billed, ${r.shippedNotBilled.length} shipped and not billed, ${r.billedUnknown.length} billed for no order we know.`),
      table(
        ['Order', 'ShipBob order', 'Shipped'],
        r.shippedNotBilled.map((/** @type {any} */ s) => row(link(`journey/${encodeURIComponent(s.orderKey)}`, s.orderKey), s.shipbobOrderId ?? '', when(s.shippedAt))),
        'Shipped, not billed',
      ),
      table(
        ['Webhook', 'Received', 'Reference'],
        r.billedUnknown.map((/** @type {any} */ b) => row(h('code', null, b.webhookId), when(b.receivedAt), b.reference ?? '')),
        'Billed, unknown order',
      ),
    );
  }
  if (page.status === 'rejected') replace(records, errorBox(page.reason));
  else {
    replace(
      records,
      table(
        ['Received', 'Topic', 'Status', '#Amount', 'Currency', 'Reference', 'Transaction', 'Invoice'],
        page.value.items.map((/** @type {any} */ b) =>
          row(when(b.receivedAt), b.topic, badge(b.status), h('td', { class: 'num' }, b.amount ?? ''), b.currency ?? '', b.reference ?? '', `${b.transactionType ?? ''} ${b.transactionId ?? ''}`, b.invoiceId ?? ''),
        ),
        'Billing webhooks',
      ),
    );
  }
}
