import type { Router } from '@koa/router';
import { CONSOLE_SCRIPT, CONSOLE_STYLE } from './console-assets.ts';

/**
 * The operator console: one static page that talks to the admin REST API with the bearer token the
 * operator types in (kept in the browser tab's session storage, never in a cookie). It shows the
 * connectors (state, circuit, queue, parked, blocked keys; online/offline) and the gateway instances
 * sharing the database (live, stale or stopped, config version, leases held), finds deliveries by state,
 * connector, order key or error text, shows one with its attempts, and replays, discards or holds
 * them, with a dry run first. It opens an event and previews, per connector, the request a delivery
 * of it would send (or the transform error). Everything it does goes through /admin/api, so every
 * change is audited there.
 */
export function registerAdminConsole(router: Router): void {
  const serve = (type: string, body: string) => (ctx: Parameters<Parameters<Router['get']>[1]>[0]): void => {
    ctx.type = type;
    ctx.set('Content-Security-Policy', CONSOLE_CSP);
    ctx.set('Referrer-Policy', 'no-referrer');
    ctx.set('Cache-Control', 'no-store');
    ctx.body = body;
  };
  // The router is not strict about a trailing slash: this serves /admin and /admin/.
  router.get('/admin', serve('text/html; charset=utf-8', CONSOLE_HTML));
  router.get('/admin/console.js', serve('text/javascript; charset=utf-8', CONSOLE_SCRIPT));
  router.get('/admin/console.css', serve('text/css; charset=utf-8', CONSOLE_STYLE));
}

/**
 * Script and styles come only from the gateway's own files (no 'unsafe-inline'): markup injected into
 * the page (a connector name, an error text) can neither run script nor restyle the page. The
 * console's script builds rows with class names only, never style attributes or inline handlers.
 */
const CONSOLE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OM Connector Gateway · console</title>
<link rel="stylesheet" href="/admin/console.css">
<script src="/admin/console.js" defer></script>
</head>
<body>
<header>
  <h1>OM Connector Gateway</h1>
  <label>Admin token <input id="token" type="password" autocomplete="off"></label>
  <button id="save">Use token</button>
</header>
<main>
  <div id="message" role="status"></div>
  <section>
    <h2>Connectors</h2>
    <table><thead><tr><th>Connector</th><th>Target</th><th>State</th><th>Circuit</th><th class="num">Queue</th><th class="num">In flight</th><th class="num">On hold</th><th class="num">Parked</th><th>Oldest due</th><th>Blocked keys</th><th></th></tr></thead>
    <tbody id="connectors"></tbody></table>
  </section>
  <section>
    <h2>Instances</h2>
    <table><thead><tr><th>Instance</th><th>Host</th><th class="num">PID</th><th>Version</th><th>Config</th><th>State</th><th>Started</th><th>Last heartbeat</th><th class="num">In flight</th><th>Oldest lease</th></tr></thead>
    <tbody id="instances"></tbody></table>
  </section>
  <section>
    <h2>Deliveries</h2>
    <form class="filters" id="filters">
      <select name="state"><option value="">any state</option><option>parked</option><option>retrying</option><option>on_hold</option><option>pending</option><option>in_flight</option><option>awaiting_response</option><option>delivered</option><option>discarded</option></select>
      <input name="connector" placeholder="connector">
      <input name="orderKey" placeholder="order key">
      <input name="error" placeholder="error text">
      <button>Find</button>
      <span class="muted">Selected: <span id="count">0</span></span>
      <button type="button" data-action="replay">Replay…</button>
      <button type="button" data-action="hold">Hold…</button>
      <button type="button" data-action="release">Release…</button>
      <button type="button" data-action="discard">Discard…</button>
    </form>
    <table><thead><tr><th><input type="checkbox" id="all"></th><th>Delivery</th><th>Connector</th><th>Order key</th><th>Event</th><th>State</th><th class="num">Attempts</th><th>Last error</th><th>Updated</th></tr></thead>
    <tbody id="deliveries"></tbody></table>
    <button id="more" hidden>More</button>
  </section>
  <section id="detail" hidden>
    <h2>Delivery <span id="detailId"></span></h2>
    <div id="detailBody"></div>
  </section>
  <section>
    <h2>Event</h2>
    <form class="filters" id="eventFind"><label>Event id <input name="id" id="eventFindId" autocomplete="off" spellcheck="false"></label><button>Open</button></form>
    <div id="event" hidden>
      <h3 id="eventTitle" tabindex="-1">Event <span id="eventId"></span></h3>
      <div id="eventBody"></div>
      <form class="filters" id="previewForm"><label>Preview the request to <select id="previewConnector"></select></label><button>Preview</button></form>
      <div id="preview" aria-live="polite"></div>
    </div>
  </section>
</main>
</body>
</html>
`;
