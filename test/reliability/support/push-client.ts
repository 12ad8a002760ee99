import { Pool } from 'undici';
import { buildPush, pushHttpHeaders, type PushHeaderInput } from '../../../src/sandbox/om-push.ts';
import { SECRETS, SOAP_USER } from './secrets.ts';

export const security = { kind: 'text', username: SOAP_USER, password: SECRETS.soapPassword } as const;

export function pushBody(headers: PushHeaderInput[]): string {
  return buildPush(headers, { security });
}

export interface Answer {
  status: number;
  body: string;
  /** Set when no HTTP answer came (connection refused or reset). */
  error?: string;
}

/**
 * An HTTP/1.1 client with a fixed number of keep-alive connections, as OM's connector would hold.
 * A push that gets no answer (refused, reset) is reported, not thrown.
 */
export class PushClient {
  readonly #pool: Pool;

  constructor(origin: string, connections: number) {
    this.#pool = new Pool(origin, { connections, pipelining: 1, keepAliveTimeout: 30_000, headersTimeout: 60_000, bodyTimeout: 60_000 });
  }

  async post(path: string, body: string | Buffer, headers: Record<string, string> = pushHttpHeaders()): Promise<Answer> {
    try {
      const res = await this.#pool.request({ path, method: 'POST', headers, body });
      return { status: res.statusCode, body: await res.body.text() };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { status: 0, body: '', error: e.code ?? e.message ?? String(err) };
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}

/** The error code of a SOAP Fault body (`<omgw:code>`), or null when the body is not one of the gateway's faults. */
export function faultCode(body: string): string | null {
  if (!/<(soap|env):Fault>/.test(body)) return null;
  return /<omgw:code>([A-Z_]+)<\/omgw:code>/.exec(body)?.[1] ?? null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
