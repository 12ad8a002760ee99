import type { Secret } from '../../config/secret.ts';
import type { AuthProvider, OutboundRequest } from '../types.ts';
import { basicCredentials, setHeader } from './headers.ts';

/** HTTP Basic: `Authorization: Basic base64(username:password)`. */
export class BasicAuth implements AuthProvider {
  readonly #value: string;

  constructor(config: { username: string; password: Secret }) {
    this.#value = basicCredentials(config.username, config.password.reveal());
  }

  async authorize(request: OutboundRequest): Promise<void> {
    setHeader(request.headers, 'Authorization', this.#value);
  }

  /** A static password fails the same way twice. */
  async invalidate(): Promise<boolean> {
    return false;
  }

  soapSecurityHeader(): string | null {
    return null;
  }
}
