import type { GatewayConfig } from '../config/load.ts';
import { assembleJourney, type JourneyEntry, type JourneyFoundBy, type JourneyStanding } from '../domain/journey.ts';
import { bareOrderNumber, ordersInSummaries, shipbobKeyParts, webhookOrder, webhookOrderKeys, type JourneyShipBobOrder } from '../domain/journey-links.ts';
import type { ShipBobOrderRecord } from '../domain/shipbob-change.ts';
import type { Store } from '../store/index.ts';

/**
 * "Where is order SO-1234?": finds an order by any key a person has at hand (an order key
 * `LEG:SO-1234`, a source order number `SO-1234`, a purchase order number, a ShipBob order id or
 * reference id) and puts its journey together (src/domain/journey.ts) from the store's read model
 * (src/store/journey.ts). Read-only; the admin API and `omgw order` both answer with it.
 */

/** What one journey shows at most of each kind: the newest, with `more` set when some were left out. */
export const JOURNEY_LIMITS = { events: 200, deliveries: 200, attempts: 500, operatorActions: 200 } as const;
type Limited = keyof typeof JOURNEY_LIMITS;

/** Events named by the Oracle order keys: OM's and Fusion's, and async targets' callbacks (they carry the order key of the delivery they answer). */
const ORACLE_SOURCES = ['oracle-om', 'fusion-po', 'callback'] as const;
const MAX_KEY = 300;

/** A timeline entry as the admin API and the CLI show it: times as ISO 8601. */
type ViewOf<E extends JourneyEntry> = E extends { kind: 'delivery' }
  ? Omit<E, 'at' | 'attempts'> & { at: string; attempts: Array<Omit<E['attempts'][number], 'at'> & { at: string }> }
  : E extends { kind: 'shipbob_order' }
    ? Omit<E, 'at' | 'createdAt' | 'cancelRequestedAt'> & { at: string; cancelRequestedAt: string | null }
    : Omit<E, 'at'> & { at: string };
export type JourneyEntryView = ViewOf<JourneyEntry>;

export interface ShipBobOrderView extends Omit<JourneyShipBobOrder, 'createdAt' | 'cancelRequestedAt'> {
  createdAt: string;
  cancelRequestedAt: string | null;
}

export interface OrderJourney {
  /** The key as asked. */
  key: string;
  foundBy: JourneyFoundBy;
  /** The order's keys at Oracle: OM order keys (with and without the source system), purchase order numbers. */
  orderKeys: string[];
  /** The order keys of ShipBob's webhooks about its ShipBob orders. */
  shipbobKeys: string[];
  standing: JourneyStanding;
  shipbobOrders: ShipBobOrderView[];
  /** Everything, in time order. */
  timeline: JourneyEntryView[];
  /** Some events, deliveries, attempts or operator actions were left out (the oldest): see `truncated`. */
  more: boolean;
  truncated: Limited[];
}

interface Found {
  foundBy: JourneyFoundBy;
  orderKeys: Set<string>;
  /** ShipBob webhook keys with no order the gateway knows of (webhooks of an order made elsewhere). */
  shipbobKeys: Set<string>;
  records: ShipBobOrderRecord[];
}

export class JourneyService {
  readonly #store: Store;
  readonly #config: () => GatewayConfig;

  constructor(deps: { store: Store; config: () => GatewayConfig }) {
    this.#store = deps.store;
    this.#config = deps.config;
  }

