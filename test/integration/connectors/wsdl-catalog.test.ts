import { expect } from 'chai';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { WsdlCatalog, WsdlUnavailableError } from '../../../src/connectors/soap-wsdl/catalog.ts';
import type { ConnectorConfig } from '../../../src/config/schema.ts';

/** A connector's WSDL is read at start and at each reload; a reload that cannot read it keeps the one read before. */

const FIXTURES = resolve(import.meta.dirname, '../../fixtures/wsdl');

describe('WSDL catalog: read at start and on reload, kept when a reload cannot read it', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omgw-wsdl-cat-'));
    for (const f of ['warehouse.wsdl', 'warehouse-service.xsd', 'warehouse-types.xsd']) copyFileSync(join(FIXTURES, f), join(dir, f));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const connector = (wsdl: string, port?: string): ConnectorConfig =>
    ({ name: 'wh', protocol: 'soap', timeout: 5000, soap: { wsdl, operation: 'CreateShipment', ...(port ? { port } : {}) } }) as ConnectorConfig;

  it('keeps the WSDL read before when the file becomes unreadable, and reads the new one when it is fixed', async () => {
    const failures: Array<[string, boolean]> = [];
    const catalog = new WsdlCatalog({ onReadFailed: (_c, err, kept) => failures.push([err.message, kept]) });
    const c = connector(join(dir, 'warehouse.wsdl'), 'WarehouseSoap11Port');
    catalog.refresh([c]);
    expect((await catalog.operation(c)).operation.soapAction).to.equal('urn:example:warehouse:CreateShipment');

    writeFileSync(join(dir, 'warehouse.wsdl'), '<not-a-wsdl');
    catalog.refresh([c]);
    expect((await catalog.operation(c)).operation.soapAction).to.equal('urn:example:warehouse:CreateShipment');
    expect(failures).to.have.length(1);
    expect(failures[0]?.[1]).to.equal(true);

    writeFileSync(join(dir, 'warehouse.wsdl'), (await import('node:fs')).readFileSync(join(FIXTURES, 'warehouse.wsdl'), 'utf8').replace('urn:example:warehouse:CreateShipment"', 'urn:example:warehouse:CreateShipment-v2"'));
    catalog.refresh([c]);
    expect((await catalog.operation(c)).operation.soapAction).to.equal('urn:example:warehouse:CreateShipment-v2');
  });

  it('names the choice when an operation is on several ports, and a missing file as a config problem', async () => {
    const catalog = new WsdlCatalog();
    const ambiguous = connector(join(dir, 'warehouse.wsdl'));
    await catalog.operation(ambiguous).then(
      () => expect.fail('resolved'),
      (err: unknown) => {
        expect(err).to.be.instanceOf(WsdlUnavailableError);
        expect((err as WsdlUnavailableError).message).to.include('WarehouseService/WarehouseSoap11Port, WarehouseService/WarehouseSoap12Port');
      },
    );
    const missing = connector(join(dir, 'nope.wsdl'));
    await catalog.document(missing).then(
      () => expect.fail('resolved'),
      (err: unknown) => expect((err as WsdlUnavailableError).errorClass).to.equal('config'),
    );
  });
});
