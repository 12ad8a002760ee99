import { expect } from 'chai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord } from '../../src/domain/audit.ts';
import type { PollOutcome } from '../../src/inbound/poller/purchase-orders.ts';
import type { RunningFusionSandbox } from '../../src/sandbox/fusion.ts';
import type { RunningShipBobSandbox } from '../../src/sandbox/shipbob/index.ts';
import { backendName } from '../helpers/backend.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { startOrderFlow, startOrderFlowSandboxes, type OrderFlow, type OrderFlowSandboxes } from '../helpers/order-flow.ts';
import { shipbobSpecAvailable, SHIPBOB_SPEC_SKIP_MESSAGE, validateRequest } from '../helpers/shipbob-openapi.ts';

/** A gateway polling the emulated Fusion's purchase orders, routing open ones to the emulated ShipBob. */
function pollingGateway(sandboxes: OrderFlowSandboxes, options: { poller?: string; topics?: readonly string[] } = {}): Promise<OrderFlow> {
  return startOrderFlow({ sandboxes, topics: options.topics ?? [], poller: options.poller ?? '' });
}

/** The audit records of poll runs, oldest first. */
async function pollRuns(gw: TestGateway): Promise<AuditRecord[]> {
  return (await gw.gateway.store.browse.audit({ actions: ['poll.run'] }, { limit: 1000 })).rows.reverse();
}

function ran(outcome: PollOutcome): Extract<PollOutcome, { status: 'ran' }> {
  if (outcome.status !== 'ran') throw new Error(`the poll did not run: ${outcome.reason}`);
  return outcome;
}

