import { EventEmitter, once } from 'node:events';
import { Webhook } from 'standardwebhooks';

/**
 * ShipBob's webhook sender as the sandbox emulates it: Standard Webhooks signatures (ShipBob's
 * dated versions are delivered by Svix), topic in `x-webhook-topic`, and Svix's retry schedule.
 */

/**
 * Delay before each attempt, each counted from the failure of the one before: "Immediately, 5
 * seconds, 5 minutes, 30 minutes, 2 hours, 5 hours, 10 hours, 10 hours" (ShipBob docs + Svix).
 */
export const SHIPBOB_RETRY_SCHEDULE: readonly number[] = [
  0, 5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
];

/** ShipBob expects a 2xx "within a reasonable time-frame (15s)". */
export const SHIPBOB_WEBHOOK_TIMEOUT_MS = 15_000;

export interface WebhookSubscription {
  id: string;
  /** A function when the target is only known later (the gateway's own URL once it listens). */
  url: string | (() => string);
  topics: string[];
  secret: string;
  description: string | null;
  created_at: string;
  enabled: boolean;
}

export interface WebhookMessage {
  /** `webhook-id`: the same on every attempt and every subscription of one event. */
  id: string;
  topic: string;
  /** The exact bytes sent (and signed). */
  body: string;
  subscriptionIds: string[];
}

export interface WebhookAttempt {
  messageId: string;
  subscriptionId: string;
  topic: string;
  url: string;
  /** 1 for the first try. */
  attempt: number;
  /** ISO time the attempt started (sandbox clock). */
  at: string;
  /** `webhook-timestamp` sent (seconds). */
  timestamp: number;
  signature: string;
  status: number | null;
  error: string | null;
  responseSnippet: string;
  durationMs: number;
  outcome: 'delivered' | 'failed';
  /** Delay until the next attempt, or null when there is none (delivered, exhausted, disabled). */
  nextAttemptInMs: number | null;
}

export interface DispatcherOptions {
  now: () => number;
  schedule: readonly number[];
  timeoutMs: number;
  subscription: (id: string) => WebhookSubscription | undefined;
  /** Whether an attempt records the answer's body (default yes); false keeps a foreign answer out of sight. */
  showResponse?: (url: string) => boolean;
}

/** `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, key = base64-decoded part after `whsec_`. */
export function signWebhook(secret: string, messageId: string, timestampSeconds: number, body: string): string {
  return new Webhook(secret).sign(messageId, new Date(timestampSeconds * 1000), body);
}

export function subscriptionUrl(sub: WebhookSubscription): string {
  return typeof sub.url === 'function' ? sub.url() : sub.url;
}

/**
 * Sends messages to subscriptions, retries failed deliveries on the schedule and records every
 * attempt. Emits 'attempt' (WebhookAttempt) after each try and 'settled' ({ messageId,
 * subscriptionId, delivered }) when a delivery is done for good.
 */
export class WebhookDispatcher extends EventEmitter {
  readonly #options: DispatcherOptions;
  readonly #attempts: WebhookAttempt[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #closing = new AbortController();

  constructor(options: DispatcherOptions) {
    super();
    if (options.schedule.length === 0) throw new RangeError('the webhook retry schedule needs at least one entry');
    this.#options = options;
  }

  attempts(): readonly WebhookAttempt[] {
    return this.#attempts;
  }

