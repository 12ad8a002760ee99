import { randomUUID } from 'node:crypto';
import type { Router } from '@koa/router';
import type { Context } from 'koa';
import type { ConnectorConfig } from '../config/schema.ts';
import { isGatewayError } from '../domain/errors.ts';
import { readRawBody } from '../inbound/webhooks/body.ts';
import { signWebhook } from './shipbob/webhooks.ts';
import { SANDBOX_PREFIX } from './targets.ts';

/**
 * A sandbox asynchronous fulfilment service, for async connectors (`mode: async`): it accepts a
 * request at once (202) and reports the outcome a few seconds later by calling the gateway's
 * `POST /callbacks/{connector}`, as a warehouse or a partner that works in its own time does.
 *
 * `POST /sandbox/fulfilment/{connector}[/anything]` takes the connector's request. The correlation id
 * is the one the connector's `async.correlation` says: read from its header or JSON field, or made
 * here and answered at its `responsePath` (as `requestId`). The callback, after `?delayMs=` (or
 * header `X-Sandbox-Delay-Ms`; default 3 s), says COMPLETED, or FAILED when the request asks for it
 * (`?outcome=failure`, header `X-Sandbox-Outcome: failure`, or a text value in its JSON body that
 * starts with `FAIL`, such as an item or an order number), in the connector's own callback fields and
 * values, authenticated with the connector's `async.callback.auth` (Basic, bearer, Standard Webhooks
 * signature; a WS-Security UsernameToken makes it a SOAP callback). A request re-sent while its
 * callback is pending is answered the same and calls back once; re-sent after, it calls back again.
 * A callback the gateway does not acknowledge (a 5xx, no answer) is sent again, up to 5 times.
 * `GET /sandbox/fulfilment/requests` lists what it received and how each callback went (ids,
 * outcomes, HTTP statuses: never a credential).
 */
const FULFILMENT_PREFIX = `${SANDBOX_PREFIX}/fulfilment`;

const DEFAULT_DELAY_MS = 3_000;
const MAX_DELAY_MS = 10 * 60_000;
const MAX_BODY = 1024 * 1024;
const KEEP = 200;
/** Waits before sending a callback again after the gateway did not acknowledge it. */
const RESEND_DELAYS_MS = [1_000, 2_000, 4_000, 8_000];

type AsyncSettings = NonNullable<ConnectorConfig['async']>;

export interface FulfilmentRecord {
  at: string;
  connector: string;
  correlationId: string;
  requested: 'success' | 'failure';
  delayMs: number;
  /** pending until the callback is answered; then the gateway's HTTP status and its outcome (JSON) */
  callback: { state: 'pending' | 'sent' | 'failed'; httpStatus: number | null; outcome: string | null; attempts: number };
}

export interface FulfilmentSandboxOptions {
  /** The connectors in force (a reload applies): the async ones are served. */
  connectors: () => readonly ConnectorConfig[];
  /** Where the gateway takes callbacks: its own URL. */
  gatewayUrl: () => string;
}

export interface FulfilmentSandbox {
  requests: () => readonly FulfilmentRecord[];
  /** Cancels the callbacks not sent yet (the gateway stops). */
  close(): void;
}

