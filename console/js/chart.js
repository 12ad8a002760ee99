// @ts-check
/**
 * Small SVG charts drawn here (no library): a column per bucket, scaled to the largest value, with
 * the figures as text for screen readers and a title per column for a pointer. Attributes only
 * (x, y, width, height), never style: the page's policy allows no inline styles.
 */

const SVG = 'http://www.w3.org/2000/svg';

/**
 * @param {string} tag
 * @param {Record<string, string | number>} attrs
 * @param {...(SVGElement | string)} children
 * @returns {SVGElement}
 */
function s(tag, attrs, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG, tag));
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/**
 * @param {{ title: string, unit: string, points: Array<{ at: string, value: number }>, tone?: string, sum?: boolean, slots?: number }} spec
 * @returns {HTMLElement}
 */
export function columnChart(spec) {
  const width = 300;
  const height = 80;
  const values = spec.points.map((p) => p.value);
  const max = Math.max(1, ...values);
  const last = values.length ? values[values.length - 1] : 0;
  const total = values.reduce((a, b) => a + b, 0);
  // At least `slots` columns wide, the points at the right: a short history does not fill the chart.
  const slots = Math.max(spec.points.length, spec.slots ?? 0, 1);
  const offset = slots - spec.points.length;
  const step = width / slots;
  const bars = spec.points.map((p, i) => {
    const barHeight = p.value === 0 ? 0 : Math.max(1, (p.value / max) * (height - 4));
    return s(
      'rect',
      { x: ((offset + i) * step).toFixed(2), y: (height - barHeight).toFixed(2), width: Math.max(0.5, step - 0.5).toFixed(2), height: barHeight.toFixed(2), class: 'bar', 'data-value': p.value },
      s('title', {}, `${new Date(p.at).toLocaleTimeString()}: ${formatValue(p.value)} ${spec.unit}`),
    );
  });
  const svg = s(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, preserveAspectRatio: 'none', role: 'img', 'aria-label': `${spec.title}: ${formatValue(last ?? 0)} ${spec.unit} now, peak ${formatValue(max)}`, class: `chart ${spec.tone ?? ''}` },
    s('line', { x1: 0, y1: height - 0.5, x2: width, y2: height - 0.5, class: 'axis' }),
    ...bars,
  );
  const figure = document.createElement('figure');
  figure.className = 'chart-box';
  const caption = document.createElement('figcaption');
  const strong = document.createElement('strong');
  strong.textContent = formatValue(last ?? 0);
  caption.append(spec.title, ' ', strong, ` ${spec.unit} now · peak ${formatValue(max)}${spec.sum ? ` · ${formatValue(total)} in all` : ''}`);
  figure.append(caption, svg);
  return figure;
}

/** @param {number} v */
function formatValue(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
