// @ts-check
/**
 * The views by the first part of the hash (#/deliveries...). Each is an ES module with a title and a
 * render(root, route) that fills its section and may return a function that stops what it started.
 * @typedef {{ arg: string, params: URLSearchParams }} Route
 * @typedef {{ title: string, render: (root: HTMLElement, route: Route) => Promise<(() => void) | void> }} View
 */
import * as audit from './audit.js';
import * as billing from './billing.js';
import * as connectors from './connectors.js';
import * as deliveries from './deliveries.js';
import * as delivery from './delivery.js';
import * as event from './event.js';
import * as funnel from './funnel.js';
import * as instances from './instances.js';
import * as journey from './journey.js';
import * as live from './live.js';
import * as poller from './poller.js';
import * as recovery from './recovery.js';

/** @type {Record<string, View>} */
export const VIEWS = { connectors, instances, deliveries, delivery, event, journey, funnel, live, recovery, poller, audit, billing };
