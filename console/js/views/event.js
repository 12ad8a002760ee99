// @ts-check
/**
 * An event (by id, or from a delivery): its parsed fields, the raw push indented for reading
 * (passwords already replaced by *** by the API), its deliveries, and per connector a preview of the
 * request a delivery of it would send now, or the transform error in words. The preview sends nothing.
 */
import { call } from '../api.js';
import { append, badge, errorText, h, link, num, replace, row, table, when } from '../dom.js';
import { prettyBody, prettyJson, prettyXml } from '../words.js';

export const title = 'Event';

/** @type {Record<string, string>} */
const PREVIEW_FAILURES = {
  TRANSFORM_FAILED: 'The mapping cannot build the request for this event, so a delivery would park without sending anything: ',
  PREVIEW_UNSUPPORTED: 'This connector cannot be previewed: ',
  WSDL_UNAVAILABLE: "The connector's WSDL cannot be read now: ",
  NOT_FOUND: 'Not found: ',
};

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  const idInput = h('input', { name: 'id', id: 'event-id', value: route.arg, autocomplete: 'off', spellcheck: 'false', required: true });
  const find = h('form', { class: 'filters', 'aria-label': 'Open an event' }, h('label', { class: 'field' }, h('span', null, 'Event id'), idInput), h('button', { type: 'submit' }, 'Open'));
  find.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/event/${encodeURIComponent(idInput.value.trim())}`;
  });
  replace(root, h('h2', { id: 'view-title' }, title), find);
  if (!route.arg) {
    idInput.focus();
    return;
  }

  const [d, connectors] = await Promise.all([call('GET', `/events/${encodeURIComponent(route.arg)}`), call('GET', '/connectors')]);
  const ev = d.event;
  const preview = h('div', { id: 'preview', 'aria-live': 'polite' });
  const picker = h('select', { id: 'preview-connector', name: 'connector' }, connectors.items.map((/** @type {any} */ c) => h('option', null, c.name)));
  const previewForm = h(
    'form',
    { class: 'filters', id: 'preview-form' },
    h('label', { class: 'field' }, h('span', null, 'Preview the request to'), picker),
    h('button', { type: 'submit' }, 'Preview'),
  );
  previewForm.addEventListener('submit', (e) => {
    e.preventDefault();
    if (picker.value) void showPreview(picker.value);
  });
  const heading = h('h3', { id: 'event-title', tabindex: -1 }, `Event ${ev.id}`);
  append(root, [
    heading,
    h('p', null, badge(ev.status), ` ${ev.eventCode} · `, ev.orderKey ? link(`journey/${encodeURIComponent(ev.orderKey)}`, ev.orderKey) : 'no order key', ` · ${ev.source} · received `, when(ev.receivedAt)),
    h('h4', null, 'Parsed fields'),
    fields(ev.payload),
    h('details', null, h('summary', null, 'Parsed event as JSON'), h('pre', null, prettyJson(ev.payload))),
    h('h4', null, 'Deliveries'),
    table(
      ['Delivery', 'Connector', 'State', '#Attempts', 'Preview'],
      d.deliveries.map((/** @type {any} */ v) =>
        row(link(`delivery/${v.id}`, v.id, { class: 'mono' }), v.connector, badge(v.state), num(v.attemptCount), h('button', { type: 'button', onclick: () => void showPreview(v.connector) }, `Preview request to ${v.connector}`)),
      ),
      'Deliveries of the event',
    ),
    previewForm,
    preview,
    h('h4', null, 'Raw push'),
    d.push
      ? h('div', null, h('p', { class: 'muted' }, `${d.push.soapVersion} · ${d.push.rawSize} bytes · ${d.push.eventCount} event(s) · user ${d.push.authUser ?? '—'} · passwords shown as ***`), h('pre', { id: 'raw-push' }, prettyXml(d.push.raw)))
      : ev.raw
        ? h('pre', { id: 'raw-push' }, prettyBody(ev.raw, ev.raw.trimStart().startsWith('<') ? 'xml' : 'json').text)
        : h('p', { class: 'muted' }, 'No raw form is stored for this event.'),
  ]);
  heading.focus();

  /** @param {string} connector */
  async function showPreview(connector) {
    const heading = h('h4', { id: 'preview-title', tabindex: -1 }, `Request to ${connector}`);
    replace(preview, h('p', { class: 'muted' }, `Building the request to ${connector}…`));
    try {
      const p = await call('GET', `/connectors/${encodeURIComponent(connector)}/preview?event=${encodeURIComponent(ev.id)}`);
      const type = Object.entries(p.headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
      const body = p.body === null ? null : prettyBody(p.body, String(type));
      replace(
        preview,
        heading,
        h('p', { class: 'muted' }, `What ${p.deliveryId === 'preview' ? 'a delivery' : `delivery ${p.deliveryId}`} would send now. Nothing was sent; credentials show as ***.`),
        h('pre', { class: 'request-line' }, `${p.method} ${p.url}`),
        h('table', { class: 'headers' }, h('tbody', null, Object.entries(p.headers).map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, String(v)))))),
        body === null
          ? h('p', { class: 'muted' }, 'No body.')
          : [
              h('h5', null, `Body${body.kind ? ` (${body.kind}${body.text === p.body ? '' : ', indented for reading'})` : ''}`),
              h('pre', { class: 'body' }, body.text),
              body.text === p.body ? null : h('details', null, h('summary', null, 'Body exactly as sent'), h('pre', null, p.body)),
            ],
      );
    } catch (err) {
      const code = err && typeof err === 'object' && 'code' in err ? String(err.code) : '';
      const message = err instanceof Error ? err.message : String(err);
      replace(preview, heading, h('p', { class: 'error', role: 'alert' }, PREVIEW_FAILURES[code] ? `${PREVIEW_FAILURES[code]}${message}` : `The preview failed: ${errorText(err)}`));
    }
    heading.focus();
  }
}

/**
 * The event's fields as name and value, nested objects by their path (OrderLine[0].StatusCode), so
 * what OM sent can be read without unfolding JSON; at most 200 rows.
 * @param {unknown} payload
 */
function fields(payload) {
  /** @type {Array<[string, string]>} */
  const out = [];
  /** @param {unknown} v @param {string} path */
  const walk = (v, path) => {
    if (out.length >= 200) return;
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else out.push([path || '(value)', v === null || v === undefined ? '' : String(v)]);
  };
  walk(payload, '');
  return table(['Field', 'Value'], out.map(([k, v]) => row(h('code', null, k), v)), 'Parsed fields');
}
