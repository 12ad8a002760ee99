// @ts-check
/**
 * Live numbers: GET /stats/throughput every few seconds while the page is visible (none while it is
 * hidden: a console left open in a background tab costs the gateway nothing). The header strip shows
 * the last minute; the Live view subscribes for its charts. Queue depth is a figure of the moment in
 * the API, so its history is the samples this page took since it opened.
 */
import { call, query } from './api.js';
import { errorText, h, replace } from './dom.js';

const EVERY_MS = 5000;
const MINUTES = 180;
/** At most this many queue depth samples are kept (a few hours at one per EVERY_MS). */
const MAX_SAMPLES = (MINUTES * 60 * 1000) / EVERY_MS;

/**
 * @typedef {{ at: string, pushes: number, deliveries: number, failures: number }} Bucket
 * @typedef {{ bucketSeconds: number, from: string, to: string, buckets: Bucket[], queueDepth: number }} Throughput
 * @typedef {{ data: Throughput | null, error: unknown, queue: Array<{ at: string, value: number }> }} LiveState
 */

/** @type {LiveState} */
const state = { data: null, error: null, queue: [] };
/** @type {Set<(s: LiveState) => void>} */
const listeners = new Set();

/** Calls `fn` now (with what is known) and after every refresh; returns the unsubscribe. @param {(s: LiveState) => void} fn */
export function subscribe(fn) {
  listeners.add(fn);
  fn(state);
  return () => listeners.delete(fn);
}

async function refresh() {
  try {
    /** @type {Throughput} */
    const data = await call('GET', `/stats/throughput${query({ minutes: MINUTES })}`);
    state.data = data;
    state.error = null;
    state.queue.push({ at: data.to ?? new Date().toISOString(), value: data.queueDepth });
    if (state.queue.length > MAX_SAMPLES) state.queue.splice(0, state.queue.length - MAX_SAMPLES);
  } catch (err) {
    state.error = err;
  }
  for (const fn of listeners) fn(state);
}

/** Per minute, whatever the API's bucket size. @param {number} count @param {number} bucketSeconds */
export function perMinute(count, bucketSeconds) {
  return bucketSeconds > 0 ? (count * 60) / bucketSeconds : count;
}

/**
 * Starts refreshing (now, then every EVERY_MS while visible) and draws the header strip in `strip`.
 * @param {HTMLElement} strip
 * @returns {() => void} stop
 */
export function startLive(strip) {
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;
  let stopped = false;
  const schedule = () => {
    if (stopped || document.visibilityState !== 'visible') return;
    timer = setTimeout(() => void refresh().then(schedule), EVERY_MS);
  };
  const onVisibility = () => {
    if (timer) clearTimeout(timer);
    timer = null;
    if (document.visibilityState === 'visible') void refresh().then(schedule);
  };
  document.addEventListener('visibilitychange', onVisibility);
  const unsubscribe = subscribe((s) => {
    strip.hidden = false;
    if (s.error) {
      replace(strip, h('span', { class: 'muted', title: errorText(s.error) }, 'Live numbers unavailable'));
      return;
    }
    if (!s.data) return;
    const last = s.data.buckets[s.data.buckets.length - 1];
    const b = s.data.bucketSeconds;
    replace(
      strip,
      h('a', { href: '#/live' }, 'Live'),
      h('span', null, 'queue ', h('strong', { id: 'live-queue' }, String(s.data.queueDepth))),
      h('span', null, 'pushes/min ', h('strong', null, fmt(perMinute(last?.pushes ?? 0, b)))),
      h('span', null, 'deliveries/min ', h('strong', null, fmt(perMinute(last?.deliveries ?? 0, b)))),
      h('span', { class: (last?.failures ?? 0) > 0 ? 'bad' : null }, 'failures/min ', h('strong', null, fmt(perMinute(last?.failures ?? 0, b)))),
    );
  });
  void refresh().then(schedule);
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
    document.removeEventListener('visibilitychange', onVisibility);
    unsubscribe();
  };
}

/** @param {number} v */
function fmt(v) {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}