describe(`Fusion purchase-order poller → ShipBob orders (${backendName()})`, function () {
  this.timeout(30_000);
  let sandboxes: OrderFlowSandboxes;
  let shipbob: RunningShipBobSandbox;
  let fusion: RunningFusionSandbox;
  let fusionNow = Date.now() - 3_600_000;

  before(async () => {
    sandboxes = await startOrderFlowSandboxes({ fusionNow: () => fusionNow });
    ({ shipbob, fusion } = sandboxes);
  });
  after(async () => sandboxes?.close());

  describe('a changed purchase order', () => {
    let flow: OrderFlow;
    let gw: TestGateway;
    before(async () => {
      flow = await pollingGateway(sandboxes, { topics: ['order.shipped'] });
      gw = flow.gw;
    });
    after(async () => flow?.close());

    it('becomes one event, routed by the trigger points, and one ShipBob order per open schedule, once', async () => {
      const po = fusion.purchaseOrders.add({ orderNumber: 'PO-2001' });
      fusionNow += 1_000;
      fusion.purchaseOrders.add({ orderNumber: 'PO-2002', lines: [{ item: 'OMGW-MUG-12OZ', quantity: 4 }] });
      fusionNow += 1_000;
      fusion.purchaseOrders.add({ orderNumber: 'PO-2003', statusCode: 'CANCELED' });

      const delivered = flow.attemptsAt('shipbob', 2);
      const first = ran((await gw.gateway.jobs?.scheduler.runSlot('poller', Date.now())) as PollOutcome);
      expect(first.state, first.error ?? '').to.equal('ok');
      expect(first.summary).to.deep.include({ pages: 1, read: 3, routed: 2, unrouted: 1, duplicates: 0, skipped: 0, caughtUp: true });
      expect((await delivered).map((a) => a.outcome)).to.deep.equal(['delivered', 'delivered']);

      const events = (await gw.gateway.store.browse.events({ sources: ['fusion-po'] }, { limit: 1000 })).rows.sort((a, b) => (a.orderKey ?? '').localeCompare(b.orderKey ?? ''));
      expect(events.map((e) => [e.orderKey, e.eventCode, e.status])).to.deep.equal([
        ['PO-2001', 'PurchaseOrderChanged', 'routed'],
        ['PO-2002', 'PurchaseOrderChanged', 'routed'],
        ['PO-2003', 'PurchaseOrderChanged', 'unrouted'],
      ]);
      // Fusion ids above 2^53 keep every digit.
      expect(JSON.parse(events[0]?.payload ?? '').POHeaderId).to.equal(po.POHeaderId);

      const schedules = po.lines.flatMap((l) => l.schedules.map((s) => `PO-2001:${s.LineLocationId}`));
      const orders = [...shipbob.sandbox.state.orders.values()];
      expect(orders.map((o) => o.reference_id).filter((r) => r.startsWith('PO-2001:')).sort()).to.deep.equal(schedules.sort());
      const mug = orders.find((o) => o.reference_id.startsWith('PO-2002:'));
      expect(mug?.products.map((p) => [p.reference_id, p.quantity])).to.deep.equal([['LIGHT-ROAST', 4]]);
      expect(mug?.recipient.address.city).to.equal('Oakland');
      expect(mug?.type).to.equal('DropShip');

      // The next poll reads the same changes again (the overlap) and stores nothing new.
      const again = ran(await gw.gateway.jobs!.poller.runNow('test'));
      expect(again.summary).to.deep.include({ read: 3, routed: 0, unrouted: 0, duplicates: 3 });
      expect((await gw.gateway.store.browse.deliveries({}, { limit: 1000 })).rows).to.have.length(2);

      // A later change of PO-2001 is a new event; ShipBob already has its orders, so none is created twice.
      fusionNow += 5_000;
      fusion.purchaseOrders.touch('PO-2001');
      const before = shipbob.sandbox.state.orders.size;
      const redelivered = flow.attemptsAt('shipbob', 1);
      const third = ran(await gw.gateway.jobs!.poller.runNow('test'));
      expect(third.summary).to.deep.include({ routed: 1, duplicates: 2 });
      expect((await redelivered)[0]?.outcome).to.equal('delivered');
      expect(shipbob.sandbox.state.orders.size).to.equal(before);
      expect(third.cursorAfter).to.equal(fusion.purchaseOrders.get('PO-2001')?.LastUpdateDate);

      // ShipBob ships the PO-2002 order: the write-back is an ASN against that purchase order's schedule.
      const written = flow.attemptsAt('fusion', 1);
      const shipped = await shipbob.sandbox.ship(Number(mug?.id), { carrier: 'UPS', tracking: '1Z999AA10123456784' });
      expect((await written)[0]?.outcome).to.equal('delivered');
      const notice = fusion.received().at(-1)?.body as { PackingSlip: string; lines: unknown[] };
      expect(notice.PackingSlip).to.equal('PO-2002');
      expect(notice.lines).to.deep.equal([
        {
          TransactionType: 'SHIP',
          ReceiptSourceCode: 'VENDOR',
          DocumentNumber: 'PO-2002',
          DocumentLineNumber: 1,
          DocumentScheduleNumber: 1,
          Quantity: 4,
          ShippedDate: shipped.shipment.tracking?.shipping_date,
          Carrier: 'UPS',
          TrackingNumber: '1Z999AA10123456784',
        },
      ]);
    });

    it('records every run with an audit record, and keeps the cursor when Fusion refuses', async () => {
      const audit = await pollRuns(gw);
      expect(audit.map((a) => [a.result, a.direction, a.connector])).to.deep.equal([
        ['ok', 'in', 'fusion'],
        ['ok', 'in', 'fusion'],
        ['ok', 'in', 'fusion'],
      ]);
      const status = await gw.gateway.jobs!.poller.status();
      const cursor = status.cursor;
      expect(status.runs.map((r) => r.state)).to.deep.equal(['ok', 'ok', 'ok']);

      // A wrong password: Fusion answers 401, the run fails with that reason, the cursor stays.
      const config = gw.gateway.config;
      const fusionConnector = config.connectors.find((c) => c.name === 'fusion');
      if (!fusionConnector || fusionConnector.auth.type !== 'basic') throw new Error('fusion connector not as written');
      writeFileSync(
        join(gw.configDir, 'connectors', 'fusion.yaml'),
        `protocol: rest\nkind: oracle-fusion\nurl: ${fusion.url}\nauth: { type: basic, username: omgw.integration, password: '\${env:TEST_WRONG_PASSWORD:-not-the-password}' }\n`,
      );
      expect(await gw.gateway.reload()).to.deep.equal({ ok: true });
      const failed = ran(await gw.gateway.jobs!.poller.runNow('test'));
      expect(failed.state).to.equal('failed');
      expect(failed.error).to.match(/^Fusion purchaseOrders: HTTP 401/);
      expect(failed.error).to.not.include('not-the-password');
      expect((await gw.gateway.jobs!.poller.status()).cursor).to.equal(cursor);
      expect((await pollRuns(gw)).at(-1)?.result).to.equal('failed');

      const metrics = (await gw.gateway.metrics!.scrape()).body;
      expect(metrics).to.include('omgw_poll_runs_total{poller="fusion-po",state="ok"} 3');
      expect(metrics).to.include('omgw_poll_runs_total{poller="fusion-po",state="failed"} 1');
      expect(metrics).to.include('omgw_events_received_total{source="fusion-po",event_code="PurchaseOrderChanged",status="routed"} 3');
      expect(metrics).to.include('omgw_events_received_total{source="fusion-po",event_code="PurchaseOrderChanged",status="duplicate"} 5');
      expect(metrics).to.match(/omgw_poller_lag_seconds\{poller="fusion-po"\} \d/);
    });
  });

  describe('omgw poll', () => {
    let flow: OrderFlow;
    let gw: TestGateway;
    before(async () => {
      flow = await pollingGateway(sandboxes);
      gw = flow.gw;
    });
    after(async () => flow?.close());

    const cli = (args: string[], fusionPassword?: string): Promise<{ code: number; out: string; err: string }> =>
      flow.cliWith(fusionPassword === undefined ? {} : { TEST_FUSION_PASSWORD: fusionPassword }, ...args);

    it('--now polls through the configured connector and records the run; alone it lists the runs', async () => {
      expect((await cli(['poll'])).out).to.include('cursor (none yet)');
      const run = await cli(['poll', '--now']);
      expect(run.code, run.out).to.equal(0);
      const all = fusion.purchaseOrders.all();
      const open = all.filter((p) => p.StatusCode === 'OPEN').length;
      expect(run.out).to.match(new RegExp(`: ${all.length} read in 1 page\\(s\\) since .*; ${open} routed, ${all.length - open} unrouted, 0 duplicates, 0 skipped; cursor `));
      const listed = await cli(['poll', '--json']);
      const status = JSON.parse(listed.out) as { cursor: string; runs: Array<{ state: string; trigger: string }> };
      expect(status.cursor).to.equal(all.map((p) => p.LastUpdateDate).sort().at(-1));
      expect(status.runs.map((r) => [r.state, r.trigger])).to.deep.equal([['ok', 'manual']]);
      const audit = await pollRuns(gw);
      expect(audit).to.have.length(1);
      expect(audit[0]?.actor).to.match(/^cli:/);
    });

    it('--now says that a run failed and why, on stderr, and exits 1; it never says the run stopped at maxPages', async () => {
      const cursor = (await gw.gateway.jobs!.poller.status()).cursor;
      const failed = await cli(['poll', '--now'], 'not-the-password');
      expect(failed.code, failed.out + failed.err).to.equal(1);
      expect(failed.out.split('\n')[0]).to.match(/^database (sqlite|postgres):/);
      expect(failed.out).to.match(/\npoll \w{26} failed; before it did: 0 read in 0 page\(s\) since .*; what it stored stays, and the next run starts from cursor /);
      expect(failed.out + failed.err).to.not.include('maxPages').and.not.include('not-the-password');
      expect(failed.err).to.match(/^poll failed: Fusion purchaseOrders: HTTP 401/);
      const asJson = await cli(['poll', '--now', '--json'], 'not-the-password');
      expect(asJson.code).to.equal(1);
      expect(JSON.parse(asJson.out)).to.include({ status: 'ran', state: 'failed', cursorAfter: cursor });
      const listed = await cli(['poll']);
      expect(listed.out).to.match(/\n\w{26}\s+manual\s+\S+\s+failed\s/);
      expect((await cli(['poll', '--now'])).code, 'with the right password again').to.equal(0);
    });
  });

  describe('a run whose instance died', () => {
    let flow: OrderFlow;
    let gw: TestGateway;
    before(async () => {
      flow = await pollingGateway(sandboxes);
      gw = flow.gw;
    });
    after(async () => flow?.close());

    it('is marked interrupted by the next run once its lease has run out; a run still leased is left alone', async () => {
      const pollers = gw.gateway.store.pollers;
      const now = Date.now();
      const run = (id: string, leaseUntil: number) => ({ id, poller: 'fusion-po', slotKey: `schedule:${id}`, owner: 'dead-instance', now: now - 120_000, leaseUntil, cursorBefore: null });
      expect(await pollers.claimRun(run('01KDEAD0000000000000000000', now - 1_000))).to.equal(true);
      expect(await pollers.claimRun(run('01KALIVE000000000000000000', now + 60_000))).to.equal(true);
      const next = ran(await gw.gateway.jobs!.poller.runNow('test'));
      expect(next.state).to.equal('ok');
      const runs = (await gw.gateway.jobs!.poller.status()).runs;
      const byId = new Map(runs.map((r) => [r.id, r]));
      expect(byId.get('01KDEAD0000000000000000000')).to.include({ state: 'interrupted', error: 'the instance running it stopped before the run ended' });
      expect(byId.get('01KALIVE000000000000000000')).to.include({ state: 'running', finishedAt: null });
      expect(byId.get(next.runId)?.state).to.equal('ok');
    });
  });

  describe('a page the store cannot take', () => {
    let flow: OrderFlow;
    let gw: TestGateway;
    before(async () => {
      flow = await pollingGateway(sandboxes);
      gw = flow.gw;
    });
    after(async () => flow?.close());

    it("fails the run with the store's own reason and keeps the cursor; the next run stores the page", async () => {
      fusionNow += 1_000;
      fusion.purchaseOrders.add({ orderNumber: 'PO-4001', statusCode: 'CANCELED' });
      // The failure is simulated on the test's own connection: the events table is renamed away and back.
      const tables = gw.database.tables();
      await tables.schema.renameTable('events', 'events_away');
      let failed: Extract<PollOutcome, { status: 'ran' }>;
      try {
        failed = ran(await gw.gateway.jobs!.poller.runNow('test'));
      } finally {
        await tables.schema.renameTable('events_away', 'events');
      }
      expect(failed.state).to.equal('failed');
      // The run record is the operator's: the store's words, not the message a sender would get.
      expect(failed.error).to.match(/events/).and.not.include('could not be stored');
      expect(failed.cursorAfter).to.equal(null);
      const [audit] = await pollRuns(gw);
      expect(audit?.result).to.equal('failed');
      expect(JSON.parse(audit?.detail ?? '')).to.include({ error: failed.error });

      const next = ran(await gw.gateway.jobs!.poller.runNow('test'));
      expect(next.state).to.equal('ok');
      expect(next.summary.routed + next.summary.unrouted).to.equal(fusion.purchaseOrders.all().length);
    });
  });

  describe('more changes than one run reads', () => {
    let flow: OrderFlow;
    let gw: TestGateway;
    before(async () => {
      flow = await pollingGateway(sandboxes, { poller: '    pageSize: 2\n    maxPages: 2\n' });
      gw = flow.gw;
    });
    after(async () => flow?.close());

    it('pages through changes stamped within one second and goes on where the last run stopped, missing none', async () => {
      // Seven changes in the same instant (a mass update), more than a run of 2 pages of 2 reads.
      fusionNow += 60_000;
      const added = Array.from({ length: 7 }, (_, i) => fusion.purchaseOrders.add({ orderNumber: `PO-31${i}`, statusCode: 'CANCELED' }));
      const summaries = [];
      for (let run = 0; run < 4; run++) summaries.push(ran(await gw.gateway.jobs!.poller.runNow('test')).summary);
      // The first run reads every earlier PO of this sandbox as well (they are within the initial lookback).
      expect(summaries.map((s) => s.caughtUp)).to.include(true);
      const fusionEvents = (await gw.gateway.store.browse.events({ sources: ['fusion-po'] }, { limit: 1000 })).rows;
      const addedKeys = new Set(added.map((p) => p.OrderNumber));
      const stored = fusionEvents.filter((e) => addedKeys.has(e.orderKey ?? '') && e.status !== 'duplicate');
      expect(stored.map((e) => e.orderKey).sort()).to.deep.equal(added.map((p) => p.OrderNumber).sort());
      const unrouted = fusionEvents.filter((e) => e.status === 'unrouted');
      // Each PO change once: the runs after the backlog continue, they do not start over.
      const all = fusion.purchaseOrders.all().filter((p) => p.StatusCode !== 'OPEN');
      expect(unrouted).to.have.length(all.length);
    });
  });


  describe('the requests to ShipBob', () => {
    it('sent ShipBob only requests that validate against the published 2026-01 OpenAPI document', function () {
      if (!shipbobSpecAvailable) {
        console.log(`    (${SHIPBOB_SPEC_SKIP_MESSAGE})`);
        this.skip();
      }
      const requests = shipbob.sandbox.requests();
      expect(requests.length).to.be.greaterThan(2);
      for (const r of requests) {
        const headers = { ...r.headers, authorization: 'Bearer recorded-without-it' };
        const problems = validateRequest(r.method, r.path, headers, r.body === '' ? undefined : JSON.parse(r.body));
        expect(problems, `${r.method} ${r.path}`).to.deep.equal([]);
      }
    });
  });
});
