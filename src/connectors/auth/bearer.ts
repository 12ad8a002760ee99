import type { Secret } from '../../config/secret.ts';
import type { AuthProvider, OutboundRequest } from '../types.ts';
import { setHeader } from './headers.ts';

/** A static bearer token: `Authorization: Bearer <token>`. */
export class BearerAuth implements AuthProvider {
  readonly #token: Secret;

  constructor(config: { token: Secret }) {
    this.#token = config.token;
  }

  async authorize(request: OutboundRequest): Promise<void> {
    setHeader(request.headers, 'Authorization', `Bearer ${this.#token.reveal()}`);
  }

  async invalidate(): Promise<boolean> {
    return false;
  }

  soapSecurityHeader(): string | null {
    return null;
  }
}
