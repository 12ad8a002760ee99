import { expect } from 'chai';
import { EventEmitter, once } from 'node:events';
import { main } from '../../../src/main.ts';
import { buildPush } from '../../../src/sandbox/om-push.ts';
import type { DeliveryState } from '../../../src/domain/delivery.ts';
import type { DueListener } from '../../../src/store/index.ts';
import { backendName, createTestDatabase, type TestDatabase } from '../../helpers/backend.ts';
import { gatewayYaml, postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, testEnv, type TestGateway } from '../../helpers/gateway.ts';
import { FakeTarget } from '../../helpers/target.ts';
import { until } from '../../helpers/until.ts';

const security = { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } as const;
/** Well beyond any wait below: a delivery that leaves in time was woken, not polled. */
const POLL = '1h';
const WAIT_MS = 5000;

/**
 * Instances share one PostgreSQL database. The sender's worker polls once an hour, so only a wake-up
 * from the database can make it send within the test; the instance pushed to runs no worker at all.
 */
describe('wake-up across instances (PostgreSQL only: skipped on SQLite, where one process writes and delivers)', function () {
  let target: FakeTarget;
  const gateways: TestGateway[] = [];
  const databases: TestDatabase[] = [];

  before(function () {
    if (backendName() !== 'postgres') this.skip();
  });

  beforeEach(async () => {
    target = await new FakeTarget().start();
  });

  afterEach(async () => {
    for (const gw of gateways.splice(0).reverse()) await gw.stop();
    for (const db of databases.splice(0)) await db.dispose();
    await target.close();
  });

  function database(): TestDatabase {
    const db = createTestDatabase();
    databases.push(db);
    return db;
  }

  /** An instance on `db`: with a worker polling once an hour (`sender`) or with none (`receiver`). */
  async function instance(db: TestDatabase, role: 'sender' | 'receiver'): Promise<TestGateway> {
    const gw = await startGateway(
      {
        gateway: gatewayYaml('', { delivery: role === 'sender' ? `  enabled: true\n  pollInterval: ${POLL}` : '  enabled: false' }),
        connectors: { 'crm.yaml': `protocol: rest\nurl: ${target.url}\npath: /crm/{{orderKey}}\nordering: none\n` },
        triggerPoints: 'triggerPoints:\n  - name: all\n    eventCodes: [HOLD]\n    connectors: [crm]\n',
      },
      { database: db, keepDatabase: true },
    );
    gateways.push(gw);
    return gw;
  }

  async function push(gw: TestGateway, order: string): Promise<void> {
    const res = await postSoap(`${gw.url}/soap/business-events`, buildPush([{ eventCode: 'HOLD', order: { sourceOrderNumber: order } }], { security }));
    expect(res.status, res.body).to.equal(202);
  }

  async function sent(order: string): Promise<void> {
    await until(`a request for ${order} at the target`, () => orders().includes(order), WAIT_MS);
  }

  /** The orders of the requests the target received, in order. */
  function orders(): string[] {
    return target.requests.map((r) => decodeURIComponent(r.path).replace(/^\/crm\/\w+:/, ''));
  }

  async function states(gw: TestGateway): Promise<DeliveryState[]> {
    return (await gw.gateway.store.browse.deliveries({}, { limit: 100 })).rows.map((d) => d.state);
  }

  async function cli(gw: TestGateway, ...argv: string[]): Promise<void> {
    const err: string[] = [];
    const code = await main([...argv, '--config', gw.configDir], { out: () => undefined, err: (t) => err.push(t) }, testEnv(gw.database));
    expect(code, err.join('\n')).to.equal(0);
  }

  it('a push to one instance is sent by another at once, not at its next poll', async () => {
    const db = database();
    const sender = await instance(db, 'sender');
    const receiver = await instance(db, 'receiver');
    expect(receiver.gateway.worker).to.equal(null);
    await new Ear(sender).listening();

    await push(receiver, 'SO-1');
    await sent('SO-1');
    await until('the delivery recorded as delivered', async () => (await states(receiver)).join() === 'delivered', WAIT_MS);
    await push(receiver, 'SO-2');
    await sent('SO-2');
  });

  it('a replay and a connector back online, from the CLI, wake the instance that sends', async () => {
    const db = database();
    const sender = await instance(db, 'sender');
    const receiver = await instance(db, 'receiver');
    await new Ear(sender).listening();
    target.answer = () => ({ status: 400, body: '{"error":"bad request"}' });
    await push(receiver, 'SO-1');
    await until('the delivery parked', async () => (await states(receiver)).join() === 'parked', WAIT_MS);

    target.answer = () => ({ status: 200, body: '{}' });
    await cli(receiver, 'replay', '--state', 'parked', '--connector', 'crm');
    await until('the replayed delivery delivered', async () => (await states(receiver)).join() === 'delivered', WAIT_MS);
    expect(orders()).to.deep.equal(['SO-1', 'SO-1']);

    await cli(receiver, 'connector', 'offline', 'crm');
    await push(receiver, 'SO-2');
    // The push wakes the sender, which finds the connector offline and holds its delivery.
    await until('the new delivery held', async () => (await states(receiver)).includes('on_hold'), WAIT_MS);
    await cli(receiver, 'connector', 'online', 'crm');
    await sent('SO-2');
  });

  it('listens again when its connection is killed, looks at everything once, and is woken again', async () => {
    const db = database();
    const sender = await instance(db, 'sender');
    const receiver = await instance(db, 'receiver');
    const ear = new Ear(sender);
    await ear.listening();

    const lost = once(ear, 'lost');
    const back = ear.listening();
    const killed = await db
      .tables()
      .raw(`select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = 'omgw-wakeup' and query = ?`, [`listen "omgw_deliveries_${db.schema}"`]);
    expect((killed as { rows: unknown[] }).rows).to.have.length(1);
    const [err] = (await lost) as [Error];
    expect(err).to.be.an('error');
    await back;
    await until('the sender saying it listens again', () => sender.logs.some((l) => l.includes('wake-up channel listening again')), WAIT_MS);
    expect(sender.logs.filter((l) => l.includes('wake-up channel to the database lost'))).to.have.length(1);

    await push(receiver, 'SO-1');
    await sent('SO-1');
  });

  it('does not wake gateways in another schema of the same database', async () => {
    const db = database();
    const sender = await instance(db, 'sender');
    const receiver = await instance(db, 'receiver');
    const elsewhere = await instance(database(), 'receiver');
    const ear = new Ear(sender);
    await ear.listening();

    // Committed first: were it heard across schemas, its wake-up would come before the next one's.
    await push(elsewhere, 'SO-X');
    await push(receiver, 'SO-1');
    await sent('SO-1');
    expect(ear.heard).to.deep.equal([null, 'crm']);
    expect(orders()).to.deep.equal(['SO-1']);
  });
});

/** A listener of an instance's store that records what it hears. */
class Ear extends EventEmitter implements DueListener {
  readonly heard: Array<string | null> = [];

  constructor(gw: TestGateway) {
    super();
    gw.gateway.store.onDeliveriesDue(this);
  }

  due(connector: string | null): void {
    this.heard.push(connector);
    this.emit('due', connector);
  }

  lost(err: Error): void {
    this.emit('lost', err);
  }

  /** Resolves at the next due(null): the store listens (again) and has told its listeners to look at everything. */
  async listening(): Promise<void> {
    for (;;) {
      const [connector] = (await once(this, 'due')) as [string | null];
      if (connector === null) return;
    }
  }
}
