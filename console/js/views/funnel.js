// @ts-check
/**
 * The funnel: how many orders (lines) reached each stage in a period, as bars, and the stuck lines:
 * those that have stood at a stage for longer than the threshold, with what they wait for.
 */
import { call, query } from '../api.js';
import { append, age, formValues, h, link, replace, row, select, table, when } from '../dom.js';

export const title = 'Funnel';

const SVG = 'http://www.w3.org/2000/svg';

/** @param {HTMLElement} root @param {import('./index.js').Route} route */
export async function render(root, route) {
  const since = route.params.get('since') ?? '24h';
  const stuckAfter = route.params.get('stuckAfter') ?? '2h';
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Funnel period' },
    select('Since', 'since', choices(['1h', '6h', '24h', '7d', '30d'], since), since, '24h'),
    select('Stuck after', 'stuckAfter', choices(['30m', '1h', '2h', '6h', '24h'], stuckAfter), stuckAfter, '2h'),
    h('button', { type: 'submit' }, 'Show'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    location.hash = `#/funnel${query(formValues(form))}`;
  });
  replace(root, h('h2', { id: 'view-title' }, title), form);
  const f = await call('GET', `/funnel${query({ since, stuckAfter })}`);
  /** @type {Record<string, string>} */
  const label = Object.fromEntries(f.stages.map((/** @type {any} */ s) => [s.stage, s.label]));
  const max = Math.max(1, ...f.stages.map((/** @type {any} */ s) => s.count));
  append(root, [
    h('p', { class: 'muted' }, 'From ', when(f.since), ' to ', when(f.until), `; ${f.enteredAtShipbobOrder ?? 0} entered at the ShipBob order. Stuck: at a stage for more than ${f.stuckAfter}.`),
    h('ol', { class: 'funnel', 'aria-label': 'Stages' }, f.stages.map((/** @type {any} */ s) => h('li', null, h('span', { class: 'label' }, s.label), bar(s.count / max), h('span', { class: 'count' }, String(s.count))))),
    h('h3', null, `Stuck lines (${f.stuck.length}${f.stuckTruncated ? '+' : ''})`),
    table(
      ['Order', 'Line', 'Stage', 'Since', 'Waiting for', 'Waiting'],
      f.stuck.map((/** @type {any} */ s) =>
        row(link(`journey/${encodeURIComponent(s.orderKey)}`, s.orderKey), s.line ?? '', label[s.stage] ?? s.stage, when(s.reachedAt), label[s.waitingFor] ?? s.waitingFor, age(s.waitingSeconds * 1000)),
      ),
      'Stuck lines',
    ),
    f.stuckTruncated ? h('p', { class: 'muted' }, 'More lines are stuck than shown.') : null,
  ]);
}

/** The usual choices, and the one a link asked for. @param {string[]} usual @param {string} current */
function choices(usual, current) {
  return usual.includes(current) ? usual : [current, ...usual];
}

/** A bar as an SVG rectangle (attributes, not inline style). @param {number} share 0..1 */
function bar(share) {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', '0 0 100 10');
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'funnel-bar');
  svg.setAttribute('aria-hidden', 'true');
  const rect = document.createElementNS(SVG, 'rect');
  rect.setAttribute('width', String(share > 0 ? Math.max(share * 100, 0.5) : 0));
  rect.setAttribute('height', '10');
  svg.append(rect);
  return svg;
}
