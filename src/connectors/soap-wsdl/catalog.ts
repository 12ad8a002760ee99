import { readFile } from 'node:fs/promises';
import type { ConnectorConfig } from '../../config/schema.ts';
import { createDispatcher, httpRequest, isHttpClientError } from '../http-client.ts';
import { parseWsdl, selectOperation, WsdlError, type WsdlDocument, type WsdlOperation } from './document.ts';

/**
 * The WSDLs of the connectors that name one, read at start and at each reload (`refresh`). A WSDL
 * that cannot be read keeps the one read before, for that connector, in force: a target's WSDL
 * server being down, or a file being rewritten, must not stop deliveries that worked. A connector
 * whose WSDL was never read tries again at its next delivery.
 */

const MAX_WSDL_BYTES = 5 * 1024 * 1024;

/** Why a WSDL is not there: `network` (it could not be fetched: retried) or `config` (it is not a usable WSDL: parks). */
export class WsdlUnavailableError extends Error {
  readonly errorClass: 'network' | 'config';
  constructor(message: string, errorClass: 'network' | 'config') {
    super(message);
    this.name = 'WsdlUnavailableError';
    this.errorClass = errorClass;
  }
}

interface Entry {
  source: string;
  document: WsdlDocument | null;
  loading: Promise<void> | null;
  error: WsdlUnavailableError | null;
}

export interface WsdlCatalogOptions {
  /** Told when a read fails; `kept` says whether an earlier read stays in force. */
  onReadFailed?: (connector: string, error: Error, kept: boolean) => void;
}

export class WsdlCatalog {
  readonly #entries = new Map<string, Entry>();
  readonly #options: WsdlCatalogOptions;

  constructor(options: WsdlCatalogOptions = {}) {
    this.#options = options;
  }

  /** Reads every WSDL the connectors name again (in the background; `operation` waits for it). */
  refresh(connectors: readonly ConnectorConfig[]): void {
    for (const c of connectors) {
      const source = c.soap?.wsdl;
      if (source === undefined) {
        this.#entries.delete(c.name);
        continue;
      }
      const entry = this.#entries.get(c.name) ?? { source, document: null, loading: null, error: null };
      entry.source = source;
      this.#entries.set(c.name, entry);
      this.#load(c, entry);
    }
  }

  /** The connector's WSDL (read now if it never was). Throws WsdlUnavailableError. */
  async document(connector: ConnectorConfig): Promise<WsdlDocument> {
    const source = connector.soap?.wsdl;
    if (source === undefined) throw new WsdlUnavailableError(`connector ${connector.name} has no soap.wsdl`, 'config');
    let entry = this.#entries.get(connector.name);
    // A config this catalog was not refreshed with: its own WSDL, not another's.
    if (!entry || entry.source !== source) {
      entry = { source, document: null, loading: null, error: null };
      this.#entries.set(connector.name, entry);
    }
    if (!entry.loading && !entry.document) this.#load(connector, entry);
    await entry.loading;
    if (entry.document) return entry.document;
    throw entry.error ?? new WsdlUnavailableError(`the WSDL of connector ${connector.name} could not be read`, 'network');
  }

  /** The operation the connector names, from its WSDL. */
  async operation(connector: ConnectorConfig): Promise<{ document: WsdlDocument; operation: WsdlOperation }> {
    const document = await this.document(connector);
    try {
      return { document, operation: selectOperation(document, { operation: connector.soap?.operation ?? '', service: connector.soap?.service, port: connector.soap?.port }) };
    } catch (err) {
      throw new WsdlUnavailableError(`connector ${connector.name}: ${err instanceof Error ? err.message : String(err)}`, 'config');
    }
  }

  #load(connector: ConnectorConfig, entry: Entry): void {
    const source = entry.source;
    const run = async (): Promise<void> => {
      try {
        const text = await readSource(connector, source);
        entry.document = await parseWsdl(text, source);
        entry.error = null;
      } catch (err) {
        const error =
          err instanceof WsdlUnavailableError
            ? err
            : new WsdlUnavailableError(`the WSDL ${source} is not usable: ${err instanceof Error ? err.message : String(err)}`, 'config');
        entry.error = error;
        this.#options.onReadFailed?.(connector.name, error, entry.document !== null);
      } finally {
        entry.loading = null;
      }
    };
    // One read at a time per connector; a refresh during a read starts another after it.
    const previous = entry.loading;
    entry.loading = (previous ?? Promise.resolve()).then(run);
  }
}

async function readSource(connector: ConnectorConfig, source: string): Promise<string> {
  if (!/^https?:/i.test(source)) {
    try {
      return await readFile(source, 'utf8');
    } catch (err) {
      throw new WsdlUnavailableError(`the WSDL file ${source} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`, 'config');
    }
  }
  // The connector's TLS settings (an extra CA, a client certificate) apply to its WSDL too.
  const dispatcher = createDispatcher({ ...connector, concurrency: 1 });
  try {
    const response = await httpRequest(
      dispatcher,
      { method: 'GET', url: new URL(source), headers: { accept: 'text/xml, application/xml, */*' }, body: null, maxResponseBytes: MAX_WSDL_BYTES },
      connector.timeout,
    );
    if (response.status !== 200) throw new WsdlUnavailableError(`GET ${source} answered HTTP ${response.status}`, 'network');
    return response.body;
  } catch (err) {
    if (err instanceof WsdlUnavailableError) throw err;
    if (isHttpClientError(err)) throw new WsdlUnavailableError(`GET ${source} failed: ${err.message}`, 'network');
    throw err instanceof WsdlError ? new WsdlUnavailableError(err.message, 'config') : err;
  } finally {
    void dispatcher.close().catch(() => undefined);
  }
}
