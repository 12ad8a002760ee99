import type { AuthProvider } from '../types.ts';

/** No credentials. */
export class NoAuth implements AuthProvider {
  async authorize(): Promise<void> {}

  async invalidate(): Promise<boolean> {
    return false;
  }

  soapSecurityHeader(): string | null {
    return null;
  }
}
