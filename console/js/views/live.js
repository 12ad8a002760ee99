// @ts-check
/**
 * Live numbers as small charts, per minute over the last hours (GET /stats/throughput): pushes (SOAP
 * requests from OM, each holding one or more events), deliveries that reached delivered (an async
 * one when its callback completed it), failed attempts (retried or parked); and the queue depth.
 */
import { columnChart } from '../chart.js';
import { errorBox, h, replace } from '../dom.js';
import { perMinute, subscribe } from '../live.js';

export const title = 'Live';

/** @param {HTMLElement} root */
export async function render(root) {
  const charts = h('div', { class: 'charts', id: 'charts' }, h('p', { class: 'muted' }, 'Waiting for the first numbers…'));
  replace(root, h('h2', { id: 'view-title' }, title), h('p', { class: 'muted' }, 'Refreshed every few seconds while this page is visible.'), charts);
  return subscribe((s) => {
    if (s.error) {
      replace(charts, errorBox(s.error));
      return;
    }
    const data = s.data;
    if (!data) return;
    /** @param {'pushes' | 'deliveries' | 'failures'} k */
    const series = (k) => data.buckets.map((b) => ({ at: b.at, value: perMinute(b[k], data.bucketSeconds) }));
    const hours = Math.round(((Date.parse(data.to) - Date.parse(data.from)) / 3_600_000) * 10) / 10;
    replace(
      charts,
      columnChart({ title: 'Pushes', unit: 'per minute', points: series('pushes') }),
      columnChart({ title: 'Deliveries', unit: 'per minute', points: series('deliveries'), tone: 'good' }),
      columnChart({ title: 'Failures', unit: 'per minute', points: series('failures'), tone: 'bad' }),
      columnChart({ title: 'Queue depth', unit: 'waiting', points: s.queue.length ? s.queue : [{ at: data.to, value: data.queueDepth }], tone: 'queue', slots: 120 }),
      h('p', { class: 'muted' }, `Over the last ${Number.isFinite(hours) ? hours : '?'} h in ${data.bucketSeconds}-second buckets; queue depth since this page opened.`),
    );
  });
}