  /** The order's journey, or null when no key of it is known. */
  async find(asked: string): Promise<OrderJourney | null> {
    const key = asked.trim();
    if (key === '' || key.length > MAX_KEY) return null;
    const found = await this.#resolve(key);
    if (found === null) return null;
    const repo = this.#store.journey;
    const truncated = new Set<Limited>();
    const cap = <T>(what: Limited, r: { rows: T[]; more: boolean }): T[] => {
      if (r.more) truncated.add(what);
      return r.rows;
    };

    // OM events that name the order by its number alone (FlineClosed) are the same order's.
    const oracleKeys = [...found.orderKeys];
    const withSystems = await repo.keysWithEvents(oracleKeys);
    for (const k of withSystems) {
      const bare = k.source === 'oracle-om' ? bareOrderNumber(k.orderKey, k.sourceSystem) : null;
      if (bare !== null) found.orderKeys.add(bare);
    }
    const keys = [...found.orderKeys];
    const oracleEvents = cap('events', await repo.events(keys, JOURNEY_LIMITS.events, ORACLE_SOURCES));
    const records = dedupeRecords([...found.records, ...(await repo.shipbobOrders({ orderKeys: keys }))]);
    const outbound = cap('deliveries', await repo.deliveries(ids(oracleEvents), JOURNEY_LIMITS.deliveries));
    const outboundAttempts = cap('attempts', await repo.attempts(ids(outbound), JOURNEY_LIMITS.attempts));

    const shipbobConnectors = new Set(this.#config().connectors.filter((c) => c.kind === 'shipbob').map((c) => c.name));
    const named = ordersInSummaries(outboundAttempts.filter((a) => shipbobConnectors.has(a.connector)));
    const orderRefs = [...records.map((r) => ({ referenceId: r.referenceId, shipbobOrderId: r.shipbobOrderId, shipmentId: r.shipmentId })), ...named];
    const shipbobKeys = [...new Set([...webhookOrderKeys(orderRefs), ...found.shipbobKeys])];
    const webhooks = cap('events', await repo.events(shipbobKeys, JOURNEY_LIMITS.events, ['shipbob']));
    const writeBacks = cap('deliveries', await repo.deliveries(ids(webhooks), JOURNEY_LIMITS.deliveries));
    const writeBackAttempts = cap('attempts', await repo.attempts(ids(writeBacks), JOURNEY_LIMITS.attempts));
    const deliveries = [...outbound, ...writeBacks];
    const actions = cap('operatorActions', await repo.operatorActions(ids(deliveries), JOURNEY_LIMITS.operatorActions));

    const journey = assembleJourney({
      events: [...oracleEvents, ...webhooks],
      deliveries,
      attempts: [...outboundAttempts, ...writeBackAttempts],
      shipbobOrders: records,
      operatorActions: actions,
      shipbobConnectors,
    });
    return {
      key,
      foundBy: found.foundBy,
      orderKeys: keys,
      shipbobKeys: shipbobKeys.filter((k) => webhooks.some((e) => e.orderKey === k)),
      standing: journey.standing,
      shipbobOrders: journey.shipbobOrders.map(orderView),
      timeline: journey.timeline.map(entryView),
      more: truncated.size > 0,
      truncated: [...truncated],
    };
  }

  /** The order a key names: its Oracle order keys, and how the key was found. */
  async #resolve(key: string): Promise<Found | null> {
    const repo = this.#store.journey;
    const parts = shipbobKeyParts(key);
    const numbered = (await repo.sourceSystems()).map((s) => `${s}:${key}`);
    const webhookKeys = [`shipbob:${key}`, `shipbob-ref:${key}`, ...(parts.shipbobOrderId !== null || parts.referenceId !== null ? [key] : [])];
    const withEvents = await repo.keysWithEvents([key, ...numbered, ...webhookKeys]);
    const records = await repo.shipbobOrders({
      orderKeys: [key, ...numbered],
      referenceIds: [key, ...(parts.referenceId !== null ? [parts.referenceId] : [])],
      shipbobOrderIds: [key, ...(parts.shipbobOrderId !== null ? [parts.shipbobOrderId] : [])],
    });
    const found: Found = { foundBy: 'order_key', orderKeys: new Set(), shipbobKeys: new Set(), records: [] };
    const ways: JourneyFoundBy[] = [];
    const oracle = withEvents.filter((k) => (ORACLE_SOURCES as readonly string[]).includes(k.source));

    const byNumber = oracle.filter((k) => numbered.includes(k.orderKey) && k.source === 'oracle-om');
    for (const k of byNumber) found.orderKeys.add(k.orderKey);
    for (const r of records.filter((r) => r.orderKey !== null && numbered.includes(r.orderKey))) found.orderKeys.add(r.orderKey as string);
    if (found.orderKeys.size > 0) ways.push('source_order_number');

    const exact = oracle.filter((k) => k.orderKey === key);
    const exactRecords = records.filter((r) => r.orderKey === key);
    if (exact.length > 0 || exactRecords.length > 0) {
      found.orderKeys.add(key);
      const po = exact.some((k) => k.source === 'fusion-po') || exactRecords.some((r) => r.lineKey?.startsWith('po-schedule:') === true);
      ways.push(po ? 'purchase_order_number' : 'order_key');
    }

    const isRef = (r: ShipBobOrderRecord): boolean => r.referenceId === key || r.referenceId === parts.referenceId;
    const isId = (r: ShipBobOrderRecord): boolean => r.shipbobOrderId === key || r.shipbobOrderId === parts.shipbobOrderId;
    for (const [test, way] of [
      [isId, 'shipbob_order_id'],
      [isRef, 'shipbob_reference_id'],
    ] as const) {
      const hits = records.filter(test);
      if (hits.length === 0) continue;
      ways.push(way);
      found.records.push(...hits);
      for (const r of hits) if (r.orderKey !== null) found.orderKeys.add(r.orderKey);
    }

    // A ShipBob order known only from its webhooks: the order they name, if the gateway made it.
    const hooks = withEvents.filter((k) => k.source === 'shipbob' && webhookKeys.includes(k.orderKey));
    if (hooks.length > 0 && found.orderKeys.size === 0 && found.records.length === 0) {
      const events = (await repo.events(hooks.map((k) => k.orderKey), 20, ['shipbob'])).rows;
      const named = events.map(webhookOrder).filter((n) => n !== null);
      const made = await repo.shipbobOrders({
        referenceIds: named.flatMap((n) => (n.referenceId !== null ? [n.referenceId] : [])),
        shipbobOrderIds: named.flatMap((n) => (n.shipbobOrderId !== null ? [n.shipbobOrderId] : [])),
      });
      found.records.push(...made);
      for (const r of made) if (r.orderKey !== null) found.orderKeys.add(r.orderKey);
      for (const k of hooks) found.shipbobKeys.add(k.orderKey);
      ways.push(hooks.some((k) => k.orderKey.startsWith('shipbob-ref:')) && !hooks.some((k) => k.orderKey.startsWith('shipbob:')) ? 'shipbob_reference_id' : 'shipbob_order_id');
    }
    if (found.orderKeys.size === 0 && found.records.length === 0 && found.shipbobKeys.size === 0) return null;
    found.foundBy = ways[0] ?? 'order_key';
    return found;
  }
}

function ids(rows: ReadonlyArray<{ id: string }>): string[] {
  return rows.map((r) => r.id);
}

function dedupeRecords(records: ShipBobOrderRecord[]): ShipBobOrderRecord[] {
  const seen = new Map<string, ShipBobOrderRecord>();
  for (const r of records) seen.set(`${r.connector}\u0000${r.referenceId}`, r);
  return [...seen.values()];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function orderView(o: JourneyShipBobOrder): ShipBobOrderView {
  return { ...o, createdAt: iso(o.createdAt), cancelRequestedAt: o.cancelRequestedAt === null ? null : iso(o.cancelRequestedAt) };
}

function entryView(e: JourneyEntry): JourneyEntryView {
  switch (e.kind) {
    case 'delivery':
      return { ...e, at: iso(e.at), attempts: e.attempts.map((a) => ({ ...a, at: iso(a.at) })) };
    case 'shipbob_order': {
      const { createdAt: _created, cancelRequestedAt, ...rest } = e;
      return { ...rest, at: iso(e.at), cancelRequestedAt: cancelRequestedAt === null ? null : iso(cancelRequestedAt) };
    }
    default:
      return { ...e, at: iso(e.at) };
  }
}
