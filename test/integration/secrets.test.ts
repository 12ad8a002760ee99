import { expect } from 'chai';
import { buildPush } from '../../src/sandbox/om-push.ts';
import { backendName } from '../helpers/backend.ts';
import { postSoap, SOAP_PASSWORD, SOAP_USER, startGateway, TEST_ENV, type TestGateway } from '../helpers/gateway.ts';

/** Every table's text, to search for secrets: the scan reads the tables themselves, on the test's own connection. */
async function databaseText(gw: TestGateway): Promise<string> {
  const tables = ['pushes', 'events', 'deliveries', 'attempts', 'audit_records', 'dedupe_keys', 'ws_nonces'];
  const parts: string[] = [];
  for (const t of tables) parts.push(JSON.stringify(await gw.database.tables()(t).select()));
  return parts.join('\n');
}

describe(`secrets stay out of the database, the logs and the answers (${backendName()})`, () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(async () => {
    await gw.stop();
  });

  it('never stores or logs the inbound password, the Authorization header or connector tokens', async () => {
    const url = `${gw.url}/soap/business-events`;
    const order = (n: string) => [{ eventCode: 'HOLD' as const, order: { sourceOrderNumber: n } }];
    const answers: string[] = [];
    const send = async (body: string, headers: Record<string, string> = {}) => answers.push((await postSoap(url, body, headers)).body);
    await send(buildPush(order('S1'), { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } }));
    await send(buildPush(order('S2'), { security: { kind: 'digest', username: SOAP_USER, password: SOAP_PASSWORD } }));
    await send(buildPush(order('S3'), { security: { kind: 'none' } }), {
      authorization: `Basic ${Buffer.from(`${SOAP_USER}:${SOAP_PASSWORD}`).toString('base64')}`,
    });
    // Wrong passwords are secrets too (often a near-miss of the real one).
    await send(buildPush(order('S4'), { security: { kind: 'text', username: SOAP_USER, password: `${SOAP_PASSWORD}-typo` } }));
    await send(buildPush(order('S5'), { security: { kind: 'text', username: SOAP_USER, password: SOAP_PASSWORD } }).replace('</ns1:results>', ''));
    gw.gateway.logger.info({ token: TEST_ENV.TEST_SHIPBOB_TOKEN, nested: { password: SOAP_PASSWORD } }, `a message that mentions ${SOAP_PASSWORD}`);
    gw.gateway.logger.flush();

    expect((await gw.gateway.store.browse.events({}, { limit: 1000 })).rows).to.have.length(3);
    const haystacks = { database: await databaseText(gw), logs: gw.logs.join('\n'), answers: answers.join('\n') };
    const basic = Buffer.from(`${SOAP_USER}:${SOAP_PASSWORD}`).toString('base64');
    for (const [where, text] of Object.entries(haystacks)) {
      for (const secret of [SOAP_PASSWORD, TEST_ENV.TEST_SHIPBOB_TOKEN, basic]) {
        expect(text.includes(secret), `${secret} found in ${where}`).to.equal(false);
      }
    }
    expect(haystacks.logs).to.include('a message that mentions ***');
  });
});