export function registerFulfilmentSandbox(router: Router, options: FulfilmentSandboxOptions): FulfilmentSandbox {
  const records: FulfilmentRecord[] = [];
  const timers = new Set<NodeJS.Timeout>();
  /** Callbacks not answered yet, by connector and correlation id: a re-send while pending calls back once. */
  const pending = new Set<string>();
  /** Request ids made here, by the request's idempotency key, so a re-send keeps its id. */
  const madeIds = new Map<string, string>();
  let closed = false;

  const later = (ms: number, run: () => void): void => {
    if (closed) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timer.unref();
    timers.add(timer);
  };

  const callBack = (connector: string, settings: AsyncSettings, record: FulfilmentRecord, attempt: number): void => {
    const callback = callbackRequest(settings, record);
    record.callback.attempts = attempt + 1;
    fetch(`${options.gatewayUrl()}/callbacks/${encodeURIComponent(connector)}`, { method: 'POST', headers: callback.headers, body: callback.body, signal: AbortSignal.timeout(30_000) })
      .then(async (res) => {
        const text = await res.text();
        record.callback.httpStatus = res.status;
        record.callback.outcome = outcomeOf(text);
        if (res.status >= 500 && attempt < RESEND_DELAYS_MS.length) {
          later(RESEND_DELAYS_MS[attempt] ?? 1_000, () => callBack(connector, settings, record, attempt + 1));
          return;
        }
        record.callback.state = res.ok ? 'sent' : 'failed';
        pending.delete(`${connector}\u0000${record.correlationId}`);
      })
      .catch(() => {
        if (attempt < RESEND_DELAYS_MS.length) {
          later(RESEND_DELAYS_MS[attempt] ?? 1_000, () => callBack(connector, settings, record, attempt + 1));
          return;
        }
        record.callback.state = 'failed';
        pending.delete(`${connector}\u0000${record.correlationId}`);
      });
  };

  router.post(`${FULFILMENT_PREFIX}/:connector{/*rest}`, async (ctx) => {
    const name = ctx.params.connector ?? '';
    const connector = options.connectors().find((c) => c.name === name && c.mode === 'async');
    const settings = connector?.async;
    if (!connector || !settings) {
      reply(ctx, 404, { code: 'NOT_FOUND', message: `no async connector named ${JSON.stringify(name.slice(0, 80))} sends to this sandbox service` });
      return;
    }
    const raw = await readBody(ctx);
    if (raw === null) return;
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        reply(ctx, 400, { code: 'BAD_REQUEST', message: 'the sandbox fulfilment service takes JSON requests' });
        return;
      }
    }
    const correlation = settings.correlation;
    let correlationId: string | null;
    let answer: Record<string, unknown> = { accepted: true };
    if (correlation.header !== undefined) {
      correlationId = ctx.get(correlation.header) || null;
    } else if (correlation.field !== undefined) {
      const value = valueAt(body, correlation.field);
      correlationId = typeof value === 'string' && value !== '' ? value : null;
    } else if (correlation.responsePath !== undefined) {
      const key = ctx.get('idempotency-key');
      correlationId = (key ? madeIds.get(`${name}\u0000${key}`) : undefined) ?? `FUL-${randomUUID()}`;
      if (key) remember(madeIds, `${name}\u0000${key}`, correlationId);
      answer = setAt({ accepted: true }, correlation.responsePath, correlationId);
    } else {
      reply(ctx, 400, { code: 'BAD_REQUEST', message: 'the sandbox fulfilment service speaks REST: use correlation header, field or responsePath' });
      return;
    }
    if (correlationId === null) {
      reply(ctx, 400, { code: 'BAD_REQUEST', message: `no correlation id in the request (${correlation.header !== undefined ? `header ${correlation.header}` : `field ${correlation.field ?? ''}`})` });
      return;
    }
    const key = `${name}\u0000${correlationId}`;
    if (pending.has(key)) {
      // A re-send while the outcome is being worked on: the same answer, one callback.
      reply(ctx, 202, answer);
      return;
    }
    const delayMs = delayOf(ctx);
    const failure = /^fail/i.test(ctx.get('x-sandbox-outcome') || String(ctx.query.outcome ?? '')) || asksForFailure(body);
    const record: FulfilmentRecord = {
      at: new Date().toISOString(),
      connector: name,
      correlationId,
      requested: failure ? 'failure' : 'success',
      delayMs,
      callback: { state: 'pending', httpStatus: null, outcome: null, attempts: 0 },
    };
    records.push(record);
    if (records.length > KEEP) records.shift();
    pending.add(key);
    later(delayMs, () => callBack(name, settings, record, 0));
    reply(ctx, 202, answer);
  });

  router.get(`${FULFILMENT_PREFIX}/requests`, (ctx) => {
    ctx.body = records;
  });

  return {
    requests: () => records,
    close: () => {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/** The callback as the connector's settings want it: its fields and values, its credentials. */
function callbackRequest(settings: AsyncSettings, record: FulfilmentRecord): { headers: Record<string, string>; body: string } {
  const cb = settings.callback;
  const status = record.requested === 'failure' ? (cb.failed[0] ?? 'FAILED') : (cb.delivered[0] ?? 'COMPLETED');
  const message = record.requested === 'failure' ? 'the sandbox fulfilment service could not fulfil the request' : 'fulfilled by the sandbox fulfilment service';
  const auth = cb.auth;
  if (auth.type === 'username-token') {
    return {
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: soapCallback(auth.username, auth.password.reveal(), record.correlationId, status, message),
    };
  }
  let json: Record<string, unknown> = {};
  json = setAt(json, cb.correlationPath, record.correlationId);
  json = setAt(json, cb.statusPath, status);
  if (cb.messagePath !== undefined) json = setAt(json, cb.messagePath, message);
  const body = JSON.stringify(json);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth.type === 'basic') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password.reveal()}`, 'utf8').toString('base64')}`;
  else if (auth.type === 'bearer') headers.authorization = `Bearer ${auth.token.reveal()}`;
  else {
    const id = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    headers['webhook-id'] = id;
    headers['webhook-timestamp'] = String(timestamp);
    headers['webhook-signature'] = signWebhook(auth.secret.reveal(), id, timestamp, body);
  }
  return { headers, body };
}

