import type { Secret } from '../../config/secret.ts';
import type { AuthProvider, OutboundRequest } from '../types.ts';
import { setHeader } from './headers.ts';

/**
 * An API key in a header (default `X-API-Key`) or in a query parameter. Request summaries hide it
 * with redactHeaders / redactUrl, which know the configured name.
 */
export class ApiKeyAuth implements AuthProvider {
  readonly #key: Secret;
  readonly #in: 'header' | 'query';
  readonly #name: string;

  constructor(config: { key: Secret; in: 'header' | 'query'; name: string }) {
    this.#key = config.key;
    this.#in = config.in;
    this.#name = config.name;
  }

  async authorize(request: OutboundRequest): Promise<void> {
    if (this.#in === 'header') setHeader(request.headers, this.#name, this.#key.reveal());
    else request.url.searchParams.set(this.#name, this.#key.reveal());
  }

  async invalidate(): Promise<boolean> {
    return false;
  }

  soapSecurityHeader(): string | null {
    return null;
  }
}
