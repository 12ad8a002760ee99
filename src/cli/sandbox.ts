import { loadConfig, type GatewayConfig } from '../config/load.ts';
import { localServerUrl } from '../config/server-url.ts';
import { PushEndpointUnreachable, pushSandboxEvents, type PushResult } from '../sandbox/om-pusher.ts';
import { PUSH_EVENT_CODES, type PushEventCode } from '../sandbox/om-push.ts';
import { EXIT, type CommandContext } from './commands.ts';
import { table } from './output.ts';

/** Where OM pushes to on a gateway: its SOAP endpoint (a connector-scoped one adds `/<connector>`). */
const SOAP_PATH = '/soap/business-events';

/**
 * Exit code 4 is the CLI's one "unavailable" code (README, CLI): a service the command needs cannot
 * be reached. The database is one such service, the running gateway another.
 */
const UNAVAILABLE = EXIT.unavailable;

export interface SandboxPushOptions {
  url: string | undefined;
  count: string | undefined;
  event: string | undefined;
  status: string | undefined;
  digest: boolean;
  soap12: boolean;
}

/** `omgw sandbox push`: an emulated OM connector pushing realistic events to a running gateway. */
export async function sandboxPush(ctx: CommandContext, opts: SandboxPushOptions): Promise<number> {
  const config = await loadConfig(ctx.configDir, ctx.env);
  const user = config.gateway.inbound.soap.users[0];
  const eventCode = (opts.event ?? 'FlineStatusUpdate') as PushEventCode;
  if (!PUSH_EVENT_CODES.includes(eventCode)) {
    ctx.io.err(`--event must be one of ${PUSH_EVENT_CODES.join(', ')}`);
    return EXIT.usage;
  }
  const count = Number(opts.count ?? '1');
  if (!Number.isInteger(count) || count < 1 || count > 100_000) {
    ctx.io.err('--count must be a whole number from 1 to 100000');
    return EXIT.usage;
  }
  const endpoint = pushEndpoint(config, opts.url);
  if ('problem' in endpoint) {
    ctx.io.err(endpoint.problem);
    return EXIT.usage;
  }
  let results: PushResult[];
  try {
    results = await pushSandboxEvents({
      endpoint: endpoint.url,
      username: user?.username ?? '',
      password: user?.password.reveal() ?? '',
      count,
      eventCode,
      passwordType: opts.digest ? 'digest' : 'text',
      soapVersion: opts.soap12 ? '1.2' : '1.1',
      orderPrefix: `SB${Date.now().toString(36).toUpperCase()}`,
      ...(opts.status ? { statusTo: opts.status } : {}),
    });
  } catch (err) {
    if (!(err instanceof PushEndpointUnreachable)) throw err;
    ctx.io.err(`gateway unavailable: cannot reach ${err.endpoint} (${err.reason}); is it running? (--url, or server.host/port in ${ctx.configDir}/gateway.yaml)`);
    return UNAVAILABLE;
  }
  if (ctx.json) ctx.io.out(JSON.stringify(results, null, 2));
  else {
    ctx.io.out(
      table(
        ['ORDER', 'HTTP', 'FAULT', 'MESSAGE'],
        results.map((r) => [`LEG:${r.order}`, r.status, r.faultCode ?? '-', r.fault ?? '-']),
      ),
    );
  }
  return results.every((r) => r.status === 202) ? EXIT.ok : EXIT.failed;
}

/**
 * The URL pushes go to. `--url` with a path is the endpoint itself (`.../soap/business-events` or a
 * connector-scoped `.../soap/business-events/otm`); `--url` without one is the gateway's base URL.
 * Without `--url`, the gateway's own address from gateway.yaml (server.host, server.port, https
 * when server.tls is set), so a gateway on another port needs no environment variable repeated.
 */
function pushEndpoint(config: GatewayConfig, given: string | undefined): { url: string } | { problem: string } {
  if (given !== undefined) {
    let url: URL;
    try {
      url = new URL(given);
    } catch {
      return { problem: `--url ${given} is not a URL (e.g. http://127.0.0.1:8080 or http://127.0.0.1:8080${SOAP_PATH}/otm)` };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `--url must be an http(s) URL, not ${url.protocol}` };
    if (url.pathname === '/' || url.pathname === '') url.pathname = SOAP_PATH;
    return { url: url.toString() };
  }
  const base = localServerUrl(config.gateway.server);
  if (base === null) {
    return { problem: "server.port is 0 in gateway.yaml (any free port): give the running gateway's address with --url" };
  }
  return { url: `${base}${SOAP_PATH}` };
}
