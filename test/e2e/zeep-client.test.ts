import { expect } from 'chai';
import { execFile, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { backendName } from '../helpers/backend.ts';
import { SOAP_PASSWORD, SOAP_USER, startGateway, type TestGateway } from '../helpers/gateway.ts';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./clients/zeep_push.py', import.meta.url));

function zeepAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import zeep'], { stdio: 'ignore' }).status === 0;
}

describe(`a Python zeep client built from the served WSDL (${backendName()})`, function () {
  let gw: TestGateway;
  before(async function () {
    if (!zeepAvailable()) {
      console.log('    (skipped: Python zeep is not installed; `apt-get install python3-zeep` enables this test)');
      this.skip();
    }
    gw = await startGateway();
  });
  after(async () => {
    if (gw) await gw.stop();
  });

  for (const digest of ['0', '1']) {
    it(`pushes a HOLD event with a ${digest === '1' ? 'PasswordDigest' : 'PasswordText'} UsernameToken`, async () => {
      const order = `SO-ZEEP-${digest}`;
      const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, `${gw.url}/soap/business-events`, SOAP_USER, SOAP_PASSWORD, digest, order]);
      expect(stdout.trim()).to.equal('ok');
      const [event] = (await gw.gateway.store.browse.events({ orderKey: `LEG:${order}` }, { limit: 1000 })).rows.reverse();
      expect(event?.eventCode).to.equal('HOLD');
      const payload = JSON.parse(event?.payload ?? '');
      expect(payload.OrchestrationOrderId).to.equal('300100072403300123');
      expect(payload.OrderLine[0].OrderFulfillmentLine[0].HoldCode).to.equal('CREDIT_CHECK');
    });
  }
});