  /** Resolves once `n` attempts have been made in all (across messages and subscriptions). */
  async waitForAttempts(n: number): Promise<readonly WebhookAttempt[]> {
    while (this.#attempts.length < n) await once(this, 'attempt');
    return this.#attempts;
  }

  /**
   * Starts delivering `message` to each of its subscriptions. Resolves when every first attempt
   * has been made (retries go on in the background).
   */
  async dispatch(message: WebhookMessage): Promise<void> {
    await Promise.all(message.subscriptionIds.map((sid) => this.#deliver(message, sid, 0)));
  }

  async #deliver(message: WebhookMessage, subscriptionId: string, index: number): Promise<void> {
    const delay = this.#options.schedule[index] ?? 0;
    if (delay > 0) {
      const go = await this.#sleep(delay);
      if (!go) return;
    }
    const sub = this.#options.subscription(subscriptionId);
    if (!sub || !sub.enabled || this.#closing.signal.aborted) {
      this.emit('settled', { messageId: message.id, subscriptionId, delivered: false });
      return;
    }
    const attempt = await this.#attempt(message, sub, index + 1);
    if (attempt.status === 410) {
      // Standard Webhooks: 410 Gone means the receiver wants no more; the endpoint is disabled.
      sub.enabled = false;
    }
    const retry = attempt.outcome === 'failed' && attempt.status !== 410 && index + 1 < this.#options.schedule.length;
    attempt.nextAttemptInMs = retry ? (this.#options.schedule[index + 1] ?? 0) : null;
    this.#attempts.push(attempt);
    this.emit('attempt', attempt);
    if (retry) {
      void this.#deliver(message, subscriptionId, index + 1);
    } else {
      this.emit('settled', { messageId: message.id, subscriptionId, delivered: attempt.outcome === 'delivered' });
    }
  }

  async #attempt(message: WebhookMessage, sub: WebhookSubscription, attempt: number): Promise<WebhookAttempt> {
    const startedAt = this.#options.now();
    const timestamp = Math.floor(startedAt / 1000);
    const signature = signWebhook(sub.secret, message.id, timestamp, message.body);
    let url = '';
    const started = Date.now();
    const record = (fields: Pick<WebhookAttempt, 'status' | 'error' | 'responseSnippet' | 'outcome'>): WebhookAttempt => ({
      messageId: message.id,
      subscriptionId: sub.id,
      topic: message.topic,
      url,
      attempt,
      at: new Date(startedAt).toISOString(),
      timestamp,
      signature,
      durationMs: Date.now() - started,
      nextAttemptInMs: null,
      ...fields,
    });
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`no answer within ${this.#options.timeoutMs} ms`)), this.#options.timeoutMs);
    const onClose = () => abort.abort(new Error('sandbox closed'));
    this.#closing.signal.addEventListener('abort', onClose, { once: true });
    try {
      url = subscriptionUrl(sub);
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': message.id,
          'webhook-timestamp': String(timestamp),
          'webhook-signature': signature,
          'x-webhook-topic': message.topic,
        },
        body: message.body,
        // 3xx counts as a failure: redirects are not followed.
        redirect: 'manual',
        signal: abort.signal,
      });
      const shown = this.#options.showResponse?.(url) ?? true;
      const text = shown ? await res.text() : '';
      if (!shown) await res.body?.cancel();
      const delivered = res.status >= 200 && res.status < 300;
      return record({ status: res.status, error: null, responseSnippet: text.slice(0, 500), outcome: delivered ? 'delivered' : 'failed' });
    } catch (err) {
      const reason: unknown = abort.signal.aborted ? abort.signal.reason : err;
      const cause = (reason as { cause?: { code?: string } }).cause?.code;
      const error = cause ?? (reason instanceof Error ? reason.message : String(reason));
      return record({ status: null, error, responseSnippet: '', outcome: 'failed' });
    } finally {
      clearTimeout(timer);
      this.#closing.signal.removeEventListener('abort', onClose);
    }
  }

  /** Resolves true after `ms`, or false at once when the dispatcher closes. Timers do not hold the process. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.#closing.signal.aborted) return resolve(false);
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#closing.signal.removeEventListener('abort', stop);
        resolve(true);
      }, ms);
      timer.unref();
      this.#timers.add(timer);
      const stop = () => {
        clearTimeout(timer);
        this.#timers.delete(timer);
        resolve(false);
      };
      this.#closing.signal.addEventListener('abort', stop, { once: true });
    });
  }

  /** Cancels pending retries and aborts attempts in flight. */
  close(): void {
    this.#closing.abort();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}