function soapCallback(username: string, password: string, correlationId: string, status: string, message: string): string {
  const x = (s: string): string => s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
  return (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">' +
    '<soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><wsse:UsernameToken>' +
    `<wsse:Username>${x(username)}</wsse:Username>` +
    `<wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText">${x(password)}</wsse:Password>` +
    '</wsse:UsernameToken></wsse:Security></soapenv:Header>' +
    '<soapenv:Body><cb:DeliveryResponse xmlns:cb="urn:om-connector-gateway:callback">' +
    `<cb:CorrelationId>${x(correlationId)}</cb:CorrelationId><cb:Status>${x(status)}</cb:Status><cb:Message>${x(message)}</cb:Message>` +
    '</cb:DeliveryResponse></soapenv:Body></soapenv:Envelope>'
  );
}

function delayOf(ctx: Context): number {
  const text = ctx.get('x-sandbox-delay-ms') || String(ctx.query.delayMs ?? '');
  const n = /^\d{1,9}$/.test(text) ? Number(text) : DEFAULT_DELAY_MS;
  return Math.min(n, MAX_DELAY_MS);
}

/** A text value anywhere in the request that starts with FAIL (an item, an order number). */
function asksForFailure(value: unknown, depth = 0): boolean {
  if (depth > 32) return false;
  if (typeof value === 'string') return value.startsWith('FAIL');
  if (Array.isArray(value)) return value.some((v) => asksForFailure(v, depth + 1));
  if (typeof value === 'object' && value !== null) return Object.values(value).some((v) => asksForFailure(v, depth + 1));
  return false;
}

function valueAt(value: unknown, path: string): unknown {
  let at = value;
  for (const key of path.split('.')) {
    if (typeof at !== 'object' || at === null || !Object.hasOwn(at, key)) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const keys = path.split('.');
  let at = target;
  keys.forEach((key, i) => {
    if (i === keys.length - 1) {
      at[key] = value;
      return;
    }
    const next = at[key];
    const child: Record<string, unknown> = typeof next === 'object' && next !== null ? (next as Record<string, unknown>) : {};
    at[key] = child;
    at = child;
  });
  return target;
}

function outcomeOf(text: string): string | null {
  try {
    const parsed: unknown = JSON.parse(text);
    const outcome = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>).outcome : undefined;
    return typeof outcome === 'string' ? outcome : null;
  } catch {
    return /<(?:\w+:)?Outcome>([^<]*)</.exec(text)?.[1] ?? null;
  }
}

function remember(map: Map<string, string>, key: string, value: string): void {
  map.set(key, value);
  if (map.size > 10_000) {
    const first = map.keys().next().value;
    if (first !== undefined) map.delete(first);
  }
}

function reply(ctx: Context, status: number, body: Record<string, unknown>): void {
  ctx.status = status;
  ctx.body = body;
}

async function readBody(ctx: Context): Promise<string | null> {
  try {
    return (await readRawBody(ctx.req, MAX_BODY)).toString('utf8');
  } catch (err) {
    if (!isGatewayError(err) || err.code !== 'PAYLOAD_TOO_LARGE') throw err;
    reply(ctx, 413, { code: 'PAYLOAD_TOO_LARGE', message: 'the sandbox fulfilment service takes bodies up to 1 MB' });
    return null;
  }
}
