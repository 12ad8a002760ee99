import { expect } from 'chai';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backendName } from '../helpers/backend.ts';
import { gatewayYaml, startGateway, type TestGateway } from '../helpers/gateway.ts';

describe(`Gateway.reload (${backendName()})`, () => {
  let gw: TestGateway;
  beforeEach(async () => {
    gw = await startGateway({ gateway: gatewayYaml() });
  });
  afterEach(async () => {
    await gw.stop();
  });

  /** The log line of the latest reload. */
  const reloadedLine = (): { needRestart: string[] } => {
    const line = [...gw.logs].reverse().find((l) => l.includes('"msg":"config reloaded'));
    expect(line, gw.logs.slice(-5).join('\n')).to.be.a('string');
    return JSON.parse(line as string) as { needRestart: string[] };
  };

  it('applies the log level at once and reports the settings that are read only at start', async () => {
    expect(gw.gateway.logger.level).to.equal('info');
    const changed = gatewayYaml('', { delivery: '  enabled: false\n  pollInterval: 2s' })
      .replace('  host: 127.0.0.1\n', '  host: 127.0.0.1\n  requestTimeout: 30s\n')
      .replace('level: info', 'level: debug');
    writeFileSync(join(gw.configDir, 'gateway.yaml'), changed);

    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    expect(gw.gateway.logger.level).to.equal('debug');
    expect(reloadedLine().needRestart).to.deep.equal(['server.requestTimeout', 'delivery']);
  });

  it('compares with the settings the gateway started with: a start-only change reverted needs no restart', async () => {
    const file = join(gw.configDir, 'gateway.yaml');
    const started = readFileSync(file, 'utf8');
    const port = gw.gateway.config.gateway.server.port;
    writeFileSync(file, started.replace(`  port: ${port}\n`, `  port: ${port + 1}\n`));
    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    expect(reloadedLine().needRestart).to.deep.equal(['server.port']);
    // Reloaded again unchanged, it still needs the restart; reverted, it no longer does.
    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    expect(reloadedLine().needRestart).to.deep.equal(['server.port']);
    writeFileSync(file, started);
    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    expect(reloadedLine().needRestart).to.deep.equal([]);
  });

  it('reports nothing when only connectors, trigger points or mappings change', async () => {
    writeFileSync(join(gw.configDir, 'connectors', 'extra.yaml'), 'protocol: rest\nurl: http://127.0.0.1:9/x\n');
    expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
    expect(reloadedLine().needRestart).to.deep.equal([]);
  });
});
